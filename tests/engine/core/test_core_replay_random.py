"""Replay determinism under random workloads: whatever sequence of commands ran, reopening the data
directory gives back the same live state (state is the fold of the log).

Seeded pseudo-random drives over the restart test's mixed model (jobs, failures with back-off,
incidents and their resolution, thrown errors, timers, buffered messages, variables, cancellations).
"""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from core_helpers import START, bpmn, chain, deploy, service
from test_core_restart import MIXED, fingerprint

from procgov_engine.api import Rejection
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine

WITH_ERROR = bpmn(
    '<bpmn:startEvent id="s" />'
    + service("risky", "risky")
    + '<bpmn:boundaryEvent id="caught" attachedToRef="risky"><bpmn:errorEventDefinition errorRef="err" />'
    "</bpmn:boundaryEvent>"
    + service("repair", "repair")
    + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
    + chain("s", "risky", "e")
    + chain("caught", "repair", "e2"),
    "fragile",
    extra='<bpmn:error id="err" errorCode="BROKEN" />',
)
TYPES = ["work", "nudge", "review", "risky", "repair"]


async def drive(engine: Engine, rng: random.Random, steps: int) -> None:
    instances: list[int] = []
    for _ in range(steps):
        action = rng.choice(["create", "create", "job", "job", "job", "time", "message", "resolve", "cancel", "vars"])
        try:
            if action == "create":
                process = rng.choice(["p", "fragile"])
                created = await engine.create_process_instance(
                    bpmn_process_id=process,
                    variables={"orderId": rng.choice("ABC"), "reviewers": ["x"] * rng.randint(0, 3)},
                )
                instances.append(created.process_instance_key)
            elif action == "job":
                jobs = await engine.activate_jobs(
                    job_type=rng.choice(TYPES), worker="w", timeout_ms=rng.choice([1_000, 600_000]), max_jobs=2
                )
                for job in jobs:
                    roll = rng.random()
                    if roll < 0.5:
                        await engine.complete_job(job.key, {"ok": rng.random() < 0.5, "n": rng.randint(0, 9)})
                    elif roll < 0.7:
                        await engine.fail_job(
                            job.key,
                            retries=rng.randint(0, 2),
                            error_message="flaky",
                            retry_backoff_ms=rng.choice([0, 5_000]),
                        )
                    elif roll < 0.85:
                        await engine.throw_error(job.key, error_code=rng.choice(["BROKEN", "OTHER"]))
            elif action == "time":
                await engine.increase_time(timedelta(seconds=rng.choice([1, 30, 600, 4_000])))
            elif action == "message":
                await engine.publish_message(
                    name="approved",
                    correlation_key=rng.choice("ABC"),
                    time_to_live_ms=rng.choice([0, 60_000]),
                    message_id=rng.choice(["", "m1", "m2"]),
                )
            elif action == "resolve" and engine.state.incidents:
                key = rng.choice(sorted(engine.state.incidents))
                incident = engine.state.incidents[key]
                if incident.job_key > 0:
                    await engine.update_job_retries(incident.job_key, 1)
                await engine.resolve_incident(key)
            elif action == "cancel" and instances:
                await engine.cancel_process_instance(rng.choice(instances))
            elif action == "vars" and instances:
                await engine.set_variables(
                    rng.choice(instances), {"note": rng.randint(0, 99)}, local=rng.random() < 0.5
                )
        except Rejection:
            pass  # rejected commands (a cancelled instance, a duplicate message id) are part of the workload


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_workload_replays_to_the_same_state(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=0)  # the whole log is replayed
    await deploy(engine, MIXED, WITH_ERROR)
    await drive(engine, rng, 150)
    before = fingerprint(engine)
    await engine.close()
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()), snapshot_every=0)
    try:
        assert reopened.replay_divergences == 0
        assert fingerprint(reopened) == before
        records = list(reopened.query.records())
        assert [r["position"] for r in records] == list(range(1, len(records) + 1))
        assert not [
            r for r in records if r["recordType"] == "COMMAND_REJECTION" and r["rejectionType"] == "PROCESSING_ERROR"
        ]
    finally:
        await reopened.close()


@pytest.mark.parametrize("seed", [4, 5, 6])
async def test_a_snapshot_restores_what_replaying_the_whole_log_gives(tmp_path: Path, seed: int) -> None:
    """Differential: the same data directory opened twice, once from its latest snapshot plus the
    commands after it, once by replaying the whole log; then the same further workload on both. Their
    state and every record they write must be identical (positions, keys and timestamps included)."""
    rng = random.Random(seed)
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "a", clock, snapshot_every=7)
    await deploy(engine, MIXED, WITH_ERROR)
    await drive(engine, rng, 150)
    assert engine._committer is not None
    engine._committer.wait_written()  # the last snapshot behind a batch is on disk; then "kill -9"
    shutil.copytree(tmp_path / "a", tmp_path / "b")

    restored = await Engine.open(tmp_path / "a", ControlledClock(clock.now()), snapshot_every=7)
    replayed = await Engine.open(tmp_path / "b", ControlledClock(clock.now()), snapshot_every=0)
    try:
        assert restored.snapshot_commands > 0 and replayed.snapshot_commands == 0
        assert restored.replayed_commands < replayed.replayed_commands
        assert fingerprint(restored) == fingerprint(replayed)
        last_old = restored.writer.position
        for opened in (restored, replayed):
            await drive(opened, random.Random(seed * 100), 100)
        assert fingerprint(restored) == fingerprint(replayed)
        new_records = [list(e.query.records(after_position=last_old)) for e in (restored, replayed)]
        assert len(new_records[0]) > 100
        assert new_records[0] == new_records[1]
    finally:
        await restored.close()
        await replayed.close()
