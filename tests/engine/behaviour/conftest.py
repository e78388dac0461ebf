"""Fixtures for the behaviour suite: the raw gateway stub and a pyzeebe worker on the `zeebe` fixture's engine
(embedded, or the external gateway PROCGOV_TEST_GATEWAY names: tests/README.md, "Against a real Zeebe")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from behaviour_helpers import Gateway
from pyzeebe import ZeebeWorker, create_insecure_channel
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine


@pytest.fixture
async def gateway(zeebe: EmbeddedEngine) -> AsyncIterator[Gateway]:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        yield Gateway(GatewayStub(channel))


@pytest.fixture
async def worker(zeebe: EmbeddedEngine) -> AsyncIterator[ZeebeWorker]:
    channel = create_insecure_channel(grpc_address=zeebe.address)
    try:
        yield ZeebeWorker(channel, name="behaviour-worker")
    finally:
        await channel.close()
