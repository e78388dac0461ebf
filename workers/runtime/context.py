"""What a handler may know about the job it runs for, without seeing pyzeebe or gRPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class JobContext:
    """The activated job's metadata (Zeebe's ``ActivatedJob`` minus the variables).

    ``deadline`` is when the job's activation times out (UTC); a handler that will take longer should
    give up, because another worker may get the job after that.
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

    @classmethod
    def from_job(cls, job: Any) -> JobContext:
        """Build from a pyzeebe ``Job`` (duck-typed so handlers' tests can pass any look-alike)."""
        deadline_ms = int(getattr(job, "deadline", 0) or 0)
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
            deadline=datetime.fromtimestamp(deadline_ms / 1000, tz=UTC) if deadline_ms else None,
        )

    def idempotency_key(self, action: str) -> str:
        """A key for :meth:`IdempotencyStore.run_once` that is stable across retries of this job.

        A retried or re-delivered job keeps its key, so the side effect ``action`` happens once.
        """
        return f"{self.type}:{self.key}:{action}"
