"""Handlers are cut off at their job's deadline; a job the worker no longer holds is dropped, not fatal.

End to end on the embedded engine over gRPC: the engine's clock is controlled (it never advances by
itself), so the cut-off the tests see is the runtime's own, in real time, from the task's timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from tests.runtime.handlers import BPMN
from workers.runtime import TaskRouter
from workers.runtime.app import build_services
from workers.runtime.deadline import run_within_deadline, time_limit_s
from workers.runtime.errors import JobTimeoutError
from workers.runtime.jobs import JobObserver
from workers.runtime.settings import WorkerSettings

LOCK_EXPIRED = "handler cut off after the job's lock expired"
SLOW_TYPE = "runtime-test.slow"  # the service task of bpmn/slow.bpmn (retries="3")
TIMEOUT_MESSAGE = (
    "handler exceeded the job timeout of 300 ms; raise the task's timeout "
    "(PROCGOV_TASKS__runtime-test.slow__TIMEOUT_MS) or make the handler faster"
)


class StepRequest(BaseModel):
    step: str
    seconds: float = 0.0


class StepResult(BaseModel):
    finished: str


class Probe:
    """What the handler saw: which steps started, which were cancelled, and a gate to hold it on."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()


def step_router(probe: Probe) -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task(SLOW_TYPE, timeout_ms=60_000)
    async def step(request: StepRequest) -> StepResult:
        probe.started.append(request.step)
        try:
            await asyncio.sleep(request.seconds)
            await probe.gate.wait()
        except asyncio.CancelledError:
            probe.cancelled.append(request.step)
            raise
        return StepResult(finished=request.step)

    return router


def sync_step_router(finished: list[str]) -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task(SLOW_TYPE, timeout_ms=60_000)
    def step(request: StepRequest) -> StepResult:
        time.sleep(request.seconds)  # in a thread, which the runtime cannot kill: it stops waiting
        finished.append(request.step)
        return StepResult(finished=request.step)

    return router


def loop_blocking_router() -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task(SLOW_TYPE, timeout_ms=60_000)
    async def step(request: StepRequest) -> StepResult:
        time.sleep(request.seconds)  # noqa: ASYNC251 - the bug under test: it blocks the worker's loop
        await asyncio.sleep(5)
        return StepResult(finished=request.step)

    return router


# --- the limit itself -------------------------------------------------------------------------------


def test_the_limit_is_the_timeout_minus_a_margin_capped_at_a_tenth() -> None:
    assert time_limit_s(60_000, 1_000) == 59.0
    assert time_limit_s(300, 1_000) == 0.27  # a short timeout keeps 90 % of itself
    assert time_limit_s(300, 0) == 0.3


async def test_a_handlers_own_timeout_error_is_not_taken_for_the_deadline() -> None:
    async def handler() -> None:
        raise TimeoutError("smtp connect timed out")

    with pytest.raises(TimeoutError, match="smtp connect timed out") as raised:
        await run_within_deadline(handler(), job_type=SLOW_TYPE, timeout_ms=60_000, margin_ms=1_000)
    assert not isinstance(raised.value, JobTimeoutError)


async def test_a_cut_off_that_comes_after_the_timeout_itself_marks_the_lock_expired() -> None:
    """A handler that blocks the event loop past the whole timeout: the cut-off fires late, when the
    job may already be someone else's, so the runtime must not send FailJob for it."""

    async def blocking_handler() -> None:
        time.sleep(0.08)  # noqa: ASYNC251 - blocking the loop past the 50 ms timeout is the point
        await asyncio.sleep(1)

    with pytest.raises(JobTimeoutError) as raised:
        await run_within_deadline(blocking_handler(), job_type=SLOW_TYPE, timeout_ms=50, margin_ms=0)
    assert raised.value.lock_expired

    # On time (the margin's 100 ms before the timeout): the job is still held, so it gets a FailJob.
    with pytest.raises(JobTimeoutError) as in_time:
        await run_within_deadline(asyncio.sleep(5), job_type=SLOW_TYPE, timeout_ms=1_000, margin_ms=1_000)
    assert not in_time.value.lock_expired


# --- end to end -------------------------------------------------------------------------------------


async def test_a_handler_past_its_timeout_is_cancelled_and_the_job_failed_with_a_back_off(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "slow.bpmn")
    probe = Probe()
    app = await run_workers(
        step_router(probe),
        tasks={SLOW_TYPE: {"timeout_ms": 300}},
        retry={"base_ms": 60_000, "max_ms": 600_000},  # no retry within the test (engine clock stands)
    )
    with capture_logs() as logs:
        slow = await zeebe_client.run_process("runtime-slow", variables={"step": "slow", "seconds": 5})
        await _wait_for(lambda: _failed_jobs(zeebe, slow.process_instance_key))
    (failed,) = _failed_jobs(zeebe, slow.process_instance_key)
    assert failed["errorMessage"] == TIMEOUT_MESSAGE
    assert failed["retries"] == 2
    assert failed["retryBackoff"] == 60_000
    await _wait_for(lambda: probe.cancelled == ["slow"])

    cut_off = next(entry for entry in logs if entry["event"] == "handler cut off at the job's deadline")
    assert cut_off["log_level"] == "warning"
    assert cut_off["timeout_ms"] == 300
    assert cut_off["job_type"] == SLOW_TYPE
    assert cut_off["process_instance_key"] == slow.process_instance_key
    assert cut_off["element_id"] == "slow-step"

    # A fast handler under the same 300 ms timeout is unaffected.
    fast = await zeebe_client.run_process("runtime-slow", variables={"step": "fast", "seconds": 0.01})
    await zeebe.instance(fast.process_instance_key).wait_completed()
    assert zeebe.instance(fast.process_instance_key).variables()["finished"] == "fast"
    assert probe.cancelled == ["slow"]

    metrics = await _metrics(app)
    assert f'procgov_jobs_timed_out_total{{job_type="{SLOW_TYPE}"}} 1.0' in metrics
    assert f'procgov_jobs_failed_total{{incident="false",job_type="{SLOW_TYPE}"}} 1.0' in metrics
    assert f'procgov_jobs_completed_total{{job_type="{SLOW_TYPE}"}} 1.0' in metrics


async def test_a_sync_handler_past_its_timeout_fails_the_job_and_its_late_result_is_dropped(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "slow.bpmn")
    finished: list[str] = []
    await run_workers(
        sync_step_router(finished),
        tasks={SLOW_TYPE: {"timeout_ms": 300}},
        retry={"base_ms": 60_000, "max_ms": 600_000},
    )
    slow = await zeebe_client.run_process("runtime-slow", variables={"step": "slow", "seconds": 0.8})
    await _wait_for(lambda: _failed_jobs(zeebe, slow.process_instance_key))
    assert finished == []  # failed while the thread still ran
    await _wait_for(lambda: finished == ["slow"])  # the thread ends; its result goes nowhere
    await asyncio.sleep(0.1)
    (failed,) = _failed_jobs(zeebe, slow.process_instance_key)
    assert failed["errorMessage"] == TIMEOUT_MESSAGE
    assert failed["retries"] == 2
    assert "finished" not in zeebe.instance(slow.process_instance_key).variables()


async def test_a_cut_off_after_the_lock_expired_sends_nothing_for_the_job(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    """The handler blocks the worker's event loop past the whole timeout, so the cut-off fires when the
    job may already be someone else's: the worker logs it and sends no FailJob."""
    await zeebe.deploy(BPMN / "slow.bpmn")
    app = await run_workers(loop_blocking_router(), tasks={SLOW_TYPE: {"timeout_ms": 300}})
    with capture_logs() as logs:
        stuck = await zeebe_client.run_process("runtime-slow", variables={"step": "stuck", "seconds": 0.4})
        await _wait_for(lambda: any(e["event"].startswith(LOCK_EXPIRED) for e in logs))
        await asyncio.sleep(0.2)
    dropped = next(e for e in logs if e["event"].startswith(LOCK_EXPIRED))
    assert dropped["log_level"] == "warning"
    assert dropped["process_instance_key"] == stuck.process_instance_key
    assert _failed_jobs(zeebe, stuck.process_instance_key) == []
    metrics = await _metrics(app)
    assert f'procgov_jobs_timed_out_total{{job_type="{SLOW_TYPE}"}} 1.0' in metrics
    assert "procgov_jobs_failed_total{" not in metrics


async def test_completing_a_job_whose_instance_was_cancelled_is_a_warning_and_the_worker_goes_on(
    zeebe: Any, zeebe_client: Any, run_workers: Any
) -> None:
    await zeebe.deploy(BPMN / "slow.bpmn")
    probe = Probe()
    probe.gate.clear()  # the handler holds until the instance is gone
    await run_workers(step_router(probe))
    with capture_logs() as logs:
        doomed = await zeebe_client.run_process("runtime-slow", variables={"step": "doomed"})
        await _wait_for(lambda: probe.started == ["doomed"])
        await zeebe_client.cancel_process_instance(doomed.process_instance_key)
        probe.gate.set()  # the handler returns; its CompleteJob finds no job
        await _wait_for(lambda: any(e["event"].startswith("gateway rejected CompleteJob") for e in logs))

        after = await zeebe_client.run_process("runtime-slow", variables={"step": "next"})
        await zeebe.instance(after.process_instance_key).wait_completed()
    assert zeebe.instance(after.process_instance_key).variables()["finished"] == "next"

    rejected = next(e for e in logs if e["event"].startswith("gateway rejected CompleteJob"))
    assert rejected["log_level"] == "warning"
    assert rejected["error_type"] in ("JobNotFoundError", "JobAlreadyDeactivatedError")
    assert rejected["job_type"] == SLOW_TYPE
    assert rejected["process_instance_key"] == doomed.process_instance_key
    assert rejected["element_id"] == "slow-step"
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]


async def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _failed_jobs(zeebe: Any, instance_key: int) -> list[dict[str, Any]]:
    return [
        r["value"]
        for r in zeebe.records()
        if r["valueType"] == "JOB"
        and r["intent"] == "FAILED"
        and r["recordType"] == "EVENT"
        and r["value"].get("processInstanceKey") == instance_key
    ]


async def _metrics(app: Any) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.health_port}/metrics") as response:
        return await response.text()


def test_the_margin_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WorkerSettings(_env_file=None).job_deadline_margin_ms == 1_000  # type: ignore[call-arg]
    monkeypatch.setenv("PROCGOV_JOB_DEADLINE_MARGIN_MS", "2500")
    configured = WorkerSettings(_env_file=None)  # type: ignore[call-arg]
    assert build_services(configured, observer=JobObserver(), decision_log=None).deadline_margin_ms == 2_500
