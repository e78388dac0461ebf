"""FEEL's value model in Python, and its JSON mapping.

Numbers are :class:`~decimal.Decimal` (FEEL numbers are decimal, so ``0.1 + 0.2 = 0.3`` holds),
strings ``str``, booleans ``bool``, null ``None``, lists ``list``, contexts ``dict[str, Any]``.
Temporal values use the standard library: ``datetime.date``, ``datetime.time`` (``tzinfo`` set for a
time with an offset or zone), ``datetime.datetime`` (naive = local date-time). Days-time durations
are ``datetime.timedelta``; years-months durations are :class:`YearsMonthsDuration` since the
standard library has no calendar-month duration. Ranges and functions have their own small types.

Beware that ``datetime.datetime`` is a subclass of ``datetime.date`` and ``bool`` of ``int``: every
type test here checks the narrower type first.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: FEEL numbers follow IEEE 754 decimal128: 34 significant digits, half-even rounding.
DECIMAL_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=6144, Emin=-6143)


@dataclass(frozen=True, order=True)
class YearsMonthsDuration:
    """A years-and-months duration (``P1Y2M``), held as a signed number of months."""

    months: int

    @property
    def years(self) -> int:
        return int(self.months / 12)

    @property
    def remaining_months(self) -> int:
        return self.months - self.years * 12

    def iso(self) -> str:
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        if years and months:
            return f"{sign}P{years}Y{months}M"
        if years:
            return f"{sign}P{years}Y"
        return f"{sign}P{months}M"


@dataclass(frozen=True)
class Range:
    """An interval such as ``[1..10)``; a ``None`` bound is open (``> 5`` is ``(5..null)``)."""

    start: Any
    end: Any
    start_included: bool
    end_included: bool


@dataclass(frozen=True)
class FeelFunction:
    """A function value: a built-in or a ``function(a, b) ...`` definition.

    ``signatures`` lists the accepted parameter-name signatures (one tuple per arity) so that named
    arguments can be mapped to positions; ``variadic`` functions take any number of positionals.
    """

    name: str
    signatures: tuple[tuple[str, ...], ...]
    call: Callable[..., Any]
    variadic: bool = False
    #: the function reads the engine's clock (``now()``, ``today()``): it gets it as first argument
    needs_clock: bool = False


def is_number(value: Any) -> bool:
    return isinstance(value, Decimal)


def type_name(value: Any) -> str:
    """The FEEL type name, as ``instance of`` and error messages spell it."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "date and time"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, dt.timedelta):
        return "days and time duration"
    if isinstance(value, YearsMonthsDuration):
        return "years and months duration"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "context"
    if isinstance(value, Range):
        return "range"
    if isinstance(value, FeelFunction):
        return "function"
    return type(value).__name__


# ---------------------------------------------------------------------------------------------- JSON


def from_json(value: Any) -> Any:
    """Turn a JSON-like value (process variables) into FEEL values: numbers become Decimal.

    Floats go through ``repr`` so that ``0.1`` is the decimal 0.1, not its binary approximation.
    Values that are already FEEL values (Decimal, dates, durations) pass through unchanged.
    """
    if value is None or isinstance(value, str | bool | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): from_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_json(v) for v in value]
    return value


def to_json(value: Any) -> Any:
    """Turn a FEEL value into a JSON-able one, as Zeebe writes results into process variables.

    Integral decimals become ``int``, others ``float``; temporal values their ISO 8601 text
    (durations ``P1DT2H`` / ``P1Y2M``, a zoned date-time with its offset ``2024-01-01T10:00:00+01:00``).
    Functions have no JSON form and become ``None``.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return format_temporal(value)
    if isinstance(value, dt.timedelta):
        return format_days_time(value)
    if isinstance(value, YearsMonthsDuration):
        return value.iso()
    if isinstance(value, Range):
        return {
            "start": to_json(value.start),
            "end": to_json(value.end),
            "startIncluded": value.start_included,
            "endIncluded": value.end_included,
        }
    return None


# ------------------------------------------------------------------------------------------ temporal

_ZONE_SUFFIX = re.compile(r"^(?P<base>.+?)(?:@|\[)(?P<zone>[A-Za-z_][A-Za-z0-9_+\-/]*)\]?$")
_DATE_RE = re.compile(r"^-?\d{4,9}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
_DAYS_TIME_RE = re.compile(
    r"^(?P<sign>-)?P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_YEARS_MONTHS_RE = re.compile(r"^(?P<sign>-)?P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?$")


def _zone(name: str) -> dt.tzinfo:
    if name == "Z":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{name}'") from exc


def parse_date(text: str) -> dt.date:
    if not _DATE_RE.match(text):
        raise ValueError(f"not a date: '{text}'")
    return dt.date.fromisoformat(text)


def parse_time(text: str) -> dt.time:
    zone: dt.tzinfo | None = None
    match = _ZONE_SUFFIX.match(text)
    if match:
        text, zone = match.group("base"), _zone(match.group("zone"))
    if not _TIME_RE.match(text):
        raise ValueError(f"not a time: '{text}'")
    value = dt.time.fromisoformat(text.replace("Z", "+00:00"))
    if zone is not None:
        value = value.replace(tzinfo=zone)
    return value


def parse_date_time(text: str) -> dt.datetime:
    zone: dt.tzinfo | None = None
    match = _ZONE_SUFFIX.match(text)
    if match:
        text, zone = match.group("base"), _zone(match.group("zone"))
    if "T" not in text:
        if _DATE_RE.match(text):  # Camunda accepts a date: midnight of that day
            return dt.datetime.combine(parse_date(text), dt.time())
        raise ValueError(f"not a date and time: '{text}'")
    date_part, time_part = text.split("T", 1)
    value = dt.datetime.combine(parse_date(date_part), parse_time(time_part))
    if zone is not None:
        value = value.replace(tzinfo=zone)
    return value


def parse_days_time(text: str) -> dt.timedelta:
    match = _DAYS_TIME_RE.match(text)
    if not match or text.endswith(("P", "T")):
        raise ValueError(f"not a days and time duration: '{text}'")
    delta = dt.timedelta(
        days=int(match.group("d") or 0),
        hours=int(match.group("h") or 0),
        minutes=int(match.group("m") or 0),
        seconds=float(Decimal(match.group("s") or 0)),
    )
    return -delta if match.group("sign") else delta


def parse_years_months(text: str) -> YearsMonthsDuration:
    match = _YEARS_MONTHS_RE.match(text)
    if not match or text.endswith("P"):
        raise ValueError(f"not a years and months duration: '{text}'")
    months = int(match.group("y") or 0) * 12 + int(match.group("m") or 0)
    return YearsMonthsDuration(-months if match.group("sign") else months)


def parse_duration(text: str) -> dt.timedelta | YearsMonthsDuration:
    if _YEARS_MONTHS_RE.match(text) and not text.endswith("P"):
        return parse_years_months(text)
    return parse_days_time(text)


def parse_temporal(text: str) -> Any:
    """Parse the text of a temporal literal ``@"..."`` by its shape."""
    stripped = text.lstrip("-")
    if stripped.startswith("P"):
        return parse_duration(text)
    if "T" in text:
        return parse_date_time(text)
    if ":" in text:
        return parse_time(text)
    return parse_date(text)


def format_temporal(value: dt.date | dt.time, *, zone_id: bool = False) -> str:
    """ISO 8601 text of a date, time or date-time (UTC written ``Z``).

    A date-time in an IANA zone is written with its offset (``2024-01-01T10:00:00+01:00``), which
    every JSON consumer parses; with ``zone_id`` (``string()``) it is written as Camunda prints it,
    local time and zone (``2024-01-01T10:00:00@Europe/Berlin``). A zoned time has no offset without a
    date, so it is always written with its zone.
    """
    if isinstance(value, dt.datetime | dt.time):
        zone = value.tzinfo
        if isinstance(zone, ZoneInfo) and (zone_id or not isinstance(value, dt.datetime)):
            return f"{value.replace(tzinfo=None).isoformat()}@{zone.key}"
        text = value.isoformat()
        return text.replace("+00:00", "Z") if zone is dt.UTC else text
    return value.isoformat()


def format_days_time(value: dt.timedelta) -> str:
    """ISO 8601 text of a days-time duration, normalised like Camunda (``P1DT2H30M``, ``PT0S``)."""
    sign = "-" if value < dt.timedelta(0) else ""
    total = abs(value)
    days = total.days
    seconds = total.seconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P"
    if days:
        text += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if secs or total.microseconds:
        frac = f".{total.microseconds:06d}".rstrip("0") if total.microseconds else ""
        time_part += f"{secs}{frac}S"
    if time_part:
        text += "T" + time_part
    if text.endswith("P"):
        text += "T0S"
    return text


def add_months(date: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = date.year * 12 + (date.month - 1) + months
    year, month0 = divmod(index, 12)
    last = last_day_of_month(year, month0 + 1)
    return date.replace(year=year, month=month0 + 1, day=min(date.day, last))


def last_day_of_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.timedelta(days=1)).day


# ---------------------------------------------------------------------------------- equality, order


def feel_equals(a: Any, b: Any) -> bool | None:
    """FEEL ``=``: ``null = null`` is true, values of different types are not comparable (null)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            same = feel_equals(x, y)
            if same is not True:
                return same
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        for key, x in a.items():
            same = feel_equals(x, b[key])
            if same is not True:
                return same
        return True
    kind = _temporal_kind(a)
    if kind is not None and kind == _temporal_kind(b):
        try:
            return bool(a == b)
        except TypeError:
            return None
    if isinstance(a, Range) and isinstance(b, Range):
        return a == b
    if isinstance(a, FeelFunction) and isinstance(b, FeelFunction):
        return a is b
    return None


_TEMPORAL_TYPES = frozenset({"date and time", "date", "time", "days and time duration", "years and months duration"})


def _temporal_kind(value: Any) -> str | None:
    """The FEEL type name of a temporal value, None for any other value."""
    name = type_name(value)
    return name if name in _TEMPORAL_TYPES else None


def comparable(a: Any, b: Any) -> bool:
    """Whether ``<`` is defined between the two values (same orderable FEEL type)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, Decimal):
        return isinstance(b, Decimal)
    if isinstance(a, str):
        return isinstance(b, str)
    kind = _temporal_kind(a)
    if kind is None or kind != _temporal_kind(b):
        return False
    if kind in ("date and time", "time"):
        return (a.tzinfo is None) == (b.tzinfo is None)
    return True


def feel_less(a: Any, b: Any) -> bool | None:
    if not comparable(a, b):
        return None
    if isinstance(a, dt.time):
        # aware times compare by their UTC instant; Python refuses mixed offsets on bare times
        return _time_key(a) < _time_key(b)
    return bool(a < b)


def _time_key(value: dt.time) -> dt.datetime:
    anchor = dt.datetime.combine(dt.date(2000, 1, 3), value)
    return anchor.astimezone(dt.UTC) if value.tzinfo is not None else anchor


def in_range(value: Any, rng: Range) -> bool | None:
    """Whether ``value`` lies in ``rng``; null when it is not comparable with a bound."""
    if rng.start is not None:
        below = feel_less(value, rng.start)
        if below is None:
            return None
        if below or (not rng.start_included and feel_equals(value, rng.start)):
            return False
    if rng.end is not None:
        above = feel_less(rng.end, value)
        if above is None:
            return None
        if above or (not rng.end_included and feel_equals(value, rng.end)):
            return False
    return True


def list_contains(items: Sequence[Any], value: Any) -> bool:
    return any(feel_equals(item, value) is True for item in items)
