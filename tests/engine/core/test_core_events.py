"""Timers, messages and signals.

docs.camunda.io/docs/components/modeler/bpmn/timer-events/ (date, duration, cycle; boundary
interrupting and non-interrupting), docs.camunda.io/docs/components/concepts/messages/ (correlation,
TTL buffering, message id uniqueness, message start events), docs.camunda.io/docs/components/concepts/signals/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from core_helpers import START, activate, active, bpmn, chain, complete_one, deploy, passed, service, state

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine


def timer_catch(element_id: str, kind: str, value: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{element_id}"><bpmn:timerEventDefinition>'
        f"<bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )


def message_defs(name: str = "approved", key: str = "= orderId") -> str:
    return (
        f'<bpmn:message id="msg" name="{name}"><bpmn:extensionElements>'
        f'<zeebe:subscription correlationKey="{key}" /></bpmn:extensionElements></bpmn:message>'
    )


async def test_intermediate_timer_duration(engine: Engine) -> None:
    """timer-events#timer-intermediate-catch-events: a duration waits from activation."""
    await deploy(
        engine,
        bpmn(
            '<bpmn:startEvent id="s" />'
            + timer_catch("wait", "timeDuration", "PT1H")
            + '<bpmn:endEvent id="e" />'
            + chain("s", "wait", "e")
        ),
    )
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await engine.increase_time(timedelta(minutes=59))
    assert state(engine, pik) == "ACTIVE"
    await engine.increase_time(timedelta(minutes=2))
    assert state(engine, pik) == "COMPLETED"


async def test_intermediate_timer_date_and_feel_duration(engine: Engine) -> None:
    """timer-events#time-date and FEEL expressions returning durations."""
    date = (START + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="fork" />'
        + timer_catch("t_date", "timeDate", date)
        + timer_catch("t_feel", "timeDuration", "= wait")
        + '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        + chain("s", "fork")
        + chain("fork", "t_date", "e1")
        + chain("fork", "t_feel", "e2")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"wait": "PT2H"})).process_instance_key
    await engine.increase_time(timedelta(hours=3))
    assert passed(engine, pik)[-2:] == ["t_feel", "e2"]
    await engine.increase_time(timedelta(hours=22))
    assert state(engine, pik) == "COMPLETED"


async def test_interrupting_timer_boundary_terminates_task(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:boundaryEvent id="late" attachedToRef="work"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        + service("escalate", "escalate")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "work", "e")
        + chain("late", "escalate", "e2")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    job = (await activate(engine, "work"))[0]
    await engine.increase_time(timedelta(days=1))
    with pytest.raises(Rejection) as info:
        await engine.complete_job(job.key)
    assert info.value.type is RejectionType.NOT_FOUND
    await complete_one(engine, "escalate")
    assert state(engine, pik) == "COMPLETED"


async def test_non_interrupting_cycle_boundary_fires_repeatedly(engine: Engine) -> None:
    """timer-events#time-cycle: R3/PT1H on a non-interrupting boundary fires three times, the task stays."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">'
        "<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>"
        "</bpmn:boundaryEvent>"
        + service("reminder", "reminder")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "work", "e")
        + chain("remind", "reminder", "e2")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    for _ in range(5):
        await engine.increase_time(timedelta(hours=1))
    reminders = await activate(engine, "reminder")
    assert len(reminders) == 3
    await complete_one(engine, "work")
    for job in reminders:
        await engine.complete_job(job.key)
    assert state(engine, pik) == "COMPLETED"


async def test_timer_start_event_cycle(engine: Engine) -> None:
    """timer-events#timer-start-events: R2/PT1M creates two instances, one a minute."""
    doc = bpmn(
        '<bpmn:startEvent id="s"><bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT1M</bpmn:timeCycle>'
        "</bpmn:timerEventDefinition></bpmn:startEvent>"
        + service("work", "tick")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
    )
    await deploy(engine, doc)
    for _ in range(4):
        await engine.increase_time(timedelta(minutes=1))
    assert len(await activate(engine, "tick")) == 2


async def test_message_catch_correlates_by_key(engine: Engine) -> None:
    """messages#message-correlation: name + correlation key; variables merge into the instance."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="e" />' + chain("s", "wait", "e"),
        extra=message_defs(),
    )
    await deploy(engine, doc)
    a = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})).process_instance_key
    b = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "B"})).process_instance_key
    await engine.publish_message(name="approved", correlation_key="B", time_to_live_ms=0, variables={"by": "lee"})
    assert state(engine, a) == "ACTIVE" and state(engine, b) == "COMPLETED"
    assert engine.query.instance_variables(b)["by"] == "lee"


async def test_buffered_message_correlates_later_and_expires(engine: Engine) -> None:
    """messages#message-buffering: a message with TTL waits for a subscription; after the TTL it is gone."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("prepare", "prepare")
        + '<bpmn:receiveTask id="wait" messageRef="msg" /><bpmn:endEvent id="e" />'
        + chain("s", "prepare", "wait", "e"),
        extra=message_defs(),
    )
    await deploy(engine, doc)
    await engine.publish_message(name="approved", correlation_key="A", time_to_live_ms=60_000)
    a = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})).process_instance_key
    await complete_one(engine, "prepare")
    assert state(engine, a) == "COMPLETED"
    await engine.publish_message(name="approved", correlation_key="B", time_to_live_ms=60_000)
    await engine.increase_time(timedelta(minutes=2))
    b = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "B"})).process_instance_key
    await complete_one(engine, "prepare")
    assert state(engine, b) == "ACTIVE"
    assert active(engine, b) == ["wait"]


async def test_message_id_is_unique_while_buffered(engine: Engine) -> None:
    """messages#message-uniqueness: same id while the first is buffered → ALREADY_EXISTS."""
    await engine.publish_message(name="m", correlation_key="k", time_to_live_ms=10_000, message_id="id-1")
    with pytest.raises(Rejection) as info:
        await engine.publish_message(name="m", correlation_key="k", time_to_live_ms=10_000, message_id="id-1")
    assert info.value.type is RejectionType.ALREADY_EXISTS
    await engine.increase_time(timedelta(seconds=11))
    await engine.publish_message(name="m", correlation_key="k", time_to_live_ms=10_000, message_id="id-1")


async def test_message_correlates_once_per_process(engine: Engine) -> None:
    """messages#message-cardinality: a buffered message is correlated at most once per process id."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="e" />' + chain("s", "wait", "e"),
        extra=message_defs(),
    )
    await deploy(engine, doc)
    await engine.publish_message(name="approved", correlation_key="A", time_to_live_ms=60_000)
    first = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})).process_instance_key
    second = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})
    ).process_instance_key
    assert state(engine, first) == "COMPLETED" and state(engine, second) == "ACTIVE"


async def test_message_start_event_one_instance_per_correlation_key(engine: Engine) -> None:
    """messages#message-start-events: a message start creates an instance; while it runs, another
    message with the same correlation key is buffered, not a second instance."""
    doc = bpmn(
        '<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="msg" /></bpmn:startEvent>'
        + service("work", "work")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e"),
        extra='<bpmn:message id="msg" name="change-requested" />',
    )
    await deploy(engine, doc)
    await engine.publish_message(
        name="change-requested", correlation_key="P-1", time_to_live_ms=60_000, variables={"n": 1}
    )
    await engine.publish_message(
        name="change-requested", correlation_key="P-1", time_to_live_ms=60_000, variables={"n": 2}
    )
    jobs = await activate(engine, "work")
    assert [j.variables["n"] for j in jobs] == [1]
    await engine.complete_job(jobs[0].key)
    jobs = await activate(engine, "work")
    assert [j.variables["n"] for j in jobs] == [2]


async def test_message_boundary_non_interrupting(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:boundaryEvent id="note" attachedToRef="work" cancelActivity="false">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:boundaryEvent>'
        + service("log", "log")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "work", "e")
        + chain("note", "log", "e2"),
        extra=message_defs(),
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})).process_instance_key
    await engine.publish_message(name="approved", correlation_key="A", time_to_live_ms=0)
    await complete_one(engine, "log")
    assert active(engine, pik) == ["work"]


async def test_signal_catch_and_start(engine: Engine) -> None:
    """signals: a broadcast triggers every catching subscription and signal start event."""
    signal = '<bpmn:signal id="sig" name="freeze" />'
    catcher = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:signalEventDefinition signalRef="sig" /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="e" />' + chain("s", "wait", "e"),
        "catcher",
        extra=signal,
    )
    starter = bpmn(
        '<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="sig" /></bpmn:startEvent>'
        + service("work", "on-freeze")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e"),
        "starter",
        extra=signal,
    )
    await deploy(engine, catcher, starter)
    pik = (await engine.create_process_instance(bpmn_process_id="catcher")).process_instance_key
    await engine.broadcast_signal("freeze", {"why": "audit"})
    assert state(engine, pik) == "COMPLETED"
    jobs = await activate(engine, "on-freeze")
    assert len(jobs) == 1 and jobs[0].variables == {"why": "audit"}


async def test_event_based_gateway_first_event_wins(engine: Engine) -> None:
    """event-based-gateways: the first triggered event continues, the others are closed."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:eventBasedGateway id="g" />'
        '<bpmn:intermediateCatchEvent id="reply"><bpmn:messageEventDefinition messageRef="msg" />'
        "</bpmn:intermediateCatchEvent>"
        + timer_catch("timeout", "timeDuration", "PT10M")
        + '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        + chain("s", "g")
        + chain("g", "reply", "e1")
        + chain("g", "timeout", "e2"),
        extra=message_defs(),
    )
    await deploy(engine, doc)
    a = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})).process_instance_key
    b = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "B"})).process_instance_key
    await engine.publish_message(name="approved", correlation_key="A", time_to_live_ms=0, variables={"ok": True})
    await engine.increase_time(timedelta(minutes=11))
    assert passed(engine, a)[-2:] == ["reply", "e1"]
    assert passed(engine, b)[-2:] == ["timeout", "e2"]
    assert engine.query.instance_variables(a)["ok"] is True


async def test_restart_keeps_timers_and_buffered_messages(tmp_path: Path) -> None:
    """After a restart, timers and buffered messages are there exactly once."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock)
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + timer_catch("wait", "timeDuration", "PT1H")
        + '<bpmn:receiveTask id="recv" messageRef="msg" /><bpmn:endEvent id="e" />'
        + chain("s", "wait", "recv", "e"),
        extra=message_defs(),
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"orderId": "A"})).process_instance_key
    await engine.publish_message(name="approved", correlation_key="A", time_to_live_ms=7_200_000)
    # crash: no close; a fresh clock so that the abandoned engine no longer reacts
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    await reopened.increase_time(timedelta(hours=1))
    assert state(reopened, pik) == "COMPLETED"
    triggered = list(reopened.query.records(value_type="TIMER", intent="TRIGGERED"))
    assert len(triggered) == 1
    await reopened.close()
