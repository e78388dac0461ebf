"""``procgov_engine.clock``: the controlled clock only moves when told to, never backwards, and tells listeners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from procgov_engine.clock import ControlledClock, SystemClock, epoch_ms, from_epoch_ms
from procgov_engine.model.timers import add_duration, parse_date


def test_controlled_clock_moves_only_when_told() -> None:
    clock = ControlledClock(datetime(2026, 1, 1, tzinfo=UTC))
    moves: list[int] = []
    clock.add_listener(lambda: moves.append(clock.now_ms()))
    start = clock.now_ms()
    assert clock.now_ms() == start
    clock.advance(timedelta(minutes=5))
    clock.set(datetime(2026, 1, 2, tzinfo=UTC))
    assert moves == [start + 300_000, int(datetime(2026, 1, 2, tzinfo=UTC).timestamp() * 1000)]
    assert clock.now() == datetime(2026, 1, 2, tzinfo=UTC)


def test_controlled_clock_refuses_to_go_back_or_naive_times() -> None:
    clock = ControlledClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        ControlledClock(datetime(2026, 1, 1))


def test_system_clock_is_wall_time() -> None:
    clock = SystemClock()
    assert abs(clock.now_ms() - datetime.now(UTC).timestamp() * 1000) < 5_000


def test_moving_the_controlled_clock_to_an_instant_lands_on_it_to_the_millisecond() -> None:
    """``advance(target - now())`` reaches ``target`` exactly, from any start millisecond: through floats
    (``fromtimestamp(ms / 1000)``, ``int(seconds * 1000)``) about 2 % of starts ended 1 ms short, so a
    timeDate timer due at ``target`` did not fire (the rollout's cutover timer in a test moving the clock
    to the cutover)."""
    target = datetime(2026, 12, 28, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    short = []
    for step in range(2_000):
        clock = ControlledClock(datetime(2026, 12, 3, 13, 38, tzinfo=UTC) + timedelta(milliseconds=7 * step + 0.5))
        clock.advance(target - clock.now())
        if clock.now_ms() != epoch_ms(target):
            short.append(step)
    assert short == []
    assert epoch_ms(target) == 1_798_419_600_000
    assert from_epoch_ms(epoch_ms(target) + 1) == target + timedelta(milliseconds=1)


def test_timer_dates_and_durations_are_exact_milliseconds() -> None:
    """A timeDate with milliseconds and a duration added to a start keep every millisecond."""
    moments = [datetime(2026, 12, 3, 13, 38, 5, 1_000 * ms, tzinfo=UTC) for ms in range(1_000)]
    assert [parse_date(m.isoformat()) for m in moments] == [epoch_ms(m) for m in moments]
    start = epoch_ms(datetime(2026, 12, 3, tzinfo=UTC))
    assert [add_duration(start + ms, "PT0.001S") for ms in range(1_000)] == [start + ms + 1 for ms in range(1_000)]
