"""Properties of the penalty decision (hypothesis): totals add up, nothing negative, order does not matter."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.runtime.decisions import RuleSet
from workers.slm.business_calendar import BusinessCalendar, DayCount
from workers.slm.penalties import PENALTY_CALCULATION, PenaltyInput
from workers.slm.penalty_rules import PenaltyRules

PEOPLE = st.fixed_dictionaries({
    "direct_person": st.sampled_from(["Li Lei", "Han Meimei"]),
    "process_supervisor": st.sampled_from(["Wang Fang", "Sun Li"]),
    "department_head": st.sampled_from(["Zhao Min", "Qian Wei"]),
    "rule_supervisor": st.just("Chen Jing"),
})
CALENDAR = BusinessCalendar()
DAY = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 11, 30))


@st.composite
def case(draw: st.DrawFn) -> dict[str, Any]:
    rule = draw(st.sampled_from(["self-check-missing-item", "summary-late", "spot-check-violation",
                                 "spot-check-design-defect", "spot-check-repeat", "change-plan-late",
                                 "change-publication-late-department", "change-publication-late-cross-department"]))
    data: dict[str, Any] = {"rule": rule, "department": draw(st.sampled_from(["Sales", "Warehouse"])),
                            "people": draw(PEOPLE), "selfReported": draw(st.booleans())}
    if rule == "self-check-missing-item":
        data["items"] = draw(st.integers(min_value=0, max_value=5))
    if rule.endswith("-late") or "-late-" in rule:
        due = draw(DAY)
        data["dueDate"] = due.isoformat()
        done = min(due + timedelta(days=draw(st.integers(-5, 20))), date(2026, 12, 31))
        data["doneDate"] = done.isoformat()
        if rule == "change-publication-late-department":  # working days come counted (slm.record-deadline)
            late = CALENDAR.days_late(due, done, DayCount.WORKING)
            data["daysLate"], data["calendarSource"] = late.value, late.source.value
    return data


CASES = st.lists(case(), max_size=8).map(lambda cases: [{**c, "caseId": f"c{n}"} for n, c in enumerate(cases)])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def evaluate(rules: RuleSet[PenaltyRules], cases: list[dict[str, Any]]) -> Any:
    return PENALTY_CALCULATION.evaluate(PenaltyInput.model_validate({"penaltyCases": cases}), rules.rules).penalties


@SETTINGS
@given(cases=CASES)
def test_totals_equal_the_sum_of_line_items(penalty_rules, cases):
    result = evaluate(penalty_rules, cases)
    line_total = sum((i.amount_yuan for i in result.line_items), Decimal(0))
    assert result.total_fines_yuan == line_total
    assert sum((p.total_yuan for p in result.by_person), Decimal(0)) == line_total
    assert sum((d.total_yuan for d in result.by_department), Decimal(0)) == line_total


@SETTINGS
@given(cases=CASES)
def test_no_negative_amounts(penalty_rules, cases):
    result = evaluate(penalty_rules, cases)
    assert all(i.amount_yuan > 0 and i.quantity > 0 for i in result.line_items)


@SETTINGS
@given(cases=CASES, data=st.data())
def test_results_are_independent_of_input_order(penalty_rules, cases, data):
    shuffled = data.draw(st.permutations(cases))
    assert evaluate(penalty_rules, shuffled) == evaluate(penalty_rules, cases)
