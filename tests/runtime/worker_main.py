"""A worker process for the lifecycle tests: ``python -m tests.runtime.worker_main`` runs the slow router
with settings from the environment, exactly as ``procgov workers`` runs a group."""

from __future__ import annotations

import asyncio
import os

from tests.runtime.handlers import slow_router
from workers.runtime.app import WorkerApp
from workers.runtime.logs import configure_logging
from workers.runtime.settings import load_settings


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, json=True, secrets=settings.secret_values())
    seconds = float(os.environ.get("RUNTIME_TEST_JOB_SECONDS", "1.5"))
    asyncio.run(WorkerApp(settings, [slow_router(seconds=seconds)]).run())


if __name__ == "__main__":
    main()
