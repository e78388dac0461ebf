"""Gateway access for the command line (deploy, start, publish, user tasks): a pyzeebe client on the
same channel the workers use, and one-line messages for what can go wrong talking to the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from pyzeebe import ZeebeClient
from pyzeebe.errors import PyZeebeError
from pyzeebe.grpc_internals.zeebe_adapter import ZeebeAdapter

from workers.runtime.channel import create_channel
from workers.runtime.settings import WorkerSettings


@asynccontextmanager
async def gateway(settings: WorkerSettings) -> AsyncIterator[tuple[ZeebeClient, ZeebeAdapter]]:
    """A ``ZeebeClient`` and the raw job adapter (ActivateJobs/CompleteJob) on one channel, closed after.

    ``max_connection_retries=1``: a command-line call reports an unreachable gateway at once instead of
    retrying like a worker.
    """
    channel = create_channel(settings)
    try:
        yield ZeebeClient(channel, max_connection_retries=1), ZeebeAdapter(channel, max_connection_retries=1)
    finally:
        await channel.close()


def describe_gateway_error(error: BaseException, address: str) -> str:
    """What went wrong, in one line an operator can act on."""
    cause = error.__cause__ if isinstance(error, PyZeebeError) else None
    grpc_error = cause if isinstance(cause, grpc.aio.AioRpcError) else None
    if grpc_error is None and isinstance(getattr(error, "grpc_error", None), grpc.aio.AioRpcError):
        grpc_error = error.grpc_error  # type: ignore[attr-defined]
    if isinstance(error, grpc.aio.AioRpcError):
        grpc_error = error
    if grpc_error is not None:
        code = grpc_error.code()
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return f"gateway {address} unreachable ({code.name}): {grpc_error.details()}"
        return f"gateway {address} rejected the command ({code.name}): {grpc_error.details()}"
    return f"{type(error).__name__}: {error}"
