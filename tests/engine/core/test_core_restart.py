"""Restart: the state after reopening is the state before (the log is the truth).

Zeebe's model (docs.camunda.io/docs/components/zeebe/technical-concepts/internal-processing/#state):
state is rebuilt from the log; here the engine replays its command log on open. Both a clean close and
a crash (the engine dropped without close, as kill -9 would) must give back the same jobs with their
deadlines, timers, buffered messages, incidents and variables, exactly once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from core_helpers import START, activate, bpmn, chain, deploy, service

from procgov_engine.clock import ControlledClock, SystemClock
from procgov_engine.core import Engine

MSG = (
    '<bpmn:message id="msg" name="approved"><bpmn:extensionElements>'
    '<zeebe:subscription correlationKey="= orderId" /></bpmn:extensionElements></bpmn:message>'
)

MIXED = bpmn(
    '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="fork" />'
    + service("work", "work")
    + '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false"><bpmn:timerEventDefinition>'
    "<bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    + service("nudge", "nudge")
    + '<bpmn:receiveTask id="recv" messageRef="msg" />'
    + '<bpmn:serviceTask id="review"><bpmn:extensionElements><zeebe:taskDefinition type="review" />'
    "</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>"
    '<zeebe:loopCharacteristics inputCollection="= reviewers" inputElement="reviewer" outputCollection="out" '
    'outputElement="= ok" /></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>'
    '<bpmn:parallelGateway id="join" /><bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
    + chain("s", "fork")
    + chain("fork", "work", "join")
    + chain("fork", "recv", "join")
    + chain("fork", "review", "join")
    + chain("join", "e")
    + chain("late", "nudge", "e2"),
    extra=MSG,
)


def fingerprint(engine: Engine) -> dict[str, Any]:
    """Everything alive in the engine, in comparable form."""
    p = engine.state
    return {
        "position": engine.writer.position,
        "keys": engine.writer.key_counter,
        "instances": sorted((i.key, i.element.id, i.element_type, i.state) for i in p.instances.values()),
        "jobs": sorted(
            (j.key, j.type, j.state, j.retries, j.deadline, j.recurring_time, j.worker) for j in p.jobs.values()
        ),
        "activatable": {t: list(b) for t, b in p.activatable.items() if b},
        "timers": sorted((t.key, t.due, t.repetitions, t.element_id) for t in p.timers.values()),
        "messages": sorted(
            (m.key, m.name, m.correlation_key, m.deadline, sorted(m.correlated_processes)) for m in p.messages.values()
        ),
        "subscriptions": sorted((s.key, s.name, s.correlation_key, s.owner.key) for s in p.subscriptions.values()),
        "incidents": sorted((i.key, i.error_type, i.error_message) for i in p.incidents.values()),
        "variables": {k: dict(v) for k, v in p.variables.values.items()},
    }


async def build_state(engine: Engine) -> None:
    await deploy(engine, MIXED)
    for order in ("A", "B"):
        await engine.create_process_instance(
            bpmn_process_id="p", variables={"orderId": order, "reviewers": ["ann", "bo"]}
        )
    await engine.publish_message(name="approved", correlation_key="B", time_to_live_ms=7_200_000, message_id="m1")
    await engine.publish_message(name="approved", correlation_key="C", time_to_live_ms=7_200_000)
    reviews = await activate(engine, "review", timeout_ms=300_000)
    await engine.complete_job(reviews[0].key, {"ok": True})
    await engine.fail_job(reviews[1].key, retries=0, error_message="reviewer unknown")
    await engine.fail_job(reviews[2].key, retries=2, error_message="busy", retry_backoff_ms=600_000)
    await engine.increase_time(timedelta(minutes=61))
    await activate(engine, "work", max_jobs=1, timeout_ms=120_000)


@pytest.mark.parametrize(
    ("crash", "snapshot_every"),
    [(False, 0), (True, 0), (False, 100_000), (True, 5)],
    ids=["close-replay", "crash-replay", "close-snapshot", "crash-snapshot-every-5"],
)
async def test_reopen_gives_the_same_state(tmp_path: Path, crash: bool, snapshot_every: int) -> None:
    """Whether state comes from replaying the whole log or from a snapshot (engine/core/snapshot.py)
    plus the commands after it, it is the same."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=snapshot_every)
    await build_state(engine)
    before = fingerprint(engine)
    assert before["incidents"] and before["timers"] and before["messages"] and before["subscriptions"]
    if not crash:
        await engine.close()
    else:
        assert engine._committer is not None
        engine._committer.wait_written()  # a snapshot behind the last batch is on disk (kill -9 after it)
    # a fresh clock at the same moment: the crashed engine must not see the clock move any more
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()), snapshot_every=snapshot_every)
    assert fingerprint(reopened) == before
    assert reopened.replay_divergences == 0
    if snapshot_every == 0:
        assert reopened.snapshot_commands == 0 and reopened.replayed_commands > 10
    elif crash:  # the latest snapshot behind a batch, then the commands after it
        assert reopened.snapshot_commands > 10 and reopened.replayed_commands < 5
    else:  # the snapshot written on close covers everything
        assert reopened.snapshot_commands > 10 and reopened.replayed_commands == 0
    # and it carries on from there exactly once: the back-off and the job time-out fire after reopening
    await reopened.increase_time(timedelta(minutes=10))
    assert len(await activate(reopened, "review")) == 2  # the back-off elapsed, the other job timed out
    assert len(await activate(reopened, "work")) == 2  # the activated one timed out (2 min)
    positions = [r["position"] for r in reopened.query.records()]
    assert positions == list(range(1, len(positions) + 1))
    await reopened.close()


async def test_system_clock_fires_timers_without_being_told(tmp_path: Path) -> None:
    """On the system clock a loop timer wakes the engine for the next due timer (no polling)."""
    engine = await Engine.open(tmp_path / "d", SystemClock())
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT0.2S</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
        + service("after", "after")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "t", "after", "e")
    )
    await deploy(engine, doc)
    await engine.create_process_instance(bpmn_process_id="p")
    assert await engine.wait_for_jobs("after", 5) is True
    assert len(await activate(engine, "after")) == 1
    await engine.close()
