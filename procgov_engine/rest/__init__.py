"""Camunda's Orchestration Cluster REST API (v2) over the embedded engine, beside the gRPC gateway.

A sibling of :mod:`procgov_engine.gateway`: both map a transport onto the engine's command surface
(:class:`procgov_engine.api.EngineApi`) and its read views (:mod:`procgov_engine.core.query`); neither touches the
processor. Paths, bodies, status codes and ``application/problem+json`` errors follow Camunda's OpenAPI
spec (the file under ``tests/engine/rest/spec/``), so Camunda's own REST clients work unchanged but for
the address. Served by uvicorn on the engine's event loop; loopback by default, no authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

import uvicorn

from procgov_engine.gateway.jobs import JobDispatcher
from procgov_engine.rest.app import create_app
from procgov_engine.rest.context import RestContext

if TYPE_CHECKING:
    from procgov_engine.core import Engine

log = logging.getLogger(__name__)

DEFAULT_REST_PORT = 8080
"""Camunda's default port of the Orchestration Cluster REST API."""


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the engine's process owns SIGTERM/SIGINT."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        await self._serve(sockets)


class RestServer:
    """The REST API bound to one address; bind first (the port is known before serving), then start."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_REST_PORT) -> None:
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say so, and
        # with Nagle a response written as headers then body waits ~40 ms for the client's delayed ACK
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        # rebinding after a restart must not wait for old connections in TIME_WAIT; a port another
        # process listens on still fails (no SO_REUSEPORT)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise OSError(f"could not bind the REST API to {host}:{port} ({error.strerror})") from None
        self._socket.listen(128)
        self._socket.setblocking(False)
        self.port: int = self._socket.getsockname()[1]
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._context: RestContext | None = None

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, engine: Engine) -> None:
        self._context = RestContext(engine=engine, query=engine.query, jobs=JobDispatcher(engine))
        config = uvicorn.Config(
            create_app(self._context),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the start-up error
            await asyncio.sleep(0.01)

    def report_not_serving(self, reason: BaseException | None = None) -> None:
        """``GET /v2/status`` answers 503 from now on (the engine stopped taking commands)."""
        if self._context is not None:
            self._context.healthy = False

    async def stop(self) -> None:
        """End pending long polls, then let uvicorn finish in-flight requests."""
        if self._context is not None:
            await self._context.jobs.close()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._socket.close()


__all__ = ["DEFAULT_REST_PORT", "RestServer", "create_app"]
