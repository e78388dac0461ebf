"""The engine's notion of "now".

Every timestamp the engine writes (records, job deadlines, timer due dates, message expiry) comes from
one :class:`Clock`. Production uses :class:`SystemClock`; tests use :class:`ControlledClock`, which
only moves when told to, so timer and back-off behaviour is tested without sleeping (the engine's
``increase_time`` advances it and fires everything that became due).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """``moment`` (timezone-aware) in whole epoch milliseconds, exactly: ``int(moment.timestamp() * 1000)``
    goes through a float and can land 1 ms early, so a timer due at that instant would not be due yet."""
    return (moment - EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    """The UTC instant of ``ms`` epoch milliseconds, exactly (no float, unlike ``datetime.fromtimestamp``)."""
    return EPOCH + timedelta(milliseconds=ms)


class Clock(Protocol):
    """A source of the current time in epoch milliseconds."""

    def now_ms(self) -> int: ...

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now(self) -> datetime:
        return datetime.now(UTC)


class PinnableClock:
    """Wall-clock time until pinned: the clock behind Camunda's ``PUT /v2/clock`` and ``POST /v2/clock/reset``.

    Camunda docs, "Orchestration Cluster API" → "Clock": a pinned clock stays at the given instant (which
    may lie in the past or the future) until pinned again or reset to system time. The engine re-plans its
    timers after each change (``Engine.pin_clock``/``reset_clock``), which are logged commands writing CLOCK
    records, so a pin outlives a restart.
    """

    def __init__(self) -> None:
        self._pinned_ms: int | None = None

    @property
    def pinned_ms(self) -> int | None:
        return self._pinned_ms

    def now_ms(self) -> int:
        return self._pinned_ms if self._pinned_ms is not None else time.time_ns() // 1_000_000

    def now(self) -> datetime:
        return from_epoch_ms(self.now_ms())

    def pin(self, epoch_ms: int) -> None:
        self._pinned_ms = epoch_ms

    def reset(self) -> None:
        self._pinned_ms = None


class ControlledClock:
    """A clock that stands still until :meth:`advance` or :meth:`set` moves it.

    Listeners (the engine registers one) are told after each move so that timers, job time-outs and
    retry back-offs that became due are processed even when a test moves the clock directly.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("ControlledClock start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
        self._ms = epoch_ms(start)
        self._listeners: list[Callable[[], None]] = []

    def now_ms(self) -> int:
        return self._ms

    def now(self) -> datetime:
        return from_epoch_ms(self._ms)

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError(f"ControlledClock cannot move backwards (advance by {delta})")
        self._ms += delta // _MS
        self._notify()

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ControlledClock.set needs a timezone-aware datetime")
        ms = epoch_ms(moment)
        if ms < self._ms:
            raise ValueError(f"ControlledClock cannot move backwards (to {moment.isoformat()})")
        self._ms = ms
        self._notify()

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
