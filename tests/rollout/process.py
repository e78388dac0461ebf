"""Driving ``procgov-rollout`` in process tests: a desk of people doing their user tasks, over REST.

The human steps are Camunda user tasks; :class:`UserTaskDesk` finds the open ones with a user-task
search (``POST /v2/user-tasks/search``, which locks nothing) like a Tasklist would, and completes each
(``POST /v2/user-tasks/{key}/completion``) with what its script for that element returns (the owner's
plan, an employee's answer sheet, the stand-in reviews' results).
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

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.user_tasks import People, people

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT_BPMN = ROOT / "bpmn" / "procgov-rollout.bpmn"
FORMS = sorted((ROOT / "bpmn").glob("rollout-*.form"))
STAND_INS = sorted((Path(__file__).parent / "bpmn").glob("standin-*.bpmn"))


@dataclass(frozen=True)
class UserTask:
    element_id: str
    process_instance_key: int
    variables: dict[str, Any]
    assignee: str | None


Script = Callable[[UserTask], dict[str, Any]]


@dataclass
class UserTaskDesk:
    crowd: People
    scripts: dict[str, Script] = field(default_factory=dict)
    done: list[tuple[UserTask, dict[str, Any]]] = field(default_factory=list)
    unexpected: list[UserTask] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def completed(self, element_id: str) -> list[tuple[UserTask, dict[str, Any]]]:
        return [(task, out) for task, out in self.done if task.element_id == element_id]

    async def _serve(self) -> None:
        while True:
            for found in await self.crowd.open_tasks():
                key = str(found["userTaskKey"])
                if key in self._seen:
                    continue
                self._seen.add(key)
                seen = await self.crowd.seen(found)
                task = UserTask(seen.element_id, seen.process_instance_key, seen.variables, seen.assignee)
                script = self.scripts.get(task.element_id)
                if script is None:
                    self.unexpected.append(task)
                    continue
                out = script(task)
                self.done.append((task, out))
                await self.crowd.complete_task(found, out)
            await asyncio.sleep(0.05)


@asynccontextmanager
async def user_task_desk(zeebe: EmbeddedEngine, scripts: dict[str, Script]) -> AsyncIterator[UserTaskDesk]:
    async with people(zeebe) as crowd:
        desk = UserTaskDesk(crowd, dict(scripts))
        runner = asyncio.create_task(desk._serve())
        try:
            yield desk
        finally:
            runner.cancel()
            with suppress(asyncio.CancelledError):
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
