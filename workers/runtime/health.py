"""The worker's HTTP side: ``/healthz`` (alive), ``/readyz`` (gateway reachable), ``/metrics``.

Readiness asks the gateway for its topology with a short deadline: a worker whose gateway is down is
alive (do not restart it, it reconnects by itself) but not ready.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pyzeebe.proto.gateway_pb2 import TopologyRequest
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

ReadyCheck = Callable[[], Awaitable[dict[str, Any]]]


def topology_check(channel: grpc.aio.Channel, timeout_s: float = 2.0) -> ReadyCheck:
    """A readiness check calling ``Topology`` on ``channel``; raises when the gateway does not answer."""
    stub: Any = GatewayStub(channel)

    async def check() -> dict[str, Any]:
        response = await stub.Topology(TopologyRequest(), timeout=timeout_s)
        return {"brokers": len(response.brokers), "gateway_version": response.gatewayVersion}

    return check


class HealthServer:
    def __init__(self, host: str, port: int, ready_check: ReadyCheck, registry: CollectorRegistry) -> None:
        self._host = host
        self._port = port
        self._ready_check = ready_check
        self._registry = registry
        self._runner: web.AppRunner | None = None
        self.stopping = False  # set on SIGTERM: not ready any more, still alive
        self.port = port

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.stopping:
            return web.json_response({"status": "stopping"}, status=503)
        try:
            details = await self._ready_check()
        except (TimeoutError, grpc.aio.AioRpcError, OSError) as error:
            reason = error.details() if isinstance(error, grpc.aio.AioRpcError) else str(error)
            code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
            return web.json_response({"status": "gateway unreachable", "code": code, "reason": reason}, status=503)
        return web.json_response({"status": "ready", **details})

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> int:
        """Serve; returns the bound port (useful with port 0)."""
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
