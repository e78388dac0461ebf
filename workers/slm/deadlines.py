"""When things are due under 100104, as dates and as the instants the models' timers fire at.

The models cannot count China's working days in FEEL, so a worker computes each deadline from the
table's deadline row and hands the model ``dueAt`` (UTC ISO instant, for ``timeDate``) and ``dueDate``
(the last allowed local day, which the penalty decision later compares with the day the work was done),
with ``dueCalendar``: the calendar source the due date rests on (official / override / estimated / none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from workers.slm.business_calendar import (
    DEFAULT_TIMEZONE,
    BusinessCalendar,
    CalendarSource,
    Counted,
    DayCount,
    end_of_day,
)
from workers.slm.penalty_rules import Anchor, DeadlineRule


def parse_month(review_month: str) -> tuple[int, int]:
    """``"2026-10"`` → ``(2026, 10)``; anything else is a clear error."""
    try:
        year_text, month_text = review_month.split("-")
        year, month = int(year_text), int(month_text)
        if len(year_text) != 4 or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise ValueError(f"reviewMonth must look like 'YYYY-MM', got {review_month!r}") from None
    return year, month


def previous_month(day: date) -> str:
    """The month before ``day``'s month (what a review started on the 1st looks back at)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def due_date(rule: DeadlineRule, calendar: BusinessCalendar, *, start: date | None = None,
             review_month: str | None = None) -> Counted[date]:
    """The last allowed day under ``rule``, counted from ``start`` or from the reviewed month, and the
    calendar source it rests on (a day of the month or calendar days need none)."""
    if rule.anchor is Anchor.MONTH_AFTER_REVIEW:
        if review_month is None:
            raise ValueError(f"deadline {rule.id!r} ({rule.clause}) is counted from reviewMonth, which is missing")
        year, month = parse_month(review_month)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        assert rule.day_of_month is not None
        return Counted(date(year, month, rule.day_of_month), CalendarSource.NONE)
    if start is None:
        raise ValueError(f"deadline {rule.id!r} ({rule.clause}) is counted from a start date, which is missing")
    assert rule.days is not None and rule.day_count is not None
    return calendar.add_days(start, rule.days, DayCount(rule.day_count))


def timer_instant(due: date, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The UTC instant (``2026-11-25T16:00:00Z``) at which "due by ``due``" has passed."""
    return end_of_day(due, timezone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now_iso(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_month_of(review_month: str) -> str:
    """``"2026-03"`` → ``"2026-02"``."""
    year, month = parse_month(review_month)
    return previous_month(date(year, month, 1))


def next_month_of(review_month: str) -> str:
    """``"2026-12"`` → ``"2027-01"``."""
    year, month = parse_month(review_month)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"
