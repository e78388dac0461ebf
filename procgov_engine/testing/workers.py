"""Running pyzeebe workers inside a test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from pyzeebe import ZeebeWorker


@contextlib.asynccontextmanager
async def running_worker(worker: ZeebeWorker, stop_timeout_s: float = 10.0) -> AsyncIterator[ZeebeWorker]:
    """Run ``worker.work()`` for the duration of the block, then stop it and wait for it to end.

    Stopping waits for the jobs the worker holds to finish (pyzeebe's ``stop``); a worker that crashed
    (e.g. on an invalid activation request) re-raises its error here instead of failing silently.
    """
    task = asyncio.create_task(worker.work(), name="pyzeebe-worker")
    try:
        yield worker
    finally:
        if task.done():
            task.result()  # surfaces the worker's own failure
        await worker.stop()
        await asyncio.wait_for(task, stop_timeout_s)
