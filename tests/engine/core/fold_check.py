"""The fold check of the engine core tests: reopen a copy of an engine's log with no snapshot and compare
everything alive in it with the live engine (``deep_state``). A module of its own, not conftest, so that
tests import it by a name no other test folder's conftest shadows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core_helpers import START

from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine
from procgov_engine.core.state import ElementInstance, RetryStep


def _instance(i: ElementInstance) -> tuple[Any, ...]:
    return (
        i.key,
        i.element.id,
        i.element_type,
        i.state,
        sorted(i.children),
        repr(i.join_tokens),
        i.interrupted,
        i.job_key,
        sorted(i.timer_keys),
        sorted(i.subscription_keys),
        sorted(i.signal_keys),
        i.called_instance_key,
        i.incident_key,
        i.triggered,
        repr(i.event_trigger),
        i.temp_variables or None,
        (i.mi_next, i.mi_completed, i.loop_counter, i.listener_index),
        ([(e.id, nested) for e, nested in i.compensable or []], i.compensation_pending, i.compensation_throw_key),
        (i.parent_process_instance_key, i.parent_element_instance_key),
    )


def _retry(retry: RetryStep | None) -> Any:
    if retry is None:
        return None

    def arg(a: Any) -> Any:
        if isinstance(a, ElementInstance):
            return a.key
        if isinstance(a, list):
            return [e.id for e in a]
        return a

    return (retry.method, [arg(a) for a in retry.args])


def deep_state(engine: Engine) -> dict[str, Any]:
    """Everything alive in the engine, in comparable form (stale due dates left out)."""
    s = engine.state
    valid = engine.processing.behaviours.due._valid
    return {
        "position": engine.writer.position,
        "keys": engine.writer.key_counter,
        "instances": sorted(_instance(i) for i in s.instances.values()),
        "jobs": sorted(
            (j.key, j.type, j.state, j.retries, j.deadline, j.worker, j.error_message, j.error_code, j.kind)
            for j in s.jobs.values()
        ),
        "job_links": sorted(
            (j.key, j.retry_backoff, j.recurring_time, j.incident_key, j.element_instance.key) for j in s.jobs.values()
        ),
        "activatable": {t: list(b) for t, b in s.activatable.items() if b},
        "timers": sorted(
            (t.key, t.due, t.repetitions, t.element_id, t.element_instance.key if t.element_instance else -1)
            for t in s.timers.values()
        ),
        "start_timers": {k: v for k, v in s.start_timers.items() if v},
        "due": sorted((due, kind, key) for due, _, kind, key in s.due if valid(due, kind, key)),
        "messages": sorted((m.key, m.deadline, sorted(m.correlated_processes)) for m in s.messages.values()),
        "subscriptions": sorted(
            (x.key, x.name, x.correlation_key, x.owner.key, x.catch.id) for x in s.subscriptions.values()
        ),
        "signals": sorted(
            (x.key, x.name, x.owner.key if x.owner else -1, x.catch.id)
            for subs in s.signal_subs.values()
            for x in subs.values()
        ),
        "message_starts": {k: [(p.key, e.id) for p, e in v] for k, v in s.message_starts.items() if v},
        "message_start_keys": dict(s.message_start_keys),
        "incidents": sorted(
            (i.key, i.error_type, i.element_instance.key, i.job_key, repr(_retry(i.retry)))
            for i in s.incidents.values()
        ),
        "user_tasks": sorted((t.key, t.state, repr(t.values), repr(t.transition)) for t in s.user_tasks.values()),
        "variables": {k: dict(v) for k, v in s.variables.values.items()},
        "processes": sorted(s.processes_by_key),
        "by_deployment": {k: sorted(p.key for p in v.values()) for k, v in s.processes_by_deployment.items()},
    }


def _copy_log(source: Path, target: Path) -> None:
    target.mkdir()
    for name in ("records.db", "records.db-wal"):
        if (source / name).exists():
            shutil.copy(source / name, target / name)


async def assert_the_fold_gives_the_live_state(engine: Engine, copy: Path) -> None:
    """Reopen a copy of ``engine``'s committed log without a snapshot; its state must equal the live one."""
    before = deep_state(engine)
    engine._flush_now()
    _copy_log(engine.data_dir, copy)
    folded = await Engine.open(copy, ControlledClock(START), snapshot_every=0)
    try:
        after = deep_state(folded)
    finally:
        await folded.close()
    assert {k: (v, after[k]) for k, v in before.items() if v != after[k]} == {}
