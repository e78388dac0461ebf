"""``PROCGOV_TRANSPORT=basic``: the workers and the CLI authenticate to the Orchestration Cluster with a
user and password, as Camunda 8.8 does by default (Helm chart included: docs, Self-Managed > Helm >
"Set up the Helm chart with basic authentication"; Zeebe API (gRPC) > Authentication). Checked over real
gRPC against a gateway that refuses calls without the right ``Authorization`` header (unary and
server-streaming alike), with the embedded engine behind it."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub
from typer.testing import CliRunner

from procgov.cli import app
from tests.cli.auth_gateway import start_gateway
from workers.runtime.channel import create_channel
from workers.runtime.settings import SettingsError, load_settings

REVIEW = Path(__file__).resolve().parents[1] / "runtime" / "bpmn" / "review.bpmn"
USER, PASSWORD = "procgov-workers", "s3cret:with-colon"
HEADER = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


async def procgov(*args: str, env: dict[str, str | None]) -> Result:
    clean: dict[str, str | None] = {"PROCGOV_OTLP_ENDPOINT": None, "ZEEBE_ADDRESS": None, **env}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=clean)


@pytest.fixture
async def guarded(zeebe: Any) -> Any:
    server, port, handler = await start_gateway(zeebe.address, USER, PASSWORD)
    try:
        yield f"127.0.0.1:{port}", handler
    finally:
        await server.stop(0)


async def test_every_call_carries_the_basic_authorization(guarded: Any, zeebe: Any) -> None:
    address, handler = guarded
    await zeebe.deploy(REVIEW)
    env = {"PROCGOV_TRANSPORT": "basic", "PROCGOV_BASIC__USERNAME": USER, "PROCGOV_BASIC__PASSWORD": PASSWORD}
    started = await procgov("start", "runtime-review", "--var", "document=SOP-1", "--gateway", address, env=env)
    assert started.exit_code == 0, started.output
    key = json.loads(started.stdout)["processInstanceKey"]
    await zeebe.instance(key).wait_element_active("review")
    assert handler.seen and set(handler.seen) == {HEADER}  # streams too: tests/cli/test_rest_auth.py does REST


async def test_camundas_own_variable_names_work_too(guarded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    address, handler = guarded
    monkeypatch.setenv("CAMUNDA_BASIC_AUTH_USERNAME", USER)
    monkeypatch.setenv("CAMUNDA_BASIC_AUTH_PASSWORD", PASSWORD)
    settings = load_settings(gateway_address=address, transport="basic")
    channel = create_channel(settings)
    try:
        topology = await GatewayStub(channel).Topology(pb.TopologyRequest(), timeout=10)
        assert topology.brokers
        request = pb.ActivateJobsRequest(type="none", worker="t", timeout=1000, maxJobsToActivate=1, requestTimeout=50)
        responses = [r async for r in GatewayStub(channel).ActivateJobs(request, timeout=10)]
        assert all(not r.jobs for r in responses)  # a server stream, answered (no jobs of that type)
    finally:
        await channel.close()
    assert handler.seen == [HEADER, HEADER]


async def test_a_wrong_password_is_refused_by_the_gateway_in_one_line(guarded: Any) -> None:
    address, handler = guarded
    env = {"PROCGOV_TRANSPORT": "basic", "PROCGOV_BASIC__USERNAME": USER, "PROCGOV_BASIC__PASSWORD": "wrong"}
    result = await procgov("start", "runtime-review", "--gateway", address, env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"procgov: gateway {address} rejected the command (UNAUTHENTICATED)")
    assert "wrong" not in result.output and len(handler.seen) == 1
    plaintext = await procgov("start", "runtime-review", "--gateway", address, env={"PROCGOV_TRANSPORT": "plaintext"})
    assert plaintext.exit_code == 1 and "UNAUTHENTICATED" in plaintext.stderr
    assert handler.seen[1] is None


def test_basic_needs_both_names_and_the_password_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMUNDA_BASIC_AUTH_USERNAME", "CAMUNDA_BASIC_AUTH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match="transport 'basic' needs PROCGOV_BASIC__USERNAME, PROCGOV_BASIC__PASSWORD"):
        load_settings(transport="basic")
    settings = load_settings(transport="basic", basic={"username": USER, "password": PASSWORD})
    assert PASSWORD in settings.secret_values()
    assert HEADER.removeprefix("Basic ") in settings.secret_values()  # as the header carries it
    assert PASSWORD not in repr(settings)


async def test_the_workers_run_their_jobs_through_basic_auth(guarded: Any, zeebe: Any, tmp_path: Path) -> None:
    from tests.runtime.handlers import BPMN, greet_router
    from workers.runtime.app import WorkerApp
    from workers.runtime.testing import test_settings

    address, handler = guarded
    await zeebe.deploy(BPMN / "greet.bpmn")
    basic = {"username": USER, "password": PASSWORD}
    workers = WorkerApp(test_settings(address, tmp_path, transport="basic", basic=basic), [greet_router()])
    await workers.start()
    try:
        started = await procgov(
            "start",
            "runtime-greet",
            "--var",
            "ownerName=王芳",
            "--var",
            "department=IT",
            "--gateway",
            zeebe.address,
            env={},
        )
        # the workers log in this process too (into the runner's stdout): take the command's own line
        (line,) = [x for x in started.stdout.splitlines() if x.startswith('{"processInstanceKey"')]
        instance = json.loads(line)["processInstanceKey"]
        await zeebe.instance(instance).wait_completed()  # activated and completed through the guarded gateway
    finally:
        await workers.stop(grace_s=5.0)
    assert len(handler.seen) >= 2 and set(handler.seen) == {HEADER}
