"""ISO 8601 timer values as Zeebe reads them (docs.camunda.io/docs/components/modeler/bpmn/timer-events/
#timers): time date, time duration, time cycle with and without a start date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from procgov_engine.model.timers import TimerFormatError, next_repetition, parse_date, schedule

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


def test_cron_cycles_follow_spring_six_field_syntax() -> None:
    """Zeebe reads a non-ISO cycle as a Spring cron expression: seconds first, '?', names, L/W, macros."""
    daily = schedule("cycle", "0 0 9 * * *", NOW)
    assert (at(daily.due), daily.repetitions, daily.interval) == (
        datetime(2028, 3, 1, 9, tzinfo=UTC),
        -1,
        "0 0 9 * * *",
    )
    # 2028-03-01 is a Wednesday; both day fields restricted means both must match (Spring), not either
    assert at(schedule("cycle", "0 30 8 ? * SAT", NOW).due) == datetime(2028, 3, 4, 8, 30, tzinfo=UTC)
    assert at(schedule("cycle", "0 0 0 13 * FRI", NOW).due) == datetime(2028, 10, 13, tzinfo=UTC)
    assert at(schedule("cycle", "0 0 18 L * *", NOW).due) == datetime(2028, 3, 31, 18, tzinfo=UTC)
    assert at(schedule("cycle", "15 */10 * * * *", NOW).due) == datetime(2028, 3, 1, 0, 0, 15, tzinfo=UTC)
    assert at(schedule("cycle", "@monthly", NOW).due) == datetime(2028, 4, 1, tzinfo=UTC)


def test_cron_repetition_is_the_next_match_after_firing() -> None:
    due = schedule("cycle", "0 0 9 * * *", NOW).due
    assert at(next_repetition("0 0 9 * * *", due, due)) == datetime(2028, 3, 2, 9, tzinfo=UTC)
    # fired three days late: the missed matches are not replayed
    late = due + 3 * 86_400_000 + 1
    assert at(next_repetition("0 0 9 * * *", due, late)) == datetime(2028, 3, 5, 9, tzinfo=UTC)
    # ISO cycles keep their rhythm from the previous due time
    assert next_repetition("PT1H", due, late) == due + 3_600_000


@pytest.mark.parametrize(
    ("kind", "value", "fragment"),
    [
        ("duration", "soon", "Invalid duration format 'soon'"),
        ("date", "tomorrow", "Invalid date-time format 'tomorrow'"),
        ("cycle", "0 0 * * *", "expected 6 fields"),  # Spring cron has seconds; 5-field cron is invalid
        ("cycle", "0 0 25 * * *", "Invalid cron expression '0 0 25 * * *': "),
        ("cycle", "@fortnightly", "unknown macro"),
        ("cycle", "P1D", "expected an ISO 8601 repeating interval"),
        ("cycle", "R/PT0S", "longer than zero"),
        ("cycle", "Rx/PT1H", "repetitions"),
    ],
)
def test_invalid_values_are_named(kind: str, value: str, fragment: str) -> None:
    with pytest.raises(TimerFormatError, match=fragment.replace("*", r"\*")):
        schedule(kind, value, NOW)
