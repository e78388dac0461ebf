"""The layered business calendar: chinese-calendar's official data, the operator's override file, and the
``holidays`` package's estimate beyond both; every answer names its source (100104 §2.3.4)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.runtime.errors import RuleDataError
from workers.slm.business_calendar import (
    BeyondOfficial,
    BusinessCalendar,
    CalendarRangeError,
    CalendarSource,
    DayCount,
    official_years,
)
from workers.slm.calendar_overrides import load_calendar_overrides, parse_calendar_overrides

OFFICIAL = BusinessCalendar()
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "slm" / "calendar-overrides.yaml"

# A made-up notice in the State Council's usual shape (nine days off, a Saturday worked): test data only.
NOTICE_2027 = """
years:
  - year: 2027
    source: "test notice: 国务院办公厅关于2027年部分节假日安排的通知 (hypothetical)"
    holidays:
      - {date: 2027-01-01, name: 元旦}
      - {from: 2027-02-05, to: 2027-02-13, name: 春节}
    working_days:
      - {date: 2027-02-20, name: 春节调休}
"""


def test_national_day_is_no_working_day_and_the_adjusted_saturday_is():
    assert OFFICIAL.working_day(date(2026, 10, 1)).value is False
    assert OFFICIAL.working_day(date(2026, 10, 10)).value is True  # Saturday worked in lieu (调休)
    assert OFFICIAL.working_day(date(2026, 10, 10)).source is CalendarSource.OFFICIAL


def test_100104_2_3_4_two_working_days_from_thursday_skip_the_weekend_and_qingming_on_official_data():
    due = OFFICIAL.add_days(date(2026, 4, 2), 2, DayCount.WORKING)
    assert (due.value, due.source) == (date(2026, 4, 7), CalendarSource.OFFICIAL)


def test_working_days_late_count_only_working_days_after_the_due_day():
    assert OFFICIAL.days_late(date(2026, 4, 3), date(2026, 4, 7), DayCount.WORKING).value == 1
    assert OFFICIAL.days_late(date(2026, 4, 3), date(2026, 4, 7), DayCount.CALENDAR).value == 4
    on_time = OFFICIAL.days_late(date(2026, 4, 7), date(2026, 4, 7), DayCount.WORKING)
    assert (on_time.value, on_time.source) == (0, CalendarSource.NONE)


def test_100104_2_3_4_a_2027_deadline_across_the_spring_festival_is_estimated():
    # chinese-calendar stops at 2026; Thu 4 Feb 2027, then New Year's Eve (Fri 5th) to the 10th are statutory
    # holidays in the estimate (holidays.China): Thu 11th and Fri 12th are the two working days
    assert official_years()[1] == 2026
    due = OFFICIAL.add_days(date(2027, 2, 4), 2, DayCount.WORKING)
    assert (due.value, due.source) == (date(2027, 2, 12), CalendarSource.ESTIMATED)
    late = OFFICIAL.days_late(due.value, date(2027, 2, 16), DayCount.WORKING)
    assert (late.value, late.source) == (2, CalendarSource.ESTIMATED)


def test_an_answer_is_only_as_good_as_its_weakest_day():
    # Thu 31 Dec 2026 is official; New Year 2027 and the weekend are estimated: so is the due date
    due = OFFICIAL.add_days(date(2026, 12, 30), 2, DayCount.WORKING)
    assert (due.value, due.source) == (date(2027, 1, 4), CalendarSource.ESTIMATED)


def test_the_override_file_changes_a_2027_deadline_and_says_so():
    calendar = BusinessCalendar(parse_calendar_overrides(NOTICE_2027, "test"))
    due = calendar.add_days(date(2027, 2, 4), 2, DayCount.WORKING)
    assert (due.value, due.source) == (date(2027, 2, 16), CalendarSource.OVERRIDE)
    assert calendar.working_day(date(2027, 2, 20)).value is True  # the adjusted Saturday
    assert calendar.working_day(date(2027, 3, 3)).source is CalendarSource.OVERRIDE  # a listed year is complete
    late = calendar.days_late(date(2027, 2, 19), date(2027, 2, 22), DayCount.WORKING)
    assert (late.value, late.source) == (2, CalendarSource.OVERRIDE)  # Sat 20th worked, Mon 22nd


def test_an_override_date_corrects_an_official_year():
    calendar = BusinessCalendar(parse_calendar_overrides(
        "years:\n  - year: 2026\n    source: 'test correction'\n    holidays:\n"
        "      - {date: 2026-04-07, name: extra day off}\n", "test"))
    due = calendar.add_days(date(2026, 4, 2), 2, DayCount.WORKING)
    assert (due.value, due.source) == (date(2026, 4, 8), CalendarSource.OVERRIDE)
    assert calendar.working_day(date(2026, 4, 3)).source is CalendarSource.OFFICIAL  # unlisted dates stay official


def test_fail_mode_gives_the_precise_incident():
    calendar = BusinessCalendar(beyond_official=BeyondOfficial.FAIL)
    with pytest.raises(CalendarRangeError, match=r"^2027-02-05 has no official working-day data: chinese-calendar "
                                                 r"1\.11\.0 covers 2004-2026 and the calendar override file \(no "
                                                 r"override file\) lists the years none; add the State Council's "
                                                 r"2027 holiday notice"):
        calendar.add_days(date(2027, 2, 4), 2, DayCount.WORKING)
    # an override year is enough, and calendar days need no holiday data at all
    with_notice = BusinessCalendar(parse_calendar_overrides(NOTICE_2027, "test"), BeyondOfficial.FAIL)
    assert with_notice.add_days(date(2027, 2, 4), 2, DayCount.WORKING).value == date(2027, 2, 16)
    assert calendar.add_days(date(2027, 3, 1), 7, DayCount.CALENDAR).value == date(2027, 3, 8)
    assert calendar.days_late(date(2027, 3, 1), date(2027, 3, 4), DayCount.CALENDAR).value == 3


@settings(max_examples=80, deadline=None)
@given(start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 11, 30)), n=st.integers(0, 15))
def test_working_days_added_are_the_working_days_late(start, n):
    due = OFFICIAL.add_days(start, n, DayCount.WORKING)
    late = OFFICIAL.days_late(start, due.value, DayCount.WORKING)
    assert late.value == n
    assert n == 0 or OFFICIAL.is_working_day(due.value)
    assert late.source is (CalendarSource.NONE if n == 0 else due.source)


def test_the_shipped_override_file_loads():
    assert load_calendar_overrides(SHIPPED).origin == str(SHIPPED)


@pytest.mark.parametrize(("text", "message"), [
    ("years:\n  - {year: 2027, holidays: [{date: 2027-01-01, name: x}]}\n",
     r"row years\[1\] 2027, field 'source': is required"),
    ("years:\n  - {year: 2027, source: s, holidays: [{date: 2027-01-01, name: x}],"
     " working_days: [{date: 2027-02-17, name: y}]}\n",
     r"row years\[1\] 2027 working_days\[1\], field 'date': 2027-02-17 is a Wednesday, already a working day"),
    ("years:\n  - {year: 2027, source: s, holidays: [{date: 2028-01-01, name: x}]}\n",
     r"row years\[1\] 2027 holidays\[1\], field 'date': 2028-01-01 is not in the entry's year 2027"),
    ("years:\n  - {year: 2027, source: s, holidays: [{date: 2027-13-01, name: x}]}\n",
     r"field 'date': must be a date like 2027-02-06, got '2027-13-01'"),
    ("years:\n  - {year: 2027, source: s, holidays: [{from: 2027-02-05, to: 2027-02-07, name: x},"
     " {date: 2027-02-06, name: y}]}\n",
     r"row years\[1\] 2027 holidays\[2\], field 'date': 2027-02-06 is listed twice"),
    ("years:\n  - {year: 2027, source: s, holidays: [{date: 2027-02-06, name: x}],"
     " working_days: [{date: 2027-02-06, name: y}]}\n", r"2027-02-06 is also listed as a holiday"),
    ("years:\n  - {year: 2027, source: s, holidays: [{date: 2027-01-01}]}\n", r"field 'name': is required"),
    ("years:\n  - {year: 2027, source: s, holiday: []}\n", r"row years\[1\] 2027, field 'holiday': unknown field"),
    ("years:\n  - {year: 2027, source: s, holidays: [{date: 2027-01-01, name: x}]}\n"
     "  - {year: 2027, source: s, holidays: [{date: 2027-01-01, name: x}]}\n",
     r"row years\[2\], field 'year': year 2027 is listed twice"),
])
def test_a_broken_override_row_names_row_and_field(text, message):
    with pytest.raises(RuleDataError, match=message):
        parse_calendar_overrides(text)


def test_a_missing_override_file_names_the_path_and_the_setting(tmp_path):
    with pytest.raises(RuleDataError, match=r"nope\.yaml does not exist \(setting PROCGOV_SLM_CALENDAR_OVERRIDES"):
        load_calendar_overrides(tmp_path / "nope.yaml")


def test_the_calendar_comes_from_the_slm_settings(tmp_path, monkeypatch):
    from pydantic import ValidationError

    from workers.slm.deps import SlmSettings

    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(NOTICE_2027, encoding="utf-8")
    monkeypatch.setenv("PROCGOV_SLM_CALENDAR_OVERRIDES", str(overrides))
    monkeypatch.setenv("PROCGOV_SLM_CALENDAR_BEYOND_OFFICIAL", "fail")
    calendar = SlmSettings().business_calendar()
    assert calendar.add_days(date(2027, 2, 4), 2, DayCount.WORKING).source is CalendarSource.OVERRIDE
    with pytest.raises(CalendarRangeError, match=r"2028-01-03 has no official working-day data.*lists the years 2027"):
        calendar.working_day(date(2028, 1, 3))
    monkeypatch.delenv("PROCGOV_SLM_CALENDAR_OVERRIDES")
    monkeypatch.setenv("PROCGOV_SLM_CALENDAR_BEYOND_OFFICIAL", "estimate")
    default = SlmSettings()
    assert default.business_calendar().overrides.origin.endswith("data/slm/calendar-overrides.yaml")
    assert default.overdue_reminders == 7
    monkeypatch.setenv("PROCGOV_SLM_CALENDAR_BEYOND_OFFICIAL", "guess")
    with pytest.raises(ValidationError, match="calendar_beyond_official"):
        SlmSettings()
