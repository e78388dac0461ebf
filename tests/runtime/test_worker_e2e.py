"""The runtime end to end: the embedded engine over gRPC, pyzeebe, the runtime's policy and telemetry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import sqlalchemy as sa
from pyzeebe import ZeebeClient, create_insecure_channel

from tests.runtime.handlers import BPMN, Outbox, grade_router, greet_router, mail_router
from workers.runtime import DecisionLog, IdempotencyStore
from workers.runtime.stores.db import create_store_engine, migrate


async def test_a_typed_handler_completes_the_job(zeebe: Any, zeebe_client: Any, run_workers: Any) -> None:
    await zeebe.deploy(BPMN / "greet.bpmn")
    app = await run_workers(greet_router())
    created = await zeebe_client.run_process(
        "runtime-greet", variables={"ownerName": "王芳", "department": "IT", "unrelated": [1, 2]}
    )
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_completed()
    variables = instance.variables()
    assert variables["greeting"] == "你好 王芳 (IT)"
    assert variables["handledBy"] == "procgov-test-worker"
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.health_port}/metrics") as response:
        metrics = await response.text()
    assert 'procgov_jobs_activated_total{job_type="runtime-test.greet"} 1.0' in metrics
    assert 'procgov_jobs_completed_total{job_type="runtime-test.greet"} 1.0' in metrics
    assert 'procgov_handler_duration_seconds_count{job_type="runtime-test.greet"} 1.0' in metrics


async def test_invalid_input_raises_an_incident_naming_the_variables(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "greet.bpmn")
    await run_workers(greet_router())
    created = await zeebe_client.run_process("runtime-greet", variables={"department": 7})
    incident = await zeebe.instance(created.process_instance_key).wait_incident()
    assert incident.error_type == "JOB_NO_RETRIES"
    assert "variable 'ownerName': Field required" in incident.error_message
    assert "variable 'department': Input should be a valid string (got 7)" in incident.error_message


async def test_transient_errors_retry_with_growing_back_off_then_an_incident(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "flaky.bpmn")
    outbox = Outbox(failures_before_success=99)
    await run_workers(mail_router(outbox), retry={"base_ms": 10_000, "max_ms": 600_000})
    created = await zeebe_client.run_process("runtime-flaky", variables={"recipient": "owner@example.com"})
    instance = zeebe.instance(created.process_instance_key)

    await _wait_for(lambda: outbox.attempts == 1)
    back_offs = _job_fail_backoffs(zeebe, created.process_instance_key)
    assert back_offs == [10_000]
    # Not retried before the back-off has passed on the engine's clock.
    await zeebe.increase_time(timedelta(seconds=9))
    assert outbox.attempts == 1
    await zeebe.increase_time(timedelta(seconds=1))
    await _wait_for(lambda: outbox.attempts == 2)
    await _wait_for(lambda: len(_job_fail_backoffs(zeebe, created.process_instance_key)) == 2)
    assert _job_fail_backoffs(zeebe, created.process_instance_key) == [10_000, 20_000]
    await zeebe.increase_time(timedelta(seconds=20))
    incident = await instance.wait_incident()
    assert outbox.attempts == 3
    assert incident.error_type == "JOB_NO_RETRIES"
    assert incident.error_message == "no retries left: smtp 421 try again later (attempt 3)"


async def test_a_job_delivered_twice_sends_the_mail_once(
    zeebe: Any, zeebe_client: Any, run_workers: Any, tmp_path: Any
) -> None:
    """The first delivery sends and then hangs, so the job times out and is delivered again; the second
    delivery gets the first send's result from the idempotency store instead of sending again."""
    await zeebe.deploy(BPMN / "flaky.bpmn")
    engine = create_store_engine(f"sqlite:///{tmp_path / 'idem.db'}")
    migrate(engine)
    outbox = Outbox(hold_first_delivery=asyncio.Event())
    await run_workers(mail_router(outbox, IdempotencyStore(engine)))
    created = await zeebe_client.run_process("runtime-flaky", variables={"recipient": "owner@example.com"})
    await _wait_for(lambda: outbox.sent == ["owner@example.com"])
    await zeebe.increase_time(timedelta(seconds=31))  # past the task's 30 s job timeout
    try:
        await zeebe.instance(created.process_instance_key).wait_completed()
    finally:
        outbox.hold_first_delivery.set() if outbox.hold_first_delivery else None
    assert outbox.deliveries == 2
    assert outbox.sent == ["owner@example.com"]
    job_key = next(r["key"] for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "CREATED")
    assert zeebe.instance(created.process_instance_key).variables()["messageId"] == f"<{job_key}@procgov>"
    engine.dispose()


async def test_a_decision_is_recorded_once_and_a_failed_exam_throws_the_bpmn_error(
    zeebe: Any, zeebe_client: Any, run_workers: Any, tmp_path: Any
) -> None:
    await zeebe.deploy(BPMN / "grade.bpmn")
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    await run_workers(grade_router(), store_url=url)
    passed = await zeebe_client.run_process("runtime-grade", variables={"employee": "李伟", "score": 75})
    failed = await zeebe_client.run_process("runtime-grade", variables={"employee": "张敏", "score": 40})
    await zeebe.instance(passed.process_instance_key).wait_completed()
    await zeebe.instance(failed.process_instance_key).wait_element_passed("failed")
    assert zeebe.instance(passed.process_instance_key).variables()["passMark"] == 60
    log = DecisionLog(sa.create_engine(url))
    records = {r.process_instance_key: r for r in log.iter_records()}
    assert records[passed.process_instance_key].outputs == {"passed": True, "passMark": 60}
    assert records[failed.process_instance_key].outputs == {"passed": False, "passMark": 60}
    assert records[failed.process_instance_key].inputs == {"employee": "张敏", "score": 40}
    assert log.rule_text(records[passed.process_instance_key].rule_version) == "pass_mark = 60\n"


async def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _job_fail_backoffs(zeebe: Any, instance_key: int) -> list[int]:
    return [
        r["value"].get("retryBackoff", 0)
        for r in zeebe.records()
        if r["valueType"] == "JOB"
        and r["intent"] == "FAILED"
        and r["recordType"] == "EVENT"
        and r["value"].get("processInstanceKey") == instance_key
    ]


async def test_workers_survive_a_gateway_restart(zeebe: Any, run_workers: Any) -> None:
    await zeebe.deploy(BPMN / "greet.bpmn")
    app = await run_workers(greet_router())
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{app.health_port}/readyz") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ready"
        await zeebe.stop()
        async with http.get(f"http://127.0.0.1:{app.health_port}/readyz") as response:
            assert response.status == 503  # gateway down: not ready
        async with http.get(f"http://127.0.0.1:{app.health_port}/healthz") as response:
            assert response.status == 200  # but alive: nothing to restart
        await asyncio.sleep(1.0)  # the pollers fail and back off meanwhile
        await zeebe.start()
    # The test's own client must not give up either: pyzeebe closes a client's channel after 10 failed
    # calls by default, which a reconnect back-off under a loaded CI host can take (seen once in CI).
    channel = create_insecure_channel(grpc_address=zeebe.address)
    try:
        client = ZeebeClient(channel, max_connection_retries=-1)
        created = await _when_reconnected(
            lambda: client.run_process("runtime-greet", variables={"ownerName": "赵强", "department": "HR"})
        )
    finally:
        await channel.close()
    await zeebe.instance(created.process_instance_key).wait_completed()
    assert zeebe.instance(created.process_instance_key).variables()["greeting"] == "你好 赵强 (HR)"


async def _when_reconnected(call: Any, timeout_s: float = 10.0) -> Any:
    """The test's own client channel also needs a moment to reconnect after the restart."""
    from pyzeebe.errors import ZeebeGatewayUnavailableError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            return await call()
        except ZeebeGatewayUnavailableError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)
