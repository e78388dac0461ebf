"""Shared by the REST tests: resource paths, the spec file, deploying over REST."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

from procgov_engine.server import RunningServer, serve

T = TypeVar("T")

RESOURCES = Path(__file__).parent / "resources"
SPEC = Path(__file__).parent / "spec" / "rest-api.bundle.json"


async def deploy(http: httpx.AsyncClient, *names: str) -> dict[str, Any]:
    files = [("resources", (name, (RESOURCES / name).read_bytes(), "application/octet-stream")) for name in names]
    response = await http.post("/deployments", files=files)
    assert response.status_code == 200, response.text
    return response.json()


class ThreadedServer:
    """The engine with its REST API on its own event loop in a thread, for synchronous clients
    (Schemathesis calls the API with blocking requests)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rest-engine", daemon=True)
        self._running: RunningServer | None = None

    def start(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(serve("127.0.0.1", 0, self._data_dir, rest_port=0), self._loop)
        self._running = future.result(timeout=30)
        assert self._running.rest is not None
        return f"{self._running.rest.address}/v2"

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    @property
    def running(self) -> RunningServer:
        assert self._running is not None
        return self._running

    def stop(self) -> None:
        if self._running is not None:
            self.run(self._running.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
