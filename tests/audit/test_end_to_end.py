"""Audit over real runs: processes on the embedded engine, decisions recorded by the real runtime.

The test model (bpmn/audit-grade.bpmn) grades an exam with a recorded decision, certifies a pass
(with a one-hour deadline timer), and files its audit record with ``audit.file-history`` at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from pyzeebe import ZeebeClient
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.commands import audit as audit_commands
from procgov_engine.testing.external import CLOCK_REASON
from tests.audit.conftest import BPMN_DIR
from tests.audit.es_server import SearchServer, serve
from tests.audit.exam_decision import EXAM_KEY_V1, EXAM_KEY_V2, GRADE_EXAM, REGISTRY
from workers.audit import AuditDeps, AuditSettings, build_router
from workers.audit.history import COMPLETED, load_history
from workers.audit.replay import OK, replay_log
from workers.audit.report import render_report, write_report
from workers.audit.sources import ElasticsearchSource, FileRecordSource, SqliteLogSource
from workers.audit.store import DecisionStore
from workers.runtime import RuleSet, TaskRouter
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores.decisions import GENESIS_HASH, HASHED_FIELDS, decision_hash

# every run here passes the one-hour certificate deadline by moving the engine's clock
pytestmark = pytest.mark.embedded_only(CLOCK_REASON)

RUNNER = CliRunner(env={"COLUMNS": "220"})  # wide enough that rich does not wrap table cells
BPMN = BPMN_DIR / "audit-grade.bpmn"
PASSING = {"q1": "owner", "q2": "pilot", "q3": "wrong"}  # 70 points: a pass (pass mark 60)
FAILING = {"q1": "owner", "q2": "wrong", "q3": "wrong"}  # 40 points: a fail


class CertifyRequest(BaseModel):
    employee: str


class CertifyResult(BaseModel):
    certificate: str


def exam_router(certify_gate: asyncio.Event, printer_failures: int = 0) -> TaskRouter:
    router = TaskRouter(group="audit-test")
    router.decision_task("audit-test.grade", GRADE_EXAM, RuleSet.from_text(GRADE_EXAM, EXAM_KEY_V1))

    failures = [printer_failures]

    @router.task("audit-test.certify", timeout_ms=24 * 3_600_000)
    async def certify(request: CertifyRequest) -> CertifyResult:
        await certify_gate.wait()  # the test decides when the certificate is issued
        if failures[0] > 0:
            failures[0] -= 1
            raise RuntimeError("certificate printer offline")
        return CertifyResult(certificate=f"CERT-{request.employee}")

    return router


RunWorkers = Callable[..., Awaitable[Any]]


async def _run_two_instances(zeebe: Any, zeebe_client: ZeebeClient, run_workers: RunWorkers,
                             tmp_path: Path) -> tuple[int, int, str]:
    """One pass certified late (deadline timer fired), one fail whose retake is approved by message;
    both filed by audit.file-history."""
    await zeebe.deploy(BPMN)
    store_url = f"sqlite:///{tmp_path / 'workers.db'}"
    settings = WorkerSettings(_env_file=None, store_url=store_url)  # type: ignore[call-arg]
    audit_settings = AuditSettings(_env_file=None, data_dir=zeebe.data_dir,  # type: ignore[call-arg]
                                   archive_dir=tmp_path / "archive")
    deps = AuditDeps.from_settings(settings, audit_settings, registry=REGISTRY)
    gate = asyncio.Event()
    await run_workers(exam_router(gate), build_router(deps), store_url=store_url)

    passed = await zeebe_client.run_process("audit-test-grade", {"employee": "li.lei", "answers": PASSING})
    failed = await zeebe_client.run_process("audit-test-grade", {"employee": "han.mei", "answers": FAILING})
    await zeebe.instance(failed.process_instance_key).wait_element_active("retake-approved")
    await zeebe_client.publish_message("retake-approved", correlation_key="han.mei", variables={"retakeOn": "05-01"})
    await zeebe.instance(failed.process_instance_key).wait_completed()
    await zeebe.instance(passed.process_instance_key).wait_element_active("certify")
    await zeebe.increase_time(timedelta(hours=2))  # past the one-hour certificate deadline
    await zeebe.instance(passed.process_instance_key).wait_element_passed("late")
    gate.set()
    await zeebe.instance(passed.process_instance_key).wait_completed()
    return passed.process_instance_key, failed.process_instance_key, store_url


@pytest.fixture
async def ran(zeebe: Any, zeebe_client: ZeebeClient, run_workers: RunWorkers, tmp_path: Path) -> tuple[int, int, str]:
    return await _run_two_instances(zeebe, zeebe_client, run_workers, tmp_path)


def _replay(store_url: str, keys: list[int] | None = None) -> Any:
    store = DecisionStore.open(store_url)
    try:
        return replay_log(store.records(), registry=REGISTRY, rule_text=store.rule_text, head=store.head(),
                          process_instance_keys=keys)
    finally:
        store.dispose()


async def test_history_of_a_real_run(zeebe: Any, ran: tuple[int, int, str]) -> None:
    passed_key, failed_key, _ = ran
    h = load_history(SqliteLogSource(zeebe.data_dir), passed_key)
    assert h.state == COMPLETED and h.bpmn_process_id == "audit-test-grade"
    visited = [e.element_id for e in h.elements]
    assert visited[:4] == ["start", "grade", "passed-gateway", "certify"]
    assert {"certify-deadline", "late", "join", "file-audit", "certified"} <= set(visited)
    assert "flow-passed" in h.taken_flows and "flow-failed" not in h.taken_flows
    certify_ms = h.visits_of("certify")[0].duration_ms
    assert certify_ms is not None and certify_ms >= 7_200_000  # certified after the 2 h the clock moved
    grade = next(j for j in h.jobs if j.type == "audit-test.grade")
    assert (grade.outcome, grade.worker) == ("COMPLETED", "procgov-test-worker")
    (timer,) = h.timers
    assert (timer.target_element_id, timer.outcome) == ("certify-deadline", "TRIGGERED")
    final = h.final_variables()
    assert final["passed"] is True and final["score"] == 70
    assert final["auditFiling"]["verdict"] == "pass"
    assert h.bpmn_xml is not None and "audit-test-grade" in h.bpmn_xml

    failed = load_history(SqliteLogSource(zeebe.data_dir), failed_key)
    assert "flow-failed" in failed.taken_flows and "certify" not in {e.element_id for e in failed.elements}
    (message,) = failed.messages
    assert (message.message_name, message.correlation_key, message.element_id) == (
        "retake-approved", "han.mei", "retake-approved")
    assert message.correlated_at is not None
    assert failed.final_variables()["retakeOn"] == "05-01"


async def test_recorded_decisions_replay_and_match_the_jobs(zeebe: Any, ran: tuple[int, int, str]) -> None:
    passed_key, failed_key, store_url = ran
    report = _replay(store_url)
    assert report.ok, [(v.status, v.notes) for v in report.verdicts]
    assert {v.process_instance_key for v in report.verdicts} == {passed_key, failed_key}
    assert all(v.status == OK for v in report.verdicts)
    # What the decision log recorded is exactly what the job completed with in the engine.
    for verdict in report.verdicts:
        h = load_history(SqliteLogSource(zeebe.data_dir), verdict.process_instance_key)
        job = next(j for j in h.jobs if j.key == verdict.job_key)
        assert job.variables == verdict.outputs


async def test_filed_audit_record(zeebe: Any, ran: tuple[int, int, str], tmp_path: Path) -> None:
    passed_key, _, _ = ran
    filing = load_history(SqliteLogSource(zeebe.data_dir), passed_key).final_variables()["auditFiling"]
    document = json.loads(await asyncio.to_thread(Path(filing["historyFile"]).read_text))
    assert document["verdict"] == "pass" and document["processInstanceKey"] == passed_key
    assert [d["status"] for d in document["decisions"]] == ["ok"]
    html = await asyncio.to_thread(Path(filing["reportFile"]).read_text)
    assert 'data-element-id="certify"' in html and "the deadline “1 hour” passed" in html


async def test_exporter_json_gives_the_same_history(zeebe: Any, ran: tuple[int, int, str], tmp_path: Path) -> None:
    from procgov_engine.export import export_jsonl

    exported = tmp_path / "export.jsonl"
    export_jsonl(zeebe.data_dir, exported)
    for key in ran[:2]:
        from_log = load_history(SqliteLogSource(zeebe.data_dir), key)
        from_json = load_history(FileRecordSource(exported), key)
        assert from_json == from_log
        assert from_json.bpmn_xml == from_log.bpmn_xml


async def test_search_cluster_gives_the_same_history(zeebe: Any, ran: tuple[int, int, str]) -> None:
    """The engine's records, indexed the way the ES exporter indexes them, read back over HTTP."""
    indices: dict[str, list[dict[str, Any]]] = {}
    for record in zeebe.records():
        name = str(record["valueType"]).lower().replace("_", "-")
        indices.setdefault(f"zeebe-record_{name}_8.8.0_2026-11-21", []).append(record)
    with serve(SearchServer(indices)) as url:
        source = ElasticsearchSource(url, page_size=25)
        from_es = [await asyncio.to_thread(load_history, source, key) for key in ran[:2]]
        assert await asyncio.to_thread(source.instance_keys) == list(ran[:2])
    for key, got in zip(ran[:2], from_es, strict=True):
        expected = load_history(SqliteLogSource(zeebe.data_dir), key)
        assert got == expected
        assert got.bpmn_xml == expected.bpmn_xml


def _tamper(store_url: str, kind: str, passed_key: int) -> None:
    """Edit the real run's decision store the way a forger would."""
    engine = sa.create_engine(store_url)
    where = "WHERE process_instance_key = :k"
    with engine.begin() as conn:
        row = conn.execute(sa.text(f"SELECT seq, inputs, outputs FROM decision_records {where}"),
                           {"k": passed_key}).one()
        if kind == "output":
            outputs = {**json.loads(row.outputs), "score": 100}
            conn.execute(sa.text(f"UPDATE decision_records SET outputs = :o {where}"),
                         {"o": json.dumps(outputs), "k": passed_key})
        elif kind == "input":
            inputs = {**json.loads(row.inputs), "answers": {"q1": "owner", "q2": "pilot", "q3": "cutover"}}
            conn.execute(sa.text(f"UPDATE decision_records SET inputs = :i {where}"),
                         {"i": json.dumps(inputs), "k": passed_key})
        elif kind == "rule-version":
            # Point the record at a real, stricter exam key (pass mark 80) that another run recorded.
            v2 = RuleSet.from_text(GRADE_EXAM, EXAM_KEY_V2)
            conn.execute(sa.text("INSERT INTO rule_snapshots (version, decision, text) VALUES (:v, :d, :t)"),
                         {"v": v2.version, "d": GRADE_EXAM.name, "t": v2.text})
            conn.execute(sa.text(f"UPDATE decision_records SET rule_version = :v {where}"),
                         {"v": v2.version, "k": passed_key})
        elif kind == "delete":
            conn.execute(sa.text("DELETE FROM decision_records WHERE seq = 1"))
        elif kind == "reorder":
            for old, new in ((1, -1), (2, 1), (-1, 2)):
                conn.execute(sa.text("UPDATE decision_records SET seq = :new WHERE seq = :old"),
                             {"new": new, "old": old})
    engine.dispose()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("output", ["MISMATCH", "score: recorded 100, replayed 70", "edited"]),
        ("input", ["MISMATCH", "score: recorded 70, replayed 100", "edited"]),
        ("rule-version", ["MISMATCH", "passed: recorded true, replayed false", "edited"]),
        ("delete", ["seq-gap", "broken-link"]),
        ("reorder", ["edited", "broken-link"]),
    ],
)
async def test_replay_of_a_real_run_catches_tampering(
    ran: tuple[int, int, str], monkeypatch: pytest.MonkeyPatch, kind: str, expected: list[str]
) -> None:
    passed_key, _, store_url = ran
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    result = RUNNER.invoke(cli, ["audit", "replay", "--all", "--store", store_url])
    assert result.exit_code == 0, result.output
    assert "PASS: 2 ok" in result.output and "hash chain intact over 2 records" in result.output

    _tamper(store_url, kind, passed_key)
    result = RUNNER.invoke(cli, ["audit", "replay", "--all", "--store", store_url])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    for text in expected:
        assert text in result.output, (text, result.output)


async def test_cli_history_and_report(zeebe: Any, ran: tuple[int, int, str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    passed_key, _, store_url = ran
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    runner = RUNNER
    result = runner.invoke(cli, ["audit", "history", str(passed_key), "--data", str(zeebe.data_dir)])
    assert result.exit_code == 0, result.output
    assert "certify-deadline" in result.output and "audit-test.grade" in result.output
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["audit", "report", str(passed_key), "--data", str(zeebe.data_dir), "--store",
                                 store_url, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "decisions PASS" in result.output
    assert '<tr class="ok">' in out.read_text()
    result = runner.invoke(cli, ["audit", "history", "999", "--data", str(zeebe.data_dir)])
    assert result.exit_code == 2 and "no records of process instance 999" in result.output


@pytest.mark.browser
async def test_report_of_a_real_run_renders_in_chromium(
    zeebe: Any, ran: tuple[int, int, str], chrome: WebDriver, tmp_path: Path
) -> None:
    passed_key, failed_key, store_url = ran
    source = SqliteLogSource(zeebe.data_dir)
    for key, took_certify in ((passed_key, True), (failed_key, False)):
        html = render_report(load_history(source, key), replay=_replay(store_url, [key]), source=source.describe())
        page = await asyncio.to_thread(write_report, tmp_path / f"report-{key}.html", html)
        chrome.get(page.as_uri())
        assert chrome.find_element(By.ID, "diagram").is_displayed()
        assert chrome.find_element(By.ID, "replay-verdict").text.startswith("PASS")

        def stroke(element_id: str, part: str) -> str:
            node = chrome.find_element(By.CSS_SELECTOR, f'g[data-element-id="{element_id}"] {part}')
            return str(node.value_of_css_property("stroke"))

        green, red, grey = "rgb(31, 138, 59)", "rgb(198, 40, 40)", "rgb(138, 149, 163)"
        assert stroke("grade", "rect") == green
        assert stroke("file-audit", "rect") == green
        assert stroke("flow-passed", "polyline") == (green if took_certify else grey)
        assert stroke("flow-failed", "polyline") == (grey if took_certify else green)
        # The certificate came after its one-hour deadline timer fired: an SLA breach on the task.
        assert stroke("certify", "rect") == (red if took_certify else "rgb(107, 119, 133)")
        rows = chrome.find_elements(By.CSS_SELECTOR, ".decisions tr.ok")
        assert len(rows) == 1 and "audit-test.exam-grade" in rows[0].text
        shot = tmp_path / f"report-{key}.png"
        assert chrome.save_screenshot(str(shot))
        keep = os.environ.get("PROCGOV_AUDIT_KEEP_SCREENSHOT")
        if keep:
            shutil.copy(shot, f"{keep.removesuffix('.png')}-e2e-{'passed' if took_certify else 'failed'}.png")


async def test_history_records_retries_and_a_resolved_incident(
    zeebe: Any, zeebe_client: ZeebeClient, run_workers: RunWorkers, tmp_path: Path
) -> None:
    """certify fails twice (its 2 retries run out: an incident), an operator adds a retry and resolves it."""
    await zeebe.deploy(BPMN)
    gate = asyncio.Event()
    gate.set()
    await run_workers(exam_router(gate, printer_failures=2), retry={"base_ms": 1_000, "max_ms": 1_000})
    started = await zeebe_client.run_process("audit-test-grade", {"employee": "li.lei", "answers": PASSING})
    key = started.process_instance_key
    await zeebe.instance(key).wait_element_active("certify")
    for _ in range(50):  # the first failure backs off 1 s on the engine's clock
        await zeebe.increase_time(timedelta(seconds=2))
        if any(r["valueType"] == "INCIDENT" and r["value"].get("processInstanceKey") == key
               for r in zeebe.records()):
            break
        await asyncio.sleep(0.05)
    incident = await zeebe.instance(key).wait_incident("certificate printer offline")
    await zeebe.engine.update_job_retries(incident.job_key, 1)
    await zeebe.engine.resolve_incident(incident.key)
    await zeebe.instance(key).wait_element_passed("certify")

    h = load_history(SqliteLogSource(zeebe.data_dir), key)
    certify = next(j for j in h.jobs if j.type == "audit-test.certify")
    assert [a.intent for a in certify.attempts if a.intent in {"FAILED", "RETRIES_UPDATED", "COMPLETED"}] == [
        "FAILED", "FAILED", "RETRIES_UPDATED", "COMPLETED"]
    assert certify.failures == 2 and certify.worker == "procgov-test-worker"
    assert [a.retries for a in certify.attempts if a.intent == "FAILED"] == [1, 0]
    assert "certificate printer offline" in certify.attempts[0].error_message
    (opened,) = h.incidents
    assert opened.error_type == "JOB_NO_RETRIES" and opened.element_id == "certify" and opened.resolved


def _rewrite_chain(store_url: str) -> None:
    """A forger with write access who recomputes every hash and the head after an edit."""
    store = DecisionStore.open(store_url)
    records = list(store.records())
    store.dispose()
    engine = sa.create_engine(store_url)
    prev = GENESIS_HASH
    with engine.begin() as conn:
        for record in records:
            digest = decision_hash(prev, {name: getattr(record, name) for name in HASHED_FIELDS})
            conn.execute(sa.text("UPDATE decision_records SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": digest, "s": record.seq})
            prev = digest
        last = records[-1].seq if records else 0
        conn.execute(sa.text("UPDATE decision_chain_head SET seq = :s, hash = :h WHERE id = 1"), {"s": last, "h": prev})
    engine.dispose()


async def test_cross_check_catches_what_a_rewritten_chain_hides(
    zeebe: Any, ran: tuple[int, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, failed_key, store_url = ran
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    data = ["--data", str(zeebe.data_dir)]
    result = RUNNER.invoke(cli, ["audit", "replay", "--all", "--store", store_url, *data])
    assert result.exit_code == 0, result.output
    assert "decision jobs of 2 instance(s) match their records" in result.output

    # Delete the failed instance's decision and rewind the chain: the chain verifies again...
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM decision_records WHERE process_instance_key = :k"), {"k": failed_key})
    engine.dispose()
    _rewrite_chain(store_url)
    result = RUNNER.invoke(cli, ["audit", "replay", "--all", "--store", store_url])
    assert result.exit_code == 0, result.output
    # ... but the engine's records still show the decision job that completed.
    result = RUNNER.invoke(cli, ["audit", "replay", str(failed_key), "--store", store_url, *data])
    assert result.exit_code == 1, result.output
    assert "completed at a decision task without a decision record" in result.output


async def test_report_shows_a_job_that_disagrees_with_its_record(
    zeebe: Any, ran: tuple[int, int, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outputs edited and the chain rewritten: replay and the cross-check both still see it."""
    passed_key, _, store_url = ran
    _tamper(store_url, "output", passed_key)
    _rewrite_chain(store_url)
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    out = tmp_path / "report.html"
    result = RUNNER.invoke(cli, ["audit", "report", str(passed_key), "--data", str(zeebe.data_dir), "--store",
                                 store_url, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "decisions FAIL" in result.output
    assert "score: recorded 100, job completed with 70" in result.output
    html = await asyncio.to_thread(out.read_text)
    assert 'id="cross-check"' in html and "Hash chain intact" in html and '<tr class="mismatch">' in html
