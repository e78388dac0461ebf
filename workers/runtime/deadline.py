"""Job deadlines: cut a handler off at its job's deadline; tolerate a job this worker no longer holds.

When a job's activation timeout passes, Zeebe makes the job activatable again: another worker may run
it in parallel, and this worker's later CompleteJob is rejected because it no longer holds the job.
Camunda's guidance is to size the timeout to the work and to stop working on a job whose lock has
expired. The runtime does the second part here, in one place, for every handler: it runs the handler
under a limit of the job's timeout (``deadline − activated_at``, i.e. on the engine's clock, so it is
the same under a controlled clock in tests) minus a safety margin, measured in *real* time from when
the worker starts the job, so the FailJob it sends still reaches the gateway while the job is held.

An async handler is cancelled at the limit. A sync handler runs in a thread, which Python cannot kill:
the runtime stops waiting for it and fails the job, but the thread runs on to its end (its result is
dropped). Sync handlers with side effects therefore guard them with the idempotency store.

The other side of an expired lock: a command the gateway rejects because the job is gone (pyzeebe's
``JobNotFoundError`` for NOT_FOUND, ``JobAlreadyDeactivatedError`` for FAILED_PRECONDITION — the job
timed out and was re-activated, or its instance was cancelled) is logged as a warning with the job's
fields and dropped: there is nothing left to do for that job, and retrying the command cannot succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from pyzeebe import Job
from pyzeebe.errors import JobAlreadyDeactivatedError, JobNotFoundError

from workers.runtime.context import JobContext
from workers.runtime.errors import JobTimeoutError

log = structlog.get_logger("workers.runtime.deadline")

T = TypeVar("T")
JobHandler = Callable[[Job, Any], Awaitable[Job]]

JOB_GONE_ERRORS = (JobNotFoundError, JobAlreadyDeactivatedError)  # gateway: NOT_FOUND / FAILED_PRECONDITION

DEFAULT_MARGIN_MS = 1_000
MARGIN_SHARE_CAP = 10  # the margin never takes more than a tenth of a (short) timeout


def job_timeout_ms(job: JobContext, requested_timeout_ms: int) -> int:
    """The job's activation timeout: ``deadline − activated_at`` (the requested timeout without a deadline)."""
    if job.deadline is None:
        return requested_timeout_ms
    return max(round((job.deadline - job.activated_at).total_seconds() * 1000), 0)


def time_limit_s(timeout_ms: int, margin_ms: int = DEFAULT_MARGIN_MS) -> float:
    """Seconds a handler may run: the timeout minus the margin, the margin capped at a tenth of the
    timeout so a short timeout (a few hundred ms) still leaves the handler most of it."""
    margin = min(margin_ms, timeout_ms // MARGIN_SHARE_CAP)
    return max(timeout_ms - margin, 0) / 1000


async def run_within_deadline(work: Awaitable[T], *, job_type: str, timeout_ms: int, margin_ms: int) -> T:
    """Await ``work`` (the handler) for at most :func:`time_limit_s`; past it, cancel it and raise
    :class:`JobTimeoutError` (``lock_expired`` when the cut-off came only after the timeout itself,
    e.g. because a handler blocked the event loop). A ``TimeoutError`` the handler raises itself
    propagates unchanged: it is the handler's own (transient) failure, not the job's deadline."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    limit = asyncio.timeout(time_limit_s(timeout_ms, margin_ms))
    try:
        async with limit:
            return await work
    except TimeoutError:
        if not limit.expired():
            raise
        elapsed_ms = (loop.time() - started) * 1000
        raise JobTimeoutError(job_type, timeout_ms, lock_expired=elapsed_ms >= timeout_ms) from None


def job_fields(job: Job) -> dict[str, Any]:
    """The fields that identify a job in a log line (also once the observer has unbound its context)."""
    return {
        "job_key": job.key,
        "job_type": job.type,
        "process_instance_key": job.process_instance_key,
        "bpmn_process_id": job.bpmn_process_id,
        "element_id": job.element_id,
    }


def log_lost_job(job: Job, command: str, error: Exception) -> None:
    log.warning(
        f"gateway rejected {command}: this worker no longer holds the job "
        "(it timed out and was re-activated, or its instance was cancelled); dropped",
        error=str(error),
        error_type=type(error).__name__,
        **job_fields(job),
    )


def tolerate_lost_job(job_handler: JobHandler) -> JobHandler:
    """Wrap a pyzeebe job handler: it sends CompleteJob after the handler and the after-hooks, and a
    rejection because the job is gone becomes a warning, not an error in pyzeebe's job executor."""

    async def handle(job: Job, controller: Any) -> Job:
        try:
            return await job_handler(job, controller)
        except JOB_GONE_ERRORS as error:
            log_lost_job(job, "CompleteJob", error)
            return job

    return handle
