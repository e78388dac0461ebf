"""When things are due under 100104, as dates and as the instants the models' timers fire at.

The models cannot count China's working days in FEEL, so a worker computes each deadline from the
table's deadline row and hands the model ``dueAt`` (UTC ISO instant, for ``timeDate``) and ``dueDate``
(the last allowed local day, which the penalty decision later compares with the day the work was done),
with ``dueCalendar``: the calendar source the due date rests on (official / override / estimated / none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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


def review_due_dates(self_check: DeadlineRule, summary: DeadlineRule, calendar: BusinessCalendar, *,
                     review_month: str, opened_on: date, min_window_days: int) -> tuple[Counted[date], Counted[date]]:
    """The self-check (100104 §2.1.1) and summary (§2.1.2) due dates of a review that opened on ``opened_on``.

    The rule's days of the month after the reviewed month (15th, 25th), unless the review opened so late
    that fewer than ``min_window_days`` would be left for the self-check: then the self-check is due
    ``min_window_days`` after the opening and the summary keeps the rule's gap after it (25 − 15 = 10
    days). So nobody is fined for days the system consumed before the tasks existed; a deadline is never
    earlier than the rule's own date.
    """
    check = due_date(self_check, calendar, review_month=review_month)
    sign = due_date(summary, calendar, review_month=review_month)
    earliest = opened_on + timedelta(days=min_window_days)
    if earliest <= check.value:
        return check, sign
    gap = sign.value - check.value
    return Counted(earliest, check.source), Counted(max(sign.value, earliest + gap), sign.source)


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
