"""Due dates of time-driven commands (timer due, job time-out, back-off elapsed, message TTL).

The appliers add them (engine/core/state/appliers/: timer created, job activated, back-off, message
published); the Engine asks for the next one and enters it as a logged command; an entry whose object changed or
went away meanwhile is skipped (stale entries are cheaper than removing from the heap).
"""

from __future__ import annotations

import heapq

from procgov_engine.core.behaviours.context import ProcessingContext
from procgov_engine.core.state import JOB_ACTIVATED, JOB_FAILED


class DueDates:
    def __init__(self, ctx: ProcessingContext) -> None:
        self.ctx = ctx
        self.state = ctx.state

    def next(self) -> int | None:
        heap = self.state.due
        while heap:
            due, _, kind, key = heap[0]
            if self._valid(due, kind, key):
                return due
            heapq.heappop(heap)
        return None

    def pop(self, now: int) -> tuple[str, int] | None:
        heap = self.state.due
        while heap and heap[0][0] <= now:
            due, _, kind, key = heapq.heappop(heap)
            if self._valid(due, kind, key):
                return kind, key
        return None

    def _valid(self, due: int, kind: str, key: int) -> bool:
        state = self.state
        if kind == "timer":
            timer = state.timers.get(key)
            return timer is not None and timer.due == due
        if kind == "job_timeout":
            job = state.jobs.get(key)
            return job is not None and job.state == JOB_ACTIVATED and job.deadline == due
        if kind == "job_backoff":
            job = state.jobs.get(key)
            return job is not None and job.state == JOB_FAILED and job.recurring_time == due and job.retries > 0
        if kind == "message_expire":
            message = state.messages.get(key)
            return message is not None and message.deadline == due
        return False
