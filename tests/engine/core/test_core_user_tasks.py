"""Camunda user tasks (``zeebe:userTask``) and user task listeners in the engine, in-process.

Camunda docs (8.8): components/modeler/bpmn/user-tasks ("User tasks": Camunda user tasks, Assignments,
Scheduling, Define a task priority, User task forms, Variable mappings), components/concepts/user-task-listeners
("User task listeners": Supported events, Blocking behavior, Deny a state transition, Correct user task data,
Incidents), components/modeler/bpmn/timer-events and event-subprocesses (interrupting events terminate the
task's element, which cancels the task). Records: Zeebe's USER_TASK intents and UserTaskRecord properties.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from core_helpers import activate, bpmn, chain, deploy, passed, service, state

from procgov_engine.api import Rejection, RejectionType, Resource
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine


def user_task(task_id: str = "task", inner: str = "", extra: str = "") -> str:
    return (
        f'<bpmn:userTask id="{task_id}" name="Do it" {extra}><bpmn:extensionElements><zeebe:userTask />{inner}'
        "</bpmn:extensionElements></bpmn:userTask>"
    )


def simple(inner: str = "", process_id: str = "ut", *, after: str = "", extra: str = "") -> bytes:
    return bpmn(
        '<bpmn:startEvent id="start" />'
        + user_task("task", inner)
        + '<bpmn:endEvent id="end" />'
        + extra
        + chain("start", "task", *((after,) if after else ()), "end")
        + (service(after, "after") if after else ""),
        process_id,
    )


def listeners(*pairs: tuple[str, str]) -> str:
    entries = "".join(f'<zeebe:taskListener eventType="{e}" type="{t}" />' for e, t in pairs)
    return f"<zeebe:taskListeners>{entries}</zeebe:taskListeners>"


def intents(engine: Engine, pik: int) -> list[str]:
    return [
        r["intent"]
        for r in engine.query.records(value_type="USER_TASK", process_instance_key=pik)
        if r["recordType"] == "EVENT"
    ]


def only_task(engine: Engine, pik: int) -> Any:
    [task] = [t for t in engine.query.user_tasks() if t.process_instance_key == pik]
    return task


async def listener_job(engine: Engine, job_type: str) -> Any:
    """The one activatable job of ``job_type``, once the command that creates it (running concurrently) ran."""
    for _ in range(200):
        jobs = await activate(engine, job_type)
        if jobs:
            [job] = jobs
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"no '{job_type}' job became activatable")


async def rejected(coroutine: Any) -> Rejection:
    with pytest.raises(Rejection) as caught:
        await coroutine
    return caught.value


@pytest.mark.parametrize(
    ("inner", "problem"),
    [
        ('<zeebe:priorityDefinition priority="101" />', "the priority '101' must be an integer between 0 and 100"),
        ('<zeebe:taskSchedule dueDate="tomorrow" />', "the dueDate 'tomorrow' must be an ISO 8601 date-time"),
        ('<zeebe:formDefinition formKey="camunda-forms:bpmn:f" />', "'zeebe:formDefinition formKey' is for job-based"),
        ('<zeebe:formDefinition formId="f" externalReference="=url" />', "either 'formId' or 'externalReference'"),
        ('<zeebe:formDefinition formId="f" bindingType="versionTag" />', "bindingType 'versionTag' needs a versionTag"),
        ('<zeebe:formDefinition formId="f" bindingType="newest" />', "bindingType 'newest' is not one of"),
        (listeners(("deleting", "t")), "task listener eventType 'deleting' must be one of"),
        (listeners(("completing", "")), "a completing task listener needs a job type"),
    ],
)
async def test_invalid_camunda_user_tasks_are_rejected_at_deploy_naming_the_element(
    engine: Engine, inner: str, problem: str
) -> None:
    """user-tasks, user-task-listeners: what Zeebe's validators refuse fails the deployment, naming the
    element."""
    rejection = await rejected(deploy(engine, simple(inner)))
    assert rejection.type == RejectionType.INVALID_ARGUMENT
    assert "Element: task: " in rejection.reason and problem in rejection.reason


async def test_task_listeners_on_a_job_based_user_task_are_rejected(engine: Engine) -> None:
    """user-task-listeners: listeners belong to Camunda user tasks; a job-based one cannot have them."""
    document = bpmn(
        '<bpmn:startEvent id="start" /><bpmn:userTask id="task"><bpmn:extensionElements>'
        + listeners(("completing", "t"))
        + '</bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="end" />'
        + chain("start", "task", "end")
    )
    rejection = await rejected(deploy(engine, document))
    assert "only supported on Camunda user tasks" in rejection.reason


async def test_completion_variables_without_output_mappings_reach_the_process(engine: Engine) -> None:
    """user-tasks § Variable mappings: without output mappings the completion variables are merged into the
    process instance; no job is created for a Camunda user task."""
    await deploy(engine, simple(after="next"))
    created = await engine.create_process_instance(bpmn_process_id="ut", variables={"a": 1})
    task = only_task(engine, created.process_instance_key)
    assert await activate(engine, "io.camunda.zeebe:userTask") == []
    await engine.complete_user_task(task.key, {"b": 2, "a": 3})
    jobs = await activate(engine, "after")
    assert jobs[0].variables == {"a": 3, "b": 2}
    assert passed(engine, created.process_instance_key)[:2] == ["start", "task"]


async def test_interrupting_timer_boundary_cancels_the_task(engine: Engine, clock: ControlledClock) -> None:
    """timer-events (interrupting boundary) and user-tasks: the task's element is terminated, so the task is
    CANCELING then CANCELED, and completing it afterwards finds no task."""
    document = bpmn(
        '<bpmn:startEvent id="start" />'
        + user_task()
        + '<bpmn:boundaryEvent id="late" attachedToRef="task"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="end" /><bpmn:endEvent id="escalated" />'
        + chain("start", "task", "end")
        + chain("late", "escalated")
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p")
    task = only_task(engine, created.process_instance_key)
    await engine.increase_time(timedelta(hours=2))
    assert state(engine, created.process_instance_key) == "COMPLETED"
    assert intents(engine, created.process_instance_key) == ["CREATING", "CREATED", "CANCELING", "CANCELED"]
    assert only_task(engine, created.process_instance_key).state == "CANCELED"
    gone = await rejected(engine.complete_user_task(task.key, {}))
    assert gone.type == RejectionType.NOT_FOUND
    assert gone.reason == f"Expected to complete user task with key '{task.key}', but no such user task was found"


async def test_interrupting_event_sub_process_cancels_the_task_and_its_listener_job(engine: Engine) -> None:
    """event-subprocesses (interrupting message start) and user-task-listeners: a transition in progress is
    cut short with the task; its listener job is canceled and the waiting command rejected."""
    document = bpmn(
        '<bpmn:startEvent id="start" />'
        + user_task(inner=listeners(("completing", "check")))
        + '<bpmn:endEvent id="end" />'
        + chain("start", "task", "end")
        + '<bpmn:subProcess id="stop" triggeredByEvent="true"><bpmn:startEvent id="stopped">'
        '<bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent><bpmn:endEvent id="stop_end" />'
        + chain("stopped", "stop_end")
        + "</bpmn:subProcess>",
        extra='<bpmn:message id="m" name="stop"><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="=id" /></bpmn:extensionElements></bpmn:message>',
    )
    await deploy(engine, document)
    created = await engine.create_process_instance(bpmn_process_id="p", variables={"id": "x"})
    task = only_task(engine, created.process_instance_key)
    completion = asyncio.ensure_future(engine.complete_user_task(task.key, {"done": True}))
    job = await listener_job(engine, "check")
    await engine.publish_message(name="stop", correlation_key="x", time_to_live_ms=0)
    cut = await rejected(completion)
    assert cut.type == RejectionType.NOT_FOUND and "was canceled while its task listeners ran" in cut.reason
    assert intents(engine, created.process_instance_key)[-3:] == ["COMPLETING", "CANCELING", "CANCELED"]
    assert state(engine, created.process_instance_key) == "COMPLETED"
    late = await rejected(engine.complete_job(job.key, {}))
    assert late.type == RejectionType.NOT_FOUND


async def test_feel_properties_that_do_not_fit_raise_an_incident_and_resolving_creates_the_task(
    engine: Engine,
) -> None:
    """user-tasks § Define a task priority (0..100) and § Assignments (candidate groups: a list of strings):
    an expression result that does not fit is an incident; once the variable is fixed, resolving it creates
    the task with the evaluated values."""
    inner = (
        '<zeebe:priorityDefinition priority="=level" />'
        '<zeebe:assignmentDefinition candidateGroups="=groups" assignee="=who" />'
    )
    await deploy(engine, simple(inner))
    created = await engine.create_process_instance(
        bpmn_process_id="ut", variables={"level": 500, "groups": ["a"], "who": "ann"}
    )
    pik = created.process_instance_key
    [incident] = engine.query.incidents(pik, active_only=True)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert "Expected priority to be an integer in the range [0,100], but was '500'" in incident.error_message
    assert intents(engine, pik) == []
    await engine.set_variables(pik, {"level": 80}, local=False)
    await engine.resolve_incident(incident.key)
    task = only_task(engine, pik)
    assert (task.priority, task.candidate_groups, task.assignee, task.state) == (80, ["a"], "ann", "CREATED")


async def test_linked_form_by_binding_type_or_a_form_not_found_incident(engine: Engine) -> None:
    """user-tasks § User task forms: ``formId`` links a deployed form; bindingType ``latest`` takes the newest
    version, ``deployment`` the one deployed with the process, ``versionTag`` the newest with that tag; a form
    that is not deployed is a FORM_NOT_FOUND incident."""

    def form(version_tag: str, label: str) -> Resource:
        document = {"id": "f", "type": "default", "versionTag": version_tag, "components": [{"label": label}]}
        return Resource("f.form", json.dumps(document).encode())

    def process(process_id: str, binding: str) -> Resource:
        return Resource(f"{process_id}.bpmn", simple(f'<zeebe:formDefinition formId="f" {binding} />', process_id))

    missing = await engine.create_process_instance(
        bpmn_process_id=(await engine.deploy([process("early", "")])).processes[0].bpmn_process_id
    )
    [incident] = engine.query.incidents(missing.process_instance_key, active_only=True)
    assert incident.error_type == "FORM_NOT_FOUND"
    v1 = (await engine.deploy([form("v1", "one"), process("bound", 'bindingType="deployment"')])).forms[0]
    v2 = (await engine.deploy([form("v2", "two")])).forms[0]
    await engine.deploy([process("tagged", 'bindingType="versionTag" versionTag="v1"'), process("latest", "")])
    keys = {}
    for process_id in ("bound", "tagged", "latest"):
        created = await engine.create_process_instance(bpmn_process_id=process_id)
        keys[process_id] = only_task(engine, created.process_instance_key).form_key
    assert keys == {"bound": v1.form_key, "tagged": v1.form_key, "latest": v2.form_key}
    await engine.resolve_incident(incident.key)  # the form is deployed now
    assert only_task(engine, missing.process_instance_key).form_key == v2.form_key


async def test_listeners_run_in_model_order_and_block_until_completed(engine: Engine) -> None:
    """user-task-listeners § Blocking behavior: the creating listeners run one after the other before the task
    is CREATED (the element stays ACTIVATING); the job is of kind TASK_LISTENER with the event type; a
    listener's corrections are seen by the next one (CORRECTED) and applied when the transition ends."""
    await deploy(engine, simple(listeners(("creating", "first"), ("creating", "second"))))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    pik = created.process_instance_key
    assert await activate(engine, "second") == []
    [first] = await activate(engine, "first")
    assert (first.kind, first.listener_event_type) == ("TASK_LISTENER", "CREATING")
    assert only_task(engine, pik).state == "CREATING"
    await engine.complete_job(first.key, {}, result={"corrections": {"priority": 90, "candidateGroupsList": ["x"]}})
    [second] = await activate(engine, "second")
    assert second.custom_headers["io.camunda.zeebe:priority"] == "90"
    assert json.loads(second.custom_headers["io.camunda.zeebe:candidateGroups"]) == ["x"]
    await engine.complete_job(second.key, {})
    task = only_task(engine, pik)
    assert (task.state, task.priority, task.candidate_groups) == ("CREATED", 90, ["x"])
    assert intents(engine, pik) == ["CREATING", "CORRECTED", "CREATED"]
    commands = [
        r["intent"]
        for r in engine.query.records(value_type="USER_TASK", process_instance_key=pik)
        if r["recordType"] == "COMMAND"
    ]
    assert commands == ["COMPLETE_TASK_LISTENER", "COMPLETE_TASK_LISTENER"]  # Zeebe's follow-up commands
    activated = [r["intent"] for r in engine.query.records(value_type="PROCESS_INSTANCE", process_instance_key=pik)]
    assert activated.count("ELEMENT_ACTIVATED") == 3  # the process, the start event and, once CREATED, the task


async def test_a_correction_that_changes_nothing_writes_no_corrected_record(engine: Engine) -> None:
    """user-task-listeners § Correct user task data: only the attributes whose value a correction changes are
    corrected (Zeebe's UserTaskProcessor writes CORRECTED only for changed values); a listener sending back
    the task's own values corrects nothing."""
    await deploy(engine, simple('<zeebe:priorityDefinition priority="20" />' + listeners(
        ("creating", "same"), ("creating", "some"))))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    pik = created.process_instance_key
    [same] = await activate(engine, "same")
    await engine.complete_job(same.key, {}, result={"corrections": {"priority": 20}})
    [some] = await activate(engine, "some")
    await engine.complete_job(some.key, {}, result={"corrections": {"priority": 20, "candidateUsersList": ["li.ming"]}})
    corrected = [
        r["value"]["changedAttributes"]
        for r in engine.query.records(value_type="USER_TASK", process_instance_key=pik)
        if r["intent"] == "CORRECTED"
    ]
    assert corrected == [["candidateUsersList"]]
    assert intents(engine, pik) == ["CREATING", "CORRECTED", "CREATED"]
    task = only_task(engine, pik)
    assert (task.priority, task.candidate_users) == (20, ["li.ming"])


async def test_an_updating_listener_denies_and_nothing_changes(engine: Engine) -> None:
    """user-task-listeners § Deny a state transition: a denied update leaves every attribute as it was
    (UPDATE_DENIED with the reason) and the update command is rejected; the task is CREATED again."""
    await deploy(engine, simple('<zeebe:priorityDefinition priority="20" />' + listeners(("updating", "guard"))))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    task = only_task(engine, created.process_instance_key)
    update = asyncio.ensure_future(engine.update_user_task(task.key, {"priority": 99, "dueDate": "2027-01-01T00:00Z"}))
    guard = await listener_job(engine, "guard")
    assert json.loads(guard.custom_headers["io.camunda.zeebe:changedAttributes"]) == ["priority", "dueDate"]
    await engine.complete_job(guard.key, {}, result={"denied": True, "deniedReason": "frozen"})
    denial = await rejected(update)
    assert denial.type == RejectionType.INVALID_STATE
    assert denial.reason.endswith("was denied by Task Listener. Reason to deny: 'frozen'")
    after = only_task(engine, created.process_instance_key)
    assert (after.state, after.priority, after.due_date) == ("CREATED", 20, "")
    assert intents(engine, created.process_instance_key)[-2:] == ["UPDATING", "UPDATE_DENIED"]
    [deny] = engine.query.records(value_type="USER_TASK", intent="DENY_TASK_LISTENER")
    assert deny["recordType"] == "COMMAND" and deny["value"]["deniedReason"] == "frozen"


async def test_a_listener_without_retries_is_an_incident_resolved_by_new_retries(engine: Engine) -> None:
    """user-task-listeners § Incidents: a listener job that runs out of retries raises a
    TASK_LISTENER_NO_RETRIES incident; with retries given back and the incident resolved, the listener job
    runs again and the transition goes on."""
    await deploy(engine, simple(listeners(("completing", "check"))))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    task = only_task(engine, created.process_instance_key)
    completion = asyncio.ensure_future(engine.complete_user_task(task.key, {"ok": True}))
    job = await listener_job(engine, "check")
    await engine.fail_job(job.key, retries=0, error_message="listener down")
    [incident] = engine.query.incidents(created.process_instance_key, active_only=True)
    assert incident.error_type == "TASK_LISTENER_NO_RETRIES"
    await engine.update_job_retries(job.key, 1)
    await engine.resolve_incident(incident.key)
    again = await listener_job(engine, "check")
    await engine.complete_job(again.key, {})
    await completion
    assert state(engine, created.process_instance_key) == "COMPLETED"


async def test_listener_job_completions_zeebe_refuses(engine: Engine) -> None:
    """user-task-listeners: a listener job completes without variables (corrections go in the result); a
    creating listener cannot deny; a BPMN error cannot be thrown from it; a job of a service task takes no
    user task result. Each is rejected and changes nothing."""
    await deploy(engine, simple(listeners(("creating", "check")), after="next"))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    job = await listener_job(engine, "check")
    with_variables = await rejected(engine.complete_job(job.key, {"x": 1}))
    assert with_variables.type == RejectionType.INVALID_ARGUMENT and "variables payload" in with_variables.reason
    denial = await rejected(engine.complete_job(job.key, {}, result={"denied": True}))
    assert "Denying result is not supported for 'CREATING'" in denial.reason
    bad = await rejected(engine.complete_job(job.key, {}, result={"corrections": {"priority": 500}}))
    assert "the priority must be an integer in the range [0,100]" in bad.reason
    error = await rejected(engine.throw_error(job.key, error_code="E"))
    assert "it is a task listener job" in error.reason
    await engine.complete_job(job.key, {})
    task = only_task(engine, created.process_instance_key)
    await engine.complete_user_task(task.key, {})
    [service_job] = await activate(engine, "after")
    not_a_listener = await rejected(engine.complete_job(service_job.key, {}, result={"denied": True}))
    assert not_a_listener.type == RejectionType.INVALID_ARGUMENT


async def test_claim_refuses_a_task_assigned_to_someone_else(engine: Engine) -> None:
    """Orchestration Cluster API "Assign user task" with ``allowOverride: false`` (Zeebe's CLAIM): refused
    while another user is the assignee, allowed for the same user or an unassigned task."""
    await deploy(engine, simple('<zeebe:assignmentDefinition assignee="ann" />'))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    task = only_task(engine, created.process_instance_key)
    claim = await rejected(engine.assign_user_task(task.key, "bob", allow_override=False))
    assert claim.reason == f"Expected to claim user task with key '{task.key}', but it has already been assigned"
    await engine.assign_user_task(task.key, "ann", allow_override=False)
    await engine.assign_user_task(task.key, "")
    await engine.assign_user_task(task.key, "bob", allow_override=False)
    assert only_task(engine, created.process_instance_key).assignee == "bob"


@pytest.mark.parametrize("snapshot_every", [0, 1])
async def test_an_open_task_and_a_pending_listener_survive_a_restart(
    tmp_path: Path, clock: ControlledClock, snapshot_every: int
) -> None:
    """The command log (and a snapshot) hold the task and its transition: after a restart the listener job
    completes the pending completion, and the records are those of one uninterrupted run."""
    data = tmp_path / "data"
    engine = await Engine.open(data, clock, snapshot_every=snapshot_every)
    await deploy(engine, simple(listeners(("completing", "check"))))
    created = await engine.create_process_instance(bpmn_process_id="ut")
    task = only_task(engine, created.process_instance_key)
    completion = asyncio.ensure_future(engine.complete_user_task(task.key, {"ok": True}))
    job = await listener_job(engine, "check")
    await engine.close()
    with pytest.raises(Rejection):  # the engine closed under the waiting completion
        await completion
    engine = await Engine.open(data, clock, snapshot_every=snapshot_every)
    try:
        assert engine.replay_divergences == 0
        assert only_task(engine, created.process_instance_key).state == "COMPLETING"
        await engine.complete_job(job.key, {})
        assert state(engine, created.process_instance_key) == "COMPLETED"
        assert intents(engine, created.process_instance_key) == ["CREATING", "CREATED", "COMPLETING", "COMPLETED"]
    finally:
        await engine.close()


async def test_a_listener_type_that_cannot_be_evaluated_is_an_incident_and_resolving_retries_it(
    engine: Engine,
) -> None:
    """user-task-listeners § Expression evaluation: a listener's type is evaluated right before its job is
    created; if that fails, the transition waits on an incident, and resolving it (after the variable is
    set) creates the listener's job."""
    await deploy(
        engine,
        simple('<zeebe:taskListeners><zeebe:taskListener eventType="creating" type="=kind" /></zeebe:taskListeners>'),
    )
    created = await engine.create_process_instance(bpmn_process_id="ut")
    pik = created.process_instance_key
    [incident] = engine.query.incidents(pik, active_only=True)
    assert incident.error_type == "EXTRACT_VALUE_ERROR"
    assert only_task(engine, pik).state == "CREATING"
    await engine.set_variables(pik, {"kind": "late-listener"}, local=False)
    await engine.resolve_incident(incident.key)
    job = await listener_job(engine, "late-listener")
    await engine.complete_job(job.key, {})
    assert only_task(engine, pik).state == "CREATED"
    assert intents(engine, pik) == ["CREATING", "CREATED"]


async def test_a_form_may_share_its_id_with_the_process_deployed_beside_it(engine: Engine) -> None:
    """Zeebe checks that ids are unique within a deployment per resource kind (process ids among the
    processes, form ids among the forms), so a process and its form may both be called ``signoff``; two
    forms with one id are still refused."""
    form = Resource("signoff.form", json.dumps({"id": "signoff", "type": "default", "components": []}).encode())
    process = Resource("signoff.bpmn", simple('<zeebe:formDefinition formId="signoff" />', "signoff"))
    deployed = await engine.deploy([process, form])
    assert [p.bpmn_process_id for p in deployed.processes] == ["signoff"]
    assert [f.form_id for f in deployed.forms] == ["signoff"]
    created = await engine.create_process_instance(bpmn_process_id="signoff")
    assert only_task(engine, created.process_instance_key) is not None
    twice = Resource("again.form", form.content)
    rejection = await rejected(engine.deploy([form, twice]))
    assert "duplicated id 'signoff'" in str(rejection)
