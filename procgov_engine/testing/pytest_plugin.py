"""pytest fixtures for tests that drive processes through the real gateway protocol.

- ``zeebe``: an :class:`~procgov_engine.testing.EmbeddedEngine` on a free loopback port with a controlled
  clock and a fresh data directory under ``tmp_path`` — or, when ``PROCGOV_TEST_GATEWAY=host:port`` is
  set, an :class:`~procgov_engine.testing.external.ExternalEngine` on that gateway (Camunda 8.8+, or a
  ``procgov engine`` in another process; see tests/README.md, "Against a real Zeebe");
- ``zeebe_client``: a pyzeebe ``ZeebeClient`` connected to it;
- ``server``: a :class:`~procgov_engine.server.RunningServer` (the engine on its default
  :class:`~procgov_engine.clock.PinnableClock`, gRPC and the REST API on free loopback ports, data under
  ``tmp_path / "engine"``), stopped after the test; ``rest_url``: its REST API's base URL (``…/v2``);
  ``http``: an ``httpx.AsyncClient`` on that URL. The REST API tests and the user task guard's tests use them.

All are function-scoped and run in the test's event loop (pytest-asyncio, ``asyncio_mode = auto``).

Marker ``@pytest.mark.embedded_only(reason)``: the test needs what only the in-process engine gives
(its controlled clock, restarting it, its internals); with an external gateway it is skipped with the
reason. Marker ``@pytest.mark.record_log``: the test reads the exported records (``zeebe.records()``);
with an external gateway it runs only when ``PROCGOV_TEST_RECORDS_DB`` names that engine's record log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pyzeebe import ZeebeClient, create_insecure_channel

from procgov_engine.server import RunningServer, serve
from procgov_engine.testing.embedded import EmbeddedEngine
from procgov_engine.testing.external import ExternalEngine, external_target


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded_only(reason): needs the in-process engine (clock, restart, internals); skipped with the "
        "reason when PROCGOV_TEST_GATEWAY points at an external gateway",
    )
    config.addinivalue_line(
        "markers",
        "record_log: reads the engine's exported records; with PROCGOV_TEST_GATEWAY it needs PROCGOV_TEST_RECORDS_DB",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    target = external_target()
    if target is None:
        return
    if item.get_closest_marker("record_log") is not None and target.records_db is None:
        pytest.skip(
            f"reads the exported record log, which the gateway protocol does not serve "
            f"(PROCGOV_TEST_GATEWAY={target.gateway}; set PROCGOV_TEST_RECORDS_DB for a procgov engine; "
            "Camunda exports records to an exporter, not wired here)"
        )
    marker = item.get_closest_marker("embedded_only")
    if marker is None:
        return
    reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
    if not reason:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.embedded_only needs a reason")
    require_embedded(reason)


def require_embedded(reason: str) -> None:
    """Skip the current test with ``reason`` when an external gateway is set — for fixtures that build an
    embedded engine of their own (e.g. with a clock at a known date), where a marker cannot go."""
    target = external_target()
    if target is not None:
        pytest.skip(f"embedded engine only (PROCGOV_TEST_GATEWAY={target.gateway}): {reason}")


@pytest_asyncio.fixture
async def zeebe(tmp_path: Path) -> AsyncIterator[EmbeddedEngine | ExternalEngine]:
    target = external_target()
    if target is not None:
        async with ExternalEngine(target) as external:
            yield external  # the same test API, minus what embedded_only marks
        return
    async with EmbeddedEngine(tmp_path / "engine") as engine:
        yield engine


@pytest_asyncio.fixture
async def zeebe_client(zeebe: EmbeddedEngine | ExternalEngine) -> AsyncIterator[ZeebeClient]:
    channel = create_insecure_channel(grpc_address=zeebe.address)
    try:
        yield ZeebeClient(channel)
    finally:
        await channel.close()


@pytest_asyncio.fixture
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


@pytest_asyncio.fixture
async def http(rest_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rest_url, timeout=30) as client:
        yield client
