"""Snapshots (engine/core/snapshot.py) are a shortcut, never the only copy: whatever is wrong with one,
opening the data directory replays the whole command log instead and gives the same state."""

from __future__ import annotations

import io
import logging
import pickle
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from core_helpers import START, activate, bpmn, deploy, flow, service
from test_core_restart import MIXED, build_state, fingerprint

from procgov_engine import strict_json
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine, snapshot
from procgov_engine.core.state import DEPLOYMENT_FIELDS, EngineState


async def _closed_with_snapshot(data: Path) -> tuple[dict[str, object], ControlledClock]:
    clock = ControlledClock(START)
    engine = await Engine.open(data, clock)
    await build_state(engine)
    before = fingerprint(engine)
    await engine.close()
    assert (data / snapshot.SNAPSHOT_FILE).exists()
    return before, clock


async def _reopen_with_the_snapshot_of(
    source: Path, target: Path, clock: ControlledClock, expected: dict[str, object]
) -> None:
    """Put ``source``'s snapshot into ``target``, reopen ``target``: the snapshot must be ignored and
    the whole log replayed to ``expected``."""
    (target / snapshot.SNAPSHOT_FILE).write_bytes((source / snapshot.SNAPSHOT_FILE).read_bytes())
    reopened = await Engine.open(target, ControlledClock(clock.now()))
    assert reopened.snapshot_commands == 0
    assert fingerprint(reopened) == expected
    await reopened.close()


async def test_close_writes_a_snapshot_that_the_next_open_restores(tmp_path: Path) -> None:
    before, clock = await _closed_with_snapshot(tmp_path / "d")
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    assert reopened.snapshot_commands > 10 and reopened.replayed_commands == 0
    assert fingerprint(reopened) == before
    await reopened.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-40],  # cut short, as by a full disk
        lambda data: data.replace(b"procgov-engine-snapshot", b"something-else-entirely"),
        lambda data: data[:200] + bytes(len(data) - 200),  # zeroed body
    ],
    ids=["truncated", "foreign", "zeroed"],
)
async def test_a_damaged_snapshot_is_ignored_and_the_whole_log_replayed(
    tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    before, clock = await _closed_with_snapshot(tmp_path / "d")
    path = tmp_path / "d" / snapshot.SNAPSHOT_FILE
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING):
        reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    assert reopened.snapshot_commands == 0 and reopened.replayed_commands > 10
    assert fingerprint(reopened) == before
    assert "folding the whole log" in caplog.text
    await reopened.close()


async def test_a_snapshot_of_other_engine_code_is_not_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, clock = await _closed_with_snapshot(tmp_path / "d")
    monkeypatch.setattr(snapshot, "CODE_FINGERPRINT", "0" * 64)  # as after an upgrade of the engine
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    assert reopened.snapshot_commands == 0 and reopened.replayed_commands > 10
    assert fingerprint(reopened) == before
    await reopened.close()


async def test_a_snapshot_ahead_of_its_log_is_not_restored(tmp_path: Path) -> None:
    """E.g. a data directory put back from a backup older than its snapshot file."""
    await _closed_with_snapshot(tmp_path / "long")
    clock = ControlledClock(START)
    short = await Engine.open(tmp_path / "short", clock, snapshot_every=0)
    await deploy(short, MIXED)
    before = fingerprint(short)
    await short.close()
    await _reopen_with_the_snapshot_of(tmp_path / "long", tmp_path / "short", clock, before)


async def test_a_snapshot_that_cannot_be_taken_costs_nothing_but_the_shortcut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_: object) -> bytes:
        raise OSError("no space left on device")

    monkeypatch.setattr(snapshot, "dumps", refuse)
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=3)
    with caplog.at_level(logging.ERROR):
        await build_state(engine)
        before = fingerprint(engine)
        await engine.close()
    assert "could not take a snapshot" in caplog.text and "could not write a snapshot on close" in caplog.text
    assert not (tmp_path / "d" / snapshot.SNAPSHOT_FILE).exists()
    monkeypatch.undo()
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    assert reopened.snapshot_commands == 0 and fingerprint(reopened) == before
    await reopened.close()


async def test_a_snapshot_of_another_log_is_not_restored(tmp_path: Path) -> None:
    """A log at least as long as the snapshot, but not the one it was taken of (e.g. records.db
    replaced): the snapshot names its last command, and the log's differs."""
    await _closed_with_snapshot(tmp_path / "one")
    clock = ControlledClock(START.replace(year=2027))
    other = await Engine.open(tmp_path / "other", clock, snapshot_every=0)
    await build_state(other)
    for order in ("D", "E", "F"):  # more commands than the snapshot covers
        await other.create_process_instance(bpmn_process_id="p", variables={"orderId": order, "reviewers": []})
    before = fingerprint(other)
    await other.close()
    await _reopen_with_the_snapshot_of(tmp_path / "one", tmp_path / "other", clock, before)


async def test_a_negative_snapshot_interval_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="snapshot_every must be 0"):
        await Engine.open(tmp_path / "d", ControlledClock(), snapshot_every=-1)


NEEDS_A_KIND = bpmn(
    '<bpmn:startEvent id="start" />'
    + flow("f1", "start", "work")
    + service("work", "=kind")
    + flow("f2", "work", "end")
    + '<bpmn:endEvent id="end" />',
    "needs-a-kind",
)


async def test_a_snapshot_holds_open_incidents_and_deep_variables(tmp_path: Path) -> None:
    """An incident raised by an element's activation step (here: a job type expression without its
    variable) used to keep its retry step as a closure, so no snapshot could be written while it was
    open ("Can't pickle local object"), and every restart replayed the whole log. Resolving it after
    a restart from the snapshot still retries the step (Camunda docs, "Incidents" → "Resolving
    incidents": the failed step is retried once the cause is fixed)."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock)
    await deploy(engine, NEEDS_A_KIND)
    deep: dict[str, object] = {}
    for _ in range(strict_json.MAX_NESTING_DEPTH - 2):  # at the gateway's limit with the root document
        deep = {"v": deep}
    created = await engine.create_process_instance(bpmn_process_id="needs-a-kind", variables={"deep": deep})
    [incident] = engine.state.incidents.values()
    assert incident.retry is not None
    before = fingerprint(engine)
    await engine.close()

    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    assert reopened.snapshot_commands == 2 and reopened.replayed_commands == 0
    assert fingerprint(reopened) == before
    await reopened.set_variables(created.process_instance_key, {"kind": "packing"}, local=False)
    await reopened.resolve_incident(incident.key)
    [job] = await activate(reopened, "packing")
    assert job.variables["deep"] == deep
    await reopened.close()


async def test_a_snapshot_holds_the_explicit_engine_state_only(tmp_path: Path) -> None:
    """What a snapshot pickles is :class:`EngineState`'s runtime part: its typed records and plain data,
    never a behaviour, a closure or an attribute of some processor object (which a deny-list used to
    filter). Taken with incidents open: a job out of retries and a failed activation step."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock)
    await build_state(engine)  # leaves a JOB_NO_RETRIES incident open
    await deploy(engine, NEEDS_A_KIND)
    await engine.create_process_instance(bpmn_process_id="needs-a-kind")  # an activation step's incident
    assert {i.error_type for i in engine.state.incidents.values()} == {"JOB_NO_RETRIES", "EXTRACT_VALUE_ERROR"}
    await engine.close()

    data = (tmp_path / "d" / snapshot.SNAPSHOT_FILE).read_bytes()
    body = data[data.index(b"\n", data.index(b"\n") + 1) + 1 :]
    classes: set[tuple[str, str]] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            classes.add((module, name))
            return super().find_class(module, name)

        def persistent_load(self, pid: Any) -> Any:
            return pid  # a deployed process, element or flow, by identity

    runtime = Recording(io.BytesIO(body)).load()
    assert set(runtime) == {f.name for f in fields(EngineState)} - DEPLOYMENT_FIELDS
    model = "procgov_engine.core.state.model"
    assert {module for module, _ in classes} <= {model, "procgov_engine.core.state", "builtins"}
    assert (model, "RetryStep") in classes and (model, "Incident") in classes
