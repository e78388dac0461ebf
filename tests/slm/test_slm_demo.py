"""The slm demo scenario runs green on the demo runner (embedded engine, real SMTP, the slm and audit workers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from procgov.demo import slm as scenario
from procgov.demo.runner import run_demo
from procgov.groups import load_group

pytestmark = pytest.mark.timeout(240)
REPO = Path(__file__).resolve().parents[2]


async def test_slm_demo_scenario_is_green(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCGOV_SLM_KPI_URL", f"sqlite:///{tmp_path / 'kpi.db'}")
    monkeypatch.setenv("PROCGOV_SLM_REPORT_DIR", str(tmp_path / "reports"))
    report = await run_demo(tmp_path / "demo", bpmn_dir=REPO / "bpmn", scenarios=[("slm", scenario)],
                            groups=[load_group("slm"), load_group("audit")])  # audit files each record
    details = [(r.scenario, r.state, r.detail, dict(r.facts)) for r in report.results]
    assert report.ok, f"{report.problems} {details}"
    assert [r.scenario for r in report.results] == ["slm: change request published on time",
                                                     "slm: change request published late (100104 §2.3.4)",
                                                     "slm: monthly SLA review with findings"]
    late = report.results[1]
    assert late.facts["fines"].startswith("60.00 yuan")  # 2 working days × (20 + 10)
    assert any("overdue" in m.subject for m in report.mails)
    assert {r.facts["audit"] for r in report.results} == {"pass"}
