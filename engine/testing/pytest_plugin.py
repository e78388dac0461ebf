"""pytest fixtures for tests that drive processes through the real gateway protocol.

- ``zeebe``: an :class:`~engine.testing.EmbeddedEngine` on a free loopback port with a controlled
  clock and a fresh data directory under ``tmp_path``;
- ``zeebe_client``: a pyzeebe ``ZeebeClient`` connected to it.

Both are function-scoped and run in the test's event loop (pytest-asyncio, ``asyncio_mode = auto``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from pyzeebe import ZeebeClient, create_insecure_channel

from engine.testing.embedded import EmbeddedEngine


@pytest_asyncio.fixture
async def zeebe(tmp_path: Path) -> AsyncIterator[EmbeddedEngine]:
    async with EmbeddedEngine(tmp_path / "engine") as engine:
        yield engine


@pytest_asyncio.fixture
async def zeebe_client(zeebe: EmbeddedEngine) -> AsyncIterator[ZeebeClient]:
    channel = create_insecure_channel(grpc_address=zeebe.address)
    try:
        yield ZeebeClient(channel)
    finally:
        await channel.close()
