"""Engine core tests run in-process on a ControlledClock with a tmp data dir.

Every test's ``engine`` is, at the test's end, also reopened from a copy of its log with no snapshot: the
fold of its events (engine/core/state/appliers/) must give exactly the live state, down to the fields
only processing used to set (join tokens, listener progress, retry steps, temporary variables, user task
transitions, due dates).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from core_helpers import START
from fold_check import assert_the_fold_gives_the_live_state

from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine


@pytest.fixture
def clock() -> ControlledClock:
    return ControlledClock(START)


@pytest.fixture
async def engine(tmp_path: Path, clock: ControlledClock) -> AsyncIterator[Engine]:
    opened = await Engine.open(tmp_path / "data", clock)
    yield opened
    if not opened._closed and opened._log_failure is None:
        await assert_the_fold_gives_the_live_state(opened, tmp_path / "folded")
    await opened.close()
