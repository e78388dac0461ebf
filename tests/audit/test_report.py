"""The HTML report: diagram from the model's BPMNDI, the path taken, durations, breaches, decisions."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.audit.builders import INSTANCE_KEY, certified_late_instance, write_engine_log
from tests.audit.conftest import BPMN_DIR
from tests.audit.exam_decision import REGISTRY
from workers.audit.history import InstanceHistory, load_history
from workers.audit.replay import replay_log
from workers.audit.report import render_report, write_report
from workers.audit.sla import SlaPolicy
from workers.audit.sources import SqliteLogSource
from workers.audit.store import DecisionStore
from workers.runtime.stores.decisions import DecisionLog

BPMN = (BPMN_DIR / "audit-grade.bpmn").read_text()


class _Elements(HTMLParser):
    """Collect (tag, attrs) of every element, to assert on structure rather than on text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def by_element_id(self, tag: str) -> dict[str, set[str]]:
        return {a["data-element-id"]: set(a.get("class", "").split()) for t, a in self.elements
                if t == tag and "data-element-id" in a}


@pytest.fixture
def history(tmp_path: Path) -> InstanceHistory:
    write_engine_log(tmp_path / "data", certified_late_instance(BPMN))
    return load_history(SqliteLogSource(tmp_path / "data"), INSTANCE_KEY)


def test_report_draws_the_model_and_highlights_the_path(history: InstanceHistory) -> None:
    html = render_report(history, policy=SlaPolicy.from_mapping({"limits": {"grade": "PT5M"}}))
    parsed = _Elements()
    parsed.feed(html)
    shapes = parsed.by_element_id("g")
    # Every BPMNDI shape and edge of the model is drawn.
    assert {"start", "grade", "passed-gateway", "certify", "join", "file-audit", "certified", "late",
            "certify-deadline", "flow-passed", "flow-failed", "flow-deadline-late"} <= set(shapes)
    assert "visited" in shapes["grade"] and "visited" in shapes["certified"]
    assert "taken" in shapes["flow-passed"] and "taken" not in shapes["flow-failed"]
    # grade took 6 minutes against a 5-minute limit; certify's deadline timer fired.
    assert "breach" in shapes["grade"] and "breach" in shapes["certify"]
    assert "breach" not in shapes["passed-gateway"]
    assert "took 6m, limit 5m" in html and "the deadline “1 hour” passed" in html
    assert "lateFineYuan" in html
    assert not any(t == "script" or (t == "link" and "href" in a) for t, a in parsed.elements), "must be self-contained"


def test_report_lists_decisions_with_their_verdicts(
    history: InstanceHistory, recorded_log: DecisionLog, store_url: str
) -> None:
    store = DecisionStore.open(store_url)
    report = replay_log(store.records(), registry=REGISTRY, rule_text=store.rule_text, head=store.head())
    store.dispose()
    # The store's decisions were recorded for instances 100/200; retarget one to this history's instance,
    # first as the record of the history's grade job (whose completion variables it then carries).
    grade_job = next(j for j in history.jobs if j.type == "audit-test.grade")
    record = next(v for v in report.verdicts if v.job_key == 11)
    as_grade = replace(record, process_instance_key=INSTANCE_KEY, job_key=grade_job.key, outputs=grade_job.variables)
    html = render_report(history, replay=replace(report, verdicts=(as_grade,)))
    assert 'class="decisions"' in html and "audit-test.exam-grade" in html
    assert html.count('<tr class="ok">') == 1
    assert 'id="cross-check-ok"' in html
    assert 'id="replay-verdict" class="verdict pass"' in html

    # A record of a job the instance never ran: the cross-check reports it and the verdict fails.
    stray = replace(record, process_instance_key=INSTANCE_KEY)
    html = render_report(history, replay=replace(report, verdicts=(stray,)))
    assert 'id="cross-check"' in html and "has a decision record but no job" in html
    assert "completed at a decision task without a decision record" in html  # grade, element of record 11
    assert 'id="replay-verdict" class="verdict fail"' in html


def test_report_without_diagram_says_why(history: InstanceHistory) -> None:
    html = render_report(replace(history, bpmn_xml=None))
    assert 'id="diagram-missing"' in html and "pass the .bpmn file" in html


@pytest.mark.browser
def test_report_renders_in_chromium(history: InstanceHistory, chrome: WebDriver, tmp_path: Path) -> None:
    page = write_report(tmp_path / "report.html", render_report(history, policy=SlaPolicy()))
    chrome.get(page.as_uri())
    svg = chrome.find_element(By.ID, "diagram")
    assert svg.is_displayed()
    assert svg.size["width"] > 500 and svg.size["height"] > 150

    def stroke(element_id: str, part: str) -> str:
        node = chrome.find_element(By.CSS_SELECTOR, f'g[data-element-id="{element_id}"] {part}')
        if part != "polyline":  # a straight line has an empty box, which selenium counts as hidden
            assert node.is_displayed()
        return str(node.value_of_css_property("stroke"))

    green = "rgb(31, 138, 59)"
    assert stroke("grade", "rect") == green  # the path taken
    assert stroke("flow-passed", "polyline") == green
    assert stroke("flow-failed", "polyline") != green  # the branch not taken
    assert stroke("certify", "rect") == "rgb(198, 40, 40)"  # deadline timer fired: SLA breach
    # The shapes really are laid out where BPMNDI puts them: grade left of the gateway left of certify.
    xs = [chrome.find_element(By.CSS_SELECTOR, f'g[data-element-id="{i}"]').rect["x"]
          for i in ("start", "grade", "passed-gateway", "certify", "join", "file-audit", "certified")]
    assert xs == sorted(xs)
    shot = tmp_path / "report.png"
    assert chrome.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("PROCGOV_AUDIT_KEEP_SCREENSHOT")  # to look at the picture after a run
    if keep:
        shutil.copy(shot, keep)


def test_an_unknown_time_zone_is_refused_with_its_name(history: InstanceHistory) -> None:
    from pydantic import ValidationError

    from workers.audit.report_view import TimezoneError
    from workers.audit.router import AuditSettings

    with pytest.raises(TimezoneError, match="Mars/Olympus"):
        render_report(history, timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        AuditSettings(_env_file=None, timezone="Mars/Olympus")  # type: ignore[call-arg]
    assert "+09:00" in render_report(history, timezone="Asia/Tokyo")
