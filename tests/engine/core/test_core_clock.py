"""``procgov_engine.clock``: the controlled clock only moves when told to, never backwards, and tells listeners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from procgov_engine.clock import ControlledClock, SystemClock


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
