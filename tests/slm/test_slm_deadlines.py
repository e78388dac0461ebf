"""Every deadline of 100104, computed from the rule table's deadline rows and the business calendar."""

from __future__ import annotations

from datetime import date

import pytest

from workers.slm.business_calendar import BusinessCalendar, CalendarSource
from workers.slm.deadlines import due_date as _due_date
from workers.slm.deadlines import parse_month, previous_month, timer_instant

CALENDAR = BusinessCalendar()


def due_date(rule, **kwargs):
    return _due_date(rule, CALENDAR, **kwargs).value


def deadline(penalty_rules, name: str):
    return penalty_rules.rules.deadline(name)


def test_100104_2_1_1_self_check_due_by_the_15th_of_the_next_month(penalty_rules):
    assert due_date(deadline(penalty_rules, "self-check-due"), review_month="2026-03") == date(2026, 4, 15)
    assert due_date(deadline(penalty_rules, "self-check-due"), review_month="2025-12") == date(2026, 1, 15)


def test_100104_2_1_2_signed_summary_due_by_the_25th(penalty_rules):
    assert due_date(deadline(penalty_rules, "summary-due"), review_month="2026-03") == date(2026, 4, 25)
    assert deadline(penalty_rules, "summary-due").late_fine == "summary-late"


def test_100104_2_3_2_change_plan_due_one_calendar_week_after_the_inspection(penalty_rules):
    # the week runs through Qingming: calendar days, holidays included
    assert due_date(deadline(penalty_rules, "change-plan-due"), start=date(2026, 4, 2)) == date(2026, 4, 9)
    assert deadline(penalty_rules, "change-plan-due").late_fine == "change-plan-late"


def test_100104_2_3_4_department_change_counts_the_adjusted_working_saturday(penalty_rules):
    # received Friday 9 Oct 2026, after National Day: Saturday 10 Oct is a working day (调休)
    rule = deadline(penalty_rules, "change-publication-department-due")
    assert due_date(rule, start=date(2026, 10, 9)) == date(2026, 10, 12)
    # received the day before National Day: the eight-day holiday does not count
    assert due_date(rule, start=date(2026, 9, 30)) == date(2026, 10, 9)


def test_100104_2_3_4_cross_department_change_due_within_one_week(penalty_rules):
    rule = deadline(penalty_rules, "change-publication-cross-department-due")
    assert due_date(rule, start=date(2026, 9, 30)) == date(2026, 10, 7)


def test_the_timer_fires_at_midnight_shanghai_after_the_due_day_given_in_utc():
    assert timer_instant(date(2026, 4, 7)) == "2026-04-07T16:00:00Z"


def test_review_months():
    assert previous_month(date(2026, 1, 1)) == "2025-12"
    assert parse_month("2026-03") == (2026, 3)
    with pytest.raises(ValueError, match="reviewMonth must look like 'YYYY-MM', got '2026-13'"):
        parse_month("2026-13")


def test_a_month_counted_deadline_needs_the_review_month(penalty_rules):
    with pytest.raises(ValueError, match=r"'self-check-due' \(100104 §2\.1\.1\) is counted from reviewMonth"):
        _due_date(deadline(penalty_rules, "self-check-due"), CALENDAR)


def test_every_deadline_names_its_calendar_source(penalty_rules):
    month_day = _due_date(deadline(penalty_rules, "summary-due"), CALENDAR, review_month="2026-03")
    assert month_day.source is CalendarSource.NONE
    week = _due_date(deadline(penalty_rules, "change-plan-due"), CALENDAR, start=date(2026, 4, 2))
    assert week.source is CalendarSource.NONE
    working = _due_date(deadline(penalty_rules, "change-publication-department-due"), CALENDAR, start=date(2026, 4, 2))
    assert working.source is CalendarSource.OFFICIAL
