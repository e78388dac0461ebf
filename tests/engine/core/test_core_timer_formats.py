"""ISO 8601 timer values as Zeebe reads them (docs.camunda.io/docs/components/modeler/bpmn/timer-events/
#timers): time date, time duration, time cycle with and without a start date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.model.timers import TimerFormatError, parse_date, schedule

NOW = parse_date("2028-03-01T00:00:00Z")


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_date_with_offset_and_feel_zone_suffix() -> None:
    assert at(schedule("date", "2028-03-02T10:00:00+08:00", NOW).due) == datetime(2028, 3, 2, 2, tzinfo=UTC)
    assert parse_date("2028-03-02T10:00:00+01:00[Europe/Berlin]") == parse_date("2028-03-02T09:00:00Z")


def test_duration_counts_calendar_months() -> None:
    assert at(schedule("duration", "P1M", NOW).due) == datetime(2028, 4, 1, tzinfo=UTC)
    assert schedule("duration", "PT15M", NOW).due == NOW + 15 * 60_000


def test_cycles() -> None:
    three = schedule("cycle", "R3/PT1H", NOW)
    assert (three.due, three.repetitions, three.interval) == (NOW + 3_600_000, 3, "PT1H")
    assert schedule("cycle", "R/PT1M", NOW).repetitions == -1
    # a start date in the past keeps the rhythm: the next yearly occurrence after now
    yearly = schedule("cycle", "R/2027-01-10T01:00:00Z/P1Y", NOW)
    assert at(yearly.due) == datetime(2029, 1, 10, 1, tzinfo=UTC)
    future = schedule("cycle", "R2/2029-01-01T00:00:00Z/P1D", NOW)
    assert at(future.due) == datetime(2029, 1, 1, tzinfo=UTC) and future.repetitions == 2


@pytest.mark.parametrize(
    ("kind", "value", "fragment"),
    [
        ("duration", "soon", "Invalid duration format 'soon'"),
        ("date", "tomorrow", "Invalid date-time format 'tomorrow'"),
        ("cycle", "0 0 * * *", "cron is not supported"),
        ("cycle", "R/PT0S", "longer than zero"),
        ("cycle", "Rx/PT1H", "repetitions"),
    ],
)
def test_invalid_values_are_named(kind: str, value: str, fragment: str) -> None:
    with pytest.raises(TimerFormatError, match=fragment.replace("*", r"\*")):
        schedule(kind, value, NOW)
