"""Conversion functions (DMN 1.4 §10.3.4.1; Camunda "Conversion functions").

A string that does not have the form the function expects yields null, never an error.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from procgov_engine.feel.builtins import _args
from procgov_engine.feel.functions import builtin
from procgov_engine.feel.values import (
    FeelFunction,
    Range,
    YearsMonthsDuration,
    format_days_time,
    format_temporal,
    parse_date,
    parse_date_time,
    parse_duration,
    parse_time,
)


def format_number(value: Decimal) -> str:
    """Plain decimal notation keeping the number's scale, as Camunda prints a BigDecimal
    (``1.1`` → ``"1.1"``, ``1.0`` → ``"1.0"``, ``1E+2`` → ``"100"``)."""
    return format(value, "f")


def feel_string(value: Any) -> str | None:
    """The text ``string(value)`` gives; used also for ``string join`` and messages."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, dt.date | dt.time):
        return format_temporal(value, zone_id=True)
    if isinstance(value, dt.timedelta):
        return format_days_time(value)
    if isinstance(value, YearsMonthsDuration):
        return value.iso()
    if isinstance(value, list):
        return "[" + ", ".join(_quoted(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}:{_quoted(item)}" for key, item in value.items()) + "}"
    if isinstance(value, Range):
        opening = "[" if value.start_included else "("
        closing = "]" if value.end_included else ")"
        return f"{opening}{_quoted(value.start)}..{_quoted(value.end)}{closing}"
    if isinstance(value, FeelFunction):
        return f"function {value.name}"
    return str(value)


def _quoted(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = feel_string(value)
    return "null" if text is None else text


@builtin("string", ("from",))
def string(from_: Any) -> str | None:
    return feel_string(from_)


_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@builtin("number", ("from",), ("from", "grouping separator", "decimal separator"))
def number(from_: Any, grouping: Any = None, decimal_separator: Any = None) -> Decimal | None:
    if isinstance(from_, Decimal):
        return from_
    text = _args.text(from_).strip()
    if grouping is not None:
        if grouping not in (" ", ",", "."):
            raise ValueError("grouping separator must be one of ' ', ',', '.'")
        text = text.replace(grouping, "")
    if decimal_separator is not None:
        if decimal_separator not in (",", ".") or decimal_separator == grouping:
            raise ValueError("decimal separator must be ',' or '.' and differ from the grouping separator")
        text = text.replace(decimal_separator, ".")
    if not _NUMBER_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@builtin("date", ("from",), ("year", "month", "day"))
def date(from_: Any, month: Any = None, day: Any = None) -> dt.date:
    if month is not None or day is not None:
        return dt.date(_args.integer(from_), _args.integer(month), _args.integer(day))
    if isinstance(from_, dt.datetime):
        return from_.date()
    if isinstance(from_, dt.date):
        return from_
    return parse_date(_args.text(from_))


@builtin("time", ("from",), ("hour", "minute", "second"), ("hour", "minute", "second", "offset"))
def time(from_: Any, minute: Any = None, second: Any = None, offset: Any = None) -> dt.time:
    if minute is not None:
        seconds = _args.number(second)
        whole = int(seconds)
        micros = int((seconds - whole) * 1_000_000)
        zone: dt.tzinfo | None = None
        if offset is not None:
            if not isinstance(offset, dt.timedelta):
                raise TypeError("offset must be a days and time duration")
            zone = dt.timezone(offset)
        return dt.time(_args.integer(from_), _args.integer(minute), whole, micros, tzinfo=zone)
    if isinstance(from_, dt.datetime):
        return from_.timetz()
    if isinstance(from_, dt.time):
        return from_
    if isinstance(from_, dt.date):
        return dt.time()
    return parse_time(_args.text(from_))


@builtin("date and time", ("from",), ("date", "time"), ("date", "timezone"))
def date_and_time(from_: Any, second: Any = None) -> dt.datetime:
    if second is None:
        if isinstance(from_, dt.datetime):
            return from_
        if isinstance(from_, dt.date):
            return dt.datetime.combine(from_, dt.time())
        return parse_date_time(_args.text(from_))
    if isinstance(second, str):  # (date and time, timezone): the same instant in another zone
        if not isinstance(from_, dt.datetime):
            raise TypeError("expected date and time")
        zone = ZoneInfo(second)
        return from_.astimezone(zone) if from_.tzinfo is not None else from_.replace(tzinfo=zone)
    if not isinstance(from_, dt.date) or not isinstance(second, dt.time):
        raise TypeError("expected a date and a time")
    day = from_.date() if isinstance(from_, dt.datetime) else from_
    return dt.datetime.combine(day, second)


@builtin("duration", ("from",))
def duration(from_: Any) -> dt.timedelta | YearsMonthsDuration:
    return parse_duration(_args.text(from_))


@builtin("years and months duration", ("from", "to"))
def years_and_months_duration(from_: Any, to: Any) -> YearsMonthsDuration:
    if not isinstance(from_, dt.date) or not isinstance(to, dt.date):
        raise TypeError("expected dates")
    start = from_.date() if isinstance(from_, dt.datetime) else from_
    end = to.date() if isinstance(to, dt.datetime) else to
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearsMonthsDuration(months)
