"""The REST clock (``PUT /v2/clock``, ``POST /v2/clock/reset``) as logged commands with Zeebe's CLOCK records.

Camunda docs, "Orchestration Cluster API" → "Clock" ("Pin internal clock", "Reset internal clock"): a pinned
clock stands at the given instant until pinned again or reset. Zeebe 8.8 writes CLOCK records (PIN →
PINNED, RESET → RESETTED, value ``{time}``) and keeps the pin in its state, so a pin outlives a restart.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.server import RunningServer, serve


def _clock_records(running: RunningServer) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r["recordType"], r["intent"], r["value"]) for r in running.engine.query.records(value_type="CLOCK")]


async def test_pin_and_reset_write_clock_records_and_a_pin_survives_a_restart(tmp_path: Path) -> None:
    """PIN/PINNED and RESET/RESETTED records with ``time``; after a restart (the engine reopens from the
    snapshot written on close, so the pin is found in the log, not only replayed) the clock is still pinned,
    and after a reset and another restart it follows system time again."""
    data = tmp_path / "engine"
    pinned = int(time.time() * 1000) + 7 * 86_400_000
    running = await serve("127.0.0.1", 0, data, rest_port=0)
    try:
        assert running.rest is not None
        async with httpx.AsyncClient(base_url=f"{running.rest.address}/v2", timeout=30) as http:
            assert (await http.put("/clock", json={"timestamp": pinned})).status_code == 204
        assert running.engine.clock.now_ms() == pinned
        records = _clock_records(running)
        assert records == [("COMMAND", "PIN", {"time": pinned}), ("EVENT", "PINNED", {"time": pinned})]
        event = next(running.engine.query.records(value_type="CLOCK", intent="PINNED"))
        assert event["key"] > 0
    finally:
        await running.stop()

    running = await serve("127.0.0.1", 0, data, rest_port=0)
    try:
        assert (running.engine.snapshot_commands, running.engine.replayed_commands) == (1, 0)  # from the snapshot
        assert running.engine.clock.now_ms() == pinned  # the pin survived the restart
        assert running.rest is not None
        async with httpx.AsyncClient(base_url=f"{running.rest.address}/v2", timeout=30) as http:
            assert (await http.post("/clock/reset")).status_code == 204
        assert abs(running.engine.clock.now_ms() - time.time() * 1000) < 5_000
        assert _clock_records(running)[-2:] == [("COMMAND", "RESET", {"time": 0}), ("EVENT", "RESETTED", {"time": 0})]
    finally:
        await running.stop()

    running = await serve("127.0.0.1", 0, data, rest_port=0)
    try:
        assert abs(running.engine.clock.now_ms() - time.time() * 1000) < 5_000  # the reset survived too
    finally:
        await running.stop()


async def test_a_negative_pin_is_refused(http: httpx.AsyncClient, server: RunningServer) -> None:
    """ "Pin internal clock" → 400 for a negative timestamp; the engine refuses it on its own with Zeebe's
    rejection (INVALID_ARGUMENT, "Expected pin time to be not negative …") and keeps its clock."""
    response = await http.put("/clock", json={"timestamp": -1})
    assert response.status_code == 400, response.text
    before = server.engine.clock.now_ms()
    with pytest.raises(Rejection) as refused:
        await server.engine.pin_clock(-5)
    assert refused.value.type == RejectionType.INVALID_ARGUMENT
    assert refused.value.reason == "Expected pin time to be not negative but it was -5"
    assert abs(server.engine.clock.now_ms() - before) < 5_000
    assert _clock_records(server) == [("COMMAND", "PIN", {"time": -5}), ("COMMAND_REJECTION", "PIN", {"time": -5})]
