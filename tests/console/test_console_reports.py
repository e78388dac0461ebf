"""The console's report pages list the report store (``PROCGOV_REPORTS_URL`` / ``--store``, the one the
workers file into) and open a report as stored, in a sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx

from workers.runtime.reports import DirectoryStore


def test_the_stored_reports_are_listed_and_opened(console_url: str, reports_dir: Path) -> None:
    store = DirectoryStore(reports_dir)
    audit = "<!DOCTYPE html><title>审计报告 Audit report</title><h1>procgov-change-request</h1>".encode()
    store.put("audit/procgov-change-request/2251799813685300.html", audit)
    store.put("sla-review/2026-11.html", b"<!DOCTYPE html><h1>SLA</h1>")
    with httpx.Client(base_url=console_url, timeout=30) as client:
        page = client.get("/reports")
        assert page.status_code == 200
        assert 'href="/reports/audit/procgov-change-request/2251799813685300.html"' in page.text
        assert "审计 Audit" in page.text and "SLA 月报 Monthly SLA" in page.text
        report = client.get("/reports/audit/procgov-change-request/2251799813685300.html")
        assert report.status_code == 200 and report.content == audit
        assert report.headers["content-type"] == "text/html; charset=utf-8"
        assert report.headers["content-security-policy"] == "sandbox"
        missing = client.get("/reports/audit/none.html")
        assert missing.status_code == 404 and "no report" in missing.text
        escape = client.get("/reports/audit/%2e%2e/%2e%2e/etc/passwd")
        assert escape.status_code == 404 and "must be a relative path" in escape.text
