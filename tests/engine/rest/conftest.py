"""A real engine serving gRPC and the REST API on free loopback ports, in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from procgov_engine.server import RunningServer, serve


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await serve("127.0.0.1", 0, tmp_path / "engine", rest_port=0)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def rest_url(server: RunningServer) -> str:
    assert server.rest is not None
    return f"{server.rest.address}/v2"


@pytest.fixture
async def http(rest_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rest_url, timeout=30) as client:
        yield client
