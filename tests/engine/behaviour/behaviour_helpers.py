"""Shared helpers for the behaviour suite: BPMN paths, raw gateway calls pyzeebe has no method for, and
read-only views of the engine's record log.

Commands go over the real gRPC protocol: pyzeebe's ``ZeebeClient``/``ZeebeWorker`` where pyzeebe offers
the call, otherwise the gateway's generated stub (``SetVariables``, ``UpdateJobRetries``,
``ResolveIncident``, start instructions, single job activation for exact control). What happened is read
from the record log (Zeebe's exporter shape), never from engine internals.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine

BPMN_DIR = Path(__file__).parent / "bpmn"


def bpmn(name: str) -> Path:
    """A model of this suite, by file name (``"one-task.bpmn"``)."""
    path = BPMN_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no such behaviour model: {path}")
    return path


class Gateway:
    """The gateway calls the suite needs beyond pyzeebe, on the generated gRPC stub."""

    def __init__(self, stub: GatewayStub) -> None:
        self.stub = stub

    async def activate(
        self, job_type: str, *, max_jobs: int = 10, timeout_ms: int = 60_000, wait: bool = True
    ) -> list[pb.ActivatedJob]:
        """Activate jobs of ``job_type``; with ``wait`` long-poll up to 2 s for the first one, else answer now."""
        jobs: list[pb.ActivatedJob] = []
        request = pb.ActivateJobsRequest(
            type=job_type,
            worker="behaviour-test",
            timeout=timeout_ms,
            maxJobsToActivate=max_jobs,
            requestTimeout=2_000 if wait else -1,
        )
        async for response in self.stub.ActivateJobs(request):
            jobs.extend(response.jobs)
        return jobs

    async def activate_one(self, job_type: str, *, timeout_ms: int = 60_000) -> pb.ActivatedJob:
        jobs = await self.activate(job_type, max_jobs=1, timeout_ms=timeout_ms)
        if len(jobs) != 1:
            raise AssertionError(f"expected one activatable {job_type!r} job, got {len(jobs)}")
        return jobs[0]

    async def complete(self, job_key: int, variables: dict[str, Any] | None = None) -> None:
        await self.stub.CompleteJob(pb.CompleteJobRequest(jobKey=job_key, variables=json.dumps(variables or {})))

    async def fail(self, job_key: int, *, retries: int, message: str, backoff_ms: int = 0) -> None:
        await self.stub.FailJob(
            pb.FailJobRequest(jobKey=job_key, retries=retries, errorMessage=message, retryBackOff=backoff_ms)
        )

    async def throw_error(self, job_key: int, code: str, message: str = "") -> None:
        await self.stub.ThrowError(pb.ThrowErrorRequest(jobKey=job_key, errorCode=code, errorMessage=message))

    async def set_variables(self, element_instance_key: int, variables: dict[str, Any], *, local: bool) -> None:
        await self.stub.SetVariables(
            pb.SetVariablesRequest(
                elementInstanceKey=element_instance_key, variables=json.dumps(variables), local=local
            )
        )

    async def update_retries(self, job_key: int, retries: int) -> None:
        await self.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job_key, retries=retries))

    async def resolve(self, incident_key: int) -> None:
        await self.stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident_key))

    async def create_at(
        self, bpmn_process_id: str, start_element_ids: Sequence[str], variables: dict[str, Any] | None = None
    ) -> int:
        """CreateProcessInstance with start instructions; returns the process instance key."""
        response = await self.stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(
                bpmnProcessId=bpmn_process_id,
                version=-1,
                variables=json.dumps(variables or {}),
                startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId=e) for e in start_element_ids],
            )
        )
        return int(response.processInstanceKey)


def job_variables(job: pb.ActivatedJob) -> dict[str, Any]:
    return dict(json.loads(job.variables))


# -- read-only views of the record log -------------------------------------------------------------


def element_events(
    zeebe: EmbeddedEngine, element_id: str, intent: str, process_instance_key: int | None = None
) -> list[dict[str, Any]]:
    """PROCESS_INSTANCE events of one element with one intent (e.g. ``ELEMENT_COMPLETED``), in log order."""
    return [
        r
        for r in zeebe.records()
        if r["valueType"] == "PROCESS_INSTANCE"
        and r["recordType"] == "EVENT"
        and r["intent"] == intent
        and r["value"]["elementId"] == element_id
        and (process_instance_key is None or r["value"]["processInstanceKey"] == process_instance_key)
    ]


def element_instance_key(zeebe: EmbeddedEngine, process_instance_key: int, element_id: str) -> int:
    """The key of the (single) activated instance of ``element_id`` in that process instance."""
    events = element_events(zeebe, element_id, "ELEMENT_ACTIVATED", process_instance_key)
    if len(events) != 1:
        raise AssertionError(f"expected one activated {element_id!r}, found {len(events)}")
    return int(events[0]["key"])


def scope_variables(zeebe: EmbeddedEngine, scope_key: int) -> dict[str, Any]:
    """The variables whose scope is exactly ``scope_key`` (latest value of each), from VARIABLE records."""
    found: dict[str, Any] = {}
    for r in zeebe.records():
        if r["valueType"] == "VARIABLE" and r["recordType"] == "EVENT" and r["value"]["scopeKey"] == scope_key:
            found[r["value"]["name"]] = json.loads(r["value"]["value"])
    return found


def process_instances_of(zeebe: EmbeddedEngine, bpmn_process_id: str) -> list[int]:
    """Keys of every process instance of ``bpmn_process_id`` activated so far, in creation order."""
    return [
        int(r["key"])
        for r in zeebe.records()
        if r["valueType"] == "PROCESS_INSTANCE"
        and r["recordType"] == "EVENT"
        and r["intent"] == "ELEMENT_ACTIVATED"
        and r["value"]["bpmnElementType"] == "PROCESS"
        and r["value"]["bpmnProcessId"] == bpmn_process_id
    ]


def child_instances(zeebe: EmbeddedEngine, parent_process_instance_key: int) -> list[int]:
    """Process instances created by call activities of ``parent_process_instance_key``."""
    return [
        int(r["key"])
        for r in zeebe.records()
        if r["valueType"] == "PROCESS_INSTANCE"
        and r["recordType"] == "EVENT"
        and r["intent"] == "ELEMENT_ACTIVATED"
        and r["value"]["bpmnElementType"] == "PROCESS"
        and r["value"].get("parentProcessInstanceKey") == parent_process_instance_key
    ]


async def eventually(what: str, check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``check`` (short, growing intervals) until it holds; fail naming ``what`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = 0.002
    while not check():
        if loop.time() >= deadline:
            raise AssertionError(f"expected {what} within {timeout_s:g} s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


async def settle() -> None:
    """Give the engine (same event loop) a moment to process what a command triggered, for negative checks."""
    for _ in range(5):
        await asyncio.sleep(0.01)


async def expect_exactly(what: str, count: Callable[[], int], expected: int, timeout_s: float = 5.0) -> None:
    """Wait until ``count()`` reaches ``expected``, then check it stays there (nothing fires too often)."""
    await eventually(f"{expected} {what}", lambda: count() >= expected, timeout_s)
    await settle()
    actual = count()
    assert actual == expected, f"expected exactly {expected} {what}, found {actual}"
