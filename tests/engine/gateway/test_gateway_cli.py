"""``procgov engine``: serving on loopback, graceful stop on SIGTERM, and ``procgov engine export``.

Zeebe docs: the Elasticsearch exporter's record documents
(https://docs.camunda.io/docs/self-managed/zeebe-deployment/exporters/elasticsearch-exporter/) are what
``export`` writes, one JSON record per line.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub
from pyzeebe import ZeebeClient, create_insecure_channel
from typer.testing import CliRunner

from procgov.cli import app
from procgov_engine.core.snapshot import SNAPSHOT_EVERY_COMMANDS
from procgov_engine.testing import EmbeddedEngine

RESOURCES = Path(__file__).parent / "resources"


def test_engine_command_documents_its_options() -> None:
    result = CliRunner().invoke(app, ["engine", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "--data", "--snapshot-every", "export"):
        assert option in result.output
    # the CLI does not import the engine to show its help, so it repeats the engine's default
    assert "100000" in result.output and SNAPSHOT_EVERY_COMMANDS == 100_000


async def test_export_writes_every_record_as_one_json_line(tmp_path: Path) -> None:
    async with EmbeddedEngine(tmp_path / "engine") as zeebe:
        await zeebe.deploy(RESOURCES / "no-task.bpmn")
        created = await zeebe.engine.create_process_instance(bpmn_process_id="gw-no-task")
        await zeebe.instance(created.process_instance_key).wait_completed()
        records = zeebe.records()
    out = tmp_path / "records.jsonl"

    result = CliRunner().invoke(app, ["engine", "export", "--data", str(tmp_path / "engine"), "-o", str(out)])

    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(records)
    exported = [json.loads(line) for line in lines]
    assert [r["position"] for r in exported] == [r["position"] for r in records]
    assert f"exported {len(records)} records" in result.output


def test_export_without_a_log_names_the_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["engine", "export", "--data", str(tmp_path), "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code != 0
    assert "records.db" in result.output


async def test_procgov_engine_serves_on_loopback_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procgov = Path(sys.executable).with_name("procgov")
    process = await asyncio.create_subprocess_exec(
        str(procgov),
        "engine",
        "--port",
        str(port),
        "--rest-port",
        "0",
        "--data",
        str(tmp_path / "engine"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            response = await HealthStub(channel).Check(health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=30)
        assert response.status == health_pb2.HealthCheckResponse.SERVING

        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert f"serving the Zeebe gateway protocol on 127.0.0.1:{port}" in log
    assert f"stopping the procgov engine on 127.0.0.1:{port}" in log
    assert (tmp_path / "engine" / "records.db").exists()


def test_a_negative_snapshot_interval_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["engine", "--data", str(tmp_path), "--snapshot-every", "-5"])
    assert result.exit_code == 2
    assert "--snapshot-every" in result.output and not (tmp_path / "records.db").exists()


async def _serve_deploy_and_stop(data: Path, *extra: str) -> str:
    """``procgov engine`` in a process of its own: deploy once, SIGTERM; returns its log."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procgov = Path(sys.executable).with_name("procgov")
    command = [str(procgov), "engine", "--port", str(port), "--rest-port", "0", "--data", str(data), *extra]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        channel = create_insecure_channel(grpc_address=f"127.0.0.1:{port}")
        await HealthStub(channel).Check(health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=30)
        await ZeebeClient(channel).deploy_resource(RESOURCES / "no-task.bpmn")
        await channel.close()
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


async def test_procgov_engine_restarts_from_its_snapshot_unless_told_not_to(tmp_path: Path) -> None:
    data = tmp_path / "engine"
    first = await _serve_deploy_and_stop(data)
    assert "0 commands restored from the snapshot, 0 replayed from the log" in first
    assert (data / "snapshot.bin").exists()  # written on the graceful stop
    second = await _serve_deploy_and_stop(data)
    assert "1 commands restored from the snapshot, 0 replayed from the log" in second
    third = await _serve_deploy_and_stop(data, "--snapshot-every", "0")
    assert "0 commands restored from the snapshot, 2 replayed from the log" in third


async def test_a_second_engine_on_a_taken_port_fails_with_a_clear_message(
    zeebe: EmbeddedEngine, tmp_path: Path
) -> None:
    procgov = Path(sys.executable).with_name("procgov")
    process = await asyncio.create_subprocess_exec(
        str(procgov),
        "engine",
        "--port",
        str(zeebe.port),
        "--data",
        str(tmp_path / "second"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert f"could not bind the Zeebe gateway to 127.0.0.1:{zeebe.port}" in stderr.decode()
