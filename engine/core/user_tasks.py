"""Camunda user tasks (``zeebe:userTask``) and their task listeners, as Zeebe 8.8 runs them.

Camunda docs, "User tasks" (components/modeler/bpmn/user-tasks) and "User task listeners"
(components/concepts/user-task-listeners). A user task is a USER_TASK entity beside its element instance:

- created when the element is activated: ``CREATING``, the ``creating`` listeners, ``CREATED``, then the
  element is ``ELEMENT_ACTIVATED``; a task with an assignee is then assigned (``ASSIGNING``, the
  ``assigning`` listeners, ``ASSIGNED``);
- assigned, unassigned (assigned to ""), updated and completed by commands, each a transition
  ``<X>ING`` → listeners of that event → ``<X>ED``; a listener may correct the task's attributes
  (``CORRECTED``, applied when the transition ends) or deny an assignment, update or completion
  (``ASSIGNMENT_DENIED`` / ``UPDATE_DENIED`` / ``COMPLETION_DENIED``: the task is ``CREATED`` again as it was,
  and the command that started the transition is rejected);
- completed: ``COMPLETED``, then the element completes with the completion variables, which go through the
  output mappings like a job's variables (docs: "Variable mappings", "Output mappings");
- canceled when its element is terminated (boundary event, event sub-process, termination):
  ``CANCELING``, ``CANCELED``.

Listener jobs are jobs of kind ``TASK_LISTENER`` with the listener's event type, run one after the other in
model order; they block the transition until completed. A listener job that runs out of retries raises a
``TASK_LISTENER_NO_RETRIES`` incident; its resolution retries that listener.

The processor calls :func:`create`, :func:`cancel`, :func:`check_job_completion` and
:func:`listener_completed`; the engine calls the commands :func:`complete`, :func:`assign`, :func:`update`.
State lives in ``Processor.user_tasks`` (key → :class:`UserTask`), so snapshots carry it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.api import Rejection, RejectionType
from engine.core.state import ACTIVATED, ACTIVATING, Job
from engine.model.bpmn import TaskListener, UserTaskDef
from engine.model.expressions import Expression

if TYPE_CHECKING:
    from engine.core.processor import Processor
    from engine.core.state import DeployedForm, ElementInstance

TASK_LISTENER_JOB = "TASK_LISTENER"
NO_RETRIES_INCIDENT = "TASK_LISTENER_NO_RETRIES"

# attribute names as Zeebe's UserTaskRecord names them (changedAttributes, corrections)
ASSIGNEE = "assignee"
CANDIDATE_GROUPS = "candidateGroupsList"
CANDIDATE_USERS = "candidateUsersList"
DUE_DATE = "dueDate"
FOLLOW_UP_DATE = "followUpDate"
PRIORITY = "priority"
CORRECTABLE = (ASSIGNEE, CANDIDATE_GROUPS, CANDIDATE_USERS, DUE_DATE, FOLLOW_UP_DATE, PRIORITY)
UPDATABLE = (CANDIDATE_GROUPS, CANDIDATE_USERS, DUE_DATE, FOLLOW_UP_DATE, PRIORITY)

# the transition each lifecycle event belongs to: (event, its ...ING intent, its ...ED intent, denied intent)
_TRANSITIONS = {
    "creating": ("CREATING", "CREATED", None),
    "assigning": ("ASSIGNING", "ASSIGNED", "ASSIGNMENT_DENIED"),
    "updating": ("UPDATING", "UPDATED", "UPDATE_DENIED"),
    "completing": ("COMPLETING", "COMPLETED", "COMPLETION_DENIED"),
    "canceling": ("CANCELING", "CANCELED", None),
}
_VERBS = {"assigning": "assign", "updating": "update", "completing": "complete"}
_DENIAL_WORDING = {"assigning": "Assignment", "updating": "Update", "completing": "Completion"}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})(\[[\w/+-]+\])?")


@dataclass
class Transition:
    """A lifecycle transition in progress: the attributes the listeners see (corrections included) and
    what the command that started it asked for."""

    event: str  # creating | assigning | updating | completing | canceling
    values: dict[str, Any]  # the task's attributes as the transition would leave them
    changed: list[str]
    action: str
    variables: dict[str, Any] = field(default_factory=dict)
    corrected: list[str] = field(default_factory=list)
    listener_index: int = 0


@dataclass(eq=False)
class UserTask:
    key: int
    element_instance: ElementInstance
    values: dict[str, Any]  # assignee, candidateGroupsList, candidateUsersList, dueDate, followUpDate, priority
    form_key: int
    external_form_reference: str
    custom_headers: dict[str, str]
    creation_timestamp: int
    state: str = "CREATING"  # the REST API's UserTaskStateEnum while active
    transition: Transition | None = None
    initial_assignee: str = ""  # the modelled assignee, assigned once the task is created


class UserTaskFailure(Exception):
    """A property of the task could not be evaluated; becomes an incident on the element."""


# -- creation ------------------------------------------------------------------------------------------


def create(p: Processor, inst: ElementInstance) -> None:
    """Evaluate the task's properties and create it; the element stays ACTIVATING until it is CREATED."""
    definition = inst.element.user_task
    assert definition is not None
    values = _evaluate(p, definition, inst)
    form_key = -1
    if definition.form_id is not None:
        form = _find_form(p, definition, inst)
        form_key = form.key
    external = ""
    if definition.external_reference is not None:
        external = _text(p, definition.external_reference, inst, "externalReference")
    task = UserTask(
        key=p.w.next_key(),
        element_instance=inst,
        values={
            **_EMPTY,
            CANDIDATE_GROUPS: values[CANDIDATE_GROUPS],
            CANDIDATE_USERS: values[CANDIDATE_USERS],
            DUE_DATE: values[DUE_DATE],
            FOLLOW_UP_DATE: values[FOLLOW_UP_DATE],
            PRIORITY: values[PRIORITY],
        },
        form_key=form_key,
        external_form_reference=external,
        custom_headers=p._job_headers(inst),
        creation_timestamp=p.w.now,
    )
    p.user_tasks[task.key] = task
    p.user_task_of_instance[inst.key] = task.key
    task.initial_assignee = values[ASSIGNEE]
    _begin(p, task, Transition("creating", dict(task.values), [], ""))


_EMPTY: dict[str, Any] = {
    ASSIGNEE: "",
    CANDIDATE_GROUPS: [],
    CANDIDATE_USERS: [],
    DUE_DATE: "",
    FOLLOW_UP_DATE: "",
    PRIORITY: 50,
}


def _evaluate(p: Processor, definition: UserTaskDef, inst: ElementInstance) -> dict[str, Any]:
    from engine.core.processor import StepFailure

    values = dict(_EMPTY)
    if definition.assignee is not None:
        values[ASSIGNEE] = _text(p, definition.assignee, inst, "assignee")
    for attribute, expression, what in (
        (CANDIDATE_GROUPS, definition.candidate_groups, "candidateGroups"),
        (CANDIDATE_USERS, definition.candidate_users, "candidateUsers"),
    ):
        if expression is not None:
            values[attribute] = _list(p, expression, inst, what)
    for attribute, expression in ((DUE_DATE, definition.due_date), (FOLLOW_UP_DATE, definition.follow_up_date)):
        if expression is not None:
            values[attribute] = _date(p, expression, inst, attribute)
    if definition.priority is not None:
        raw = p._eval(definition.priority, inst)
        if isinstance(raw, str) and raw.lstrip("-").isdigit():
            raw = int(raw)
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if type(raw) is not int or not 0 <= raw <= 100:
            raise StepFailure(
                "EXTRACT_VALUE_ERROR",
                f"Expected priority to be an integer in the range [0,100], but was '{json.dumps(raw, default=str)}'",
            )
        values[PRIORITY] = raw
    return values


def _text(p: Processor, expression: Expression, inst: ElementInstance, what: str) -> str:
    from engine.core.processor import StepFailure

    value = p._eval(expression, inst)
    if value is None and what == "assignee":
        return ""
    if not isinstance(value, str):
        raise StepFailure(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{expression.source}' for {what} to be "
            f"'STRING', but was '{_type(value)}'",
        )
    return value


def _list(p: Processor, expression: Expression, inst: ElementInstance, what: str) -> list[str]:
    from engine.core.processor import StepFailure

    if not expression.is_feel:
        return [part.strip() for part in expression.source.split(",") if part.strip()]
    value = p._eval(expression, inst)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StepFailure(
            "EXTRACT_VALUE_ERROR",
            f"Expected result of the expression '{expression.source}' for {what} to be 'ARRAY' of 'STRING', but "
            f"was '{_type(value)}'",
        )
    return list(value)


def _date(p: Processor, expression: Expression, inst: ElementInstance, what: str) -> str:
    from engine.core.processor import StepFailure

    value = p._eval(expression, inst)
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return value
    raise StepFailure(
        "EXTRACT_VALUE_ERROR",
        f"Expected result of the expression '{expression.source}' for {what} to be a date-time with an offset "
        f"(ISO 8601, e.g. '2026-12-02T12:00:00Z'), but was '{value}'",
    )


def _type(value: Any) -> str:
    from engine.model.expressions import type_name

    return type_name(value)


def _find_form(p: Processor, definition: UserTaskDef, inst: ElementInstance) -> DeployedForm:
    """The linked form by its binding type (docs: "User tasks" → "Linked Camunda Form"): the latest version,
    the version deployed with the process, or the latest version with the versionTag."""
    from engine.core.processor import StepFailure

    form_id = definition.form_id or ""
    form = p.find_form(form_id, definition.form_binding, definition.form_version_tag, inst.process)
    if form is None:
        where = {
            "latest": "",
            "deployment": " in the same deployment as the process",
            "versionTag": f" with version tag '{definition.form_version_tag}'",
        }[definition.form_binding]
        raise StepFailure(
            "FORM_NOT_FOUND",
            f"Expected to find a form with id '{form_id}'{where}, but no such form was deployed "
            f"(binding type '{definition.form_binding}')",
        )
    return form


# -- commands ------------------------------------------------------------------------------------------


def _task_for(p: Processor, key: int, intent: str, verb: str, value: dict[str, Any]) -> UserTask:
    task = p.user_tasks.get(key)
    if task is None:
        p._reject_cmd(
            "USER_TASK",
            intent,
            value,
            RejectionType.NOT_FOUND,
            f"Expected to {verb} user task with key '{key}', but no such user task was found",
        )
    if task.state != "CREATED":
        p._reject_cmd(
            "USER_TASK",
            intent,
            value,
            RejectionType.INVALID_STATE,
            f"Expected to {verb} user task with key '{key}', but it is in state '{task.state}'",
        )
    return task


def complete(p: Processor, key: int, variables: Mapping[str, Any], action: str) -> None:
    value = {"userTaskKey": key, "variables": dict(variables), "action": action or "complete"}
    p.w.command("USER_TASK", "COMPLETE", key, value)
    task = _task_for(p, key, "COMPLETE", "complete", value)
    _begin(p, task, Transition("completing", dict(task.values), [], action or "complete", dict(variables)))


def assign(p: Processor, key: int, assignee: str, action: str, allow_override: bool) -> None:
    """Assign (or, with ``assignee`` "", unassign) the task. ``allow_override`` False is Zeebe's CLAIM:
    refused when the task already has another assignee."""
    intent = "ASSIGN" if allow_override or not assignee else "CLAIM"
    default_action = "assign" if assignee else "unassign"
    if intent == "CLAIM":
        default_action = "claim"
    value: dict[str, Any] = {"userTaskKey": key, "assignee": assignee, "action": action or default_action}
    p.w.command("USER_TASK", intent, key, value)
    verb = "claim" if intent == "CLAIM" else ("assign" if assignee else "unassign")
    task = _task_for(p, key, intent, verb, value)
    current = task.values[ASSIGNEE]
    if intent == "CLAIM" and current and current != assignee:
        p._reject_cmd(
            "USER_TASK",
            intent,
            value,
            RejectionType.INVALID_STATE,
            f"Expected to claim user task with key '{key}', but it has already been assigned",
        )
    _begin(p, task, Transition("assigning", {**task.values, ASSIGNEE: assignee}, [ASSIGNEE], action or default_action))


def update(p: Processor, key: int, changes: Mapping[str, Any], action: str) -> None:
    """Update candidate users/groups, dates and priority; ``changes`` holds only the attributes to change
    (Zeebe's names), "" or [] resetting one."""
    value = {"userTaskKey": key, **changes, "changedAttributes": list(changes), "action": action or "update"}
    p.w.command("USER_TASK", "UPDATE", key, value)
    task = _task_for(p, key, "UPDATE", "update", value)
    _begin(p, task, Transition("updating", {**task.values, **changes}, list(changes), action or "update"))


# -- transitions ---------------------------------------------------------------------------------------


def record_value(
    task: UserTask,
    values: Mapping[str, Any],
    transition: Transition | None = None,
    *,
    variables: Mapping[str, Any] | None = None,
    denied_reason: str = "",
) -> dict[str, Any]:
    """The USER_TASK record value, with the property names of Zeebe's UserTaskRecord."""
    inst = task.element_instance
    process = inst.process
    return {
        "userTaskKey": task.key,
        "assignee": values[ASSIGNEE],
        "candidateGroupsList": list(values[CANDIDATE_GROUPS]),
        "candidateUsersList": list(values[CANDIDATE_USERS]),
        "dueDate": values[DUE_DATE],
        "followUpDate": values[FOLLOW_UP_DATE],
        "formKey": task.form_key,
        "externalFormReference": task.external_form_reference,
        "variables": dict(variables or {}),
        "customHeaders": task.custom_headers,
        "bpmnProcessId": process.bpmn_process_id,
        "processDefinitionVersion": process.version,
        "processDefinitionKey": process.key,
        "processInstanceKey": inst.process_instance_key,
        "elementId": inst.element.id,
        "elementInstanceKey": inst.key,
        "tenantId": process.tenant_id,
        "changedAttributes": list(transition.changed) if transition is not None else [],
        "action": transition.action if transition is not None else "",
        "creationTimestamp": task.creation_timestamp,
        "priority": values[PRIORITY],
        "deniedReason": denied_reason,
    }


def _event(p: Processor, task: UserTask, intent: str, value: dict[str, Any]) -> None:
    if p.w.replaying:
        p.w.position += 1
        return
    p.w.event("USER_TASK", intent, task.key, value, task.element_instance.process_instance_key)


def _begin(p: Processor, task: UserTask, transition: Transition) -> None:
    ing, _, _ = _TRANSITIONS[transition.event]
    task.state = ing
    task.transition = transition
    _event(p, task, ing, record_value(task, transition.values, transition, variables=transition.variables))
    _next(p, task)


def _next(p: Processor, task: UserTask) -> None:
    """Create the job of the next listener of the transition, or end the transition when none is left."""
    transition = task.transition
    assert transition is not None
    definition = task.element_instance.element.user_task
    assert definition is not None
    pending = definition.listeners_of(transition.event)
    if transition.listener_index < len(pending):
        _create_listener_job(p, task, pending[transition.listener_index])
        return
    _finish(p, task)


def _finish(p: Processor, task: UserTask) -> None:
    transition = task.transition
    assert transition is not None
    _, ed, _ = _TRANSITIONS[transition.event]
    task.values = dict(transition.values)
    task.transition = None
    inst = task.element_instance
    if transition.event == "completing":
        _event(p, task, ed, record_value(task, task.values, transition, variables=transition.variables))
        _forget(p, task)
        p.on_user_task_done(task.key, None)
        if inst.state == ACTIVATED:
            inst.temp_variables = dict(transition.variables) if transition.variables else None
            p._complete(inst)
        return
    task.state = "CREATED"
    assignee = ""
    if transition.event == "creating":  # the assignee comes with the assignment that follows
        assignee = task.values[ASSIGNEE] or task.initial_assignee
        task.values[ASSIGNEE] = ""
    _event(p, task, ed, record_value(task, task.values, transition))
    if transition.event == "creating":
        if inst.state == ACTIVATING:
            p._transition(inst, ACTIVATED)
        if assignee:
            _begin(p, task, Transition("assigning", {**task.values, ASSIGNEE: assignee}, [ASSIGNEE], ""))
        return
    p.on_user_task_done(task.key, None)


def _deny(p: Processor, task: UserTask, reason: str) -> None:
    transition = task.transition
    assert transition is not None
    _, _, denied = _TRANSITIONS[transition.event]
    assert denied is not None
    task.state = "CREATED"
    task.transition = None
    _event(p, task, denied, record_value(task, task.values, transition, denied_reason=reason))
    what = _DENIAL_WORDING[transition.event]
    p.on_user_task_done(
        task.key,
        Rejection(
            RejectionType.INVALID_STATE,
            f"{what} of the User Task with key '{task.key}' was denied by Task Listener. Reason to deny: '{reason}'",
        ),
    )


def _forget(p: Processor, task: UserTask) -> None:
    p.user_tasks.pop(task.key, None)
    p.user_task_of_instance.pop(task.element_instance.key, None)


def cancel(p: Processor, inst: ElementInstance) -> None:
    """The task's element is being terminated: cancel the task (and any transition in progress)."""
    key = p.user_task_of_instance.get(inst.key)
    task = p.user_tasks.get(key) if key is not None else None
    if task is None:
        return
    if task.transition is not None and task.transition.event != "creating":
        p.on_user_task_done(
            task.key,
            Rejection(
                RejectionType.NOT_FOUND,
                f"Expected to {_VERBS[task.transition.event]} user task with key '{task.key}', but it was canceled "
                "while its task listeners ran",
            ),
        )
    task.transition = None
    transition = Transition("canceling", dict(task.values), [], "")
    task.state = "CANCELING"
    _event(p, task, "CANCELING", record_value(task, task.values, transition))
    _event(p, task, "CANCELED", record_value(task, task.values, transition))
    _forget(p, task)


# -- listener jobs -------------------------------------------------------------------------------------


def _listener_headers(task: UserTask, values: Mapping[str, Any], transition: Transition) -> dict[str, str]:
    """The task's headers plus Zeebe's ``io.camunda.zeebe:*`` user task headers for the listener job."""
    headers = dict(task.custom_headers)
    headers["io.camunda.zeebe:userTaskKey"] = str(task.key)
    if values[ASSIGNEE]:
        headers["io.camunda.zeebe:assignee"] = values[ASSIGNEE]
    if values[CANDIDATE_GROUPS]:
        headers["io.camunda.zeebe:candidateGroups"] = json.dumps(values[CANDIDATE_GROUPS])
    if values[CANDIDATE_USERS]:
        headers["io.camunda.zeebe:candidateUsers"] = json.dumps(values[CANDIDATE_USERS])
    if values[DUE_DATE]:
        headers["io.camunda.zeebe:dueDate"] = values[DUE_DATE]
    if values[FOLLOW_UP_DATE]:
        headers["io.camunda.zeebe:followUpDate"] = values[FOLLOW_UP_DATE]
    if task.form_key > 0:
        headers["io.camunda.zeebe:formKey"] = str(task.form_key)
    headers["io.camunda.zeebe:priority"] = str(values[PRIORITY])
    if transition.action:
        headers["io.camunda.zeebe:action"] = transition.action
    if transition.changed:
        headers["io.camunda.zeebe:changedAttributes"] = json.dumps(transition.changed)
    return headers


def _create_listener_job(p: Processor, task: UserTask, listener: TaskListener) -> None:
    transition = task.transition
    assert transition is not None
    inst = task.element_instance
    job_type = p._eval(listener.job_type, inst, "STRING")
    retries = p._eval(listener.retries, inst, "NUMBER")
    job = Job(
        key=p.w.next_key(),
        type=job_type,
        element_instance=inst,
        retries=int(retries),
        custom_headers=_listener_headers(task, transition.values, transition),
        tenant_id=inst.process.tenant_id,
        kind=TASK_LISTENER_JOB,
        listener_event_type=transition.event.upper(),
    )
    p.jobs[job.key] = job
    inst.job_key = job.key
    p._job_event(job, "CREATED")
    p._make_activatable(job)


def task_of_job(p: Processor, job: Job) -> UserTask | None:
    key = p.user_task_of_instance.get(job.element_instance.key)
    return p.user_tasks.get(key) if key is not None else None


def check_job_completion(
    p: Processor, job: Job, value: dict[str, Any], variables: Mapping[str, Any], result: Mapping[str, Any] | None
) -> None:
    """Refuse, before anything changes, a job completion that Zeebe refuses: a result on a job that is not
    a task listener's, variables from a task listener, a denial of an event that cannot be denied."""
    if job.kind != TASK_LISTENER_JOB:
        if result:
            p._reject_cmd(
                "JOB",
                "COMPLETE",
                value,
                RejectionType.INVALID_ARGUMENT,
                f"Expected to complete job with key '{job.key}' with a result, but only task listener jobs of user "
                "tasks take a result in this engine",
            )
        return
    if variables:
        p._reject_cmd(
            "JOB",
            "COMPLETE",
            value,
            RejectionType.INVALID_ARGUMENT,
            f"Task Listener job completion with variables payload provided is not yet supported (job key "
            f"'{job.key}'). Task Listener jobs can only complete without variables; corrections go in the job "
            "result",
        )
    result = result or {}
    if result.get("denied") and job.listener_event_type in ("CREATING", "CANCELING"):
        p._reject_cmd(
            "JOB",
            "COMPLETE",
            value,
            RejectionType.INVALID_ARGUMENT,
            f"Denying result is not supported for '{job.listener_event_type.lower()}' task listener jobs (job key "
            f"'{job.key}')",
        )
    corrections = result.get("corrections") or {}
    if corrections and job.listener_event_type == "CANCELING":
        p._reject_cmd(
            "JOB",
            "COMPLETE",
            value,
            RejectionType.INVALID_ARGUMENT,
            f"Corrections are not supported for 'canceling' task listener jobs (job key '{job.key}')",
        )
    for name, correction in corrections.items():
        problem = _correction_problem(name, correction)
        if problem:
            p._reject_cmd(
                "JOB",
                "COMPLETE",
                value,
                RejectionType.INVALID_ARGUMENT,
                f"Expected to complete task listener job with key '{job.key}' with corrections, but {problem}",
            )


def _correction_problem(name: str, value: Any) -> str:
    if name not in CORRECTABLE:
        return f"the attribute '{name}' cannot be corrected (correctable: {', '.join(CORRECTABLE)})"
    if value is None:
        return ""
    if name == PRIORITY:
        if type(value) is not int or not 0 <= value <= 100:
            return f"the priority must be an integer in the range [0,100], not {value!r}"
    elif name in (CANDIDATE_GROUPS, CANDIDATE_USERS):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"'{name}' must be a list of strings"
    elif not isinstance(value, str):
        return f"'{name}' must be a string"
    elif name in (DUE_DATE, FOLLOW_UP_DATE) and value and not _DATE_TIME.fullmatch(value):
        return f"'{name}' must be an ISO 8601 date-time with an offset or empty, not {value!r}"
    return ""


def listener_completed(p: Processor, job: Job, result: Mapping[str, Any] | None) -> None:
    """A task listener job completed (already checked by :func:`check_job_completion`): deny the
    transition, or take the corrections and go on with the next listener."""
    job.element_instance.job_key = 0
    task = task_of_job(p, job)
    if task is None or task.transition is None or task.transition.event.upper() != job.listener_event_type:
        return
    transition = task.transition
    result = result or {}
    if result.get("denied"):
        _deny(p, task, str(result.get("deniedReason") or ""))
        return
    corrections = {k: v for k, v in (result.get("corrections") or {}).items() if v is not None}
    if corrections:
        transition.values.update(corrections)
        for name in corrections:
            if name not in transition.corrected:
                transition.corrected.append(name)
            if name not in transition.changed:
                transition.changed.append(name)
        corrected = Transition(transition.event, transition.values, list(corrections), transition.action)
        _event(p, task, "CORRECTED", record_value(task, transition.values, corrected))
    transition.listener_index += 1
    _next(p, task)
