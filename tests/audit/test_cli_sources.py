"""``procgov audit`` over file and search-cluster sources, SLA policies, and the demo's audit step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.commands import audit as audit_commands
from tests.audit.builders import INSTANCE_KEY, certified_late_instance, write_engine_log
from tests.audit.conftest import BPMN_DIR
from tests.audit.es_server import SearchServer, serve
from tests.audit.exam_decision import REGISTRY
from workers.audit.history import load_history
from workers.audit.sla import SlaPolicy, SlaPolicyError, find_breaches
from workers.audit.sources import FileRecordSource
from workers.runtime.stores.decisions import DecisionLog

RUNNER = CliRunner(env={"COLUMNS": "220"})  # wide enough that rich does not wrap table cells
BPMN = (BPMN_DIR / "audit-grade.bpmn").read_text()


def test_history_from_exporter_file(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in certified_late_instance(BPMN)))
    result = RUNNER.invoke(cli, ["audit", "history", str(INSTANCE_KEY), "--records", str(path)])
    assert result.exit_code == 0, result.output
    for expected in ("Element timeline", "certify-deadline", "JOB_NO_RETRIES", "exam key unreadable", "TRIGGERED"):
        assert expected in result.output


def test_history_from_search_cluster(tmp_path: Path) -> None:
    with serve(SearchServer({"zeebe-record_all": certified_late_instance(BPMN)})) as url:
        result = RUNNER.invoke(cli, ["audit", "history", str(INSTANCE_KEY), "--es", url])
    assert result.exit_code == 0, result.output
    assert "file-audit" in result.output


def test_history_needs_exactly_one_source(tmp_path: Path) -> None:
    result = RUNNER.invoke(cli, ["audit", "history", "1"])
    assert result.exit_code == 2 and "exactly one history source" in result.output


def test_report_from_file_with_bpmn_and_sla(tmp_path: Path, recorded_log: DecisionLog, store_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    records = tmp_path / "records.jsonl"
    # Without the PROCESS record the model must come from --bpmn.
    records.write_text("".join(json.dumps(r) + "\n" for r in certified_late_instance(BPMN)
                               if r["valueType"] != "PROCESS"))
    sla = tmp_path / "sla.yaml"
    sla.write_text("limits:\n  grade: PT5M\n")
    out = tmp_path / "out" / "report.html"
    result = RUNNER.invoke(cli, ["audit", "report", str(INSTANCE_KEY), "--records", str(records), "--bpmn",
                                      str(BPMN_DIR / "audit-grade.bpmn"), "--sla", str(sla), "--store", store_url,
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert 'id="diagram"' in html and "took 6m, limit 5m" in html
    assert "No recorded decisions for this instance." in html


def test_replay_cli_needs_key_or_all(store_url: str, recorded_log: DecisionLog) -> None:
    result = RUNNER.invoke(cli, ["audit", "replay", "--store", store_url])
    assert result.exit_code == 2 and "KEY or --all" in result.output


def test_sla_policy_errors_name_the_entry(tmp_path: Path) -> None:
    with pytest.raises(SlaPolicyError, match=r"limits.grade: 'soon' is not an ISO-8601 duration"):
        SlaPolicy.from_mapping({"limits": {"grade": "soon"}})
    with pytest.raises(SlaPolicyError, match=r"unknown key\(s\) \['limit'\]"):
        SlaPolicy.from_mapping({"limit": {}})
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in certified_late_instance(BPMN)))
    history = load_history(FileRecordSource(path), INSTANCE_KEY)
    policy = SlaPolicy.from_mapping({"limits": {"grade": "PT6M", "certify": "PT2H"}})
    assert find_breaches(history, policy) == []  # exactly at the limit is not a breach


def test_demo_audit_step(tmp_path: Path, recorded_log: DecisionLog, store_url: str,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    import procgov.groups
    from procgov.demo.audit import _audit

    monkeypatch.setattr(procgov.groups, "decision_registry", lambda: REGISTRY)
    write_engine_log(tmp_path / "engine", certified_late_instance(BPMN))
    result = _audit(tmp_path / "engine", store_url, tmp_path / "audit")
    assert result.ok and result.facts["decisions replayed"] == "4" and result.facts["chain"] == "intact"
    assert (tmp_path / "audit" / f"audit-test-grade-{INSTANCE_KEY}.html").is_file()
