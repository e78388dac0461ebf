"""FEEL's operators on values: arithmetic, comparison, three-valued logic, properties.

Every operator returns ``None`` (null) when its operands are null or of types it is not defined
for, as Camunda's engine does; none of them raises.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from procgov_engine.feel.values import (
    DECIMAL_CONTEXT,
    Range,
    YearsMonthsDuration,
    add_months,
    feel_equals,
    feel_less,
)

_MIDNIGHT = dt.time()


def _as_datetime(value: dt.date) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, _MIDNIGHT)


def _shift_time(value: dt.time, delta: dt.timedelta) -> dt.time:
    moved = dt.datetime.combine(dt.date(2000, 1, 1), value) + delta
    return moved.timetz() if value.tzinfo is not None else moved.time()


def _add_temporal(temporal: Any, duration: Any) -> Any:
    if isinstance(duration, dt.timedelta):
        if isinstance(temporal, dt.datetime):
            return temporal + duration
        if isinstance(temporal, dt.date):
            return (_as_datetime(temporal) + duration).date()
        if isinstance(temporal, dt.time):
            return _shift_time(temporal, duration)
        return None
    if isinstance(duration, YearsMonthsDuration):
        if isinstance(temporal, dt.datetime):
            return dt.datetime.combine(add_months(temporal.date(), duration.months), temporal.timetz())
        if isinstance(temporal, dt.date):
            return add_months(temporal, duration.months)
    return None


def _is_duration(value: Any) -> bool:
    return isinstance(value, dt.timedelta | YearsMonthsDuration)


def add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return DECIMAL_CONTEXT.add(a, b)
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, dt.timedelta) and isinstance(b, dt.timedelta):
        return a + b
    if isinstance(a, YearsMonthsDuration) and isinstance(b, YearsMonthsDuration):
        return YearsMonthsDuration(a.months + b.months)
    if _is_duration(b) and not _is_duration(a):
        return _add_temporal(a, b)
    if _is_duration(a) and not _is_duration(b):
        return _add_temporal(b, a)
    return None


def subtract(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return DECIMAL_CONTEXT.subtract(a, b)
    if isinstance(a, dt.timedelta) and isinstance(b, dt.timedelta):
        return a - b
    if isinstance(a, YearsMonthsDuration) and isinstance(b, YearsMonthsDuration):
        return YearsMonthsDuration(a.months - b.months)
    if isinstance(b, dt.timedelta) and not _is_duration(a):
        return _add_temporal(a, -b)
    if isinstance(b, YearsMonthsDuration) and not _is_duration(a):
        return _add_temporal(a, YearsMonthsDuration(-b.months))
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        left, right = _as_datetime(a), _as_datetime(b)
        if (left.tzinfo is None) != (right.tzinfo is None):
            return None
        return left - right
    if isinstance(a, dt.time) and isinstance(b, dt.time):
        if (a.tzinfo is None) != (b.tzinfo is None):
            return None
        day = dt.date(2000, 1, 1)
        return dt.datetime.combine(day, a) - dt.datetime.combine(day, b)
    return None


def multiply(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return DECIMAL_CONTEXT.multiply(a, b)
    if isinstance(b, Decimal) and _is_duration(a):
        a, b = b, a
    if isinstance(a, Decimal) and isinstance(b, dt.timedelta):
        return dt.timedelta(seconds=float(a * Decimal(str(b.total_seconds()))))
    if isinstance(a, Decimal) and isinstance(b, YearsMonthsDuration):
        return YearsMonthsDuration(int((a * b.months).to_integral_value()))
    return None


def divide(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    try:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            if not b:
                return None
            return DECIMAL_CONTEXT.divide(a, b)
        if isinstance(a, dt.timedelta) and isinstance(b, Decimal):
            return None if not b else dt.timedelta(seconds=float(Decimal(str(a.total_seconds())) / b))
        if isinstance(a, YearsMonthsDuration) and isinstance(b, Decimal):
            return None if not b else YearsMonthsDuration(int((a.months / b).to_integral_value()))
        if isinstance(a, dt.timedelta) and isinstance(b, dt.timedelta):
            if not b:
                return None
            return DECIMAL_CONTEXT.divide(Decimal(str(a.total_seconds())), Decimal(str(b.total_seconds())))
        if isinstance(a, YearsMonthsDuration) and isinstance(b, YearsMonthsDuration):
            return None if not b.months else DECIMAL_CONTEXT.divide(Decimal(a.months), Decimal(b.months))
    except (InvalidOperation, ArithmeticError, OverflowError):
        return None
    return None


def power(a: Any, b: Any) -> Any:
    if not isinstance(a, Decimal) or not isinstance(b, Decimal):
        return None
    try:
        return DECIMAL_CONTEXT.power(a, b)
    except (InvalidOperation, ArithmeticError):
        return None


def negate(a: Any) -> Any:
    if isinstance(a, Decimal):
        return -a
    if isinstance(a, dt.timedelta):
        return -a
    if isinstance(a, YearsMonthsDuration):
        return YearsMonthsDuration(-a.months)
    return None


def compare(op: str, a: Any, b: Any) -> bool | None:
    """``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` with FEEL's null results for incomparable values."""
    if op == "=":
        return feel_equals(a, b)
    if op == "!=":
        same = feel_equals(a, b)
        return None if same is None else not same
    if a is None or b is None:
        return None
    if op == "<":
        return feel_less(a, b)
    if op == ">":
        return feel_less(b, a)
    if op == "<=":
        less = feel_less(a, b)
        return None if less is None else less or feel_equals(a, b) is True
    if op == ">=":
        greater = feel_less(b, a)
        return None if greater is None else greater or feel_equals(a, b) is True
    raise ValueError(f"unknown comparison operator {op!r}")


def logical_and(a: Any, b: Any) -> bool | None:
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return None


def logical_or(a: Any, b: Any) -> bool | None:
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return None


def _offset(value: dt.time | dt.datetime) -> dt.timedelta | None:
    return value.utcoffset() if value.tzinfo is not None else None


def _zone_name(value: dt.time | dt.datetime) -> str | None:
    key = getattr(value.tzinfo, "key", None)
    if key is not None:
        return str(key)
    return None


def property_of(value: Any, name: str) -> Any:
    """``value.name`` for non-context values: temporal components, duration parts, range bounds."""
    if isinstance(value, dt.date):
        if name == "year":
            return Decimal(value.year)
        if name == "month":
            return Decimal(value.month)
        if name == "day":
            return Decimal(value.day)
        if name == "weekday":
            return Decimal(value.isoweekday())
    if isinstance(value, dt.datetime | dt.time):
        if name == "hour":
            return Decimal(value.hour)
        if name == "minute":
            return Decimal(value.minute)
        if name == "second":
            return Decimal(value.second)
        if name in ("time offset", "offset"):
            return _offset(value)
        if name == "timezone":
            return _zone_name(value)
    if isinstance(value, dt.timedelta):
        seconds = int(abs(value).total_seconds())
        sign = -1 if value < dt.timedelta(0) else 1
        parts = {
            "days": seconds // 86400,
            "hours": seconds % 86400 // 3600,
            "minutes": seconds % 3600 // 60,
            "seconds": seconds % 60,
        }
        if name in parts:
            return Decimal(sign * parts[name])
    if isinstance(value, YearsMonthsDuration):
        if name == "years":
            return Decimal(value.years)
        if name == "months":
            return Decimal(value.remaining_months)
    if isinstance(value, Range):
        if name == "start":
            return value.start
        if name == "end":
            return value.end
        if name == "start included":
            return value.start_included
        if name == "end included":
            return value.end_included
    return None
