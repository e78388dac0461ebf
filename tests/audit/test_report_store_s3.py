"""The report store on S3-compatible object storage, against a real S3 API over HTTP on loopback.

The server is moto's standalone S3 server (werkzeug, the S3 REST protocol over HTTP), so every call
goes through boto3's real HTTP client, signing and retries; nothing in-process is patched.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from procgov.cli import app as cli
from tests.audit.builders import DEFINITION_KEY, INSTANCE_KEY, certified_late_instance, write_engine_log
from tests.audit.conftest import BPMN_DIR
from workers.audit.router import AuditDeps, AuditSettings, file_history
from workers.runtime import JobContext, TransientError
from workers.runtime.logs import configure_logging
from workers.runtime.policy import Fail, RetryPolicy, decide
from workers.runtime.report_s3 import S3Store
from workers.runtime.reports import (
    PrefixedStore,
    ReportStoreError,
    ReportStoreUnavailable,
    S3Settings,
    configured_store,
    open_report_store,
)
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores.decisions import DecisionLog

ACCESS_KEY, SECRET_KEY = "procgov-test-key", "s3cr3t-Never-In-Logs-0123456789"
BUCKET = "procgov-reports"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A real S3 API server on a free loopback port, with the reports bucket created over HTTP."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                 aws_secret_access_key=SECRET_KEY).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def _settings(endpoint: str, **overrides: object) -> S3Settings:
    values: dict[str, object] = {"endpoint_url": endpoint, "access_key_id": ACCESS_KEY,
                                 "secret_access_key": SECRET_KEY, "connect_timeout": 1.0, "max_attempts": 2}
    return S3Settings(**(values | overrides))  # type: ignore[arg-type]


def _env(monkeypatch: pytest.MonkeyPatch, endpoint: str, url: str = f"s3://{BUCKET}/prod") -> None:
    monkeypatch.setenv("PROCGOV_REPORTS_URL", url)
    monkeypatch.setenv("PROCGOV_REPORTS__ENDPOINT_URL", endpoint)
    monkeypatch.setenv("PROCGOV_REPORTS__ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("PROCGOV_REPORTS__SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("PROCGOV_REPORTS__CONNECT_TIMEOUT", "1")


def test_put_list_and_get_over_the_s3_api(s3_endpoint: str) -> None:
    store = S3Store.from_url(f"s3://{BUCKET}/prod", _settings(s3_endpoint))
    location = store.put("audit/procgov-rollout/42.html", b"<html>42</html>")
    assert location == f"s3://{BUCKET}/prod/audit/procgov-rollout/42.html"
    store.put("sla-review/sla-review-2026-03-7.html", b"<html>march</html>")
    assert store.get("audit/procgov-rollout/42.html") == b"<html>42</html>"
    listed = store.list()
    assert [(r.key, r.kind, r.size, r.location) for r in listed] == [
        ("audit/procgov-rollout/42.html", "audit", 15, location),
        ("sla-review/sla-review-2026-03-7.html", "sla-review", 18,
         f"s3://{BUCKET}/prod/sla-review/sla-review-2026-03-7.html")]
    assert [r.key for r in store.list("audit/")] == ["audit/procgov-rollout/42.html"]
    assert listed[0].modified.tzinfo is not None
    # The object really is in the bucket under the prefix, with its content type (read with a plain client).
    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                       aws_secret_access_key=SECRET_KEY)
    head = raw.head_object(Bucket=BUCKET, Key="prod/audit/procgov-rollout/42.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    with pytest.raises(ReportStoreError, match=r"no report 'missing\.html' in bucket s3://procgov-reports/prod/"):
        store.get("missing.html")
    with pytest.raises(ReportStoreError, match="relative path"):
        store.put("../escape.html", b"x")


def test_more_reports_than_one_listing_page(s3_endpoint: str) -> None:
    """S3 lists at most 1,000 keys per response: the store follows the continuation tokens."""
    store = S3Store.from_url(f"s3://{BUCKET}", _settings(s3_endpoint))
    threads = [threading.Thread(target=lambda lo=lo: [store.put(f"audit/p/{i:05}.json", b"{}")
                                                      for i in range(lo, lo + 263)]) for lo in range(0, 1052, 263)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    keys = [r.key for r in store.list("audit/")]
    assert len(keys) == 1052 and keys == sorted(keys) and keys[-1] == "audit/p/01051.json"


def test_two_replicas_share_one_bucket(s3_endpoint: str) -> None:
    """Two stores with clients of their own (two pods): each sees the other's reports, and filing the
    same report at once leaves one whole body."""
    replicas = [S3Store.from_url(f"s3://{BUCKET}/shared", _settings(s3_endpoint)) for _ in range(2)]
    replicas[0].put("audit/p/1.json", b"{}")
    replicas[1].put("sla-review/r.html", b"<html/>")
    bodies = [bytes([65 + i]) * 200_000 for i in range(2)]

    def file_many(i: int) -> None:
        for _ in range(10):
            replicas[i].put("audit/p/2.html", bodies[i])

    threads = [threading.Thread(target=file_many, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for replica in replicas:
        assert [r.key for r in replica.list()] == ["audit/p/1.json", "audit/p/2.html", "sla-review/r.html"]
        assert replica.get("audit/p/2.html") in bodies


def test_configured_store_and_the_audit_filing_use_the_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str,
    recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str,
) -> None:
    """A worker replica's ``audit.file-history`` files its JSON and HTML into the bucket."""
    _env(monkeypatch, s3_endpoint)
    shared = configured_store("audit", tmp_path / "own")
    assert isinstance(shared, PrefixedStore) and isinstance(shared.store, S3Store)
    write_engine_log(tmp_path / "engine", certified_late_instance((BPMN_DIR / "audit-grade.bpmn").read_text()))
    settings = WorkerSettings(_env_file=None, store_url=store_url)  # type: ignore[call-arg]
    audit = AuditSettings(_env_file=None, data_dir=tmp_path / "engine",  # type: ignore[call-arg]
                          archive_dir=tmp_path / "archive")
    filing = file_history(AuditDeps.from_settings(settings, audit), _job()).audit_filing
    base = f"s3://{BUCKET}/prod/audit/audit-test-grade/{INSTANCE_KEY}"
    assert (filing.history_file, filing.report_file) == (f"{base}.json", f"{base}.html")
    assert not (tmp_path / "archive").exists()
    document = json.loads(open_report_store(f"s3://{BUCKET}/prod").get(f"audit/audit-test-grade/{INSTANCE_KEY}.json"))
    assert document["processInstanceKey"] == INSTANCE_KEY


def test_cli_lists_and_copies_from_the_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             s3_endpoint: str) -> None:
    _env(monkeypatch, s3_endpoint)
    open_report_store(f"s3://{BUCKET}/prod").put("audit/p/7.html", b"<html>7</html>")
    runner = CliRunner(env={"COLUMNS": "250"})
    listed = runner.invoke(cli, ["reports", "list"])
    assert listed.exit_code == 0, listed.output
    assert "audit/p/7.html" in listed.output and f"s3://{BUCKET}/prod/audit/p/7.html" in listed.output
    copied = runner.invoke(cli, ["reports", "get", "audit/p/7.html", "-o", str(tmp_path / "copy.html")])
    assert copied.exit_code == 0 and (tmp_path / "copy.html").read_bytes() == b"<html>7</html>"
    missing = runner.invoke(cli, ["reports", "get", "nope.html", "-o", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "no report 'nope.html'" in missing.output
    other = runner.invoke(cli, ["reports", "list", "--store", "s3://no-such-bucket"])
    assert other.exit_code == 1 and "the bucket does not exist" in other.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_store_that_is_down_fails_the_filing_job_for_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str,
) -> None:
    """Nothing listens at the endpoint: put/get/list raise ReportStoreUnavailable, a TransientError
    (FailJob with back-off, an incident once the retries are spent), naming the endpoint and bucket
    and never the secret; the job does not complete and nothing is written elsewhere."""
    endpoint = f"http://127.0.0.1:{_free_port()}"
    store = S3Store.from_url(f"s3://{BUCKET}/prod", _settings(endpoint))
    caplog.set_level(logging.DEBUG)
    for call in (lambda: store.put("audit/p/1.json", b"{}"), lambda: store.get("audit/p/1.json"), store.list):
        with pytest.raises(ReportStoreUnavailable) as raised:
            call()
        message = str(raised.value)
        assert f"bucket s3://{BUCKET}/prod/ (endpoint {endpoint}): " in message and "Could not connect" in message
        assert SECRET_KEY not in message
    assert SECRET_KEY not in caplog.text
    assert isinstance(raised.value, TransientError)
    command = decide(raised.value, retries=3, policy=RetryPolicy())
    assert isinstance(command, Fail) and command.retries == 2 and command.retry_back_off_ms > 0
    assert "Could not connect" in command.message and SECRET_KEY not in command.message

    _env(monkeypatch, endpoint)
    write_engine_log(tmp_path / "engine", certified_late_instance((BPMN_DIR / "audit-grade.bpmn").read_text()))
    settings = WorkerSettings(_env_file=None, store_url=store_url)  # type: ignore[call-arg]
    audit = AuditSettings(_env_file=None, data_dir=tmp_path / "engine",  # type: ignore[call-arg]
                          archive_dir=tmp_path / "archive")
    with pytest.raises(ReportStoreUnavailable, match="storing prod/audit/audit-test-grade/"):
        file_history(AuditDeps.from_settings(settings, audit), _job())
    assert not (tmp_path / "archive").exists()  # no silent fallback to a local directory


def test_the_secret_key_is_masked_in_every_log_line(s3_endpoint: str) -> None:
    """The runtime's log pipeline at DEBUG, botocore's request logging included, with a real PUT."""
    stream, root = io.StringIO(), logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("DEBUG", json=True, stream=stream)
    try:
        store = S3Store.from_url(f"s3://{BUCKET}/prod", _settings(s3_endpoint))
        store.put("audit/p/1.json", b"{}")
        logging.getLogger("procgov.test").warning("configured with %s", SECRET_KEY)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    text = stream.getvalue()
    assert "botocore" in text and "configured with **********" in text
    assert SECRET_KEY not in text


def test_bad_settings_are_refused_with_the_setting_named() -> None:
    with pytest.raises(ReportStoreError, match="expected s3://bucket"):
        S3Store.from_url("s3:///prefix-only", _settings("http://127.0.0.1:1"))
    with pytest.raises(ReportStoreError, match="ACCESS_KEY_ID and PROCGOV_REPORTS__SECRET_ACCESS_KEY go together"):
        S3Store.from_url("s3://b", _settings("http://127.0.0.1:1", secret_access_key=None))
    with pytest.raises(ReportStoreError, match="endpoint and credentials go in") as raised:
        S3Store.from_url(f"s3://{ACCESS_KEY}:{SECRET_KEY}@b/p", _settings("http://127.0.0.1:1"))
    assert SECRET_KEY not in str(raised.value)
    with pytest.raises(ReportStoreError, match="PROCGOV_REPORTS__ENDPOINT_URL"):
        S3Store.from_url("s3://b", _settings("not a url"))


def _job() -> JobContext:
    return JobContext(key=1, type="audit.file-history", process_instance_key=INSTANCE_KEY,
                      bpmn_process_id="audit-test-grade", process_definition_key=DEFINITION_KEY,
                      element_id="file-audit", element_instance_key=2, retries=3)
