"""``CompleteJob`` with a job result over gRPC: a user task listener's corrections and denial.

Camunda docs, "User task listeners" (https://docs.camunda.io/docs/components/concepts/user-task-listeners/)
§ Correct user task data and § Deny a state transition; Zeebe API (gRPC) "CompleteJob" (``result``:
``denied``, ``deniedReason``, ``corrections``). The request bytes are those of Camunda 8.8's
gateway.proto, which has the ``result`` field that pyzeebe's generated classes lack.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.gateway.job_result import CompleteJobResult
from procgov_engine.testing import EmbeddedEngine

GUARDED = Path(__file__).parents[1] / "rest" / "resources" / "rest-guarded.bpmn"


@pytest.fixture
async def channel(zeebe: EmbeddedEngine) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(zeebe.address) as opened:
        yield opened


async def _complete_with_result(channel: grpc.aio.Channel, job_key: int, result: dict[str, Any]) -> None:
    """CompleteJob as a Camunda 8.8 client sends it: jobKey, variables and the result message."""
    request = pb.CompleteJobRequest(jobKey=job_key).SerializeToString()
    request += CompleteJobResult(result=result).SerializeToString()
    call = channel.unary_unary(
        "/gateway_protocol.Gateway/CompleteJob",
        request_serializer=lambda raw: raw,
        response_deserializer=pb.CompleteJobResponse.FromString,
    )
    await call(request)


async def _one_job(stub: GatewayStub, job_type: str) -> pb.ActivatedJob:
    request = pb.ActivateJobsRequest(
        type=job_type, worker="t", timeout=60_000, maxJobsToActivate=1, requestTimeout=5_000
    )
    async for response in stub.ActivateJobs(request):
        if response.jobs:
            return response.jobs[0]
    raise AssertionError(f"no {job_type} job")


async def test_listener_corrects_and_denies_over_grpc(zeebe: EmbeddedEngine, channel: grpc.aio.Channel) -> None:
    stub = GatewayStub(channel)
    await zeebe.deploy(GUARDED)
    created = await stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(bpmnProcessId="rest-guarded", version=-1)
    )
    assigning = await _one_job(stub, "rest-assign-guard")
    await _complete_with_result(channel, assigning.key, {"corrections": {"assignee": "carl", "priority": 75}})
    [task] = [t for t in zeebe.engine.query.user_tasks() if t.process_instance_key == created.processInstanceKey]
    assert (task.state, task.assignee, task.priority) == ("CREATED", "carl", 75)

    completion = asyncio.ensure_future(zeebe.engine.complete_user_task(task.key, {"ok": True}))
    completing = await _one_job(stub, "rest-complete-guard")
    await _complete_with_result(channel, completing.key, {"denied": True, "deniedReason": "missing approval"})
    with pytest.raises(Rejection) as denied:
        await completion
    assert denied.value.type == RejectionType.INVALID_STATE
    assert denied.value.reason.endswith("Reason to deny: 'missing approval'")

    completion = asyncio.ensure_future(zeebe.engine.complete_user_task(task.key, {"ok": True}))
    completing = await _one_job(stub, "rest-complete-guard")
    with pytest.raises(grpc.aio.AioRpcError) as wrong_type:
        await _complete_with_result(channel, completing.key, {"type": "adHocSubProcess"})
    assert wrong_type.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await stub.CompleteJob(pb.CompleteJobRequest(jobKey=completing.key))  # no result: the completion goes on
    await completion
    await zeebe.instance(created.processInstanceKey).wait_completed()
