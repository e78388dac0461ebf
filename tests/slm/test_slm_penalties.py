"""Every fine and deadline of 100104, priced by the penalty decision against the shipped rule table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from workers.runtime.decisions import RuleSet
from workers.slm.penalties import PENALTY_CALCULATION, PenaltyCaseError, PenaltyInput, PenaltyResult
from workers.slm.penalty_rules import PenaltyRules

PEOPLE = {"direct_person": "Li Lei", "process_supervisor": "Wang Fang", "department_head": "Zhao Min",
          "rule_supervisor": "Chen Jing"}


def price(rules: RuleSet[PenaltyRules], *cases: dict[str, Any]) -> PenaltyResult:
    request = PenaltyInput.model_validate({"penaltyCases": [
        {"caseId": f"case-{n}", "department": "Sales", "people": PEOPLE, **case} for n, case in enumerate(cases)
    ]})
    return PENALTY_CALCULATION.evaluate(request, rules.rules).penalties


def amounts(result: PenaltyResult) -> dict[str, Decimal]:
    return {f"{i.role.value}:{i.person}": i.amount_yuan for i in result.line_items}


def test_100104_2_1_1_self_check_missing_items_10_yuan_each_to_process_supervisor(penalty_rules):
    result = price(penalty_rules, {"rule": "self-check-missing-item", "items": 3})
    assert amounts(result) == {"process_supervisor:Wang Fang": Decimal("30.00")}
    assert result.line_items[0].clause == "100104 §2.1.1"
    assert result.total_fines_yuan == Decimal("30.00")


def test_100104_2_1_1_complete_self_check_costs_nothing(penalty_rules):
    assert price(penalty_rules, {"rule": "self-check-missing-item", "items": 0}).line_items == []


def test_100104_2_1_2_summary_late_10_yuan_per_calendar_day_to_department_head(penalty_rules):
    result = price(penalty_rules, {"rule": "summary-late", "dueDate": "2026-11-25", "doneDate": "2026-11-29"})
    assert amounts(result) == {"department_head:Zhao Min": Decimal("40.00")}
    assert result.line_items[0].unit == "calendar day late"


def test_100104_2_1_2_summary_on_the_due_day_is_not_late(penalty_rules):
    assert price(penalty_rules, {"rule": "summary-late", "dueDate": "2026-11-25", "doneDate": "2026-11-25"}
                 ).line_items == []


def test_100104_2_2_1_violation_missed_by_self_check_20_10_5(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-violation"})
    assert amounts(result) == {"direct_person:Li Lei": Decimal("20.00"), "process_supervisor:Wang Fang":
                               Decimal("10.00"), "department_head:Zhao Min": Decimal("5.00")}
    assert {i.clause for i in result.line_items} == {"100104 §2.2.1"}


def test_100104_2_2_1_self_check_exemption_violation_already_found_is_not_fined_again(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-violation", "selfReported": True})
    assert result.line_items == []
    assert result.total_fines_yuan == Decimal("0.00")
    assert [e.clause for e in result.exemptions] == ["100104 §2.2.1"]


def test_100104_2_2_1_fines_come_on_top_of_the_process_own_rules(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-violation", "extraFines": [
        {"person": "Li Lei", "role": "direct_person", "yuan": "50", "reason": "sales rule 3.2: wrong form"}]})
    assert result.total_fines_yuan == Decimal("85.00")
    assert any(i.rule == "process-own-rule" and i.amount_yuan == Decimal("50.00") for i in result.line_items)


def test_100104_2_2_2_design_defect_without_change_20_10_5(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-design-defect", "selfReported": True})
    # the self-check exemption is §2.2.1's only: a known design defect with no change filed is still fined
    assert sorted(amounts(result).values()) == [Decimal("5.00"), Decimal("10.00"), Decimal("20.00")]
    assert {i.clause for i in result.line_items} == {"100104 §2.2.2"}


def test_100104_2_2_3_repeated_finding_40_20_20(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-repeat"})
    assert amounts(result) == {"direct_person:Li Lei": Decimal("40.00"), "process_supervisor:Wang Fang":
                               Decimal("20.00"), "department_head:Zhao Min": Decimal("20.00")}
    assert result.total_fines_yuan == Decimal("80.00")


def test_100104_2_3_2_change_plan_3_days_late_costs_department_head_60_yuan(penalty_rules):
    result = price(penalty_rules, {"rule": "change-plan-late", "dueDate": "2026-06-08", "doneDate": "2026-06-11"})
    assert amounts(result) == {"department_head:Zhao Min": Decimal("60.00")}
    assert result.line_items[0].quantity == 3


def test_100104_2_3_4_department_change_published_3rd_working_day_after_weekend_and_holiday_is_one_day_late(
    penalty_rules,
):
    # received Thu 2026-04-02; Fri works; Sat-Mon is Qingming (清明); due Tue 04-07; published Wed 04-08
    from workers.slm.business_calendar import BusinessCalendar, CalendarSource, DayCount
    from workers.slm.deadlines import due_date

    calendar = BusinessCalendar()
    due = due_date(penalty_rules.rules.deadline("change-publication-department-due"), calendar, start=date(2026, 4, 2))
    assert due.value == date(2026, 4, 7) and due.source is CalendarSource.OFFICIAL
    late = calendar.days_late(due.value, date(2026, 4, 8), DayCount.WORKING)
    result = price(penalty_rules, {"rule": "change-publication-late-department", "dueDate": due.value.isoformat(),
                                   "doneDate": "2026-04-08", "daysLate": late.value,
                                   "calendarSource": late.source.value})
    assert amounts(result) == {"rule_supervisor:Chen Jing": Decimal("20.00"), "department_head:Zhao Min":
                               Decimal("10.00")}
    assert {i.quantity for i in result.line_items} == {1}
    assert {i.clause for i in result.line_items} == {"100104 §2.3.4"}
    assert {i.calendar_source for i in result.line_items} == {CalendarSource.OFFICIAL}


def test_100104_2_3_4_working_days_late_beyond_official_data_must_come_counted(penalty_rules):
    # the decision reads no override file or estimate (replay must not depend on today's settings)
    with pytest.raises(PenaltyCaseError, match=r"field 'daysLate' is required by 100104 §2\.3\.4 "
                                               r"\(change-publication-late-department\) beyond the official calendar "
                                               r"\(2027-01-01 has no official working-day data"):
        price(penalty_rules, {"rule": "change-publication-late-department", "dueDate": "2026-12-31",
                              "doneDate": "2027-01-04"})
    with pytest.raises(PenaltyCaseError, match=r"field 'calendarSource' is required with 'daysLate'"):
        price(penalty_rules, {"rule": "change-publication-late-department", "dueDate": "2026-04-07",
                              "doneDate": "2026-04-08", "daysLate": 1})


def test_a_working_day_case_recorded_without_days_late_replays_on_official_data(penalty_rules):
    result = price(penalty_rules, {"rule": "change-publication-late-department", "dueDate": "2026-04-03",
                                   "doneDate": "2026-04-08"})  # Sat-Mon Qingming: Tue 7th and Wed 8th
    assert {(i.quantity, i.calendar_source.value) for i in result.line_items if i.calendar_source} == {
        (2, "official")}


def test_estimated_working_days_late_are_priced_and_say_so(penalty_rules):
    result = price(penalty_rules, {"rule": "change-publication-late-department", "dueDate": "2027-02-12",
                                   "doneDate": "2027-02-16", "daysLate": 2, "calendarSource": "estimated"})
    assert sorted(amounts(result).values()) == [Decimal("20.00"), Decimal("40.00")]
    assert {i.calendar_source.value for i in result.line_items if i.calendar_source} == {"estimated"}


def test_a_calendar_day_count_that_contradicts_the_dates_is_refused(penalty_rules):
    with pytest.raises(PenaltyCaseError, match=r"field 'daysLate' is 5, but 2026-04-03 to 2026-04-05 is 2 calendar"):
        price(penalty_rules, {"rule": "change-publication-late-cross-department", "dueDate": "2026-04-03",
                              "doneDate": "2026-04-05", "daysLate": 5})


def test_100104_2_3_4_cross_department_change_published_within_a_week_is_on_time(penalty_rules):
    from workers.slm.business_calendar import BusinessCalendar
    from workers.slm.deadlines import due_date

    due = due_date(penalty_rules.rules.deadline("change-publication-cross-department-due"), BusinessCalendar(),
                   start=date(2026, 4, 2)).value
    assert due == date(2026, 4, 9)
    result = price(penalty_rules, {"rule": "change-publication-late-cross-department", "dueDate": due.isoformat(),
                                   "doneDate": "2026-04-09"})
    assert result.line_items == []


def test_100104_2_3_4_cross_department_change_two_days_late_counts_calendar_days(penalty_rules):
    result = price(penalty_rules, {"rule": "change-publication-late-cross-department", "dueDate": "2026-04-03",
                                   "doneDate": "2026-04-05"})
    assert sorted(amounts(result).values()) == [Decimal("20.00"), Decimal("40.00")]


def test_the_result_names_the_rule_version_and_the_digest_of_the_table(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-repeat"})
    assert result.rule_version == "100104-trial/2026-1"
    assert result.rule_digest == penalty_rules.version


def test_totals_per_person_and_department(penalty_rules):
    result = price(penalty_rules, {"rule": "spot-check-repeat"}, {"rule": "spot-check-violation"},
                   {"rule": "self-check-missing-item", "items": 2})
    by_person = {p.person: p.total_yuan for p in result.by_person}
    assert by_person == {"Li Lei": Decimal("60.00"), "Wang Fang": Decimal("50.00"), "Zhao Min": Decimal("25.00")}
    assert [(d.department, d.total_yuan) for d in result.by_department] == [("Sales", Decimal("135.00"))]


def test_variables_carry_money_as_decimal_strings(penalty_rules):
    request = PenaltyInput.model_validate({"penaltyCases": [
        {"caseId": "x", "rule": "spot-check-violation", "department": "Sales", "people": PEOPLE}]})
    variables = PENALTY_CALCULATION.evaluate(request, penalty_rules.rules).model_dump(mode="json", by_alias=True)
    assert variables["totalFinesYuan"] == "35.00"
    assert sorted(i["amountYuan"] for i in variables["penalties"]["lineItems"]) == ["10.00", "20.00", "5.00"]


def test_a_case_without_the_person_a_rule_fines_is_an_error_naming_case_and_role(penalty_rules):
    request = PenaltyInput.model_validate({"penaltyCases": [
        {"caseId": "f-1", "rule": "spot-check-repeat", "department": "Sales", "people": {"direct_person": "A"}}]})
    with pytest.raises(PenaltyCaseError, match=r"case 'f-1': field 'people.process_supervisor'"):
        PENALTY_CALCULATION.evaluate(request, penalty_rules.rules)


def test_an_unknown_rule_is_an_error_naming_the_case(penalty_rules):
    request = PenaltyInput.model_validate({"penaltyCases": [
        {"caseId": "f-2", "rule": "parking", "department": "Sales", "people": PEOPLE}]})
    with pytest.raises(PenaltyCaseError, match=r"case 'f-2': field 'rule': no penalty rule 'parking'"):
        PENALTY_CALCULATION.evaluate(request, penalty_rules.rules)


def test_a_late_case_without_its_dates_is_an_error(penalty_rules):
    request = PenaltyInput.model_validate({"penaltyCases": [
        {"caseId": "f-3", "rule": "summary-late", "department": "Sales", "people": PEOPLE, "dueDate": "2026-11-25"}]})
    with pytest.raises(PenaltyCaseError, match=r"field 'doneDate' is required by 100104 §2.1.2"):
        PENALTY_CALCULATION.evaluate(request, penalty_rules.rules)


def test_duplicate_case_ids_are_rejected_as_input():
    with pytest.raises(ValueError, match="caseId 'a' appears twice"):
        PenaltyInput.model_validate({"penaltyCases": [
            {"caseId": "a", "rule": "spot-check-repeat", "department": "S"},
            {"caseId": "a", "rule": "spot-check-repeat", "department": "S"}]})
