"""Jobs over gRPC: pyzeebe workers, failures and retries, incidents, BPMN errors, long polling, streams.

Zeebe docs: "Job workers" (https://docs.camunda.io/docs/components/concepts/job-workers/) — "Requesting
jobs", "Long polling", "Job streaming", "Completing or failing jobs", "Timeouts"; "Incidents"
(https://docs.camunda.io/docs/components/concepts/incidents/) — a job failing with no retries left
raises an incident, resolved by updating retries and resolving the incident; "Error events"
(https://docs.camunda.io/docs/components/modeler/bpmn/error-events/) — ThrowError is caught by an
error boundary event with the same error code.
"""

# No ``from __future__ import annotations`` here: pyzeebe finds a handler's ``job: Job`` parameter by
# comparing the runtime annotation with the Job class, which a string annotation never equals.

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyzeebe import Job, ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.errors import BusinessError, JobNotFoundError
from pyzeebe.grpc_internals.zeebe_adapter import ZeebeAdapter
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine, running_worker

RESOURCES = Path(__file__).parent / "resources"


@pytest.fixture
async def stub(zeebe: EmbeddedEngine) -> AsyncIterator[GatewayStub]:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        yield GatewayStub(channel)


@pytest.fixture
async def worker(zeebe: EmbeddedEngine) -> AsyncIterator[ZeebeWorker]:
    channel = create_insecure_channel(grpc_address=zeebe.address)
    yield ZeebeWorker(channel, name="gateway-test-worker")
    await channel.close()


async def _activate(
    stub: GatewayStub, job_type: str, *, request_timeout: int = -1, max_jobs: int = 10, job_timeout: int = 60_000
) -> list[pb.ActivatedJob]:
    jobs: list[pb.ActivatedJob] = []
    async for response in stub.ActivateJobs(
        pb.ActivateJobsRequest(
            type=job_type,
            worker="stub",
            timeout=job_timeout,
            maxJobsToActivate=max_jobs,
            requestTimeout=request_timeout,
        )
    ):
        jobs.extend(response.jobs)
    return jobs


async def test_worker_completes_three_tasks_with_fetched_variables_and_headers(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker
) -> None:
    await zeebe.deploy(RESOURCES / "three-tasks.bpmn")
    seen: dict[str, Any] = {}

    @worker.task(task_type="gw.prepare", variables_to_fetch=["owner"])
    async def prepare(owner: str, job: Job) -> dict[str, Any]:
        seen["prepare"] = dict(job.variables)
        return {"prepared": True}

    @worker.task(task_type="gw.review")
    async def review(job: Job) -> dict[str, Any]:
        seen["review"] = dict(job.variables)
        seen["headers"] = dict(job.custom_headers)
        return {"reviewed": "ok"}

    @worker.task(task_type="gw.publish")
    async def publish(prepared: bool, reviewed: str) -> dict[str, Any]:
        return {"published": prepared and reviewed == "ok"}

    async with running_worker(worker):
        created = await zeebe_client.run_process("gw-three-tasks", {"owner": "质量管理部", "pilot": "采购部"})
        instance = zeebe.instance(created.process_instance_key)
        await instance.wait_completed()

    assert seen["prepare"] == {"owner": "质量管理部"}  # only the fetched variable
    assert seen["review"] == {"owner": "质量管理部", "pilot": "采购部", "prepared": True}
    assert seen["headers"] == {"reviewer": "quality-office"}
    assert instance.variables() == {
        "owner": "质量管理部",
        "pilot": "采购部",
        "prepared": True,
        "reviewed": "ok",
        "published": True,
    }
    for element in ("prepare", "review", "publish", "end"):
        await instance.wait_element_passed(element)


async def test_failing_worker_raises_incident_then_retries_and_resolve_complete_it(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")  # retries="2"
    attempts: list[int] = []

    @worker.task(task_type="gw.work")
    async def work(job: Job) -> dict[str, Any]:
        attempts.append(job.retries)
        if len(attempts) <= 2:
            raise RuntimeError(f"upstream store down (attempt {len(attempts)})")
        return {"done": True}

    async with running_worker(worker):
        created = await zeebe_client.run_process("gw-one-task")
        instance = zeebe.instance(created.process_instance_key)
        incident = await instance.wait_incident(message_contains="upstream store down (attempt 2)")
        assert attempts == [2, 1]

        await stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=incident.job_key, retries=1))
        await stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident.key))

        await instance.wait_completed()
    assert attempts == [2, 1, 1]
    assert instance.variables() == {"done": True}


async def test_fail_job_with_backoff_is_reactivated_only_after_the_clock_passes_it(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    created = await zeebe_client.run_process("gw-one-task")
    await zeebe.instance(created.process_instance_key).wait_element_active("work")
    [job] = await _activate(stub, "gw.work")
    assert job.retries == 2

    await stub.FailJob(
        pb.FailJobRequest(
            jobKey=job.key, retries=1, errorMessage="mail relay busy", retryBackOff=60_000, variables='{"tries": 1}'
        )
    )

    assert await _activate(stub, "gw.work") == []  # backing off
    await zeebe.increase_time(timedelta(seconds=59))
    assert await _activate(stub, "gw.work") == []
    await zeebe.increase_time(timedelta(seconds=2))
    [again] = await _activate(stub, "gw.work")
    assert (again.key, again.retries) == (job.key, 1)

    await stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0, errorMessage="mail relay rejected the sender"))
    incident = await zeebe.instance(created.process_instance_key).wait_incident(message_contains="rejected the sender")
    assert incident.job_key == job.key
    assert await _activate(stub, "gw.work") == []  # no retries: not activatable until resolved


async def test_job_timeout_and_update_job_timeout(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    created = await zeebe_client.run_process("gw-one-task")
    await zeebe.instance(created.process_instance_key).wait_element_active("work")
    [job] = await _activate(stub, "gw.work", job_timeout=60_000)

    await stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=5_000))
    await zeebe.increase_time(timedelta(seconds=6))

    [again] = await _activate(stub, "gw.work")  # timed out: activatable again, same job
    assert again.key == job.key


async def test_business_error_is_caught_by_the_boundary_event(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker
) -> None:
    await zeebe.deploy(RESOURCES / "error-boundary.bpmn")

    @worker.task(task_type="gw.grade")
    async def grade(score: int) -> dict[str, Any]:
        if score < 80:
            raise BusinessError("EXAM_FAILED", f"score {score} below 80")
        return {"grade": "pass"}

    async with running_worker(worker):
        failed = await zeebe_client.run_process("gw-error-boundary", {"score": 61})
        passed = await zeebe_client.run_process("gw-error-boundary", {"score": 95})
        await zeebe.instance(failed.process_instance_key).wait_element_passed("retake")
        await zeebe.instance(passed.process_instance_key).wait_element_passed("passed")
    await zeebe.instance(failed.process_instance_key).wait_completed()


async def test_throw_error_without_catching_boundary_raises_incident(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "error-boundary.bpmn")
    created = await zeebe_client.run_process("gw-error-boundary", {"score": 10})
    await zeebe.instance(created.process_instance_key).wait_element_active("grade")
    [job] = await _activate(stub, "gw.grade")

    await stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="NO_SUCH_CODE", errorMessage="unexpected"))

    await zeebe.instance(created.process_instance_key).wait_incident()


async def test_long_poll_is_woken_by_a_new_job(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    poll = asyncio.create_task(_activate(stub, "gw.work", request_timeout=30_000))
    await asyncio.sleep(0.05)  # let the poll reach the gateway and find nothing
    assert not poll.done()

    created = await zeebe_client.run_process("gw-one-task")

    # Answered because the job appeared: a poll that was never woken would end empty (after 30 s).
    jobs = await asyncio.wait_for(poll, timeout=20)
    assert [j.processInstanceKey for j in jobs] == [created.process_instance_key]


async def test_concurrent_long_polls_of_one_type_are_served_in_arrival_order(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    polls = []
    for _ in range(3):
        polls.append(asyncio.create_task(_activate(stub, "gw.work", request_timeout=30_000, max_jobs=5)))
        await asyncio.sleep(0.02)  # a defined arrival order

    served: list[list[pb.ActivatedJob]] = []
    for turn in range(3):
        created = await zeebe_client.run_process("gw-one-task")
        jobs = await asyncio.wait_for(polls[turn], timeout=20)  # the longest-waiting poll gets the job
        assert [j.processInstanceKey for j in jobs] == [created.process_instance_key]
        assert not any(p.done() for p in polls[turn + 1 :])  # the others keep waiting their turn
        served.append(jobs)
    assert len({jobs[0].key for jobs in served}) == 3


async def test_negative_request_timeout_answers_at_once(stub: GatewayStub) -> None:
    assert await _activate(stub, "gw.nobody-creates-this", request_timeout=-1) == []


async def test_long_poll_ends_empty_before_the_client_deadline(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    responses = stub.ActivateJobs(
        pb.ActivateJobsRequest(type="gw.idle", worker="stub", timeout=1_000, maxJobsToActivate=1, requestTimeout=0),
        timeout=0.5,  # shorter than the 10 s default long poll: the gateway must answer before it
    )
    assert [r async for r in responses] == []


async def test_job_stream_pushes_jobs_as_they_are_created(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    stream = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="gw.work", worker="streamer", timeout=60_000))
    received: list[pb.ActivatedJob] = []

    async def consume() -> None:
        async for job in stream:
            received.append(job)
            await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables='{"streamed": true}'))

    consumer = asyncio.create_task(consume())
    try:
        first = await zeebe_client.run_process("gw-one-task")
        second = await zeebe_client.run_process("gw-one-task")
        await zeebe.instance(first.process_instance_key).wait_completed()
        await zeebe.instance(second.process_instance_key).wait_completed()
    finally:
        stream.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
    assert {j.processInstanceKey for j in received} == {first.process_instance_key, second.process_instance_key}
    assert all(j.worker == "streamer" for j in received)


async def test_streaming_pyzeebe_worker_completes_jobs(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    channel = create_insecure_channel(grpc_address=zeebe.address)
    worker = ZeebeWorker(channel, stream_enabled=True)

    @worker.task(task_type="gw.work")
    async def work() -> dict[str, Any]:
        return {"via": "stream-or-poll"}

    async with running_worker(worker):
        created = await zeebe_client.run_process("gw-one-task")
        await zeebe.instance(created.process_instance_key).wait_completed()
    await channel.close()
    streamed = [r for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "COMPLETED"]
    assert len(streamed) == 1


async def test_completing_an_unknown_or_completed_job_is_not_found(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, stub: GatewayStub
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    created = await zeebe_client.run_process("gw-one-task")
    await zeebe.instance(created.process_instance_key).wait_element_active("work")
    [job] = await _activate(stub, "gw.work")
    await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (raised.value.details() or "").startswith("Command 'COMPLETE' rejected with code 'NOT_FOUND': ")

    async with grpc.aio.insecure_channel(zeebe.address) as channel:  # what pyzeebe's JobController calls
        with pytest.raises(JobNotFoundError):
            await ZeebeAdapter(channel).complete_job(job_key=987654321, variables={})


@pytest.mark.parametrize(
    ("request_", "wording"),
    [
        (pb.ActivateJobsRequest(type="", worker="w", timeout=1000, maxJobsToActivate=1), "job type is empty"),
        (pb.ActivateJobsRequest(type="t", worker="w", timeout=1000, maxJobsToActivate=0), "at least 1 job"),
        (pb.ActivateJobsRequest(type="t", worker="w", timeout=0, maxJobsToActivate=1), "timeout"),
    ],
)
async def test_invalid_activation_requests_are_invalid_argument(
    stub: GatewayStub, request_: pb.ActivateJobsRequest, wording: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in stub.ActivateJobs(request_):
            pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert wording in (raised.value.details() or "")


async def test_shutdown_ends_pending_long_polls_and_streams_cleanly(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    """A stopping gateway answers parked requests (empty poll, finished stream) instead of cutting them."""
    poll = asyncio.create_task(_activate(stub, "gw.idle", request_timeout=30_000))
    stream = stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(type="gw.idle", worker="s", timeout=1_000))
    streamed = asyncio.create_task(_drain(stream))
    await asyncio.sleep(0.05)  # both parked in the gateway
    assert not poll.done()
    assert not streamed.done()

    await zeebe.stop()

    assert await asyncio.wait_for(poll, timeout=10) == []
    assert await asyncio.wait_for(streamed, timeout=10) == []


async def _drain(stream: Any) -> list[pb.ActivatedJob]:
    return [job async for job in stream]
