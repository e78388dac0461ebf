"""Driving the slm models in process tests: people do their user tasks over Camunda's REST API.

Starts go over the gateway protocol; each human step is found by a user-task search and completed with
``POST /v2/user-tasks/{key}/completion``, as Tasklist does (tests/user_tasks.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from pyzeebe.proto.gateway_pb2 import CreateProcessInstanceRequest
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.user_tasks import People as Tasklist
from tests.user_tasks import UserTask, rest_api

REPO = Path(__file__).resolve().parents[2]
MODELS = [REPO / "bpmn" / name for name in ("procgov-change-request.bpmn", "procgov-sla-review.bpmn",
                                            "procgov-annual-sla-review.bpmn")]


class People:
    """The humans of a test: start instances (gRPC) and complete user tasks (REST) like Tasklist would."""

    def __init__(self, zeebe: EmbeddedEngine) -> None:
        self.channel = grpc.aio.insecure_channel(zeebe.address)
        self.stub: Any = GatewayStub(self.channel)
        self._zeebe = zeebe
        self._rest: Any = None
        self._tasks: Tasklist | None = None

    async def tasks(self) -> Tasklist:
        if self._tasks is None:
            self._rest = rest_api(self._zeebe)
            self._tasks = Tasklist(await self._rest.__aenter__())
        return self._tasks

    async def close(self) -> None:
        await self.channel.close()
        if self._tasks is not None:
            await self._tasks.close()
            await self._rest.__aexit__(None, None, None)

    async def start(self, process_id: str, variables: Mapping[str, Any]) -> int:
        response = await self.stub.CreateProcessInstance(CreateProcessInstanceRequest(
            bpmnProcessId=process_id, version=-1, variables=json.dumps(dict(variables))), timeout=10)
        return int(response.processInstanceKey)

    async def task(self, element_id: str, instance_key: int, timeout_s: float = 20.0) -> UserTask:
        return await (await self.tasks()).task(element_id, instance_key, timeout_s)

    async def complete(self, element_id: str, instance_key: int,
                       variables: Mapping[str, Any] | None = None) -> UserTask:
        """Complete the user task at ``element_id``; returns it (its variables are what the person saw)."""
        return await (await self.tasks()).complete(element_id, instance_key, variables)


def audit_filing(variables: Mapping[str, Any]) -> dict[str, Any]:
    """What ``audit.file-history`` filed as the model's last task, with its files checked to exist."""
    from pathlib import Path

    filing = dict(variables["auditFiling"])
    assert Path(filing["historyFile"]).is_file() and Path(filing["reportFile"]).is_file(), filing
    return filing


def child_instances(records: list[dict[str, Any]], process_id: str) -> list[int]:
    """Keys of the instances of ``process_id`` in the engine's records (call activities, timer starts)."""
    keys = []
    for record in records:
        value = record.get("value", {})
        if (record.get("valueType") == "PROCESS_INSTANCE" and record.get("intent") == "ELEMENT_ACTIVATED"
                and value.get("bpmnElementType") == "PROCESS" and value.get("bpmnProcessId") == process_id):
            keys.append(int(value["processInstanceKey"]))
    return keys
