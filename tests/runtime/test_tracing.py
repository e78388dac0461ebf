"""Job spans reach a real OTLP receiver, in the trace the instance's ``traceparent`` names."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from opentelemetry.trace import SpanKind
from pyzeebe import Job

from tests.runtime.otlp_receiver import otlp_receiver
from workers.runtime.jobs import JobObserver
from workers.runtime.tracing import create_tracer_provider, traceparent_of

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def make_job(variables: dict[str, Any]) -> Job:
    return Job(
        key=11,
        type="rollout.notify",
        process_instance_key=22,
        bpmn_process_id="procgov-rollout",
        process_definition_version=1,
        process_definition_key=33,
        element_id="notify-owner",
        element_instance_key=44,
        custom_headers={},
        worker="w",
        retries=3,
        deadline=0,
        variables=variables,
    )


async def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_job_span_is_exported_as_a_consumer_span_of_the_instance_trace() -> None:
    with otlp_receiver() as (endpoint, receiver):
        provider = create_tracer_provider("procgov-workers-test", endpoint)
        observer = JobObserver(provider.get_tracer("procgov.workers"))
        job = make_job({"traceparent": TRACEPARENT})
        await observer.before(job)
        inner = traceparent_of()  # the handler's own spans would be children of the job span
        await observer.after(job)
        provider.force_flush()
        await _wait_for(lambda: len(receiver.snapshot()) == 1)
        (span,) = receiver.snapshot()
        provider.shutdown()
    assert span.trace_id == TRACE_ID
    assert span.parent_span_id == "00f067aa0ba902b7"
    assert span.kind == 5  # SPAN_KIND_CONSUMER in OTLP's enum (SpanKind.CONSUMER)
    assert SpanKind.CONSUMER.name == "CONSUMER"
    assert span.service_name == "procgov-workers-test"
    assert span.attributes["messaging.system"] == "zeebe"
    assert span.attributes["messaging.operation"] == "process"
    assert span.attributes["zeebe.job.key"] == 11
    assert span.attributes["zeebe.job.type"] == "rollout.notify"
    assert span.attributes["zeebe.process_instance.key"] == 22
    assert span.attributes["zeebe.bpmn_process_id"] == "procgov-rollout"
    assert span.attributes["zeebe.element_id"] == "notify-owner"
    assert inner is not None and inner.split("-")[1] == TRACE_ID


async def test_a_collector_that_is_down_costs_nothing() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = create_tracer_provider("procgov-workers-test", f"http://127.0.0.1:{port}", export_timeout_s=1)
    observer = JobObserver(provider.get_tracer("procgov.workers"))
    job = make_job({"traceparent": "not a traceparent"})
    assert await observer.before(job) is job
    assert await observer.after(job) is job
    await asyncio.to_thread(provider.shutdown)
