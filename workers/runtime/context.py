"""What a handler may know about the job it runs for, without seeing pyzeebe or gRPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def _wall_clock_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobContext:
    """The activated job's metadata (Zeebe's ``ActivatedJob`` minus the variables).

    ``deadline`` is when the job's activation times out (UTC); a handler that will take longer should
    give up, because another worker may get the job after that.

    ``activated_at`` is when the engine activated the job, on the *engine's* clock: the deadline minus
    the job timeout the worker requested for this task type (the runtime knows the effective timeout,
    override included). Handlers that reason about "now" in business terms (a month under review, a
    late fine, a cutover date) use it instead of ``datetime.now()``: under a controlled engine clock
    (tests, the demo) the worker's wall clock and the engine's differ by months; with a real broker the
    two agree to within the activation latency, so nothing changes in production. A context built by
    hand (handler tests) defaults to the wall clock.
    """

    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    process_definition_key: int
    element_id: str
    element_instance_key: int
    retries: int
    custom_headers: Mapping[str, str] = field(default_factory=dict)
    worker: str = ""
    deadline: datetime | None = None
    activated_at: datetime = field(default_factory=_wall_clock_now)

    @classmethod
    def from_job(cls, job: Any, *, timeout_ms: int | None = None) -> JobContext:
        """Build from a pyzeebe ``Job`` (duck-typed so handlers' tests can pass any look-alike).

        ``timeout_ms`` is the activation timeout the worker requested for the job's type; with the job's
        deadline it gives ``activated_at`` on the engine's clock (without either, the wall clock).
        """
        deadline_ms = int(getattr(job, "deadline", 0) or 0)
        deadline = datetime.fromtimestamp(deadline_ms / 1000, tz=UTC) if deadline_ms else None
        if deadline is not None and timeout_ms is not None:
            activated_at = deadline - timedelta(milliseconds=timeout_ms)
        else:
            activated_at = _wall_clock_now()
        return cls(
            key=int(job.key),
            type=str(job.type),
            process_instance_key=int(job.process_instance_key),
            bpmn_process_id=str(job.bpmn_process_id),
            process_definition_key=int(job.process_definition_key),
            element_id=str(job.element_id),
            element_instance_key=int(job.element_instance_key),
            retries=int(job.retries),
            custom_headers=dict(job.custom_headers or {}),
            worker=str(job.worker),
            deadline=deadline,
            activated_at=activated_at,
        )

    def idempotency_key(self, action: str) -> str:
        """A key for :meth:`IdempotencyStore.run_once` that is stable across retries of this job.

        A retried or re-delivered job keeps its key, so the side effect ``action`` happens once.
        """
        return f"{self.type}:{self.key}:{action}"
