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
- canceled when its element is terminated (interrupting boundary event or event sub-process, terminate
  end event, process instance cancellation, termination of a scope): ``CANCELING``, the ``canceling``
  listeners, ``CANCELED``; the element's termination waits for them (it stays ``ELEMENT_TERMINATING``) and
  then goes on: ``ELEMENT_TERMINATED`` and whatever the termination was for (the boundary event's flow, the
  scope's termination or completion, the process instance's cancellation). A canceling listener can
  neither deny (the job completion is rejected as Zeebe rejects it) nor stop the cancellation.

Listener jobs are jobs of kind ``TASK_LISTENER`` with the listener's event type, run one after the other in
model order; they block the transition until completed. A listener job that runs out of retries raises a
``TASK_LISTENER_NO_RETRIES`` incident; its resolution retries that listener.

The user task element behaviour (engine/core/elements/user_task.py) calls :meth:`UserTasks.create` and
:meth:`UserTasks.cancel`, the job COMPLETE processor :meth:`UserTasks.check_job_completion` and
:meth:`UserTasks.listener_completed`, the USER_TASK command processors (engine/core/processing/user_task.py)
:meth:`UserTasks.complete`, :meth:`UserTasks.assign` and :meth:`UserTasks.update`. State lives in
``EngineState.user_tasks`` (key → :class:`UserTask`), so snapshots carry it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure, instance_tags
from procgov_engine.core.behaviours.incidents import Incidents
from procgov_engine.core.behaviours.jobs import TASK_LISTENER_JOB, Jobs
from procgov_engine.core.behaviours.lifecycle import ElementLifecycle
from procgov_engine.core.behaviours.subscriptions import EventSubscriptions
from procgov_engine.core.behaviours.variables import Expressions
from procgov_engine.core.state import (
    ACTIVATED,
    ACTIVATING,
    TERMINATING,
    DeployedForm,
    ElementInstance,
    Job,
    RetryStep,
    UserTask,
    UserTaskTransition,
)
from procgov_engine.core.state.appliers import USER_TASK_LISTENER_STEP
from procgov_engine.model.bpmn import TaskListener, UserTaskDef
from procgov_engine.model.expressions import Expression, type_name

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


LISTENER_RETRY_STEP = USER_TASK_LISTENER_STEP  # the RetryStep of an incident on a task listener's expressions

_EMPTY: dict[str, Any] = {
    ASSIGNEE: "",
    CANDIDATE_GROUPS: [],
    CANDIDATE_USERS: [],
    DUE_DATE: "",
    FOLLOW_UP_DATE: "",
    PRIORITY: 50,
}


class UserTasks:
    def __init__(
        self,
        ctx: ProcessingContext,
        expressions: Expressions,
        jobs: Jobs,
        incidents: Incidents,
        subscriptions: EventSubscriptions,
        lifecycle: ElementLifecycle,
    ) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.state = ctx.state
        self.tasks = ctx.state.user_tasks
        self.of_instance = ctx.state.user_task_of_instance
        self.expressions = expressions
        self.jobs = jobs
        self.incidents = incidents
        self.subscriptions = subscriptions
        self.lifecycle = lifecycle
        # task key → its modelled assignee, assigned once the task is CREATED (its creating listeners may
        # run first); not in the CREATING record, so after a restart it is evaluated again
        self.initial_assignees: dict[int, str] = {}

    # -- creation --------------------------------------------------------------------------------
    def create(self, inst: ElementInstance) -> None:
        """Evaluate the task's properties and create it; the element stays ACTIVATING until it is CREATED.
        A property that cannot be evaluated (or a linked form not deployed) is the element's incident, its
        resolution creating the task anew."""
        definition = inst.element.user_task
        assert definition is not None
        try:
            values = self._evaluate(definition, inst)
            form_key = self._find_form(definition, inst).key if definition.form_id is not None else -1
            external = ""
            if definition.external_reference is not None:
                external = self._text(definition.external_reference, inst, "externalReference")
            headers = self.jobs.headers(inst)
        except StepFailure:
            self.subscriptions.close(inst)  # the boundary subscriptions of this activation step
            raise
        task = UserTask(  # the record's view: the CREATING applier creates the task in the state
            key=self.w.next_key(),
            element_instance=inst,
            values={**values, ASSIGNEE: ""},
            form_key=form_key,
            external_form_reference=external,
            custom_headers=headers,
            creation_timestamp=self.w.now,
        )
        self.initial_assignees[task.key] = values[ASSIGNEE]
        self._begin(task, UserTaskTransition("creating", dict(task.values), [], ""))

    def _evaluate(self, definition: UserTaskDef, inst: ElementInstance) -> dict[str, Any]:
        values = dict(_EMPTY)
        if definition.assignee is not None:
            values[ASSIGNEE] = self._text(definition.assignee, inst, "assignee")
        for attribute, expression, what in (
            (CANDIDATE_GROUPS, definition.candidate_groups, "candidateGroups"),
            (CANDIDATE_USERS, definition.candidate_users, "candidateUsers"),
        ):
            if expression is not None:
                values[attribute] = self._list(expression, inst, what)
        for attribute, expression in ((DUE_DATE, definition.due_date), (FOLLOW_UP_DATE, definition.follow_up_date)):
            if expression is not None:
                values[attribute] = self._date(expression, inst, attribute)
        if definition.priority is not None:
            raw = self.expressions.eval(definition.priority, inst)
            if isinstance(raw, str) and raw.lstrip("-").isdigit():
                raw = int(raw)
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            if type(raw) is not int or not 0 <= raw <= 100:
                raise StepFailure(
                    "EXTRACT_VALUE_ERROR",
                    f"Expected priority to be an integer in the range [0,100], but was "
                    f"'{json.dumps(raw, default=str)}'",
                )
            values[PRIORITY] = raw
        return values

    def _text(self, expression: Expression, inst: ElementInstance, what: str) -> str:
        value = self.expressions.eval(expression, inst)
        if value is None and what == "assignee":
            return ""
        if not isinstance(value, str):
            raise StepFailure(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{expression.source}' for {what} to be 'STRING', but was "
                f"'{type_name(value)}'",
            )
        return value

    def _list(self, expression: Expression, inst: ElementInstance, what: str) -> list[str]:
        """A static value is Zeebe's comma-separated list; a FEEL one a list of strings (or one string)."""
        if not expression.is_feel:
            return [part.strip() for part in expression.source.split(",") if part.strip()]
        value = self.expressions.eval(expression, inst)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StepFailure(
                "EXTRACT_VALUE_ERROR",
                f"Expected result of the expression '{expression.source}' for {what} to be 'ARRAY' of 'STRING', "
                f"but was '{type_name(value)}'",
            )
        return list(value)

    def _date(self, expression: Expression, inst: ElementInstance, what: str) -> str:
        value = self.expressions.eval(expression, inst)
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

    def _find_form(self, definition: UserTaskDef, inst: ElementInstance) -> DeployedForm:
        """The linked form by its binding type (docs: "User tasks" → "User task forms"): the latest
        version, the version deployed with the process, or the latest version with the versionTag."""
        form_id = definition.form_id or ""
        key = (form_id, inst.process.tenant_id)
        form: DeployedForm | None
        if definition.form_binding == "deployment":
            form = self.state.forms_by_deployment.get(inst.process.deployment_key, {}).get(key)
        else:
            versions = self.state.forms_by_id.get(key) or []
            if definition.form_binding == "versionTag":
                tagged = [
                    f for f in versions if json.loads(f.resource).get("versionTag") == definition.form_version_tag
                ]
                versions = tagged
            form = versions[-1] if versions else None
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

    # -- commands --------------------------------------------------------------------------------
    def _task_for(self, key: int, intent: str, verb: str, value: dict[str, Any]) -> UserTask:
        task = self.tasks.get(key)
        if task is None:
            self.ctx.reject_command(
                "USER_TASK",
                intent,
                value,
                RejectionType.NOT_FOUND,
                f"Expected to {verb} user task with key '{key}', but no such user task was found",
            )
        if task.state != "CREATED":
            self.ctx.reject_command(
                "USER_TASK",
                intent,
                value,
                RejectionType.INVALID_STATE,
                f"Expected to {verb} user task with key '{key}', but it is in state '{task.state}'",
            )
        return task

    def complete(self, key: int, variables: Mapping[str, Any], action: str) -> None:
        value = {"userTaskKey": key, "variables": dict(variables), "action": action or "complete"}
        self.w.command("USER_TASK", "COMPLETE", key, value)
        task = self._task_for(key, "COMPLETE", "complete", value)
        transition = UserTaskTransition("completing", dict(task.values), [], action or "complete", dict(variables))
        self._begin(task, transition)

    def assign(self, key: int, assignee: str, action: str, allow_override: bool) -> None:
        """Assign (or, with ``assignee`` "", unassign) the task. ``allow_override`` False is Zeebe's CLAIM:
        refused when the task already has another assignee."""
        intent = "ASSIGN" if allow_override or not assignee else "CLAIM"
        default_action = "claim" if intent == "CLAIM" else ("assign" if assignee else "unassign")
        action = action or default_action
        value: dict[str, Any] = {"userTaskKey": key, "assignee": assignee, "action": action}
        self.w.command("USER_TASK", intent, key, value)
        verb = "claim" if intent == "CLAIM" else ("assign" if assignee else "unassign")
        task = self._task_for(key, intent, verb, value)
        current = task.values[ASSIGNEE]
        if intent == "CLAIM" and current and current != assignee:
            self.ctx.reject_command(
                "USER_TASK",
                intent,
                value,
                RejectionType.INVALID_STATE,
                f"Expected to claim user task with key '{key}', but it has already been assigned",
            )
        self._begin(task, UserTaskTransition("assigning", {**task.values, ASSIGNEE: assignee}, [ASSIGNEE], action))

    def update(self, key: int, changes: Mapping[str, Any], action: str) -> None:
        """Update candidate users/groups, dates and priority; ``changes`` holds only the attributes to change
        (Zeebe's names), "" or [] resetting one."""
        value = {"userTaskKey": key, **changes, "changedAttributes": list(changes), "action": action or "update"}
        self.w.command("USER_TASK", "UPDATE", key, value)
        task = self._task_for(key, "UPDATE", "update", value)
        unknown = [name for name in changes if name not in UPDATABLE]
        if unknown:
            self.ctx.reject_command(
                "USER_TASK",
                "UPDATE",
                value,
                RejectionType.INVALID_ARGUMENT,
                f"Expected to update user task with key '{key}', but '{unknown[0]}' cannot be updated "
                f"(updatable: {', '.join(UPDATABLE)})",
            )
        transition = UserTaskTransition("updating", {**task.values, **changes}, list(changes), action or "update")
        self._begin(task, transition)

    # -- transitions -----------------------------------------------------------------------------
    @staticmethod
    def record_value(
        task: UserTask,
        values: Mapping[str, Any],
        transition: UserTaskTransition | None = None,
        *,
        changed: list[str] | None = None,
        variables: Mapping[str, Any] | None = None,
        denied_reason: str = "",
    ) -> dict[str, Any]:
        """The USER_TASK record value, with the property names of Zeebe's UserTaskRecord."""
        inst = task.element_instance
        process = inst.process
        if changed is None:
            changed = list(transition.changed) if transition is not None else []
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
            "changedAttributes": changed,
            "action": transition.action if transition is not None else "",
            "creationTimestamp": task.creation_timestamp,
            "priority": values[PRIORITY],
            "deniedReason": denied_reason,
            **instance_tags(inst),
        }

    def _event(self, task: UserTask, intent: str, value: dict[str, Any]) -> None:
        """Write a USER_TASK event; its applier (engine/core/state/appliers/user_tasks.py) changes the task."""
        self.w.event("USER_TASK", intent, task.key, value, task.element_instance.process_instance_key)

    def _begin(self, task: UserTask, transition: UserTaskTransition) -> None:
        ing, _, _ = _TRANSITIONS[transition.event]
        self._event(task, ing, self.record_value(task, transition.values, transition, variables=transition.variables))
        self._next(self.tasks[task.key])

    def _next(self, task: UserTask) -> None:
        """Create the job of the next listener of the transition, or end the transition when none is left."""
        transition = task.transition
        assert transition is not None
        definition = task.element_instance.element.user_task
        assert definition is not None
        pending = definition.listeners_of(transition.event)
        if transition.listener_index < len(pending):
            try:
                self._create_listener_job(task, pending[transition.listener_index])
            except StepFailure as failure:  # the listener's type or retries: the transition waits
                retry = RetryStep(LISTENER_RETRY_STEP, (task.key,))
                self.incidents.raise_incident(task.element_instance, failure, retry)
            return
        self._finish(task)

    def retry_listener(self, task_key: int) -> None:
        """An incident on a listener's job type or retries was resolved: create that listener's job again."""
        task = self.tasks.get(task_key)
        if task is not None and task.transition is not None:
            self._next(task)
            self._after_canceling(task)

    def _after_canceling(self, task: UserTask) -> None:
        """The task's last canceling listener ran (it is CANCELED): its element's termination goes on, as
        Zeebe's follow-up command CONTINUE_TERMINATING_ELEMENT."""
        inst = task.element_instance
        if task.key not in self.tasks and inst.state == TERMINATING:
            value = inst.record_value or self.lifecycle.pi_value(inst)
            pik = inst.process_instance_key
            self.w.command("PROCESS_INSTANCE", "CONTINUE_TERMINATING_ELEMENT", inst.key, value, pik)
            self.lifecycle.continue_termination(inst)

    def _finish(self, task: UserTask) -> None:
        transition = task.transition
        assert transition is not None
        _, ed, _ = _TRANSITIONS[transition.event]
        values = dict(transition.values)
        inst = task.element_instance
        if transition.event == "completing":
            # its applier forgets the task and hands the variables to the element's output mappings
            self._event(task, ed, self.record_value(task, values, transition, variables=transition.variables))
            self.ctx.hooks.on_user_task_done(task.key, None)
            if inst.state == ACTIVATED:
                self.lifecycle.complete(inst)
            return
        assignee = ""
        if transition.event == "creating":  # the assignee comes with the assignment that follows
            assignee = values[ASSIGNEE] or self._initial_assignee(task)
            values[ASSIGNEE] = ""
        self._event(task, ed, self.record_value(task, values, transition))
        if transition.event == "canceling":
            return  # the element's termination goes on (at once, or once the last canceling listener ran)
        if transition.event == "creating":
            if inst.state == ACTIVATING:
                self.lifecycle.transition(inst, ACTIVATED)
            if assignee:
                self._begin(task, UserTaskTransition("assigning", {**values, ASSIGNEE: assignee}, [ASSIGNEE], ""))
            return
        self.ctx.hooks.on_user_task_done(task.key, None)

    def _initial_assignee(self, task: UserTask) -> str:
        initial = self.initial_assignees.pop(task.key, None)
        if initial is not None:
            return initial
        definition = task.element_instance.element.user_task
        assert definition is not None
        if definition.assignee is None:
            return ""
        try:
            return self._text(definition.assignee, task.element_instance, "assignee")
        except StepFailure:
            return ""

    def _deny(self, task: UserTask, reason: str) -> None:
        transition = task.transition
        assert transition is not None
        _, _, denied = _TRANSITIONS[transition.event]
        assert denied is not None
        self._event(task, denied, self.record_value(task, task.values, transition, denied_reason=reason))
        what = _DENIAL_WORDING[transition.event]
        self.ctx.hooks.on_user_task_done(
            task.key,
            Rejection(
                RejectionType.INVALID_STATE,
                f"{what} of the User Task with key '{task.key}' was denied by Task Listener. Reason to deny: "
                f"'{reason}'",
            ),
        )

    def cancel(self, inst: ElementInstance) -> None:
        """The task's element is being terminated: cancel the task (and any transition in progress; its
        listener job was canceled with the element). CANCELING, then the ``canceling`` listeners one after
        the other, then CANCELED; while they run the task stays CANCELING and the element TERMINATING
        (ElementLifecycle.termination_waits), as Zeebe 8.8 blocks the termination for them."""
        key = self.of_instance.get(inst.key)
        task = self.tasks.get(key) if key is not None else None
        if task is None:
            return
        transition = task.transition
        if transition is not None and transition.event in _VERBS:
            self.ctx.hooks.on_user_task_done(
                task.key,
                Rejection(
                    RejectionType.NOT_FOUND,
                    f"Expected to {_VERBS[transition.event]} user task with key '{task.key}', but it was canceled "
                    "while its task listeners ran",
                ),
            )
        self.initial_assignees.pop(task.key, None)
        self._begin(task, UserTaskTransition("canceling", dict(task.values), [], ""))

    # -- listener jobs ---------------------------------------------------------------------------
    @staticmethod
    def _listener_headers(task: UserTask, transition: UserTaskTransition) -> dict[str, str]:
        """The task's headers plus Zeebe's ``io.camunda.zeebe:*`` user task headers for the listener job."""
        values = transition.values
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

    def _create_listener_job(self, task: UserTask, listener: TaskListener) -> None:
        transition = task.transition
        assert transition is not None
        inst = task.element_instance
        job_type = self.expressions.eval(listener.job_type, inst, "STRING")
        retries = self.expressions.eval(listener.retries, inst, "NUMBER")
        headers = self._listener_headers(task, transition)
        event = transition.event.upper()
        self.jobs.create(inst, job_type, int(retries), headers, kind=TASK_LISTENER_JOB, listener_event_type=event)

    def listener_job_variables(self, job: Job, variables: dict[str, Any], fetch: set[str] | None) -> dict[str, Any]:
        """The variables a task listener job is activated with: those visible from the task's element, and
        over them the variables of the command that started the transition (a completion's variables), as
        Zeebe's JobVariablesCollector merges the task's intermediate state for TASK_LISTENER jobs (the task's
        variables win; ``fetch`` limits both). Camunda docs, "User task listeners" → "Use cases": a
        ``completing`` listener validates the completion ("completing with valid variables")."""
        if job.kind != TASK_LISTENER_JOB:
            return variables
        task = self.task_of_job(job)
        transition = task.transition if task is not None else None
        if transition is None or not transition.variables:
            return variables
        pending = transition.variables
        if fetch is not None:
            pending = {k: v for k, v in pending.items() if k in fetch}
        return {**variables, **pending}

    def task_of_job(self, job: Job) -> UserTask | None:
        key = self.of_instance.get(job.element_instance.key)
        return self.tasks.get(key) if key is not None else None

    def check_job_completion(
        self, job: Job, value: dict[str, Any], variables: Mapping[str, Any], result: Mapping[str, Any] | None
    ) -> None:
        """Refuse, before anything changes, a job completion that Zeebe refuses: a result on a job that is
        not a task listener's, variables from a task listener, a denial of an event that cannot be denied,
        corrections of what cannot be corrected."""

        def refuse(reason: str) -> None:
            self.ctx.reject_command("JOB", "COMPLETE", value, RejectionType.INVALID_ARGUMENT, reason)

        if job.kind != TASK_LISTENER_JOB:
            if result:
                refuse(
                    f"Expected to complete job with key '{job.key}' with a result, but only task listener jobs of "
                    "user tasks take a result in this engine"
                )
            return
        if variables:
            refuse(
                f"Task Listener job completion with variables payload provided is not yet supported (job key "
                f"'{job.key}'). Task Listener jobs can only complete without variables; corrections go in the "
                "job result"
            )
        result = result or {}
        if result.get("denied") and job.listener_event_type in ("CREATING", "CANCELING"):
            refuse(  # Zeebe's JobCompleteProcessor's wording
                f"Denying result is not supported for '{job.listener_event_type}' task listener jobs (job key "
                f"'{job.key}', type '{job.type}', processInstanceKey '{job.element_instance.process_instance_key}'). "
                "Only the following listener event types support denying: [ASSIGNING, COMPLETING, UPDATING]."
            )
        corrections = result.get("corrections") or {}
        if not isinstance(corrections, Mapping):
            refuse(f"Expected the corrections of job with key '{job.key}' to be an object")
        for name, correction in corrections.items():
            problem = _correction_problem(name, correction)
            if problem:
                refuse(f"Expected to complete task listener job with key '{job.key}' with corrections, but {problem}")

    def listener_completed(self, job: Job, result: Mapping[str, Any] | None) -> None:
        """A task listener job completed (checked by :meth:`check_job_completion`): deny the transition, or
        take the corrections (CORRECTED) and go on with the next listener (the JOB COMPLETED applier counted
        the listener)."""
        task = self.task_of_job(job)
        if task is None or task.transition is None or task.transition.event.upper() != job.listener_event_type:
            return
        transition = task.transition
        result = result or {}
        denied = bool(result.get("denied"))
        reason = str(result.get("deniedReason") or "") if denied else ""
        # Zeebe's follow-up command of a listener job's completion, which the transition's events come from
        self.w.command(
            "USER_TASK",
            "DENY_TASK_LISTENER" if denied else "COMPLETE_TASK_LISTENER",
            task.key,
            self.record_value(task, transition.values, transition, denied_reason=reason),
            task.element_instance.process_instance_key,
        )
        if denied:
            self._deny(task, reason)
            return
        # only what changes a value, as Zeebe's wrapChangedAttributesIfValueChanged: no CORRECTED otherwise
        sent = (result.get("corrections") or {}).items()
        corrections = {k: v for k, v in sent if v is not None and transition.values.get(k) != v}
        if corrections:  # its applier takes the corrections into the transition
            corrected = {**transition.values, **corrections}
            self._event(task, "CORRECTED", self.record_value(task, corrected, transition, changed=list(corrections)))
        self._next(task)
        self._after_canceling(task)


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
