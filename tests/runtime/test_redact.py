"""Structural redaction: credentials recognised by their shape, the server still named."""

from __future__ import annotations

import pytest

from workers.runtime.logs import SecretRedactor
from workers.runtime.redact import MASK, redact_text

M = MASK


@pytest.mark.parametrize(("text", "expected"), [
    ("slack webhook https://hooks.slack.com/services/T0001/B0002/abcdefghijkl answered HTTP 503",
     f"slack webhook https://hooks.slack.com/services/{M} answered HTTP 503"),
    ("https://open.feishu.cn/open-apis/bot/v2/hook/0c1d2e3f-aaaa-bbbb-cccc-1234567890ab",
     f"https://open.feishu.cn/open-apis/bot/v2/hook/{M}"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
     f"https://qyapi.weixin.qq.com/cgi-bin/webhook/{M}?key={M}"),
    ("https://oapi.dingtalk.com/robot/send?access_token=abcdef123&timestamp=1&sign=x",
     f"https://oapi.dingtalk.com/robot/{M}?access_token={M}&timestamp={M}&sign={M}"),
    ("https://discord.com/api/webhooks/123456/AbCdEf-123_xyz", f"https://discord.com/api/webhooks/{M}"),
    ("http://127.0.0.1:5000/feishu/warehouse answered", "http://127.0.0.1:5000/feishu/warehouse answered"),
    ("postgresql+psycopg://procgov:pw@db:5432/procgov", f"postgresql+psycopg://{M}@db:5432/procgov"),
    ("sqlite:////var/lib/procgov/test_transient_errors_retry_wi0/workers.db",
     "sqlite:////var/lib/procgov/test_transient_errors_retry_wi0/workers.db"),
    ("{'Authorization': 'Basic Y2xpZW50OnNlY3JldA==', 'Accept': 'application/json'}",
     f"{{'Authorization': 'Basic {M}', 'Accept': 'application/json'}}"),
    ("Authorization: Bearer abc.def.ghi1", f"Authorization: Bearer {M}"),
    ("Basic authentication failed", "Basic authentication failed"),
    ("grant_type=client_credentials&client_id=procgov&client_secret=s3cr3t-Value",
     f"grant_type=client_credentials&client_id=procgov&client_secret={M}"),
    ("{'access_token': 'opaque-token-1', 'token_type': 'Bearer'}",
     f"{{'access_token': '{M}', 'token_type': 'Bearer'}}"),
    ('b\'{"access_token":"tok-123456","expires_in":300}\'', f'b\'{{"access_token":"{M}","expires_in":300}}\''),
    ("password=hunter2 user=x", f"password={M} user=x"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature", f"token {M}"),
    ('127.0.0.1 "POST /services/T0A/B0B/xq7Rk2LmP9vN4sT8wZ1yB3cD HTTP/1.1" 404',
     f'127.0.0.1 "POST /services/{M} HTTP/1.1" 404'),
])
def test_credentials_are_masked_by_their_shape(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_the_log_redactor_masks_shapes_in_every_string_and_known_values_first() -> None:
    redactor = SecretRedactor(["known-secret-value"])
    event = redactor(None, "debug", {"event": "Request headers were {'Authorization': 'Bearer zzz.yyy.xxx1'}",
                                     "url": "https://hooks.slack.com/services/T/B/tok", "note": "a known-secret-value"})
    assert event == {"event": f"Request headers were {{'Authorization': 'Bearer {M}'}}",
                     "url": f"https://hooks.slack.com/services/{M}", "note": f"a {M}"}


async def test_a_failed_jobs_span_carries_no_webhook_token() -> None:
    """Spans are exported (OTLP) records too: the exception event and the status are redacted."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.runtime.test_logs import make_job
    from workers.runtime.errors import TransientError
    from workers.runtime.jobs import JobObserver
    from workers.runtime.policy import Fail

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = JobObserver(provider.get_tracer("test"))
    job = make_job({})
    await observer.before(job)
    error = TransientError("slack webhook https://hooks.slack.com/services/T1/B2/tok3nXYZ unreachable")
    observer.record(Fail(retries=2, message="x"), error)
    await observer.after(job)
    [span] = exporter.get_finished_spans()
    exported = repr(span.to_json())
    assert "tok3nXYZ" not in exported and "hooks.slack.com/services/**********" in exported
