"""``EmbeddedEngine``: the engine and its gRPC gateway inside a test, on a free loopback port.

It runs in the test's own event loop (pyzeebe clients and workers share it; grpc.aio allows that), with
a :class:`~procgov_engine.clock.ControlledClock` by default so that timers, job time-outs and retry back-offs
move only when the test calls :meth:`EmbeddedEngine.increase_time`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from procgov_engine.api import Deployment, Resource
from procgov_engine.clock import Clock, ControlledClock
from procgov_engine.testing.assertions import InstanceAssert

if TYPE_CHECKING:  # the engine is imported when started, so that loading this plugin stays cheap
    from procgov_engine.core import Engine
    from procgov_engine.server import RunningServer


class EmbeddedEngine:
    """Engine + gateway for one test; use ``async with EmbeddedEngine(tmp_path) as zeebe: ...``."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        assert_timeout_s: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.clock: Clock = clock if clock is not None else ControlledClock()
        self._host = host
        self._port = port
        self._assert_timeout_s = assert_timeout_s
        self._server: RunningServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> EmbeddedEngine:
        if self._server is not None:
            raise RuntimeError("EmbeddedEngine is already started")
        from procgov_engine.server import serve

        self._server = await serve(self._host, self._port, self.data_dir, clock=self.clock)
        self._port = self._server.port  # a restart reuses it, so clients keep their address
        return self

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop(grace_s=0.5)

    async def restart(self) -> None:
        """Close the engine and reopen it on the same data directory and port (state rebuilt from the log)."""
        await self.stop()
        await self.start()

    async def __aenter__(self) -> EmbeddedEngine:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- access ----------------------------------------------------------------------------------

    @property
    def _running(self) -> RunningServer:
        if self._server is None:
            raise RuntimeError("EmbeddedEngine is not started (use 'async with EmbeddedEngine(...)')")
        return self._server

    @property
    def engine(self) -> Engine:
        return self._running.engine

    @property
    def port(self) -> int:
        return self._running.port

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, for ``create_insecure_channel(grpc_address=...)``."""
        return self._running.address

    # -- commands and assertions -----------------------------------------------------------------

    async def deploy(self, *paths: str | Path) -> Deployment:
        """Deploy BPMN/DMN/form files in one deployment (in-process, same command as DeployResource)."""
        if not paths:
            raise ValueError("deploy needs at least one resource path")
        resources = [Resource(name=Path(p).name, content=await asyncio.to_thread(Path(p).read_bytes)) for p in paths]
        return await self.engine.deploy(resources)

    async def increase_time(self, delta: timedelta) -> None:
        """Move the controlled clock; timers, time-outs and back-offs that became due are processed."""
        await self.engine.increase_time(delta)

    def instance(self, process_instance_key: int) -> InstanceAssert:
        return InstanceAssert(lambda: self.engine.query, process_instance_key, timeout_s=self._assert_timeout_s)

    def records(self) -> list[dict[str, Any]]:
        """Every record of the log so far, in position order (Zeebe's exporter shape)."""
        return list(self.engine.query.records())
