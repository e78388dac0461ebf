"""pytest plugin: ``run_workers`` runs routers against the test's embedded engine.

Registered in ``tests/conftest.py`` (``pytest_plugins``). Usage::

    async def test_notify(zeebe, run_workers):
        app = await run_workers(build_router(deps))          # WorkerApp, started in the test's loop
        ...                                                   # stopped at teardown

Keyword arguments override :class:`WorkerSettings` fields (``store_url``, ``retry``, ``tasks`` …). The
store defaults to a SQLite file in the test's tmp dir; the health server binds a free loopback port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Protocol

import pytest_asyncio

from workers.runtime.app import WorkerApp
from workers.runtime.router import TaskRouter
from workers.runtime.settings import WorkerSettings


class RunWorkers(Protocol):
    def __call__(self, *routers: TaskRouter, **settings: Any) -> Awaitable[WorkerApp]: ...


def test_settings(gateway_address: str, tmp_path: Path, **overrides: Any) -> WorkerSettings:
    """Settings for a worker under test: no .env, loopback health on a free port, tmp SQLite store."""
    values: dict[str, Any] = {
        "gateway_address": gateway_address,
        "store_url": f"sqlite:///{tmp_path / 'workers.db'}",
        "health_host": "127.0.0.1",
        "health_port": 0,
        "worker_name": "procgov-test-worker",
        "request_timeout_ms": 1_000,
        "shutdown_grace_s": 10.0,
        "retry": {"base_ms": 1_000, "max_ms": 60_000, "budget_ms": 0},  # plain doubling: tests move the clock in s
    }
    if isinstance(overrides.get("retry"), dict):  # a test's retry settings change only what they name
        overrides = {**overrides, "retry": {**values["retry"], **overrides["retry"]}}
    values.update(overrides)
    return WorkerSettings(_env_file=None, **values)  # type: ignore[call-arg]


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


@pytest_asyncio.fixture
async def run_workers(zeebe: Any, tmp_path: Path) -> AsyncIterator[RunWorkers]:
    apps: list[WorkerApp] = []

    async def start(*routers: TaskRouter, **overrides: Any) -> WorkerApp:
        app = WorkerApp(test_settings(zeebe.address, tmp_path, **overrides), routers)
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in reversed(apps):
        await app.stop(grace_s=5.0)
