"""The report store: a directory every replica mounts, written atomically, listed by key."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procgov.cli import app as cli
from workers.runtime.reports import (
    DirectoryStore,
    PrefixedStore,
    ReportStoreError,
    check_key,
    configured_store,
    open_report_store,
)


def test_put_get_and_list_by_key(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "reports")
    location = store.put("audit/procgov-rollout/42.html", b"<html>42</html>")
    assert Path(location) == (tmp_path / "reports" / "audit" / "procgov-rollout" / "42.html").resolve()
    store.put("sla-review/sla-review-2026-03-7.html", b"<html>march</html>")
    assert store.get("audit/procgov-rollout/42.html") == b"<html>42</html>"
    listed = store.list()
    assert [(r.key, r.kind, r.size) for r in listed] == [
        ("audit/procgov-rollout/42.html", "audit", 15), ("sla-review/sla-review-2026-03-7.html", "sla-review", 18)]
    assert [r.key for r in store.list("audit/")] == ["audit/procgov-rollout/42.html"]


def test_keys_cannot_leave_the_store(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    for key in ("../escape.html", "/etc/passwd", "a//b", "a/./b", ""):
        with pytest.raises(ReportStoreError, match="relative path"):
            store.put(key, b"x")
    assert check_key("audit/x.html") == "audit/x.html"
    with pytest.raises(ReportStoreError, match=r"no report 'missing\.html'"):
        store.get("missing.html")


def test_two_replicas_writing_the_same_report_leave_one_whole_file(tmp_path: Path) -> None:
    """Two stores on one directory (two pods on one volume) filing the same key at once."""
    replicas = [DirectoryStore(tmp_path), DirectoryStore(tmp_path)]
    bodies = [bytes([65 + i]) * 200_000 for i in range(2)]

    def file_many(i: int) -> None:
        for _ in range(20):
            replicas[i].put("audit/p/1.html", bodies[i])

    threads = [threading.Thread(target=file_many, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert (tmp_path / "audit/p/1.html").read_bytes() in bodies
    assert [r.key for r in DirectoryStore(tmp_path).list()] == ["audit/p/1.html"]  # no temporary file left


def test_urls_and_the_configured_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(open_report_store(f"file://{tmp_path}"), DirectoryStore)
    with pytest.raises(ReportStoreError, match="expected a directory"):
        open_report_store("ftp://host/x")
    monkeypatch.delenv("PROCGOV_REPORTS_URL", raising=False)
    own = configured_store("audit", tmp_path / "own")
    assert isinstance(own, DirectoryStore) and own.root == tmp_path / "own"
    monkeypatch.setenv("PROCGOV_REPORTS_URL", str(tmp_path / "shared"))
    shared = configured_store("audit", tmp_path / "own")
    assert isinstance(shared, PrefixedStore)
    shared.put("p/1.json", b"{}")
    assert (tmp_path / "shared" / "audit" / "p" / "1.json").is_file()
    assert [r.key for r in shared.list()] == ["audit/p/1.json"]


def test_cli_lists_and_copies_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    DirectoryStore(tmp_path / "store").put("audit/p/7.html", b"<html>7</html>")
    monkeypatch.setenv("PROCGOV_REPORTS_URL", str(tmp_path / "store"))
    runner = CliRunner(env={"COLUMNS": "250"})
    listed = runner.invoke(cli, ["reports", "list"])
    assert listed.exit_code == 0 and "audit/p/7.html" in listed.output and "1 report(s)" in listed.output
    assert "no reports under 'sla-review/'" in runner.invoke(cli, ["reports", "list", "sla-review/"]).output
    copied = runner.invoke(cli, ["reports", "get", "audit/p/7.html", "-o", str(tmp_path / "copy.html")])
    assert copied.exit_code == 0 and (tmp_path / "copy.html").read_bytes() == b"<html>7</html>"
    missing = runner.invoke(cli, ["reports", "get", "nope.html", "-o", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "no report 'nope.html'" in missing.output
    refused = runner.invoke(cli, ["reports", "list", "--store", "s3://b/r?endpoint=x"])
    assert refused.exit_code == 2 and "give only s3://bucket[/prefix]" in refused.output
