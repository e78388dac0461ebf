"""Prometheus metrics per job type, in a registry owned by the worker app (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ["job_type"]
        self.activated = Counter(
            "procgov_jobs_activated", "Jobs activated by this worker", labels, registry=self.registry
        )
        self.completed = Counter(
            "procgov_jobs_completed", "Jobs whose handler returned (CompleteJob sent)", labels, registry=self.registry
        )
        self.failed = Counter(
            "procgov_jobs_failed",
            "Jobs failed (FailJob), incidents included",
            [*labels, "incident"],
            registry=self.registry,
        )
        self.bpmn_errors = Counter(
            "procgov_jobs_bpmn_errors",
            "Jobs ending in a BPMN error (ThrowError)",
            [*labels, "error_code"],
            registry=self.registry,
        )
        self.timed_out = Counter(
            "procgov_jobs_timed_out",
            "Handlers cut off at their job's deadline (the activation timeout minus a safety margin)",
            labels,
            registry=self.registry,
        )
        self.duration = Histogram(
            "procgov_handler_duration_seconds",
            "Handler duration per job type",
            labels,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
