"""Log lines: JSON with the job's fields inside a job, and no secret ever printed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr
from pyzeebe import Job

from workers.runtime.jobs import JobObserver
from workers.runtime.logs import REDACTED, SecretRedactor, configure_logging, redactor
from workers.runtime.tracing import traceparent_of


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("DEBUG", json=True, stream=out, secrets=["hunter2-smtp-password"])
    yield out
    structlog.contextvars.clear_contextvars()
    logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_procgov", False)]


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def make_job(variables: dict[str, object]) -> Job:
    return Job(
        key=2251799813685321,
        type="rollout.notify",
        process_instance_key=2251799813685249,
        bpmn_process_id="procgov-rollout",
        process_definition_version=1,
        process_definition_key=42,
        element_id="notify-owner",
        element_instance_key=77,
        custom_headers={},
        worker="w",
        retries=3,
        deadline=0,
        variables=variables,
    )


def test_secret_keys_secretstr_and_known_values_are_masked(stream: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.info(
        "connecting to smtp with password hunter2-smtp-password",
        password="plain-text",
        smtp={"host": "mail", "client_secret": "x", "nested": [{"api_key": "k"}]},
        webhook_token=SecretStr("tok-value-9"),
        value=SecretStr("other"),
        url="https://user:hunter2-smtp-password@mail.example.com",
    )
    (line,) = lines(stream)
    text = json.dumps(line)
    assert "hunter2-smtp-password" not in text and "plain-text" not in text and "tok-value-9" not in text
    assert line["password"] == REDACTED
    assert line["webhook_token"] == REDACTED
    assert line["value"] == REDACTED
    assert line["smtp"] == {"host": "mail", "client_secret": REDACTED, "nested": [{"api_key": REDACTED}]}
    assert line["event"] == f"connecting to smtp with password {REDACTED}"


def test_stdlib_records_go_through_the_same_pipeline(stream: io.StringIO) -> None:
    logging.getLogger("pyzeebe.worker").warning("token hunter2-smtp-password rejected")
    (line,) = lines(stream)
    assert line["logger"] == "pyzeebe.worker"
    assert line["level"] == "warning"
    assert "hunter2-smtp-password" not in line["event"]  # type: ignore[operator]


async def test_lines_inside_a_job_carry_the_job_fields_and_trace_id(stream: io.StringIO) -> None:
    provider = TracerProvider()
    parent = provider.get_tracer("t").start_span("start procgov-rollout")
    observer = JobObserver(provider.get_tracer("procgov.workers"))
    job = make_job({"traceparent": traceparent_of(parent)})
    await observer.before(job)
    structlog.get_logger("handler").info("mail sent", recipients=2)
    logging.getLogger("pyzeebe.job").info("stdlib inside the job")
    await observer.after(job)
    structlog.get_logger("handler").info("outside the job")
    inside = [line for line in lines(stream) if line["event"] in ("mail sent", "stdlib inside the job")]
    assert len(inside) == 2
    trace_id = format(parent.get_span_context().trace_id, "032x")
    for line in inside:
        assert line["job_key"] == 2251799813685321
        assert line["job_type"] == "rollout.notify"
        assert line["process_instance_key"] == 2251799813685249
        assert line["bpmn_process_id"] == "procgov-rollout"
        assert line["element_id"] == "notify-owner"
        assert line["trace_id"] == trace_id
    (outside,) = [line for line in lines(stream) if line["event"] == "outside the job"]
    assert "job_key" not in outside


def test_console_rendering_in_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    configure_logging("INFO", stream=out)
    try:
        structlog.get_logger("t").info("hello", password="pw-value")
        text = out.getvalue()
        assert "hello" in text and not text.lstrip().startswith("{")
        assert "pw-value" not in text
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_procgov", False)]


def test_short_values_are_not_treated_as_secrets() -> None:
    r = SecretRedactor(["ab"])
    assert r(None, "info", {"event": "abc"}) == {"event": "abc"}
    assert redactor is not r
