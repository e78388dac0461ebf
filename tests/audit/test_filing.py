"""The ``audit.file-history`` handler's filing logic, over an engine log and a decision store on disk.

(The end-to-end tests run it as a real job; these pin down the verdict without a registry.)
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.audit.builders import DEFINITION_KEY, INSTANCE_KEY, certified_late_instance, write_engine_log
from tests.audit.conftest import BPMN_DIR
from workers.audit.router import AuditDeps, AuditSettings, file_history
from workers.runtime import JobContext
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores.decisions import DecisionLog

BPMN = (BPMN_DIR / "audit-grade.bpmn").read_text()


def _job() -> JobContext:
    return JobContext(key=1, type="audit.file-history", process_instance_key=INSTANCE_KEY,
                      bpmn_process_id="audit-test-grade", process_definition_key=DEFINITION_KEY,
                      element_id="file-audit", element_instance_key=2, retries=3)


def _deps(tmp_path: Path, store_url: str) -> AuditDeps:
    write_engine_log(tmp_path / "engine", certified_late_instance(BPMN))
    settings = WorkerSettings(_env_file=None, store_url=store_url)  # type: ignore[call-arg]
    audit = AuditSettings(_env_file=None, data_dir=tmp_path / "engine",  # type: ignore[call-arg]
                          archive_dir=tmp_path / "archive")
    return AuditDeps.from_settings(settings, audit)


def test_without_registry_the_chain_is_still_checked(
    tmp_path: Path, recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str
) -> None:
    deps = _deps(tmp_path, store_url)
    filing = file_history(deps, _job()).audit_filing
    assert (filing.verdict, filing.findings) == ("not-replayed", [])
    document = json.loads(Path(filing.history_file).read_text())
    assert document["history"]["process_instance_key"] == INSTANCE_KEY
    assert 'id="diagram"' in Path(filing.report_file).read_text()

    with store_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM decision_records WHERE seq = 2"))
    filing = file_history(deps, _job()).audit_filing
    assert filing.verdict == "fail"
    assert any("seq-gap" in f for f in filing.findings)
