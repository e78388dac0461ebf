"""Group commits written by one thread of their own, so that the event loop keeps processing meanwhile.

A commit is mostly SQLite appending pages to the WAL (``pwrite``), during which Python's ``sqlite3``
releases the GIL. Done on the loop thread it stalled every request for that time (about a fifth of the
loop's busy time under load, bench/README.md); here the loop hands a batch over and goes on processing
the next commands, which gather into the following batch (the write of batch N overlaps the processing
of batch N+1). Batches are written strictly in the order they were submitted, and each one's callback
runs on the loop only after its transaction committed, so acknowledging a command still means it is
durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import queue
import sys
import threading
from collections.abc import Callable

from procgov_engine.core.log import CommandRow, RecordLog, RecordRow

logger = logging.getLogger(__name__)

Written = Callable[[BaseException | None], None]
"""Called on the loop thread once a batch is committed (``None``) or its transaction failed."""

THREAD_NAME = "engine-commit"


def _name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` in the OS too (Linux ``prctl(PR_SET_NAME)``), so that ``top -H``,
    ``/proc/PID/task/*/comm`` and the engine bench can tell the commit thread's CPU from the loop's.
    Python 3.11 names threads for Python only; anything failing here is ignored."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        # The process's own symbols include libc's (no ``find_library``, which runs ``ldconfig``)
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # 15: PR_SET_NAME


class CommitThread:
    """Writes submitted batches to a :class:`RecordLog`, one transaction each, in submission order."""

    def __init__(self, log: RecordLog, loop: asyncio.AbstractEventLoop) -> None:
        self._log = log
        self._loop = loop
        # A C-level queue: handing a batch over is one put, and the thread's wait for the next one
        # allocates nothing (a ``Condition.wait`` makes a lock per wait). ``None`` ends the thread.
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._failed = False  # a batch failed: actions queued behind it (snapshots) are skipped
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def submit(self, rows: list[RecordRow], commands: list[CommandRow], written: Written) -> None:
        self._enqueue(lambda: self._write(rows, commands, written))

    def submit_after(self, action: Callable[[], None], name: str) -> None:
        """Run ``action`` on this thread once everything submitted before it is committed (skipped if a
        batch failed; a failure of ``action`` is logged). For a snapshot of the state those batches
        produced."""

        def run() -> None:
            if self._failed:
                return
            try:
                action()
            except Exception:
                logger.exception("%s failed on the commit thread", name)

        self._enqueue(run)

    def _enqueue(self, task: Callable[[], None]) -> None:
        # Only the loop thread submits and closes, so this needs no lock (nor does the handover).
        if self._closing:
            raise RuntimeError("the commit thread is closed")
        self._queue.put(task)

    def wait_written(self) -> None:
        """Block the caller until every submitted batch is committed (or failed) and every action ran:
        a marker queued behind them is reached only then (batches are written in order)."""
        if self._closing:  # the thread writes what it has and ends
            self._thread.join()
            return
        reached = threading.Event()
        self._queue.put(reached.set)
        reached.wait()

    def close(self) -> None:
        """Write what was submitted, then end the thread."""
        if not self._closing:
            self._closing = True
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        _name_os_thread(THREAD_NAME)
        while (task := self._queue.get()) is not None:
            task()

    def _write(self, rows: list[RecordRow], commands: list[CommandRow], written: Written) -> None:
        error: BaseException | None = None
        try:
            self._log.append(rows, commands)
        except BaseException as exc:  # handed to the loop: the commands' callers see the failure
            error = exc
            self._failed = True
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
            self._loop.call_soon_threadsafe(written, error)
