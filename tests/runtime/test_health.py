"""Health endpoints over real HTTP: alive always, ready only with a reachable gateway, metrics."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pyzeebe import create_insecure_channel

from workers.runtime.health import HealthServer, topology_check
from workers.runtime.metrics import WorkerMetrics


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(port: int, path: str) -> tuple[int, Any, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        body = await response.text()
        payload = await response.json() if response.content_type == "application/json" else None
        return response.status, payload, body


@pytest.fixture
async def unreachable_gateway_server() -> AsyncIterator[tuple[HealthServer, WorkerMetrics]]:
    channel = create_insecure_channel(grpc_address=f"127.0.0.1:{free_port()}")
    metrics = WorkerMetrics()
    server = HealthServer("127.0.0.1", 0, topology_check(channel, timeout_s=0.5), metrics.registry)
    await server.start()
    yield server, metrics
    await server.stop()
    await channel.close()


async def test_alive_but_not_ready_without_a_gateway(unreachable_gateway_server: Any) -> None:
    server, _ = unreachable_gateway_server
    assert await get(server.port, "/healthz") == (200, {"status": "alive"}, '{"status": "alive"}')
    status, payload, _ = await get(server.port, "/readyz")
    assert status == 503
    assert payload["status"] == "gateway unreachable"
    assert payload["code"] in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


async def test_not_ready_while_stopping(unreachable_gateway_server: Any) -> None:
    server, _ = unreachable_gateway_server
    server.stopping = True
    status, payload, _ = await get(server.port, "/readyz")
    assert (status, payload) == (503, {"status": "stopping"})


async def test_metrics_in_prometheus_text_format(unreachable_gateway_server: Any) -> None:
    server, metrics = unreachable_gateway_server
    metrics.activated.labels("rollout.notify").inc()
    metrics.failed.labels("rollout.notify", "true").inc()
    metrics.bpmn_errors.labels("rollout.grade-exam", "EXAM_FAILED").inc()
    metrics.duration.labels("rollout.notify").observe(0.2)
    status, _, body = await get(server.port, "/metrics")
    assert status == 200
    assert 'procgov_jobs_activated_total{job_type="rollout.notify"} 1.0' in body
    assert 'procgov_jobs_failed_total{incident="true",job_type="rollout.notify"} 1.0' in body
    assert 'procgov_jobs_bpmn_errors_total{error_code="EXAM_FAILED",job_type="rollout.grade-exam"} 1.0' in body
    assert 'procgov_handler_duration_seconds_bucket{job_type="rollout.notify",le="0.25"} 1.0' in body
