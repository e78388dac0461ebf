"""Job retries, retry back-off and job time-outs, driven by the engine's controlled clock.

Doc: "Job workers" https://docs.camunda.io/docs/components/concepts/job-workers/ (§ Completing or failing
jobs: a failed job with retries left is made activatable again, after the retry back-off if one is given;
§ Timeouts: a job not completed within its activation timeout becomes activatable again for any worker)
and the gateway API's FailJob ``retryBackOff`` field
https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#failjob-rpc.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from behaviour_helpers import Gateway, bpmn
from pyzeebe import ZeebeClient, ZeebeWorker

from procgov_engine.testing import EmbeddedEngine, running_worker
from procgov_engine.testing.external import CLOCK_REASON


async def test_failed_job_with_retries_left_is_activatable_again_with_the_new_retries(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Job workers" § Completing or failing jobs: FailJob with retries > 0 (no back-off) makes the same
    job available again at once, carrying the retries the worker sent.
    Docs:
    https://docs.camunda.io/docs/components/concepts/job-workers/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    await zeebe_client.run_process("bh-one-task")
    job = await gateway.activate_one("bh.work")
    assert job.retries == 3  # zeebe:taskDefinition retries="3"

    await gateway.fail(job.key, retries=2, message="relay busy")

    again = await gateway.activate_one("bh.work")
    assert (again.key, again.retries) == (job.key, 2)


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_retry_backoff_delays_reactivation_until_the_clock_passes_it(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc gateway API § FailJob ``retryBackOff``: the back-off before the job can be activated again.
    Docs:
    https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    await zeebe_client.run_process("bh-one-task")
    job = await gateway.activate_one("bh.work")

    await gateway.fail(job.key, retries=2, message="relay busy", backoff_ms=30_000)

    assert await gateway.activate("bh.work", wait=False) == []
    await zeebe.increase_time(timedelta(seconds=29))
    assert await gateway.activate("bh.work", wait=False) == []
    await zeebe.increase_time(timedelta(seconds=2))
    again = await gateway.activate_one("bh.work")
    assert (again.key, again.retries) == (job.key, 2)


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_job_not_completed_within_its_timeout_is_activatable_again(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Job workers" § Timeouts: if the job is not completed or failed within the activation timeout,
    it is made activatable again (retries unchanged); before the timeout no other worker gets it.
    Docs:
    https://docs.camunda.io/docs/components/concepts/job-workers/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    await zeebe_client.run_process("bh-one-task")
    job = await gateway.activate_one("bh.work", timeout_ms=10_000)

    await zeebe.increase_time(timedelta(seconds=9))
    assert await gateway.activate("bh.work", wait=False) == []
    await zeebe.increase_time(timedelta(seconds=2))

    again = await gateway.activate_one("bh.work")
    assert (again.key, again.retries) == (job.key, 3)


async def test_pyzeebe_worker_exception_decrements_retries_until_an_incident(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker
) -> None:
    """Doc "Job workers" § Completing or failing jobs and "Incidents": each failure reports retries - 1; when
    the retries reach 0 an incident with the last failure's message is raised.
    Docs:
    https://docs.camunda.io/docs/components/concepts/job-workers/
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    calls: list[int] = []

    @worker.task(task_type="bh.work")  # type: ignore[arg-type]  # pyzeebe generics defeat mypy inference
    async def work(**_: Any) -> dict[str, Any]:
        calls.append(len(calls) + 1)
        raise RuntimeError(f"store down (attempt {len(calls)})")

    async with running_worker(worker):
        created = await zeebe_client.run_process("bh-one-task")
        incident = await zeebe.instance(created.process_instance_key).wait_incident("store down (attempt 3)")

    assert calls == [1, 2, 3]
    assert incident.error_type == "JOB_NO_RETRIES"


async def test_completing_a_job_of_a_cancelled_instance_is_rejected(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc gateway API § CancelProcessInstance RPC and § CompleteJob RPC errors: cancelling terminates all active
    elements; their jobs are cancelled, so CompleteJob answers NOT_FOUND ("no job exists with the given key").
    Docs:
    https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    created = await zeebe_client.run_process("bh-one-task")
    job = await gateway.activate_one("bh.work")

    await zeebe_client.cancel_process_instance(created.process_instance_key)
    await zeebe.instance(created.process_instance_key).wait_terminated()

    with pytest.raises(grpc.aio.AioRpcError) as rejected:
        await gateway.complete(job.key)
    assert rejected.value.code() == grpc.StatusCode.NOT_FOUND
