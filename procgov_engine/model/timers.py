"""ISO 8601 timer definitions as Zeebe reads them (docs.camunda.io/docs/components/modeler/bpmn/timer-events/).

- ``timeDate``: a date-time with offset or zone, e.g. ``2026-01-01T10:00:00Z``.
- ``timeDuration``: a duration, e.g. ``PT15M``, ``P1D``, ``P1M``.
- ``timeCycle``: ``R<n>/<duration>``, ``R/<duration>`` (unbounded) or ``R<n>/<start>/<duration>``, or a
  Spring cron expression (``0 0 9 * * MON-FRI``; see :mod:`procgov_engine.model.cron`) that repeats forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import isodate

from procgov_engine.clock import epoch_ms, from_epoch_ms
from procgov_engine.model import cron


class TimerFormatError(ValueError):
    """A timer value that is not valid ISO 8601 for its kind."""


@dataclass(frozen=True)
class Schedule:
    """When a timer is first due and how it repeats (``repetitions``: -1 = forever, 1 = once)."""

    due: int
    repetitions: int
    interval: str  # the ISO duration between repetitions; "" for one-shot timers


def add_duration(start_ms: int, duration_text: str) -> int:
    """``start_ms`` plus an ISO 8601 duration (months/years counted on the calendar)."""
    try:
        duration = isodate.parse_duration(duration_text)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise TimerFormatError(f"Invalid duration format '{duration_text}'") from exc
    start = from_epoch_ms(start_ms)
    end = start + duration
    if end < start:
        raise TimerFormatError(f"Invalid duration format '{duration_text}': negative durations are not allowed")
    return epoch_ms(end)


def parse_date(text: str) -> int:
    if text.endswith("]") and "[" in text:  # FEEL's zoned date-time text: offset then "[Region/City]"
        text = text[: text.index("[")]
    try:
        moment = isodate.parse_datetime(text)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise TimerFormatError(f"Invalid date-time format '{text}'") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return epoch_ms(moment)


def schedule(kind: str, value: str, now_ms: int) -> Schedule:
    """The first due time of a timer of ``kind`` (``date`` | ``duration`` | ``cycle``) with ``value``."""
    value = value.strip()
    if kind == "date":
        return Schedule(parse_date(value), 1, "")
    if kind == "duration":
        return Schedule(add_duration(now_ms, value), 1, "")
    return _cycle(value, now_ms)


def next_repetition(interval: str, due_ms: int, now_ms: int) -> int:
    """When a repeating timer that was due at ``due_ms`` (and fired at ``now_ms``) is due next.

    An ISO interval keeps its rhythm from the previous due time; a cron cycle is due at its next match after
    the firing, so a late firing never replays the matches it missed."""
    if cron.looks_like_cron(interval):
        try:
            return cron.next_match(interval, max(due_ms, now_ms))
        except cron.CronFormatError as exc:
            raise TimerFormatError(str(exc)) from exc
    return add_duration(due_ms, interval)


def _cycle(value: str, now_ms: int) -> Schedule:
    if cron.looks_like_cron(value):
        try:
            return Schedule(cron.next_match(value, now_ms), -1, value)
        except cron.CronFormatError as exc:
            raise TimerFormatError(str(exc)) from exc
    parts = value.split("/")
    head = parts[0]
    if not head.startswith("R") or len(parts) not in (2, 3):
        raise TimerFormatError(
            f"Invalid timer cycle format '{value}': expected an ISO 8601 repeating interval 'R<n>/<duration>' "
            "or a cron expression with 6 fields ('0 0 9 * * *')"
        )
    count_text = head[1:]
    try:
        repetitions = int(count_text) if count_text else -1
    except ValueError as exc:
        raise TimerFormatError(f"Invalid timer cycle format '{value}': repetitions '{count_text}'") from exc
    interval = parts[-1]
    if add_duration(now_ms, interval) <= now_ms:
        raise TimerFormatError(f"Invalid timer cycle format '{value}': the interval must be longer than zero")
    if len(parts) == 3:
        due = _next_occurrence(parse_date(parts[1]), interval, now_ms)
    else:
        due = add_duration(now_ms, interval)
    return Schedule(due, repetitions, interval)


def validate_static(kind: str, value: str) -> None:
    """Deploy-time check of a static timer value."""
    schedule(kind, value, epoch_ms(datetime(2000, 1, 1, tzinfo=UTC)))


def _next_occurrence(start_ms: int, interval: str, now_ms: int) -> int:
    """The first ``start + k * interval`` at or after now (a cycle with a start date keeps its rhythm)."""
    if start_ms >= now_ms:
        return start_ms
    step = add_duration(start_ms, interval) - start_ms
    duration = isodate.parse_duration(interval)
    if isinstance(duration, timedelta):  # fixed length: jump straight there
        skipped = (now_ms - start_ms) // step
        due = start_ms + skipped * step
        return due if due >= now_ms else due + step
    due = start_ms
    while due < now_ms:  # calendar months/years: few steps
        due = add_duration(due, interval)
    return due
