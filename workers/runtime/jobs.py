"""Per-job telemetry around a handler: span, log context, metrics.

pyzeebe runs each job in its own asyncio task: ``before`` decorators → task function → (exception
handler) → ``after`` decorators → CompleteJob. :class:`JobObserver` hooks ``before``/``after``; the
state of the running job lives in a ContextVar, which is private to that task. Telemetry never fails a
job: every step here is guarded and only logged.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from workers.runtime.metrics import WorkerMetrics
from workers.runtime.policy import Command, Complete, ThrowError, outcome_label
from workers.runtime.redact import redact_text
from workers.runtime.tracing import TRACEPARENT, context_from_traceparent, trace_id_hex

log = structlog.get_logger("workers.runtime.jobs")


@dataclass
class JobRun:
    job_type: str
    started: float = field(default_factory=time.perf_counter)
    span: trace.Span | None = None
    token: object | None = None
    command: Command | None = None
    sent: bool = True  # False: the runtime chose not to send the command (the job's lock had expired)


_current: ContextVar[JobRun | None] = ContextVar("procgov_job_run", default=None)


def current_run() -> JobRun | None:
    return _current.get()


class JobObserver:
    def __init__(self, tracer: trace.Tracer | None = None, metrics: WorkerMetrics | None = None) -> None:
        self.tracer = tracer or trace.NoOpTracer()
        self.metrics = metrics

    async def before(self, job: Any) -> Any:
        run = JobRun(job_type=job.type)
        _current.set(run)
        fields: dict[str, Any] = {
            "job_key": job.key,
            "job_type": job.type,
            "process_instance_key": job.process_instance_key,
            "bpmn_process_id": job.bpmn_process_id,
            "element_id": job.element_id,
        }
        try:
            parent = context_from_traceparent(job.variables.get(TRACEPARENT))
            run.span = self.tracer.start_span(
                f"{job.type} process",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "zeebe",
                    "messaging.operation": "process",
                    "messaging.destination.name": job.type,
                    "zeebe.job.key": job.key,
                    "zeebe.job.type": job.type,
                    "zeebe.job.retries": job.retries,
                    "zeebe.process_instance.key": job.process_instance_key,
                    "zeebe.bpmn_process_id": job.bpmn_process_id,
                    "zeebe.element_id": job.element_id,
                    "zeebe.worker": job.worker,
                },
            )
            run.token = otel_context.attach(trace.set_span_in_context(run.span))
            trace_id = trace_id_hex(run.span)
            if trace_id:
                fields["trace_id"] = trace_id
        except Exception:  # telemetry must never cost a job
            log.warning("could not start the job's span", exc_info=True)
        structlog.contextvars.bind_contextvars(**fields)
        if self.metrics is not None:
            self.metrics.activated.labels(job.type).inc()
        log.debug("job activated", retries=job.retries)
        return job

    def record(self, command: Command, error: BaseException | None = None, *, sent: bool = True) -> None:
        """Note the outcome the policy chose (called before the command is sent); ``sent=False`` when the
        runtime drops it (the job's lock expired), so it is not counted as completed/failed."""
        run = _current.get()
        if run is None:
            return
        run.command = command
        run.sent = sent
        if run.span is None:
            return
        try:
            run.span.set_attribute("zeebe.job.outcome", outcome_label(command))
            if error is not None:  # spans are exported records too: the message and trace are redacted
                trace_text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                run.span.record_exception(error, attributes={"exception.message": redact_text(str(error)),
                                                             "exception.stacktrace": redact_text(trace_text)})
            if isinstance(command, ThrowError):
                run.span.set_attribute("zeebe.error_code", command.code)
            elif not isinstance(command, Complete):
                run.span.set_status(Status(StatusCode.ERROR, redact_text(str(error)) if error else None))
        except Exception:
            log.warning("could not annotate the job's span", exc_info=True)

    def timed_out(self, job_type: str) -> None:
        """Count a handler the runtime cut off at its job's deadline."""
        if self.metrics is not None:
            self.metrics.timed_out.labels(job_type).inc()

    async def after(self, job: Any) -> Any:
        run = _current.get()
        if run is None:
            return job
        command = run.command or Complete()
        elapsed = time.perf_counter() - run.started
        try:
            outcome = outcome_label(command) if run.sent else "dropped"
            if self.metrics is not None:
                self.metrics.duration.labels(job.type).observe(elapsed)
                if not run.sent:  # nothing went to the gateway: neither completed nor failed
                    pass
                elif isinstance(command, Complete):
                    self.metrics.completed.labels(job.type).inc()
                elif isinstance(command, ThrowError):
                    self.metrics.bpmn_errors.labels(job.type, command.code).inc()
                else:
                    self.metrics.failed.labels(job.type, str(command.incident).lower()).inc()
            log.info("job handled", outcome=outcome, duration_ms=round(elapsed * 1000, 1))
            if run.span is not None:
                run.span.end()
        except Exception:
            log.warning("could not finish the job's telemetry", exc_info=True)
        finally:
            if run.token is not None:
                with contextlib.suppress(Exception):
                    otel_context.detach(run.token)  # type: ignore[arg-type]
            _current.set(None)
            structlog.contextvars.unbind_contextvars(
                "job_key", "job_type", "process_instance_key", "bpmn_process_id", "element_id", "trace_id"
            )
        return job
