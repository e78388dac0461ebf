"""Zeebe's gateway gRPC protocol over the embedded engine, plus the standard gRPC health service.

The gateway runs as a ``grpc.aio`` server on the caller's event loop, so the engine, the gateway and
(in tests) pyzeebe clients all share one loop. Binding and starting are separate steps because the
engine reports the gateway's port in its topology, so the port must be known before the engine opens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from pyzeebe.proto import gateway_pb2_grpc

from procgov_engine.api import EngineApi
from procgov_engine.gateway.service import GatewayService

GATEWAY_SERVICE_NAME = "gateway_protocol.Gateway"

_SERVER_OPTIONS = [
    # Without this, gRPC sets SO_REUSEPORT and a second engine on the same port would silently share
    # the connections with the first instead of failing to start.
    ("grpc.so_reuseport", 0),
]


HOT_METHODS = frozenset(
    {"ActivateJobs", "CompleteJob", "CreateProcessInstance", "FailJob", "StreamActivatedJobs", "Topology"}
)
"""Gateway RPCs registered with gRPC's core one by one; every other RPC goes through a generic handler.

grpc.aio keeps one pending "next call" request per registered method and, each time calls arrive,
waits on all of them at once (``asyncio.wait`` in ``AioServer._server_main_loop``): a callback added
and removed per pending request on every pass. The generated ``add_*Servicer_to_server`` registers all
~30 gateway methods plus health's, so every RPC paid for ~34 of them; the job workers' hot path needs
only these (bench/README.md)."""


class _Handlers:
    """Stands in for the server while a generated ``add_*Servicer_to_server`` runs, to collect its
    method handlers (the generated code calls exactly these two methods)."""

    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler] = []
        self.registered: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers: Collection[grpc.GenericRpcHandler]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.registered.setdefault(service, {}).update(handlers)


def _add_servicer(
    server: grpc.aio.Server, add: Callable[[Any, Any], None], servicer: Any, hot: Collection[str] = ()
) -> None:
    """``add(servicer, server)``, but with only the ``hot`` methods registered one by one."""
    handlers = _Handlers()
    add(servicer, handlers)
    server.add_generic_rpc_handlers(tuple(handlers.generic))
    for service, methods in handlers.registered.items():
        chosen = {name: handler for name, handler in methods.items() if name in hot}
        if chosen:
            server.add_registered_method_handlers(service, chosen)


class Gateway:
    """A gRPC server for the gateway protocol and the health service, bound to one address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._server = grpc.aio.server(options=_SERVER_OPTIONS)
        try:
            bound = self._server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:  # grpcio raises instead of returning 0 in recent versions
            bound = 0
        if bound == 0:
            raise OSError(f"could not bind the Zeebe gateway to {host}:{port} (is another engine running?)")
        self.port = bound
        self._health = HealthServicer()
        self._service: GatewayService | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self, engine: EngineApi) -> None:
        """Serve ``engine``; health reports SERVING for "" and ``gateway_protocol.Gateway``."""
        self._service = GatewayService(engine)
        _add_servicer(self._server, gateway_pb2_grpc.add_GatewayServicer_to_server, self._service, HOT_METHODS)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        _add_servicer(self._server, health_pb2_grpc.add_HealthServicer_to_server, self._health)
        await self._server.start()

    def report_not_serving(self, reason: BaseException | None = None) -> None:
        """Health turns NOT_SERVING (for "" and the gateway service), so that an orchestrator's probe
        restarts the process. It is the engine's ``on_log_failure`` hook (``reason``: the failure, which
        the engine logs itself), called when the engine stops taking commands."""
        task = asyncio.get_running_loop().create_task(self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _set_health(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in ("", GATEWAY_SERVICE_NAME):
            await self._health.set(name, status)

    async def stop(self, grace_s: float = 2.0) -> None:
        """Report NOT_SERVING, end long polls and streams, then give in-flight calls ``grace_s``."""
        await self._health.enter_graceful_shutdown()
        if self._service is not None:
            await self._service.close()
        await self._server.stop(grace_s)


__all__ = ["GATEWAY_SERVICE_NAME", "Gateway", "GatewayService"]
