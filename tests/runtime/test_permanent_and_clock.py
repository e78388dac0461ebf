"""Two runtime guarantees over the real gRPC protocol: a :class:`PermanentError` is an incident at once,
and ``JobContext.activated_at`` is on the engine's clock (here a controlled clock months off the wall
clock), whatever timeout the task type runs with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from tests.runtime.handlers import BPMN, GreetRequest, GreetResult, MailRequest, MailResult
from workers.runtime import JobContext, PermanentError, TaskRouter


def refusing_router(attempts: list[int]) -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task("runtime-test.flaky", timeout_ms=30_000)
    async def send_mail(request: MailRequest, job: JobContext) -> MailResult:
        attempts.append(job.retries)
        raise PermanentError(f"SMTP server mail.example.com:25 refused {request.recipient}: 550 5.1.1 no such user")

    return router


class _Seen(BaseModel):
    activated_at: datetime
    deadline: datetime


def clock_router(seen: list[_Seen]) -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task("runtime-test.greet", timeout_ms=30_000)
    async def greet(request: GreetRequest, job: JobContext) -> GreetResult:
        assert job.deadline is not None
        seen.append(_Seen(activated_at=job.activated_at, deadline=job.deadline))
        return GreetResult(greeting=f"你好 {request.owner_name}", handled_by=job.worker)

    return router


async def test_a_permanent_error_is_an_incident_at_once_with_its_message(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "flaky.bpmn")  # retries="3": a transient failure would be retried twice
    attempts: list[int] = []
    await run_workers(refusing_router(attempts))
    created = await zeebe_client.run_process("runtime-flaky", variables={"recipient": "ghost@example.com"})
    incident = await zeebe.instance(created.process_instance_key).wait_incident()
    assert incident.error_type == "JOB_NO_RETRIES"
    assert incident.error_message == (
        "SMTP server mail.example.com:25 refused ghost@example.com: 550 5.1.1 no such user")
    failed = [r["value"]["retries"] for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "FAILED"]
    assert failed == [0] and attempts == [3]  # one attempt, no back-off, no retry


async def test_activated_at_is_the_engine_clock_for_the_effective_timeout(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "greet.bpmn")
    await zeebe.increase_time(timedelta(days=95))  # the engine is three months ahead of the wall clock
    seen: list[_Seen] = []
    # a deployment override of the task's 30 s timeout: activated_at must use the timeout actually requested
    await run_workers(clock_router(seen), tasks={"runtime-test.greet": {"timeout_ms": 90_000}})
    before = zeebe.clock.now()
    created = await zeebe_client.run_process("runtime-greet", variables={"ownerName": "王芳", "department": "IT"})
    await zeebe.instance(created.process_instance_key).wait_completed()
    after = zeebe.clock.now()
    [job] = seen
    assert job.deadline - job.activated_at == timedelta(milliseconds=90_000)
    assert before <= job.activated_at <= after  # the engine's "now" when it handed out the job
    assert job.activated_at - datetime.now(UTC) > timedelta(days=94)  # not the worker's wall clock


def test_a_context_built_by_hand_defaults_to_the_wall_clock() -> None:
    job = JobContext(key=1, type="t", process_instance_key=2, bpmn_process_id="p", process_definition_key=3,
                     element_id="e", element_instance_key=4, retries=3)
    assert abs(job.activated_at - datetime.now(UTC)) < timedelta(minutes=1)
