"""The operator's calendar override file (``data/slm/calendar-overrides.yaml``), parsed and checked.

The State Council publishes next year's holidays and adjusted working weekends each November or
December; ``chinese-calendar`` follows weeks later. Until it does, the planning office copies the notice
into this file, one entry per year, citing the notice. A broken row stops the workers at start with the
row and field named, never a silently wrong deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from workers.runtime.errors import RuleDataError
from workers.slm.rule_data import Row, digest, row_label

_YEAR_FIELDS = {"year", "source", "holidays", "working_days"}
_DAY_FIELDS = {"date", "from", "to", "name"}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MAX_RANGE_DAYS = 31


class _DatesAsText(yaml.SafeLoader):
    """YAML without implicit dates: ``2027-13-01`` stays text, so its error can name the row and field
    (PyYAML's own date parsing raises a bare ``ValueError`` with no location)."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class OverrideYear:
    """One year's schedule as the notice ``source`` gives it: days off and adjusted working weekends."""

    year: int
    source: str
    holidays: frozenset[date]
    working_days: frozenset[date]

    def lists(self, day: date) -> bool:
        """Whether the notice names ``day``, as a day off or as an adjusted working day."""
        return day in self.holidays or day in self.working_days

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays


@dataclass(frozen=True)
class CalendarOverrides:
    """The parsed file: ``origin`` (its path, for messages), ``digest`` (sha256 of the text) and the years."""

    origin: str
    digest: str
    years: Mapping[int, OverrideYear]

    @classmethod
    def empty(cls) -> CalendarOverrides:
        return cls(origin="no override file", digest="", years={})


def _day(row: Row, field: str) -> date:
    value = row.data.get(field)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise row.error(field, f"must be a date like 2027-02-06, got {value!r}")


def _days(entry: Mapping[str, Any], label: str, year: int) -> list[date]:
    row = Row(entry, label, _DAY_FIELDS)
    row.text("name")
    if "date" in entry:
        if "from" in entry or "to" in entry:
            raise row.error("date", "give either 'date' or 'from' and 'to', not both")
        days = [_day(row, "date")]
    else:
        first, last = _day(row, "from"), _day(row, "to")
        if last < first:
            raise row.error("to", f"{last} is before 'from' {first}")
        if (last - first).days >= _MAX_RANGE_DAYS:
            raise row.error("to", f"a range of more than {_MAX_RANGE_DAYS} days is surely a typo")
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for day in days:
        if day.year != year:
            raise row.error("date" if "date" in entry else "from", f"{day} is not in the entry's year {year}")
    return days


def _parse_year(data: Mapping[str, Any], index: int) -> OverrideYear:
    label = row_label("years", index, data, "year")
    row = Row(data, label, _YEAR_FIELDS)
    year = row.integer("year", minimum=2000, maximum=2100)
    assert year is not None
    row.text("source")  # the notice the dates were copied from: required, so an auditor can check them
    kinds: dict[str, list[date]] = {}
    for kind in ("holidays", "working_days"):
        entries = data.get(kind, [])
        if not isinstance(entries, list) or (kind == "holidays" and not entries):
            raise row.error(kind, "needs a list of {date|from+to, name} rows" +
                            (" (a year's notice always has holidays)" if kind == "holidays" else ""))
        seen: list[date] = []
        for entry_index, entry in enumerate(entries, start=1):
            entry_label = f"{label} {kind}[{entry_index}]"
            if not isinstance(entry, Mapping):
                raise RuleDataError("must be a mapping", row=entry_label)
            for day in _days(entry, entry_label, year):
                if day in seen:
                    raise RuleDataError(f"{day} is listed twice", row=entry_label, field="date")
                if kind == "working_days" and day.weekday() < 5:
                    raise RuleDataError(f"{day} is a {_WEEKDAYS[day.weekday()]}, already a working day; list only "
                                        "the adjusted working weekends (调休上班)", row=entry_label, field="date")
                if kind == "working_days" and day in kinds["holidays"]:
                    raise RuleDataError(f"{day} is also listed as a holiday", row=entry_label, field="date")
                seen.append(day)
        kinds[kind] = seen
    return OverrideYear(year=year, source=row.text("source"), holidays=frozenset(kinds["holidays"]),
                        working_days=frozenset(kinds["working_days"]))


def parse_calendar_overrides(text: str, origin: str = "calendar override file") -> CalendarOverrides:
    """Parse and check the whole file; raises :class:`RuleDataError` naming row and field."""
    try:
        document = yaml.load(text, Loader=_DatesAsText)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise RuleDataError(f"calendar override file is not valid YAML: {exc}") from exc
    if not isinstance(document, Mapping):
        raise RuleDataError("calendar override file must be a YAML mapping at the top level")
    Row(document, "header", {"years"})
    entries = document.get("years")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise RuleDataError("must be a list of years (may be empty)", field="years")
    years: dict[int, OverrideYear] = {}
    for index, data in enumerate(entries, start=1):
        if not isinstance(data, Mapping):
            raise RuleDataError(f"must be a mapping, got {type(data).__name__}", row=f"years[{index}]")
        year = _parse_year(data, index)
        if year.year in years:
            raise RuleDataError(f"year {year.year} is listed twice", row=f"years[{index}]", field="year")
        years[year.year] = year
    return CalendarOverrides(origin=origin, digest=digest(text),
                             years=years)


def load_calendar_overrides(path: Path) -> CalendarOverrides:
    """Read the override file at ``path``; a missing file is an error naming the path and the setting."""
    if not path.is_file():
        raise RuleDataError(f"calendar override file {path} does not exist (setting PROCGOV_SLM_CALENDAR_OVERRIDES; "
                            "an empty file needs just 'years: []')")
    return parse_calendar_overrides(path.read_text(encoding="utf-8"), str(path))
