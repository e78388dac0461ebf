"""A worker process: health endpoints, JSON log lines, SIGTERM lets the running job finish, exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.runtime.handlers import BPMN

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def http_get(port: int, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, (await response.json() if response.content_type == "application/json" else None)


async def wait_http(port: int, path: str, status: int, timeout_s: float = 20.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            got, payload = await http_get(port, path)
            if got == status:
                return payload
        except aiohttp.ClientError:
            pass
        if loop.time() > deadline:
            raise AssertionError(f"{path} did not answer {status} in time")
        await asyncio.sleep(0.1)


async def test_sigterm_lets_the_running_job_complete_then_exits_0(
    zeebe: Any, zeebe_client: Any, tmp_path: Path
) -> None:
    await zeebe.deploy(BPMN / "slow.bpmn")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PROCGOV_", "ZEEBE_"))},
        "PROCGOV_GATEWAY_ADDRESS": zeebe.address,
        "PROCGOV_HEALTH_HOST": "127.0.0.1",
        "PROCGOV_HEALTH_PORT": str(port),
        "PROCGOV_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "PROCGOV_WORKER_NAME": "lifecycle-worker",
        "PROCGOV_REQUEST_TIMEOUT_MS": "500",
        "PROCGOV_SMTP__PASSWORD": "smtp-secret-value",
        "RUNTIME_TEST_JOB_SECONDS": "2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.runtime.worker_main",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await wait_http(port, "/healthz", 200) == {"status": "alive"}
        ready = await wait_http(port, "/readyz", 200)
        assert ready["status"] == "ready" and ready["brokers"] >= 1

        created = await zeebe_client.run_process("runtime-slow", variables={"step": "cutover"})
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line.strip() == b"slow job started"
        process.send_signal(signal.SIGTERM)
        # Stopping: not ready any more, still alive, and the job in hand completes.
        assert await wait_http(port, "/readyz", 503) == {"status": "stopping"}
        await zeebe.instance(created.process_instance_key).wait_completed()
        assert zeebe.instance(created.process_instance_key).variables()["finished"] == "cutover"
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    logs = [json.loads(raw) for raw in (await process.stderr.read()).decode().splitlines() if raw.startswith("{")]
    handled = [entry for entry in logs if entry.get("event") == "job handled"]
    assert len(handled) == 1
    entry = handled[0]
    assert entry["job_type"] == "runtime-test.slow"
    assert entry["process_instance_key"] == created.process_instance_key
    assert entry["bpmn_process_id"] == "runtime-slow"
    assert entry["element_id"] == "slow-step"
    assert isinstance(entry["job_key"], int)
    assert len(entry["trace_id"]) == 32
    assert entry["outcome"] == "completed"
    assert any(entry.get("event") == "worker stopped" for entry in logs)
    assert "smtp-secret-value" not in json.dumps(logs)
