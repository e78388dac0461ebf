"""Classifying spot-check findings (100104 §2.2.1 / §2.2.2 / §2.2.3), the self-check's items (§2.1.1),
the change request form (§2.3.3) and versions, and the department directory's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.runtime.errors import RuleDataError
from workers.slm.changes import form_problems, next_version
from workers.slm.directory import parse_directory
from workers.slm.reviews import Finding, classify_findings, missing_self_check_items

DATA = Path(__file__).resolve().parents[2] / "data" / "slm"
SALES = "销售部 Sales"


@pytest.fixture(scope="module")
def directory():
    return parse_directory((DATA / "departments.yaml").read_text(encoding="utf-8"))


def finding(problem: str, kind: str = "violation", **extra) -> Finding:
    return Finding.model_validate({"department": SALES, "processId": "order-to-delivery", "problem": problem,
                                   "kind": kind, "directPerson": "he.lin", **extra})


def classify(penalty_rules, directory, findings, repeated=(), self_reported=()):
    return classify_findings(findings, repeated=set(repeated), self_reported={SALES: set(self_reported)},
                             rules=penalty_rules.rules, directory=directory)


def test_100104_2_2_1_violation_found_by_the_self_check_is_marked_for_exemption(penalty_rules, directory):
    classified, (case,) = classify(penalty_rules, directory, [finding("late-approval")],
                                   self_reported=["late-approval"])
    assert (classified[0].clause, case.rule, case.self_reported) == ("100104 §2.2.1", "spot-check-violation", True)
    assert case.people["direct_person"] == "he.lin" and case.people["process_supervisor"] == "wang.fang"


def test_100104_2_2_2_design_defect_with_a_change_filed_is_not_fined(penalty_rules, directory):
    classified, cases = classify(penalty_rules, directory, [finding("form", "design-defect", changeFiled=True)])
    assert cases == [] and classified[0].rule is None and classified[0].clause == "100104 §2.2.2"


def test_100104_2_2_3_a_repeat_wins_over_the_self_check_exemption(penalty_rules, directory):
    _, (case,) = classify(penalty_rules, directory, [finding("wrong-form")], repeated=[(SALES, "wrong-form")],
                          self_reported=["wrong-form"])
    assert (case.rule, case.self_reported) == ("spot-check-repeat", False)


def test_100104_2_1_1_self_check_items():
    assert missing_self_check_items({"selfCheckRuns": "412", "selfCheckKpis": "", "selfCheckExecution": "ok",
                                     "selfCheckDesignProblems": None, "selfCheckCrossDepartment": "ok"}) == [
        "quantifiable KPIs (可量化的绩效指标)", "design problems: flowchart, rules, forms (设计问题)"]


def test_100104_2_3_3_change_request_form_completeness():
    complete = {"processId": "p", "processName": "n", "currentVersion": "V2.1", "origin": "inspection",
                "scope": "cross-department", "department": "d", "departmentHead": "h", "requester": "r",
                "problem": "x", "proposedChange": "y"}
    assert form_problems(complete) == []
    assert form_problems({**complete, "requester": " ", "currentVersion": "2.1"}) == [
        "requester: missing", "currentVersion: must look like V2.1, got '2.1'"]


def test_a_change_gives_the_next_minor_version():
    assert next_version("V2.1") == "V2.2" and next_version("V1.9") == "V1.10"
    with pytest.raises(ValueError, match=r"must look like V2\.1"):
        next_version("2026a")


def test_a_broken_directory_names_row_and_field():
    text = (DATA / "departments.yaml").read_text(encoding="utf-8")
    with pytest.raises(RuleDataError, match=r"row departments\[2\], field 'process_supervisor': names no person"):
        parse_directory(text.replace("process_supervisor: wang.fang", "process_supervisor: nobody"))
    with pytest.raises(RuleDataError, match=r"row people\[1\], field 'email'"):
        parse_directory(text.replace("li.ming@example.com", "li.ming"))
