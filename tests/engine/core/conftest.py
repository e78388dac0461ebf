"""Engine core tests run in-process on a ControlledClock with a tmp data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from core_helpers import START

from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine


@pytest.fixture
def clock() -> ControlledClock:
    return ControlledClock(START)


@pytest.fixture
async def engine(tmp_path: Path, clock: ControlledClock) -> AsyncIterator[Engine]:
    opened = await Engine.open(tmp_path / "data", clock)
    yield opened
    await opened.close()
