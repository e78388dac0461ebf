"""Driving the slm models in process tests: people complete user tasks over the gateway protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from pyzeebe.proto.gateway_pb2 import ActivateJobsRequest, CompleteJobRequest, CreateProcessInstanceRequest
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from tests.forms.recording import record_user_task

REPO = Path(__file__).resolve().parents[2]
MODELS = [REPO / "bpmn" / name for name in ("procgov-change-request.bpmn", "procgov-sla-review.bpmn",
                                            "procgov-annual-sla-review.bpmn")]
USER_TASK = "io.camunda.zeebe:userTask"
LOCK_MS = 90 * 24 * 3600 * 1000  # engine time: longer than any clock jump a test makes


class People:
    """The humans of a test: start instances and complete job-based user tasks like Tasklist would."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(address)
        self.stub: Any = GatewayStub(self.channel)
        self.held: dict[tuple[int, str], list[Any]] = {}

    async def close(self) -> None:
        await self.channel.close()

    async def start(self, process_id: str, variables: Mapping[str, Any]) -> int:
        response = await self.stub.CreateProcessInstance(CreateProcessInstanceRequest(
            bpmnProcessId=process_id, version=-1, variables=json.dumps(dict(variables))), timeout=10)
        return int(response.processInstanceKey)

    async def _activate(self, wait_s: float) -> None:
        request = ActivateJobsRequest(type=USER_TASK, worker="slm-test-person", timeout=LOCK_MS, maxJobsToActivate=64,
                                      requestTimeout=int(wait_s * 1000))
        async for response in self.stub.ActivateJobs(request, timeout=wait_s + 10):
            for job in response.jobs:
                record_user_task(job.bpmnProcessId, job.elementId, json.loads(job.variables or "{}"))
                self.held.setdefault((job.processInstanceKey, job.elementId), []).append(job)

    async def job(self, element_id: str, instance_key: int, timeout_s: float = 20.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            jobs = self.held.get((instance_key, element_id))
            if jobs:
                return jobs.pop(0)
            if loop.time() > deadline:
                open_tasks = sorted(f"{k}/{e}" for (k, e), js in self.held.items() if js)
                raise TimeoutError(f"user task {element_id!r} of instance {instance_key} did not appear "
                                   f"(held: {', '.join(open_tasks) or 'none'})")
            await self._activate(wait_s=0.5)

    async def complete(self, element_id: str, instance_key: int, variables: Mapping[str, Any] | None = None) -> Any:
        """Complete the user task at ``element_id``; returns the job (its variables are what the person saw)."""
        job = await self.job(element_id, instance_key)
        await self.stub.CompleteJob(CompleteJobRequest(jobKey=job.key, variables=json.dumps(dict(variables or {}))),
                                    timeout=10)
        return job


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
