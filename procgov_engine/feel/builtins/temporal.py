"""Temporal functions (DMN 1.4 §10.3.4.11; Camunda "Temporal functions").

``now()`` and ``today()`` read the clock the expression is evaluated with, so the embedded engine's
controlled clock governs them in tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from procgov_engine.feel.functions import builtin
from procgov_engine.feel.values import last_day_of_month as _last_day


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"expected date but found {value!r}")


@builtin("now", (), needs_clock=True)
def now(clock: Callable[[], dt.datetime]) -> dt.datetime:
    return clock()


@builtin("today", (), needs_clock=True)
def today(clock: Callable[[], dt.datetime]) -> dt.date:
    return clock().date()


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@builtin("day of week", ("date",))
def day_of_week(date: Any) -> str:
    return _WEEKDAYS[_date(date).weekday()]


@builtin("day of year", ("date",))
def day_of_year(date: Any) -> Decimal:
    return Decimal(_date(date).timetuple().tm_yday)


@builtin("week of year", ("date",))
def week_of_year(date: Any) -> Decimal:
    return Decimal(_date(date).isocalendar().week)


@builtin("month of year", ("date",))
def month_of_year(date: Any) -> str:
    return _MONTHS[_date(date).month - 1]


@builtin("last day of month", ("date",))
def last_day_of_month(date: Any) -> Decimal:
    day = _date(date)
    return Decimal(_last_day(day.year, day.month))
