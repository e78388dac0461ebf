"""``canceling`` user task listeners (Camunda 8.8): the termination of a user task's element waits for them.

Camunda docs (8.8), components/concepts/user-task-listeners ("User task listeners": Supported events
(canceling: "Triggered when a user task is canceled, e.g. by an interrupting boundary event or the process
instance's cancellation"), Blocking behavior, Deny a state transition, Correct user task data, Incidents),
and the termination paths of components/modeler/bpmn/timer-events (interrupting boundary), message-events,
event-subprocesses, terminate-events and concepts/process-instance-creation ("Cancel process instance").
Records: Zeebe 8.8's USER_TASK CANCELING → TASK_LISTENER jobs of listenerEventType CANCELING → CANCELED, then
the element's ELEMENT_TERMINATED (Zeebe's CONTINUE_TERMINATING_ELEMENT, camunda/camunda#30797).

Every test's engine is also reopened from a copy of its log while the canceling listener's job runs and at
its end (tests/engine/core/conftest.py): the fold of the events gives the live state, the waiting
termination and its event trigger included.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from core_helpers import START, activate, bpmn, chain, deploy, state
from fold_check import assert_the_fold_gives_the_live_state
from test_core_user_tasks import intents, listener_job, listeners, only_task, rejected, user_task

from procgov_engine.api import RejectionType
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine


async def farewell_job(engine: Engine, job_type: str = "farewell") -> Any:
    """The canceling listener's job, activated; the fold of the log so far (reopened from a copy with no
    snapshot) gives the live state, the waiting termination and its event trigger included."""
    job = await listener_job(engine, job_type)
    await fold_now(engine)
    return job


async def fold_now(engine: Engine) -> None:
    with tempfile.TemporaryDirectory(prefix="canceling-") as copy:
        await assert_the_fold_gives_the_live_state(engine, Path(copy) / "log")


def element_intents(engine: Engine, pik: int, element_id: str) -> list[str]:
    return [
        r["intent"]
        for r in engine.query.records(value_type="PROCESS_INSTANCE", process_instance_key=pik)
        if r["recordType"] == "EVENT" and r["value"]["elementId"] == element_id
    ]


def with_boundary(inner: str, definition: str, *, extra: str = "") -> bytes:
    """start → task (with ``inner``) → end, and an interrupting boundary event ``late`` → ``escalated``."""
    return bpmn(
        '<bpmn:startEvent id="start" />'
        + user_task(inner=inner)
        + f'<bpmn:boundaryEvent id="late" attachedToRef="task">{definition}</bpmn:boundaryEvent>'
        '<bpmn:endEvent id="end" /><bpmn:endEvent id="escalated" />'
        + chain("start", "task", "end")
        + chain("late", "escalated"),
        extra=extra,
    )


TIMER = "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"
MESSAGE = '<bpmn:messageEventDefinition messageRef="m" />'
MESSAGE_DEF = (
    '<bpmn:message id="m" name="stop"><bpmn:extensionElements><zeebe:subscription correlationKey="=id" />'
    "</bpmn:extensionElements></bpmn:message>"
)


async def test_an_interrupting_timer_waits_for_the_canceling_listener_then_takes_its_flow(
    engine: Engine, clock: ControlledClock
) -> None:
    """user-task-listeners § Supported events (canceling) and § Blocking behavior, timer-events (interrupting
    boundary): the task is CANCELING and its element TERMINATING while the canceling listener's job (kind
    TASK_LISTENER, event CANCELING) runs; the boundary event is activated only once the job completed, after
    CANCELED and ELEMENT_TERMINATED."""
    await deploy(engine, with_boundary(listeners(("canceling", "farewell")), TIMER))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    task = only_task(engine, pik)
    await engine.increase_time(timedelta(hours=2))
    assert intents(engine, pik) == ["CREATING", "CREATED", "CANCELING"]
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATING"
    assert element_intents(engine, pik, "late") == []
    assert state(engine, pik) == "ACTIVE"
    assert only_task(engine, pik).state == "CANCELING"
    job = await farewell_job(engine)
    assert (job.kind, job.listener_event_type) == ("TASK_LISTENER", "CANCELING")
    assert job.custom_headers["io.camunda.zeebe:userTaskKey"] == str(task.key)
    await engine.complete_job(job.key, {})
    assert intents(engine, pik) == ["CREATING", "CREATED", "CANCELING", "CANCELED"]
    assert element_intents(engine, pik, "task")[-2:] == ["ELEMENT_TERMINATING", "ELEMENT_TERMINATED"]
    assert element_intents(engine, pik, "late")[0] == "ELEMENT_ACTIVATING"
    assert element_intents(engine, pik, "escalated")[-1] == "ELEMENT_COMPLETED"
    assert element_intents(engine, pik, "end") == []
    assert state(engine, pik) == "COMPLETED"
    assert only_task(engine, pik).state == "CANCELED"


async def test_cancel_process_instance_waits_for_the_canceling_listener(engine: Engine) -> None:
    """user-task-listeners § Supported events (canceling: the process instance is canceled): the cancel
    command is accepted, the instance stays TERMINATING until the canceling listener's job completed (a
    second cancel is rejected, as Zeebe rejects one for an instance that is no longer active); then the task
    is CANCELED and the instance TERMINATED."""
    await deploy(engine, with_boundary(listeners(("canceling", "farewell")), TIMER))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.cancel_process_instance(pik)
    assert state(engine, pik) == "ACTIVE"
    assert element_intents(engine, pik, "p")[-1] == "ELEMENT_TERMINATING"
    job = await farewell_job(engine)
    again = await rejected(engine.cancel_process_instance(pik))  # as Zeebe: a terminating one cannot be canceled
    assert again.type == RejectionType.NOT_FOUND
    assert again.reason == f"Expected to cancel a process instance with key '{pik}', but no such process was found"
    await engine.complete_job(job.key, {})
    assert intents(engine, pik)[-2:] == ["CANCELING", "CANCELED"]
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATED"
    assert element_intents(engine, pik, "p")[-1] == "ELEMENT_TERMINATED"
    assert element_intents(engine, pik, "late") == []
    assert state(engine, pik) == "TERMINATED"


async def test_two_canceling_listeners_run_one_after_the_other(engine: Engine, clock: ControlledClock) -> None:
    """user-task-listeners § Blocking behavior ("If multiple user task listeners of the same eventType are
    defined, they run in the order they are defined"): the second canceling listener's job is created once the
    first completed; the element terminates after the last."""
    await deploy(engine, with_boundary(listeners(("canceling", "first"), ("canceling", "second")), TIMER))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.increase_time(timedelta(hours=2))
    assert await activate(engine, "second") == []
    first = await farewell_job(engine, "first")
    await engine.complete_job(first.key, {})
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATING"
    [second] = await activate(engine, "second")
    assert second.listener_event_type == "CANCELING"
    await engine.complete_job(second.key, {})
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATED"
    assert state(engine, pik) == "COMPLETED"
    commands = [
        r["intent"]
        for r in engine.query.records(value_type="USER_TASK", process_instance_key=pik)
        if r["recordType"] == "COMMAND"
    ]
    assert commands == ["COMPLETE_TASK_LISTENER", "COMPLETE_TASK_LISTENER"]


async def test_a_canceling_listener_without_retries_is_an_incident_and_resolving_goes_on(
    engine: Engine, clock: ControlledClock
) -> None:
    """user-task-listeners § Incidents: a canceling listener's job that runs out of retries raises a
    TASK_LISTENER_NO_RETRIES incident on the terminating element; with retries given back and the incident
    resolved, the job runs again and the termination goes on."""
    await deploy(engine, with_boundary(listeners(("canceling", "farewell")), TIMER))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.increase_time(timedelta(hours=2))
    job = await farewell_job(engine)
    await engine.fail_job(job.key, retries=0, error_message="listener down")
    [incident] = engine.query.incidents(pik, active_only=True)
    assert incident.error_type == "TASK_LISTENER_NO_RETRIES" and incident.error_message == "listener down"
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATING"
    await fold_now(engine)
    await engine.update_job_retries(job.key, 1)
    await engine.resolve_incident(incident.key)
    [again] = await activate(engine, "farewell")
    assert again.key == job.key
    await engine.complete_job(again.key, {})
    assert engine.query.incidents(pik, active_only=True) == []
    assert state(engine, pik) == "COMPLETED"
    assert element_intents(engine, pik, "escalated")[-1] == "ELEMENT_COMPLETED"


async def test_a_canceling_listener_cannot_deny_and_its_corrections_do_not_stop_the_cancellation(
    engine: Engine, clock: ControlledClock
) -> None:
    """user-task-listeners § Deny a state transition: only assigning, updating and completing listeners can
    deny; Zeebe's JobCompleteProcessor rejects a denying result of a canceling listener's job with
    INVALID_ARGUMENT ("Denying result is not supported for 'CANCELING' task listener jobs … Only the
    following listener event types support denying: [ASSIGNING, COMPLETING, UPDATING].") and nothing
    changes. § Correct user task data: neither the JobCompleteProcessor nor the UserTaskProcessor (its
    COMPLETE_TASK_LISTENER writes CORRECTED whatever the task's lifecycle state) refuses corrections of a
    canceling listener; they are taken (CORRECTED) into the CANCELED task and the cancellation goes on."""
    await deploy(engine, with_boundary(listeners(("canceling", "farewell")), TIMER))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.increase_time(timedelta(hours=2))
    job = await farewell_job(engine)
    denial = await rejected(engine.complete_job(job.key, {}, result={"denied": True, "deniedReason": "no"}))
    assert denial.type == RejectionType.INVALID_ARGUMENT
    assert denial.reason == (
        f"Denying result is not supported for 'CANCELING' task listener jobs (job key '{job.key}', type "
        f"'farewell', processInstanceKey '{pik}'). Only the following listener event types support denying: "
        "[ASSIGNING, COMPLETING, UPDATING]."
    )
    assert intents(engine, pik) == ["CREATING", "CREATED", "CANCELING"]
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATING"
    await engine.complete_job(job.key, {}, result={"corrections": {"priority": 7}})
    assert intents(engine, pik) == ["CREATING", "CREATED", "CANCELING", "CORRECTED", "CANCELED"]
    [canceled] = [
        r for r in engine.query.records(value_type="USER_TASK", process_instance_key=pik) if r["intent"] == "CANCELED"
    ]
    assert canceled["value"]["priority"] == 7
    assert state(engine, pik) == "COMPLETED"


async def test_an_interrupting_event_sub_process_starts_once_the_canceling_listener_ran(engine: Engine) -> None:
    """event-subprocesses (interrupting message start) and user-task-listeners § Blocking behavior: the
    scope's children are terminated first; the event sub-process is activated, with the message's variables,
    once the task's canceling listener completed."""
    document = bpmn(
        '<bpmn:startEvent id="start" />'
        + user_task(inner=listeners(("canceling", "farewell")))
        + '<bpmn:endEvent id="end" />'
        + chain("start", "task", "end")
        + '<bpmn:subProcess id="stop" triggeredByEvent="true"><bpmn:startEvent id="stopped">'
        '<bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent><bpmn:endEvent id="stop_end" />'
        + chain("stopped", "stop_end")
        + "</bpmn:subProcess>",
        extra=MESSAGE_DEF,
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p", variables={"id": "x"})
    pik = created.process_instance_key
    await engine.publish_message(name="stop", correlation_key="x", variables={"why": "late"}, time_to_live_ms=0)
    assert element_intents(engine, pik, "stop") == []
    job = await farewell_job(engine)
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATED"
    assert element_intents(engine, pik, "stop")[-1] == "ELEMENT_COMPLETED"
    assert state(engine, pik) == "COMPLETED"
    why = [
        r["value"]["value"]
        for r in engine.query.records(value_type="VARIABLE", process_instance_key=pik)
        if r["value"]["name"] == "why"
    ]
    assert why == ['"late"']


async def test_a_terminate_end_event_completes_its_scope_once_the_canceling_listener_ran(engine: Engine) -> None:
    """terminate-events: a terminate end event terminates everything else in its scope, and the scope
    completes; with a canceling listener on a user task in a parallel branch, the process instance completes
    once that listener's job completed."""
    document = bpmn(
        '<bpmn:startEvent id="start" /><bpmn:parallelGateway id="fork" />'
        + user_task(inner=listeners(("canceling", "farewell")))
        + '<bpmn:endEvent id="end" /><bpmn:endEvent id="kill"><bpmn:terminateEventDefinition /></bpmn:endEvent>'
        + chain("start", "fork", "task", "end")
        + chain("fork", "kill")
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    job = await farewell_job(engine)
    assert element_intents(engine, pik, "kill")[-1] == "ELEMENT_COMPLETED"
    assert state(engine, pik) == "ACTIVE"
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATED"
    assert state(engine, pik) == "COMPLETED"


async def test_a_sub_process_boundary_waits_for_the_canceling_listener_inside(
    engine: Engine, clock: ControlledClock
) -> None:
    """timer-events (interrupting boundary on an embedded sub-process): the sub-process's termination
    terminates the user task inside; the sub-process stays TERMINATING until the task's canceling listener
    completed, then its boundary event's flow is taken."""
    document = bpmn(
        '<bpmn:startEvent id="start" /><bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start" />'
        + user_task(inner=listeners(("canceling", "farewell")))
        + '<bpmn:endEvent id="sub_end" />'
        + chain("sub_start", "task", "sub_end")
        + '</bpmn:subProcess><bpmn:boundaryEvent id="late" attachedToRef="sub">'
        + TIMER
        + '</bpmn:boundaryEvent><bpmn:endEvent id="end" /><bpmn:endEvent id="escalated" />'
        + chain("start", "sub", "end")
        + chain("late", "escalated")
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.increase_time(timedelta(hours=2))
    job = await farewell_job(engine)
    assert element_intents(engine, pik, "sub")[-1] == "ELEMENT_TERMINATING"
    assert element_intents(engine, pik, "late") == []
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATED"
    assert element_intents(engine, pik, "sub")[-1] == "ELEMENT_TERMINATED"
    assert element_intents(engine, pik, "escalated")[-1] == "ELEMENT_COMPLETED"
    assert state(engine, pik) == "COMPLETED"


@pytest.mark.parametrize("snapshot_every", [0, 1000], ids=["fold-of-the-log", "snapshot"])
async def test_a_restart_while_the_canceling_listener_runs_goes_on_with_the_termination(
    tmp_path: Path, snapshot_every: int
) -> None:
    """user-task-listeners § Blocking behavior, across a restart: the engine is closed while the canceling
    listener's job of a message-interrupted task runs; reopened from its log (folded, or from the snapshot
    written on close), the job completes and the boundary event takes its flow with the message's
    variables."""
    clock = ControlledClock(START)
    data = tmp_path / "d"
    engine = await Engine.open(data, clock, snapshot_every=snapshot_every)
    try:
        await deploy(engine, with_boundary(listeners(("canceling", "farewell")), MESSAGE, extra=MESSAGE_DEF))
        created = await engine.create_process_instance(bpmn_process_id="p", variables={"id": "x"})
        pik = created.process_instance_key
        await engine.publish_message(name="stop", correlation_key="x", variables={"why": "late"}, time_to_live_ms=0)
        job = await farewell_job(engine)
    finally:
        await engine.close()
    reopened = await Engine.open(data, ControlledClock(clock.now()), snapshot_every=snapshot_every)
    try:
        if snapshot_every:
            assert reopened.replayed_commands == 0
        assert only_task(reopened, pik).state == "CANCELING"
        assert element_intents(reopened, pik, "late") == []
        await reopened.complete_job(job.key, {})
        assert element_intents(reopened, pik, "task")[-1] == "ELEMENT_TERMINATED"
        assert element_intents(reopened, pik, "escalated")[-1] == "ELEMENT_COMPLETED"
        assert state(reopened, pik) == "COMPLETED"
        why: list[Any] = [
            r["value"]["value"]
            for r in reopened.query.records(value_type="VARIABLE", process_instance_key=pik)
            if r["value"]["name"] == "why"
        ]
        assert why == ['"late"']
    finally:
        await reopened.close()


def variable(engine: Engine, pik: int, name: str) -> list[str]:
    return [
        r["value"]["value"]
        for r in engine.query.records(value_type="VARIABLE", process_instance_key=pik)
        if r["value"]["name"] == name
    ]


async def test_an_interrupting_signal_boundary_waits_and_keeps_the_signal_variables(engine: Engine) -> None:
    """signal-events (interrupting boundary) and user-task-listeners § Blocking behavior: the boundary event
    that a broadcast triggered is activated after the canceling listener, in a later command, with the
    signal's variables."""
    await deploy(
        engine,
        with_boundary(
            listeners(("canceling", "farewell")),
            '<bpmn:signalEventDefinition signalRef="sg" />',
            extra='<bpmn:signal id="sg" name="go" />',
        ),
    )
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.broadcast_signal("go", {"reason": "recalled"})
    assert element_intents(engine, pik, "late") == []
    job = await farewell_job(engine)
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "escalated")[-1] == "ELEMENT_COMPLETED"
    assert variable(engine, pik, "reason") == ['"recalled"']
    assert state(engine, pik) == "COMPLETED"


def sub_process_with_task(throw: str, boundary: str, *, extra: str = "") -> bytes:
    """A sub-process with two branches, a user task with a canceling listener and ``throw``; an interrupting
    ``boundary`` on the sub-process leads to ``caught``."""
    return bpmn(
        '<bpmn:startEvent id="start" /><bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start" />'
        '<bpmn:parallelGateway id="fork" />'
        + user_task(inner=listeners(("canceling", "farewell")))
        + throw
        + '<bpmn:endEvent id="sub_end" />'
        + chain("sub_start", "fork", "task", "sub_end")
        + chain("fork", "thrower")
        + f'</bpmn:subProcess><bpmn:boundaryEvent id="on_it" attachedToRef="sub">{boundary}</bpmn:boundaryEvent>'
        '<bpmn:endEvent id="end" /><bpmn:endEvent id="caught" />'
        + chain("start", "sub", "end")
        + chain("on_it", "caught"),
        extra=extra,
    )


async def test_an_error_caught_on_the_sub_process_waits_for_the_canceling_listener_inside(engine: Engine) -> None:
    """error-events (catching errors: an interrupting error boundary event terminates the activity): a job's
    BPMN error caught by the sub-process's boundary terminates the sub-process, whose user task's canceling
    listener runs first; then the error boundary event's flow is taken."""
    document = sub_process_with_task(
        '<bpmn:serviceTask id="thrower"><bpmn:extensionElements><zeebe:taskDefinition type="work" />'
        "</bpmn:extensionElements></bpmn:serviceTask>",
        '<bpmn:errorEventDefinition errorRef="err" />',
        extra='<bpmn:error id="err" errorCode="BROKEN" />',
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    [work] = await activate(engine, "work")
    await engine.throw_error(work.key, error_code="BROKEN", variables={"cause": "disk"})
    assert element_intents(engine, pik, "sub")[-1] == "ELEMENT_TERMINATING"
    assert element_intents(engine, pik, "on_it") == []
    job = await farewell_job(engine)
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "sub")[-1] == "ELEMENT_TERMINATED"
    assert element_intents(engine, pik, "caught")[-1] == "ELEMENT_COMPLETED"
    assert variable(engine, pik, "cause") == ['"disk"']
    assert state(engine, pik) == "COMPLETED"


async def test_an_escalation_caught_on_the_sub_process_waits_for_the_canceling_listener_inside(
    engine: Engine,
) -> None:
    """escalation-events (an interrupting escalation boundary event on a sub-process): the escalation
    thrown inside terminates the sub-process; its boundary event is activated once the canceling listener of
    the user task inside completed."""
    document = sub_process_with_task(
        '<bpmn:intermediateThrowEvent id="thrower"><bpmn:escalationEventDefinition escalationRef="esc" />'
        "</bpmn:intermediateThrowEvent>",
        '<bpmn:escalationEventDefinition escalationRef="esc" />',
        extra='<bpmn:escalation id="esc" escalationCode="LATE" />',
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    job = await farewell_job(engine)
    assert element_intents(engine, pik, "sub")[-1] == "ELEMENT_TERMINATING"
    assert element_intents(engine, pik, "on_it") == []
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "caught")[-1] == "ELEMENT_COMPLETED"
    assert state(engine, pik) == "COMPLETED"


async def test_a_completion_condition_completes_the_body_once_the_canceling_listener_ran(engine: Engine) -> None:
    """multi-instance (completion condition: the remaining instances are terminated and the body
    completes): an inner user task with a canceling listener holds the body's completion until its job
    completed."""
    document = bpmn(
        '<bpmn:startEvent id="start" /><bpmn:userTask id="task"><bpmn:extensionElements><zeebe:userTask />'
        + listeners(("canceling", "farewell"))
        + "</bpmn:extensionElements>"
        '<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics '
        'inputCollection="= [1, 2]" inputElement="item" /></bpmn:extensionElements>'
        "<bpmn:completionCondition>= numberOfCompletedInstances &gt;= 1</bpmn:completionCondition>"
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask><bpmn:endEvent id="end" />'
        + chain("start", "task", "end")
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    first, _ = sorted((t for t in engine.query.user_tasks() if t.process_instance_key == pik), key=lambda t: t.key)
    await engine.complete_user_task(first.key, {})
    job = await farewell_job(engine)
    assert element_intents(engine, pik, "end") == []
    assert state(engine, pik) == "ACTIVE"
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "end")[-1] == "ELEMENT_COMPLETED"
    assert state(engine, pik) == "COMPLETED"


CHILD = bpmn(
    '<bpmn:startEvent id="cs" />'
    + user_task(inner=listeners(("canceling", "farewell")))
    + '<bpmn:endEvent id="ce" />'
    + chain("cs", "task", "ce"),
    "child",
)
PARENT = bpmn(
    '<bpmn:startEvent id="s" /><bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="child" /></bpmn:extensionElements></bpmn:callActivity>'
    '<bpmn:endEvent id="e" />' + chain("s", "call", "e"),
    "parent",
)


def instance_states(engine: Engine) -> dict[str, str]:
    return {v.bpmn_process_id: v.state for v in engine.query.process_instances()}


async def test_cancelling_a_parent_waits_for_the_canceling_listener_in_the_called_instance(engine: Engine) -> None:
    """call-activities (terminating the call activity terminates the called instance) and
    user-task-listeners § Supported events (canceling): the parent's cancellation waits until the canceling
    listener of the child's user task completed; then the child, the call activity and the parent are
    TERMINATED."""
    await deploy(engine, CHILD, PARENT)
    created = await engine.create_process_instance(bpmn_process_id="parent")
    pik = created.process_instance_key
    await engine.cancel_process_instance(pik)
    job = await farewell_job(engine)
    assert instance_states(engine) == {"parent": "ACTIVE", "child": "ACTIVE"}
    assert element_intents(engine, pik, "call")[-1] == "ELEMENT_TERMINATING"
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "call")[-1] == "ELEMENT_TERMINATED"
    assert instance_states(engine) == {"parent": "TERMINATED", "child": "TERMINATED"}


async def test_a_restart_while_a_cancelled_parent_waits_goes_on(tmp_path: Path) -> None:
    """user-task-listeners § Blocking behavior, across a restart from the fold of the log (no snapshot): a
    cancelled parent whose called instance's user task runs its canceling listener is TERMINATED once the
    job completes after the restart."""
    clock = ControlledClock(START)
    data = tmp_path / "d"
    engine = await Engine.open(data, clock, snapshot_every=0)
    try:
        await deploy(engine, CHILD, PARENT)
        created = await engine.create_process_instance(bpmn_process_id="parent")
        await engine.cancel_process_instance(created.process_instance_key)
        job = await farewell_job(engine)
    finally:
        await engine.close()
    reopened = await Engine.open(data, ControlledClock(clock.now()), snapshot_every=0)
    try:
        assert instance_states(reopened) == {"parent": "ACTIVE", "child": "ACTIVE"}
        assert reopened.state.jobs[job.key].listener_event_type == "CANCELING"  # still activated by "test"
        await reopened.complete_job(job.key, {})
        assert instance_states(reopened) == {"parent": "TERMINATED", "child": "TERMINATED"}
    finally:
        await reopened.close()


def with_signal_sub_process(body: str, *, extra: str = "") -> bytes:
    """``body`` beside an interrupting event sub-process started by the signal ``stop``."""
    return bpmn(
        body + '<bpmn:subProcess id="stop" triggeredByEvent="true"><bpmn:startEvent id="stopped">'
        '<bpmn:signalEventDefinition signalRef="stop_signal" /></bpmn:startEvent><bpmn:endEvent id="stop_end" />'
        + chain("stopped", "stop_end")
        + "</bpmn:subProcess>",
        extra='<bpmn:signal id="stop_signal" name="stop" />' + extra,
    )


async def test_a_signal_event_sub_process_waits_and_keeps_the_signal_variables(engine: Engine) -> None:
    """event-subprocesses (interrupting signal start) and signal-events: the event sub-process is activated
    with the broadcast's variables once the canceling listener of the task it interrupted completed."""
    body = (
        '<bpmn:startEvent id="start" />'
        + user_task(inner=listeners(("canceling", "farewell")))
        + '<bpmn:endEvent id="end" />'
        + chain("start", "task", "end")
    )
    await deploy(engine, with_signal_sub_process(body))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.broadcast_signal("stop", {"reason": "recalled"})
    assert element_intents(engine, pik, "stop") == []
    job = await farewell_job(engine)
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "stop")[-1] == "ELEMENT_COMPLETED"
    assert variable(engine, pik, "reason") == ['"recalled"']
    assert state(engine, pik) == "COMPLETED"


async def test_another_signal_ending_the_instance_does_not_start_the_signal_event_sub_process(
    engine: Engine,
) -> None:
    """terminate-events and event-subprocesses: a broadcast of another signal that leads to a terminate end
    event terminates the task (its canceling listener runs); the instance then completes, and its event
    sub-process, started by the signal ``stop`` only, is not activated."""
    body = (
        '<bpmn:startEvent id="start" /><bpmn:parallelGateway id="fork" />'
        + user_task(inner=listeners(("canceling", "farewell")))
        + '<bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="go_signal" />'
        '</bpmn:intermediateCatchEvent><bpmn:endEvent id="end" />'
        '<bpmn:endEvent id="kill"><bpmn:terminateEventDefinition /></bpmn:endEvent>'
        + chain("start", "fork", "task", "end")
        + chain("fork", "wait", "kill")
    )
    await deploy(engine, with_signal_sub_process(body, extra='<bpmn:signal id="go_signal" name="go" />'))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.broadcast_signal("go", {"reason": "done"})
    job = await farewell_job(engine)
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "stop") == []
    assert state(engine, pik) == "COMPLETED"


async def test_a_canceling_listener_type_that_cannot_be_evaluated_is_an_incident_and_resolving_goes_on(
    engine: Engine, clock: ControlledClock
) -> None:
    """user-task-listeners § Incidents: a canceling listener whose job type expression fails is an incident
    on the terminating element; once the variable is set and the incident resolved, the listener's job is
    created and, completed, lets the termination go on."""
    await deploy(engine, with_boundary(listeners(("canceling", "=listenerType")), TIMER))
    created = await engine.create_process_instance(bpmn_process_id="p")
    pik = created.process_instance_key
    await engine.increase_time(timedelta(hours=2))
    [incident] = engine.query.incidents(pik, active_only=True)
    assert element_intents(engine, pik, "task")[-1] == "ELEMENT_TERMINATING"
    await fold_now(engine)
    await engine.set_variables(pik, {"listenerType": "farewell"}, local=False)
    await engine.resolve_incident(incident.key)
    job = await farewell_job(engine)
    await engine.complete_job(job.key, {})
    assert element_intents(engine, pik, "escalated")[-1] == "ELEMENT_COMPLETED"
    assert state(engine, pik) == "COMPLETED"
