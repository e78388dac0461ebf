"""OpenTelemetry tracing: one CONSUMER span per job, joined to the instance's trace.

The W3C trace context travels in the process variable ``traceparent`` (set by ``procgov start`` from
the current span), so every job of one instance lands in one trace. Export is OTLP/gRPC in a batch
processor's background thread: a collector that is down costs a log line, never a job.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_propagator = TraceContextTextMapPropagator()


def create_tracer_provider(
    service_name: str, otlp_endpoint: str | None, *, export_timeout_s: float = 5.0
) -> TracerProvider:
    """A provider exporting to ``otlp_endpoint`` (``http://host:4317``), or recording nothing when None.

    Not installed globally: a worker app owns its provider, so tests can run several side by side.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=otlp_endpoint, insecure=otlp_endpoint.startswith("http://"), timeout=int(export_timeout_s)
        )
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


def context_from_traceparent(traceparent: Any) -> Context | None:
    """The parent context carried by a ``traceparent`` value, or None if absent or malformed."""
    if not isinstance(traceparent, str) or not traceparent:
        return None
    context = _propagator.extract({TRACEPARENT: traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return context if span_context.is_valid else None


def traceparent_of(span: trace.Span | None = None) -> str | None:
    """The W3C ``traceparent`` of ``span`` (default: the current span), None without a valid span."""
    carrier: dict[str, str] = {}
    context = trace.set_span_in_context(span) if span is not None else None
    _propagator.inject(carrier, context=context)
    return carrier.get(TRACEPARENT)


def trace_id_hex(span: trace.Span) -> str | None:
    span_context = span.get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
