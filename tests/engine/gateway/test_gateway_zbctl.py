"""The embedded engine driven by Camunda's own CLI, zbctl 8.4 (a Go client of the same gateway protocol).

Zeebe docs: "CLI client" / zbctl (https://docs.camunda.io/docs/apis-tools/cli-client/) — status,
deploy resource, create instance, publish message, cancel instance, update retries, resolve incident.
zbctl runs as a subprocess awaited with asyncio, so the engine in this test's loop keeps serving it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine
from tests.conftest import skip_or_fail

RESOURCES = Path(__file__).parent / "resources"
ZBCTL = Path(__file__).resolve().parents[3] / "tools" / "node_modules" / ".bin" / "zbctl"

pytestmark = pytest.mark.node


@pytest.fixture
def zbctl_path() -> Path:
    if not ZBCTL.exists():
        skip_or_fail(f"zbctl not installed at {ZBCTL} (run 'make setup' with npm available)")
    return ZBCTL


async def _zbctl(zbctl: Path, zeebe: EmbeddedEngine, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(zbctl),
        "--insecure",
        "--address",
        zeebe.address,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"zbctl {' '.join(args)} failed: {stderr.decode()}{stdout.decode()}"
    return stdout.decode()


def _json(output: str) -> dict[str, Any]:
    return json.loads(output[output.index("{") :])


async def test_zbctl_status_deploy_create_publish_cancel(zbctl_path: Path, zeebe: EmbeddedEngine) -> None:
    status = await _zbctl(zbctl_path, zeebe, "status")
    assert "Cluster size: 1" in status
    assert "Partition 1 : Leader, Healthy" in status

    deployed = _json(await _zbctl(zbctl_path, zeebe, "deploy", "resource", str(RESOURCES / "message-catch.bpmn")))
    [deployment] = deployed["deployments"]
    assert deployment["process"]["bpmnProcessId"] == "gw-message-catch"

    created = _json(
        await _zbctl(zbctl_path, zeebe, "create", "instance", "gw-message-catch", "--variables", '{"requestId": "Z-1"}')
    )
    waiting = zeebe.instance(int(created["processInstanceKey"]))
    await waiting.wait_element_active("await-approval")

    await _zbctl(
        zbctl_path,
        zeebe,
        "publish",
        "message",
        "approval-received",
        "--correlationKey",
        "Z-1",
        "--variables",
        '{"approvedBy": "zbctl"}',
    )
    await waiting.wait_completed()
    assert waiting.variables()["approvedBy"] == "zbctl"

    second = _json(
        await _zbctl(zbctl_path, zeebe, "create", "instance", "gw-message-catch", "--variables", '{"requestId": "Z-2"}')
    )
    await _zbctl(zbctl_path, zeebe, "cancel", "instance", str(second["processInstanceKey"]))
    await zeebe.instance(int(second["processInstanceKey"])).wait_terminated()


async def test_zbctl_update_retries_and_resolve_incident(zbctl_path: Path, zeebe: EmbeddedEngine) -> None:
    await _zbctl(zbctl_path, zeebe, "deploy", "resource", str(RESOURCES / "one-task.bpmn"))
    created = _json(await _zbctl(zbctl_path, zeebe, "create", "instance", "gw-one-task"))
    instance = zeebe.instance(int(created["processInstanceKey"]))
    await instance.wait_element_active("work")
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        stub = GatewayStub(channel)
        jobs = [
            job
            async for response in stub.ActivateJobs(
                pb.ActivateJobsRequest(
                    type="gw.work", worker="t", timeout=60_000, maxJobsToActivate=1, requestTimeout=-1
                )
            )
            for job in response.jobs
        ]
        [job] = jobs
        await stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0, errorMessage="ledger locked"))
        incident = await instance.wait_incident(message_contains="ledger locked")

        await _zbctl(zbctl_path, zeebe, "update", "retries", str(job.key), "--retries", "1")
        await _zbctl(zbctl_path, zeebe, "resolve", "incident", str(incident.key))

        reactivated = [
            job
            async for response in stub.ActivateJobs(
                pb.ActivateJobsRequest(
                    type="gw.work", worker="t", timeout=60_000, maxJobsToActivate=1, requestTimeout=5_000
                )
            )
            for job in response.jobs
        ]
        assert [j.key for j in reactivated] == [job.key]
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))
    await instance.wait_completed()
