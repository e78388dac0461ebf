"""Driving ``procgov-rollout`` in process tests: a desk of people completing user tasks, over gRPC.

Job-based user tasks are jobs of type ``io.camunda.zeebe:userTask``; :class:`UserTaskDesk` activates
them through the gateway like a tasklist would and completes each with what its script for that
element returns (the owner's plan, an employee's answer sheet, the stand-in reviews' results).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc

from engine.testing.embedded import EmbeddedEngine
from tests.forms.recording import record_user_task

USER_TASK = "io.camunda.zeebe:userTask"
ROOT = Path(__file__).resolve().parents[2]
ROLLOUT_BPMN = ROOT / "bpmn" / "procgov-rollout.bpmn"
FORMS = sorted((ROOT / "bpmn").glob("rollout-*.form"))
STAND_INS = sorted((Path(__file__).parent / "bpmn").glob("standin-*.bpmn"))


@dataclass(frozen=True)
class UserTask:
    element_id: str
    process_instance_key: int
    variables: dict[str, Any]
    headers: dict[str, str]

    @property
    def assignee(self) -> str | None:
        return self.headers.get("io.camunda.zeebe:assignee")


Script = Callable[[UserTask], dict[str, Any]]


@dataclass
class UserTaskDesk:
    stub: gateway_pb2_grpc.GatewayStub
    scripts: dict[str, Script] = field(default_factory=dict)
    done: list[tuple[UserTask, dict[str, Any]]] = field(default_factory=list)
    unexpected: list[UserTask] = field(default_factory=list)

    def completed(self, element_id: str) -> list[tuple[UserTask, dict[str, Any]]]:
        return [(task, out) for task, out in self.done if task.element_id == element_id]

    async def _serve(self) -> None:
        while True:
            request = pb.ActivateJobsRequest(type=USER_TASK, worker="test-desk", timeout=300_000,
                                             maxJobsToActivate=32, requestTimeout=200)
            async for response in self.stub.ActivateJobs(request):
                for job in response.jobs:
                    task = UserTask(job.elementId, job.processInstanceKey, json.loads(job.variables or "{}"),
                                    json.loads(job.customHeaders or "{}"))
                    record_user_task(job.bpmnProcessId, job.elementId, task.variables)
                    script = self.scripts.get(task.element_id)
                    if script is None:
                        self.unexpected.append(task)
                        continue
                    out = script(task)
                    self.done.append((task, out))
                    await self.stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables=json.dumps(out)))


@asynccontextmanager
async def user_task_desk(zeebe: EmbeddedEngine, scripts: dict[str, Script]) -> AsyncIterator[UserTaskDesk]:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        desk = UserTaskDesk(gateway_pb2_grpc.GatewayStub(channel), dict(scripts))
        runner = asyncio.create_task(desk._serve())
        try:
            yield desk
        finally:
            runner.cancel()
            with suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await runner


async def start(zeebe: EmbeddedEngine, variables: dict[str, Any], start_at: Sequence[str] = ()) -> int:
    """Create an instance over gRPC, optionally with start instructions (to test one step alone)."""
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        response = await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
            bpmnProcessId="procgov-rollout", version=-1, variables=json.dumps(variables),
            startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId=e) for e in start_at]))
        return int(response.processInstanceKey)


def passed(zeebe: EmbeddedEngine, instance_key: int, element_id: str) -> int:
    """How often ``element_id`` completed in the instance."""
    return sum(1 for r in zeebe.records()
               if r["valueType"] == "PROCESS_INSTANCE" and r["intent"] == "ELEMENT_COMPLETED"
               and r["value"].get("processInstanceKey") == instance_key and r["value"].get("elementId") == element_id)


async def wait_activated(zeebe: EmbeddedEngine, instance_key: int, element_id: str, times: int = 1,
                         timeout_s: float = 15.0) -> None:
    """Wait until ``element_id`` was activated ``times`` times (loops and multi-instance bodies)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        count = sum(1 for r in zeebe.records()
                    if r["valueType"] == "PROCESS_INSTANCE" and r["intent"] == "ELEMENT_ACTIVATED"
                    and r["value"].get("processInstanceKey") == instance_key
                    and r["value"].get("elementId") == element_id)
        if count >= times:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{element_id} activated {count} times, expected {times}:\n"
                                 + zeebe.instance(instance_key).snapshot().describe())
        await asyncio.sleep(0.05)
