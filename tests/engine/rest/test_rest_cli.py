"""``procgov engine --rest-port``: the REST API beside gRPC, on the same (loopback) host, printed at start.

Camunda docs, "Orchestration Cluster API" → "Overview": the REST API is served under ``/v2`` on port
8080 by default.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from procgov.cli import app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_help_names_the_rest_port_and_its_default() -> None:
    result = CliRunner().invoke(app, ["engine", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--rest-port" in result.output and "8080" in result.output


async def test_procgov_engine_prints_and_serves_the_rest_api(tmp_path: Path) -> None:
    grpc_port, rest_port = _free_port(), _free_port()
    procgov = Path(sys.executable).with_name("procgov")
    process = await asyncio.create_subprocess_exec(
        str(procgov), "engine", "--port", str(grpc_port), "--rest-port", str(rest_port), "--data", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        lines = [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(2)]
        assert f"gRPC on 127.0.0.1:{grpc_port}" in lines[0]
        assert f"REST API on http://127.0.0.1:{rest_port}/v2" in lines[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rest_port}/v2") as client:
            assert (await client.get("/status")).status_code == 204
            topology = (await client.get("/topology")).json()
            assert topology["brokers"][0]["port"] == grpc_port
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_taken_rest_port_stops_the_engine_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        procgov = Path(sys.executable).with_name("procgov")
        process = await asyncio.create_subprocess_exec(
            str(procgov), "engine", "--port", str(_free_port()), "--rest-port", str(port), "--data", str(tmp_path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert f"could not bind the REST API to 127.0.0.1:{port}" in stderr.decode()
