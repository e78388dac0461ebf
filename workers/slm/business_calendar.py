"""China's business calendar: which days are working days, how late a submission is, and on whose word.

100104 §2.3.4 gives the planning office "two working days" for a department-level change; weekends,
the State Council's public holidays and the adjusted working weekends (调休) decide what a working day
is. The State Council publishes next year's schedule each November/December, and the libraries follow
weeks later, so the calendar is layered and every answer says which layer gave it:

1. ``official``: the maintained ``chinese-calendar`` library, for the years it has data for;
2. ``override``: the operator's override file (:mod:`workers.slm.calendar_overrides`), one entry per
   year with the notice it was copied from; a listed year is complete (dates not listed are ordinary
   weekdays/weekends), and its dates win over the library's (a correction is explicit);
3. ``estimated``: beyond both, the ``holidays`` package's statutory holidays for China plus weekends,
   without adjusted working weekends (nobody knows them yet), unless the setting
   ``PROCGOV_SLM_CALENDAR_BEYOND_OFFICIAL=fail`` makes such a date a :class:`CalendarRangeError`.

Counting calendar days consults no holiday data (source ``none``). This module is the only place that
imports either library.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

from workers.slm.calendar_overrides import CalendarOverrides

DEFAULT_TIMEZONE = "Asia/Shanghai"
T = TypeVar("T")


class DayCount(enum.StrEnum):
    """How a rule counts days: every calendar day, or working days only."""

    CALENDAR = "calendar"
    WORKING = "working"


class CalendarSource(enum.StrEnum):
    """Which layer decided a working-day answer; ordered from most to least authoritative."""

    NONE = "none"  # calendar days or a day of the month: no holiday data consulted
    OFFICIAL = "official"
    OVERRIDE = "override"
    ESTIMATED = "estimated"


_WEAKNESS = {CalendarSource.NONE: 0, CalendarSource.OFFICIAL: 1, CalendarSource.OVERRIDE: 2,
             CalendarSource.ESTIMATED: 3}


def weakest(sources: Iterable[CalendarSource]) -> CalendarSource:
    """The least authoritative of ``sources`` (an answer is only as good as its weakest day)."""
    return max(sources, key=_WEAKNESS.__getitem__, default=CalendarSource.NONE)


class BeyondOfficial(enum.StrEnum):
    """What to do for a date neither the library nor the override file covers."""

    ESTIMATE = "estimate"
    FAIL = "fail"


class CalendarRangeError(ValueError):
    """A working-day question about a date no layer may answer (``fail`` mode)."""


@dataclass(frozen=True)
class Counted(Generic[T]):
    """A computed date or day count and the calendar source it rests on."""

    value: T
    source: CalendarSource


@functools.cache
def official_years() -> tuple[int, int]:
    """The first and last year the installed ``chinese-calendar`` has holiday data for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


@dataclass
class BusinessCalendar:
    """The layered calendar; one per worker process, built from the slm settings at start."""

    overrides: CalendarOverrides = field(default_factory=CalendarOverrides.empty)
    beyond_official: BeyondOfficial = BeyondOfficial.ESTIMATE
    _estimates: dict[int, frozenset[date]] = field(default_factory=dict, init=False, repr=False)

    def _official_covers(self, day: date) -> bool:
        first, last = official_years()
        return first <= day.year <= last

    def _estimated_holidays(self, year: int) -> frozenset[date]:
        if year not in self._estimates:
            self._estimates[year] = frozenset(holidays.China(years=year))
        return self._estimates[year]

    def working_day(self, day: date) -> Counted[bool]:
        """Whether ``day`` is a working day, and which layer says so."""
        year = self.overrides.years.get(day.year)
        official = self._official_covers(day)
        if year is not None and (year.lists(day) or not official):
            return Counted(year.is_working_day(day), CalendarSource.OVERRIDE)
        if official:
            return Counted(bool(chinese_calendar.is_workday(day)), CalendarSource.OFFICIAL)
        if self.beyond_official is BeyondOfficial.FAIL:
            first, last = official_years()
            listed = ", ".join(str(y) for y in sorted(self.overrides.years)) or "none"
            raise CalendarRangeError(
                f"{day.isoformat()} has no official working-day data: chinese-calendar "
                f"{getattr(chinese_calendar, '__version__', '?')} covers {first}-{last} and the calendar override "
                f"file ({self.overrides.origin}) lists the years {listed}; add the State Council's {day.year} "
                "holiday notice to the override file, upgrade chinese-calendar, or set "
                "PROCGOV_SLM_CALENDAR_BEYOND_OFFICIAL=estimate"
            )
        is_work = day.weekday() < 5 and day not in self._estimated_holidays(day.year)
        return Counted(is_work, CalendarSource.ESTIMATED)

    def is_working_day(self, day: date) -> bool:
        return self.working_day(day).value

    def add_days(self, start: date, days: int, count: DayCount) -> Counted[date]:
        """The date ``days`` days after ``start``, counting calendar days or working days.

        With working days, ``start`` itself never counts (a request received on Friday with two working
        days is due on Tuesday, or later when Monday is a public holiday).
        """
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        if count is DayCount.CALENDAR:
            return Counted(start + timedelta(days=days), CalendarSource.NONE)
        current, remaining, sources = start, days, set()
        while remaining:
            current += timedelta(days=1)
            answer = self.working_day(current)
            sources.add(answer.source)
            if answer.value:
                remaining -= 1
        return Counted(current, weakest(sources))

    def days_late(self, due: date, done: date, count: DayCount) -> Counted[int]:
        """How many days after ``due`` (the last allowed day) ``done`` was; 0 when on time.

        Working-day counting counts the working days in ``(due, done]``: a change due on Tuesday and
        published on Wednesday is one day late, one due on Friday and published on Monday too.
        """
        if done <= due:
            return Counted(0, CalendarSource.NONE)
        if count is DayCount.CALENDAR:
            return Counted((done - due).days, CalendarSource.NONE)
        late, current, sources = 0, due, set()
        while current < done:
            current += timedelta(days=1)
            answer = self.working_day(current)
            sources.add(answer.source)
            late += answer.value
        return Counted(late, weakest(sources))


def end_of_day(day: date, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """The instant a deadline "by ``day``" passes: midnight at the start of the next local day.

    Timers in the models fire at this instant (``timeDate`` is given in UTC so every engine reads it
    the same way).
    """
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(timezone))


def local_date(instant: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The calendar date of ``instant`` in the company's time zone."""
    if instant.tzinfo is None:
        raise ValueError(f"{instant.isoformat()} has no time zone; pass an aware date-time")
    return instant.astimezone(ZoneInfo(timezone)).date()
