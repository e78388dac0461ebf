"""pyzeebe's worker with exponential back-off when the gateway is unreachable.

pyzeebe's ``JobPoller`` sleeps a fixed 5 s after a gateway error; a restarting gateway then sees every
worker come back in lock-step. Here the delay doubles per consecutive failure (with jitter, via
tenacity's wait strategy) up to a cap, and resets after a successful poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
import tenacity
from pyzeebe import ZeebeWorker
from pyzeebe.errors import (
    ZeebeBackPressureError,
    ZeebeDeadlineExceeded,
    ZeebeGatewayUnavailableError,
    ZeebeInternalError,
)
from pyzeebe.task.task import Task
from pyzeebe.worker.job_poller import JobPoller

from workers.runtime.deadline import tolerate_lost_job

log = structlog.get_logger("workers.runtime.polling")

GATEWAY_ERRORS = (ZeebeBackPressureError, ZeebeGatewayUnavailableError, ZeebeInternalError, ZeebeDeadlineExceeded)
EMPTY_POLL_PAUSE_S = 0.05  # a gateway without long polling answers at once; don't spin on it


class BackoffJobPoller(JobPoller):
    base_s: float = 0.5
    max_s: float = 30.0
    failures: int = 0

    def _delay(self) -> float:
        wait = tenacity.wait_exponential_jitter(multiplier=self.base_s, max=self.max_s, jitter=self.base_s)
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = self.failures
        return float(wait(state))

    async def poll_once(self) -> None:
        started = time.monotonic()
        received = 0
        try:
            jobs = self.zeebe_adapter.activate_jobs(
                task_type=self.task.type,
                worker=self.worker_name,
                timeout=self.task.config.timeout_ms,
                max_jobs_to_activate=self.calculate_max_jobs_to_activate(),
                variables_to_fetch=self.task.config.variables_to_fetch or [],
                request_timeout=self.request_timeout,
                tenant_ids=self.tenant_ids,
            )
            async for job in jobs:
                self.task_state.add(job)
                await self.queue.put(job)
                received += 1
            if self.failures:
                log.info("gateway reachable again", job_type=self.task.type, failures=self.failures)
            self.failures = 0
        except GATEWAY_ERRORS as error:
            self.failures += 1
            delay = self._delay()
            log.warning(
                "could not activate jobs; retrying",
                job_type=self.task.type,
                error=repr(error),
                retry_in_s=round(delay, 2),
                failures=self.failures,
            )
            await self._pause(delay)
            return
        if received == 0 and time.monotonic() - started < EMPTY_POLL_PAUSE_S:
            await self._pause(EMPTY_POLL_PAUSE_S)

    async def _pause(self, seconds: float) -> None:
        # Wake up early on stop, so SIGTERM is not delayed by a back-off sleep.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)


class BackoffZeebeWorker(ZeebeWorker):
    """``ZeebeWorker`` whose pollers back off exponentially (see :class:`BackoffJobPoller`) and
    whose job handlers drop a CompleteJob the gateway rejects because the job is gone
    (see :mod:`workers.runtime.deadline`)."""

    poll_backoff_base_s: float = 0.5
    poll_backoff_max_s: float = 30.0

    def _add_task(self, task: Task) -> None:
        # include_router rebuilds each task's job handler, so the lost-job guard goes on here.
        task.job_handler = tolerate_lost_job(task.job_handler)
        super()._add_task(task)

    def _init_tasks(self) -> None:
        super()._init_tasks()
        pollers: list[JobPoller] = []
        for old in self._job_pollers:
            poller = BackoffJobPoller(
                zeebe_adapter=old.zeebe_adapter,
                task=old.task,
                queue=old.queue,
                worker_name=old.worker_name,
                request_timeout=old.request_timeout,
                task_state=old.task_state,
                poll_retry_delay=old.poll_retry_delay,
                tenant_ids=old.tenant_ids,
            )
            poller.base_s = self.poll_backoff_base_s
            poller.max_s = self.poll_backoff_max_s
            pollers.append(poller)
        self._job_pollers = pollers

    def in_flight(self) -> int:
        """Jobs activated and not yet finished, over all task types."""
        return sum(poller.task_state.count_active() for poller in self._job_pollers)
