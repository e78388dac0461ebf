"""Event appliers: the code that changes :class:`EngineState`, one applier per event (value type + intent).

Zeebe's shape (``zeebe/engine/.../state/appliers``): processors and behaviours decide and write events;
the record writer hands every event it writes to :meth:`EventAppliers.apply`, and the applier of that
event changes the state. An applier reads only the event's key and value (the record as it is exported)
and the state before it, so the same appliers can rebuild the state from the logged events.

What a record does not carry is derived here from the state and the event (e.g. a job's element instance
from ``elementInstanceKey``, which job an ``ERROR`` event consumed). Appliers never write records and never
evaluate expressions.
"""

from __future__ import annotations

import base64
import functools
import heapq
import json
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from procgov_engine.core.state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETED,
    COMPLETING,
    JOB_ACTIVATABLE,
    JOB_ACTIVATED,
    JOB_ERROR_THROWN,
    JOB_FAILED,
    MI_BODY,
    TERMINATED,
    TERMINATING,
    DeployedDecision,
    DeployedDrg,
    DeployedForm,
    DeployedProcess,
    ElementInstance,
    EngineState,
    Incident,
    Job,
    Message,
    MessageSubscription,
    RetryStep,
    SignalSubscription,
    Timer,
    UserTask,
    UserTaskTransition,
    is_join,
)
from procgov_engine.dmn import parse_dmn
from procgov_engine.model.bpmn import Element, parse_bpmn

Applier = Callable[[int, dict[str, Any]], None]
USER_TASK_LISTENER_STEP = "user_task_listener"  # the RetryStep of an incident on a task listener's expressions


def _json_value(text: str) -> Any:
    """A VARIABLE record's value (JSON text; beyond 64-bit integers only the standard library reads)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class EventAppliers:
    """The applier table of one partition's state. ``on_jobs_available`` and ``on_due_added`` tell the
    engine that a job type became activatable and that a due date was added (set by the wiring)."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        self.on_jobs_available: Callable[[str], None] = lambda job_type: None
        self.on_due_added: Callable[[int], None] = lambda due: None
        self._thrown_job = 0  # the job of the last ERROR_THROWN, until its ERROR or INCIDENT event
        self.table: dict[tuple[str, str], Applier] = {
            ("VARIABLE", "CREATED"): self._variable,
            ("VARIABLE", "UPDATED"): self._variable,
            ("JOB", "CREATED"): self._job_created,
            ("JOB", "COMPLETED"): self._job_completed,
            ("JOB", "FAILED"): self._job_failed,
            ("JOB", "ERROR_THROWN"): self._job_error_thrown,
            ("JOB", "RETRIES_UPDATED"): self._job_retries_updated,
            ("JOB", "TIMEOUT_UPDATED"): self._job_timeout_updated,
            ("JOB", "TIMED_OUT"): self._job_activatable_again,
            ("JOB", "RECURRED_AFTER_BACKOFF"): self._job_recurred,
            ("JOB", "CANCELED"): self._job_canceled,
            ("JOB_BATCH", "ACTIVATED"): self._jobs_activated,
            ("ERROR", "CREATED"): self._error_created,
            ("INCIDENT", "CREATED"): self._incident_created,
            ("INCIDENT", "RESOLVED"): self._incident_resolved,
            ("PROCESS_INSTANCE", ACTIVATING): self._element_activating,
            ("PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN"): self._flow_taken,
            ("PROCESS_INSTANCE", ACTIVATED): functools.partial(self._element_moved, ACTIVATED),
            ("PROCESS_INSTANCE", COMPLETING): functools.partial(self._element_moved, COMPLETING),
            ("PROCESS_INSTANCE", TERMINATING): self._element_terminating,
            ("PROCESS_INSTANCE", COMPLETED): functools.partial(self._element_left, COMPLETED),
            ("PROCESS_INSTANCE", TERMINATED): functools.partial(self._element_left, TERMINATED),
            ("PROCESS", "CREATED"): self._process_created,
            ("DECISION_REQUIREMENTS", "CREATED"): self._drg_created,
            ("DECISION", "CREATED"): self._decision_created,
            ("FORM", "CREATED"): self._form_created,
            ("DEPLOYMENT", "CREATED"): self._deployment_created,
            ("USER_TASK", "CREATING"): self._user_task_creating,
            ("USER_TASK", "ASSIGNING"): functools.partial(self._user_task_transition, "assigning"),
            ("USER_TASK", "UPDATING"): functools.partial(self._user_task_transition, "updating"),
            ("USER_TASK", "COMPLETING"): functools.partial(self._user_task_transition, "completing"),
            ("USER_TASK", "CORRECTED"): self._user_task_corrected,
            ("USER_TASK", "CREATED"): self._user_task_transition_ended,
            ("USER_TASK", "ASSIGNED"): self._user_task_transition_ended,
            ("USER_TASK", "UPDATED"): self._user_task_transition_ended,
            ("USER_TASK", "ASSIGNMENT_DENIED"): self._user_task_denied,
            ("USER_TASK", "UPDATE_DENIED"): self._user_task_denied,
            ("USER_TASK", "COMPLETION_DENIED"): self._user_task_denied,
            ("USER_TASK", "CANCELING"): self._user_task_canceling,
            ("USER_TASK", "COMPLETED"): self._user_task_gone,
            ("USER_TASK", "CANCELED"): self._user_task_gone,
            ("TIMER", "CREATED"): self._timer_created,
            ("TIMER", "TRIGGERED"): self._timer_triggered,
            ("PROCESS_INSTANCE_CREATION", "CREATED"): self._instance_created,
            ("SIGNAL", "BROADCASTED"): self._signal_broadcasted,
            ("ESCALATION", "ESCALATED"): self._escalated,
            ("DECISION_EVALUATION", "EVALUATED"): self._decision_evaluated,
            ("TIMER", "CANCELED"): self._timer_removed,
            ("MESSAGE", "PUBLISHED"): self._message_published,
            ("MESSAGE", "EXPIRED"): self._message_expired,
            ("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED"): self._subscription_created,
            ("PROCESS_MESSAGE_SUBSCRIPTION", "CORRELATED"): self._subscription_correlated,
            ("PROCESS_MESSAGE_SUBSCRIPTION", "DELETED"): self._subscription_deleted,
            ("MESSAGE_START_EVENT_SUBSCRIPTION", "CREATED"): self._message_start_created,
            ("MESSAGE_START_EVENT_SUBSCRIPTION", "CORRELATED"): self._message_start_correlated,
            ("SIGNAL_SUBSCRIPTION", "CREATED"): self._signal_created,
            ("SIGNAL_SUBSCRIPTION", "DELETED"): self._signal_deleted,
            ("CLOCK", "PINNED"): self._clock_pinned,
            ("CLOCK", "RESETTED"): self._clock_resetted,
        }
        # resource bytes → its parsed model, handed over by the deployment processor (which parsed it to
        # validate it) for the deployment's events; rebuilding the state from the log parses again
        self.parsed: dict[bytes, Any] = {}
        # the message of the last PUBLISHED event: one without a time to live is not in the state, but its
        # correlations (in the same command) still mark it correlated per process
        self.published: Message | None = None
        self._compensation_throw = 0  # the compensation throw event whose handlers are being activated
        # What an event trigger hands to the element it activates or completes (the element's temporary
        # variables, which go through its output mappings): (catch element id, variables) of the last
        # correlation, thrown error or fired timer; the event-based gateway (scope key, gateway id) that just
        # completed because one of its events fired. Processing sets the same values itself; the fold
        # needs them for an element that waits (an incident, a listener) with them.
        self._trigger: tuple[str, dict[str, Any] | None] | None = None
        self._thrown_variables: dict[str, Any] | None = None
        self._gateway_left: tuple[int, str] | None = None
        self._signal: dict[str, Any] | None = None
        self._signal_name = ""
        # owner key → the interrupting event sub-process start whose subscription to the broadcast signal was
        # closed in this command (its scope's children are terminated next)
        self._signal_closed: dict[int, str] = {}
        # a message start event's correlation key, taken by the instance the next root activation starts
        self._starting: tuple[str, str] | None = None
        # where the next process instance starts (a start event that fired: element id or, for a signal, the
        # signal's name, and the start variables), and where the last one started: an incident on its
        # activation retries from there
        self._start: tuple[str, str, dict[str, Any] | None] | None = None
        self._root_started: tuple[int, list[Element], dict[str, Any] | None] | None = None
        # the message start correlation keys the process instance that ended last held
        self.freed_start_keys: list[tuple[str, str]] = []

    # the appliers that read only the event's key: the fold does not parse these events' JSON
    KEY_ONLY = frozenset(
        {
            ("PROCESS_INSTANCE", ACTIVATED),
            ("PROCESS_INSTANCE", COMPLETING),
            ("PROCESS_INSTANCE", TERMINATING),
            ("PROCESS_INSTANCE", COMPLETED),
            ("PROCESS_INSTANCE", TERMINATED),
            ("JOB", "TIMED_OUT"),
            ("JOB", "RECURRED_AFTER_BACKOFF"),
            ("JOB", "CANCELED"),
            ("TIMER", "CANCELED"),
            ("INCIDENT", "RESOLVED"),
            ("PROCESS_MESSAGE_SUBSCRIPTION", "DELETED"),
        }
    )

    def command(self) -> None:
        """A command record was written (or folded): what the previous command's events left pending goes."""
        self._start = None
        self._root_started = None
        self._trigger = None
        self._thrown_variables = None
        self._gateway_left = None
        self._signal = None
        self._signal_name = ""
        self._signal_closed = {}

    def opened(self) -> None:
        """The fold on open ended: nothing of a command is pending any more."""
        self.parsed.clear()
        self.published = None
        self._thrown_job = 0
        self._starting = None
        self._start = None
        self._root_started = None
        self._compensation_throw = 0
        self._trigger = None
        self._thrown_variables = None
        self._gateway_left = None
        self._signal = None
        self._signal_name = ""
        self._signal_closed = {}

    def apply(self, value_type: str, intent: str, key: int, value: dict[str, Any]) -> None:
        applier = self.table.get((value_type, intent))
        if applier is not None:
            applier(key, value)

    # -- shared ----------------------------------------------------------------------------------
    def add_due(self, due: int, kind: str, key: int) -> None:
        """A time-driven command's due date: (due, sequence, kind, key) on the heap (see behaviours/due.py)."""
        state = self.state
        state.due_seq += 1
        heapq.heappush(state.due, (due, state.due_seq, kind, key))
        self.on_due_added(due)

    # -- VARIABLE --------------------------------------------------------------------------------
    def _variable(self, key: int, value: dict[str, Any]) -> None:
        variables = self.state.variables
        scope = value["scopeKey"]
        values = variables.values.get(scope)
        if values is None:
            values = variables.values[scope] = {}
            variables.keys[scope] = {}
        name = value["name"]
        values[name] = _json_value(value["value"])
        variables.keys[scope][name] = key

    # -- JOB -------------------------------------------------------------------------------------
    def _make_activatable(self, job: Job) -> None:
        job.state = JOB_ACTIVATABLE
        job.deadline = -1
        job.worker = ""
        self.state.activatable.setdefault(job.type, {})[job.key] = job
        self.on_jobs_available(job.type)

    def _leave_activatable(self, job: Job) -> None:
        bucket = self.state.activatable.get(job.type)
        if bucket is not None:
            bucket.pop(job.key, None)

    def _job_created(self, key: int, value: dict[str, Any]) -> None:
        inst = self.state.instances[value["elementInstanceKey"]]
        job = Job(
            key=key,
            type=value["type"],
            element_instance=inst,
            retries=value["retries"],
            custom_headers=value["customHeaders"],
            tenant_id=value["tenantId"],
            kind=value["jobKind"],
            listener_event_type=value["jobListenerEventType"],
        )
        self.state.jobs[key] = job
        inst.job_key = key
        self._make_activatable(job)

    def _job_completed(self, key: int, value: dict[str, Any]) -> None:
        job = self.state.jobs.pop(key)
        self._leave_activatable(job)
        inst = job.element_instance
        inst.job_key = 0
        if job.kind == "TASK_LISTENER":  # one more listener of the user task's transition ran
            task_key = self.state.user_task_of_instance.get(inst.key)
            task = self.state.user_tasks.get(task_key) if task_key is not None else None
            transition = task.transition if task is not None else None
            if transition is not None and transition.event.upper() == job.listener_event_type:
                transition.listener_index += 1
        elif job.kind == "EXECUTION_LISTENER":  # one more listener of the element ran
            inst.listener_index += inst.state == (ACTIVATING if job.listener_event_type == "START" else COMPLETING)
        elif job.kind == "BPMN_ELEMENT" and inst.state == ACTIVATED:
            variables = value["variables"]
            inst.temp_variables = dict(variables) if variables else None  # for the output mappings

    def _job_failed(self, key: int, value: dict[str, Any]) -> None:
        job = self.state.jobs[key]
        self._leave_activatable(job)
        job.retries = value["retries"]
        job.error_message = value["errorMessage"]
        job.retry_backoff = value["retryBackoff"]
        job.recurring_time = value["recurringTime"]
        job.state = JOB_FAILED
        if job.retries > 0 and job.retry_backoff > 0:
            self.add_due(job.recurring_time, "job_backoff", key)
        elif job.retries > 0:
            self._make_activatable(job)

    def _job_error_thrown(self, key: int, value: dict[str, Any]) -> None:
        """The job leaves its element while the error is thrown: a catching boundary event terminates the
        element without canceling the job; the ERROR event then drops it, an incident re-attaches it."""
        job = self.state.jobs[key]
        self._leave_activatable(job)
        job.error_code = value["errorCode"]
        job.error_message = value["errorMessage"]
        job.state = JOB_ERROR_THROWN
        job.element_instance.job_key = 0
        self._thrown_job = key
        self._thrown_variables = value["variables"] or None

    def _error_created(self, key: int, value: dict[str, Any]) -> None:
        self._trigger = (value["catchElementId"], self._thrown_variables)
        self._thrown_variables = None
        job = self.state.jobs.get(self._thrown_job)
        self._thrown_job = 0
        if job is not None and job.state == JOB_ERROR_THROWN:
            inst = job.element_instance
            if inst.process_instance_key == value["processInstanceKey"] and inst.element.id == value["elementId"]:
                del self.state.jobs[job.key]

    def _job_retries_updated(self, key: int, value: dict[str, Any]) -> None:
        self.state.jobs[key].retries = value["retries"]

    def _job_timeout_updated(self, key: int, value: dict[str, Any]) -> None:
        job = self.state.jobs[key]
        job.deadline = value["deadline"]
        self.add_due(job.deadline, "job_timeout", key)

    def _job_activatable_again(self, key: int, value: dict[str, Any]) -> None:
        self._make_activatable(self.state.jobs[key])

    def _job_recurred(self, key: int, value: dict[str, Any]) -> None:
        job = self.state.jobs[key]
        job.recurring_time = -1
        self._make_activatable(job)

    def _job_canceled(self, key: int, value: dict[str, Any]) -> None:
        job = self.state.jobs.pop(key, None)
        if job is not None:
            self._leave_activatable(job)

    def _jobs_activated(self, key: int, value: dict[str, Any]) -> None:
        jobs = self.state.jobs
        worker = value["worker"]
        for job_key, job_value in zip(value["jobKeys"], value["jobs"], strict=True):
            job = jobs[job_key]
            self._leave_activatable(job)
            job.state = JOB_ACTIVATED
            job.worker = worker
            job.deadline = job_value["deadline"]
            self.add_due(job.deadline, "job_timeout", job_key)

    # -- INCIDENT --------------------------------------------------------------------------------
    def _incident_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        inst = state.instances[value["elementInstanceKey"]]
        job_key = value["jobKey"]
        incident = Incident(key, value["errorType"], value["errorMessage"], inst, job_key)
        state.incidents[key] = incident
        if job_key < 0:
            inst.incident_key = key
            incident.retry = self._retry_step(inst)
            return
        job = state.jobs.get(job_key)
        if job is not None:
            job.incident_key = key
            if job.state == JOB_ERROR_THROWN:  # the error was not caught: the job is the element's again
                inst.job_key = job_key
                self._thrown_job = 0

    def _retry_step(self, inst: ElementInstance) -> RetryStep | None:
        """The step an element's incident repeats when resolved, from where the element stands (the record
        names only the element). A listener whose job could not be created is retried with all listeners of
        its event type (docs: execution listeners), so the listener index goes back to the first of them."""
        element = inst.element
        starts, ends = len(element.start_listeners), len(element.end_listeners)
        if inst.state == ACTIVATING:
            if 0 < inst.listener_index < starts:
                inst.listener_index = 0
            task_key = self.state.user_task_of_instance.get(inst.key)
            if task_key is not None:
                return RetryStep(USER_TASK_LISTENER_STEP, (task_key,))
            if inst.flow_scope is None:
                return RetryStep("activate_root", (inst, *self._root_start(inst)))
            return RetryStep("run_activation", (inst,))
        if inst.state == COMPLETING:
            if starts < inst.listener_index < starts + ends:
                inst.listener_index = starts
            return RetryStep("run_completion", (inst,))
        if inst.element_type == MI_BODY:
            return RetryStep("multi_instance_next", (inst,))
        task_key = self.state.user_task_of_instance.get(inst.key)
        if task_key is not None:
            return RetryStep(USER_TASK_LISTENER_STEP, (task_key,))
        return None

    def _root_start(self, root: ElementInstance) -> tuple[list[Element], dict[str, Any] | None]:
        """Where a process instance whose activation failed starts once resolved: the start event that
        fired, its creation's start instructions (set by the PROCESS_INSTANCE_CREATION applier), or the
        none start event."""
        started = self._root_started
        if started is not None and started[0] == root.key:
            return started[1], started[2]
        none_start = root.element.none_start
        return ([none_start] if none_start is not None else []), None

    def _instance_created(self, key: int, value: dict[str, Any]) -> None:
        """Start instructions: the elements an instance whose activation failed starts at once resolved."""
        incident = (
            self.state.incidents.get(self.state.instances[key].incident_key) if key in self.state.instances else None
        )
        instructions = [i["elementId"] for i in value["startInstructions"]]
        if incident is None or incident.retry is None or incident.retry.method != "activate_root" or not instructions:
            return
        root = incident.element_instance
        starts = [root.process.model.elements[e] for e in instructions]
        incident.retry = RetryStep("activate_root", (root, starts, None))

    def _signal_broadcasted(self, key: int, value: dict[str, Any]) -> None:
        self._start = ("", value["signalName"], value["variables"])
        self._signal = value["variables"]  # for every signal catch this broadcast triggers (no record each)
        self._signal_name = value["signalName"]

    def _escalated(self, key: int, value: dict[str, Any]) -> None:
        """An escalation caught by a boundary event or event sub-process (the catch the trigger activates)."""
        self._trigger = (value["catchElementId"], None)

    def _started_at(self, root: ElementInstance) -> None:
        """The root's start: the start event that fired (timer, message, signal) or the none start event."""
        process = root.process
        start = self._start
        starts: list[Element] = []
        variables: dict[str, Any] | None = None
        if start is not None:
            element_id, signal_name, variables = start
            if element_id:
                self._start = None
                starts = [process.model.elements[element_id]]
            else:  # a signal start event of this process with the broadcast's name
                subs = self.state.signal_subs.get(signal_name, {})
                starts = [s.catch for s in subs.values() if s.owner is None and s.process is process][:1]
        if not starts:
            none_start = process.model.root.none_start
            starts, variables = ([none_start] if none_start is not None else []), None
        self._root_started = (root.key, starts, variables)

    def _incident_resolved(self, key: int, value: dict[str, Any]) -> None:
        """Resolved by RESOLVE or because its element or job went away. A job's incident makes the job
        activatable again if it has retries left or threw an error (a job without retries gets a new
        incident from the processor)."""
        state = self.state
        incident = state.incidents.pop(key, None)
        if incident is None:
            return
        inst = incident.element_instance
        if inst.incident_key == key:
            inst.incident_key = 0
        if incident.job_key > 0:
            job = state.jobs.get(incident.job_key)
            if job is None or job.incident_key != key:
                return
            job.incident_key = 0
            if job.retries > 0 or job.state == JOB_ERROR_THROWN:
                job.error_code = ""
                self._make_activatable(job)

    def _decision_evaluated(self, key: int, value: dict[str, Any]) -> None:
        """A business rule task's decision: its output is the task's result variable."""
        inst = self.state.instances.get(value["elementInstanceKey"])
        if inst is not None:
            inst.temp_variables = {inst.element.result_variable or "": value["decisionOutput"]}

    # -- TIMER -----------------------------------------------------------------------------------
    def _element(self, process: DeployedProcess, element_id: str) -> Element:
        model = process.model
        return model.root if element_id == model.root.id else model.elements[element_id]

    def _timer_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        owner_key = value["elementInstanceKey"]
        owner = state.instances[owner_key] if owner_key > 0 else None
        element_id = value["targetElementId"]
        catch = self._element(process, element_id)
        timer = Timer(key, value["dueDate"], value["repetitions"], element_id, process, owner, catch)
        state.timers[key] = timer
        if owner is None:
            state.start_timers.setdefault((process.bpmn_process_id, process.tenant_id), []).append(key)
        else:
            owner.timer_keys.append(key)
        self.add_due(timer.due, "timer", key)

    def _timer_triggered(self, key: int, value: dict[str, Any]) -> None:
        self._trigger = (value["targetElementId"], None)
        if value["elementInstanceKey"] < 0:  # a timer start event: the next instance starts there
            self._start = (value["targetElementId"], "", None)
        self._timer_removed(key, value)

    def _timer_removed(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        timer = state.timers.pop(key, None)
        if timer is None:
            return
        owner = timer.element_instance
        keys = (
            owner.timer_keys
            if owner is not None
            else state.start_timers.get((timer.process.bpmn_process_id, timer.process.tenant_id), [])
        )
        if key in keys:
            keys.remove(key)

    # -- MESSAGE ---------------------------------------------------------------------------------
    def _message_published(self, key: int, value: dict[str, Any]) -> None:
        message = Message(
            key,
            value["name"],
            value["correlationKey"],
            value["variables"],
            value["deadline"],
            value["timeToLive"],
            value["messageId"],
            value["tenantId"],
        )
        self.published = message
        if message.time_to_live <= 0:
            return
        state = self.state
        state.messages[key] = message
        state.messages_by_corr.setdefault((message.name, message.correlation_key, message.tenant_id), {})[key] = message
        self.add_due(message.deadline, "message_expire", key)

    def message(self, key: int) -> Message | None:
        """The message ``key``: buffered, or the one just published without a time to live."""
        message = self.state.messages.get(key)
        if message is None and self.published is not None and self.published.key == key:
            return self.published
        return message

    def _message_expired(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        message = state.messages.pop(key, None)
        if message is None:
            return
        corr = (message.name, message.correlation_key, message.tenant_id)
        bucket = state.messages_by_corr.get(corr)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del state.messages_by_corr[corr]

    # -- message subscriptions: both records of a change are written, the PROCESS_MESSAGE_SUBSCRIPTION
    # one is applied ----------------------------------------------------------------------------
    def _subscription_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        owner = state.instances[value["elementInstanceKey"]]
        sub = MessageSubscription(
            key,
            value["messageName"],
            value["correlationKey"],
            owner,
            self._element(owner.process, value["elementId"]),
            value["interrupting"],
            value["tenantId"],
        )
        state.subscriptions[key] = sub
        state.subs_by_corr.setdefault((sub.name, sub.correlation_key, sub.tenant_id), {})[key] = sub
        owner.subscription_keys.append(key)

    def _subscription_correlated(self, key: int, value: dict[str, Any]) -> None:
        self._trigger = (value["elementId"], value["variables"])
        message = self.message(value["messageKey"])
        if message is not None:
            message.correlated_processes.add(value["bpmnProcessId"])

    def _subscription_deleted(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        sub = state.subscriptions.pop(key, None)
        if sub is None:
            return
        corr = (sub.name, sub.correlation_key, sub.tenant_id)
        bucket = state.subs_by_corr.get(corr)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del state.subs_by_corr[corr]
        if key in sub.owner.subscription_keys:
            sub.owner.subscription_keys.remove(key)

    def _message_start_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        start = self._element(process, value["startEventId"])
        state.message_starts.setdefault((value["messageName"], process.tenant_id), []).append((process, start))

    def _message_start_correlated(self, key: int, value: dict[str, Any]) -> None:
        message = self.message(value["messageKey"])
        bpmn_id = value["bpmnProcessId"]
        if message is not None:
            message.correlated_processes.add(bpmn_id)
        self._starting = (bpmn_id, value["correlationKey"])
        self._start = (value["startEventId"], "", value["variables"])

    def instance_started(self, root: ElementInstance) -> None:
        """A process instance's root is activating: if a message start event started it, its correlation
        key is taken (one instance per key at a time) until the instance ends."""
        starting, self._starting = self._starting, None
        if starting is not None and starting[1] and starting[0] == root.process.bpmn_process_id:
            self.state.message_start_keys[starting] = root.key

    def instance_ended(self, root: ElementInstance) -> None:
        keys = self.state.message_start_keys
        freed = []
        for start_key, instance_key in list(keys.items()):
            if instance_key == root.key:
                del keys[start_key]
                freed.append(start_key)
        self.freed_start_keys = freed  # processing may ask: the correlation keys free again

    # -- SIGNAL_SUBSCRIPTION ---------------------------------------------------------------------
    def _signal_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        owner_key = value["catchEventInstanceKey"]
        owner = state.instances[owner_key] if owner_key > 0 else None
        sub = SignalSubscription(
            key, value["signalName"], owner, self._element(process, value["catchEventId"]), process
        )
        state.signal_subs.setdefault(sub.name, {})[key] = sub
        if owner is not None:
            owner.signal_keys.append(key)

    def _signal_deleted(self, key: int, value: dict[str, Any]) -> None:
        subs = self.state.signal_subs.get(value["signalName"], {})
        sub = subs.pop(key, None)
        if sub is not None and sub.owner is not None and key in sub.owner.signal_keys:
            sub.owner.signal_keys.remove(key)
            catch = sub.catch
            in_sub_process = catch.parent is not None and catch.parent.triggered_by_event
            if self._signal is not None and sub.name == self._signal_name and catch.interrupting and in_sub_process:
                self._signal_closed[sub.owner.key] = catch.id  # for the children's TERMINATING

    # -- CLOCK -------------------------------------------------------------------------------------
    def _clock_pinned(self, key: int, value: dict[str, Any]) -> None:
        self.state.clock_pin = value["time"]

    def _clock_resetted(self, key: int, value: dict[str, Any]) -> None:
        self.state.clock_pin = -1

    # -- deployments: PROCESS, DECISION_REQUIREMENTS, DECISION, FORM, DEPLOYMENT ------------------------
    def _model(self, content: bytes, parse: Callable[[bytes], Any]) -> Any:
        model = self.parsed.get(content)
        if model is None:
            model = self.parsed[content] = parse(content)
        return model

    @staticmethod
    def _checksum(value: dict[str, Any]) -> str:
        return base64.b64decode(value["checksum"]).hex()

    def _process_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        content = base64.b64decode(value["resource"])
        resource_name = value["resourceName"]
        models = self._model(content, lambda c: parse_bpmn(c, resource_name))
        bpmn_id, tenant_id = value["bpmnProcessId"], value["tenantId"]
        model = next(m for m in models if m.bpmn_process_id == bpmn_id)
        process = DeployedProcess(
            key=key,
            bpmn_process_id=bpmn_id,
            version=value["version"],
            resource_name=resource_name,
            checksum=self._checksum(value),
            model=model,
            resource=content,
            deployment_key=value["deploymentKey"],
            tenant_id=tenant_id,
        )
        state.processes_by_id.setdefault((bpmn_id, tenant_id), []).append(process)
        state.processes_by_key[key] = process
        # the new latest version's start events replace the previous one's (no record says so for
        # message start events: their subscriptions are simply those of the latest version)
        for corr, starts in list(state.message_starts.items()):
            kept = [(proc, el) for proc, el in starts if proc.bpmn_process_id != bpmn_id]
            if len(kept) != len(starts):
                state.message_starts[corr] = kept

    def _drg_created(self, key: int, value: dict[str, Any]) -> None:
        content = base64.b64decode(value["resource"])
        drg = DeployedDrg(
            key,
            value["decisionRequirementsId"],
            value["decisionRequirementsName"],
            value["decisionRequirementsVersion"],
            value["resourceName"],
            self._checksum(value),
            self._model(content, parse_dmn),
            content,
            value["tenantId"],
        )
        self.state.drgs_by_id.setdefault((drg.drg_id, drg.tenant_id), []).append(drg)

    def _decision_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        tenant_id = value["tenantId"]
        drgs = state.drgs_by_id[(value["decisionRequirementsId"], tenant_id)]
        drg = next(d for d in reversed(drgs) if d.key == value["decisionRequirementsKey"])
        decision = DeployedDecision(
            key,
            value["decisionId"],
            value["decisionName"],
            value["version"],
            drg.key,
            drg.drg_id,
            drg.model,
            tenant_id,
        )
        state.decisions_by_id.setdefault((decision.decision_id, tenant_id), []).append(decision)
        state.decisions_by_key[key] = decision

    def _form_created(self, key: int, value: dict[str, Any]) -> None:
        form = DeployedForm(
            key,
            value["formId"],
            value["version"],
            value["resourceName"],
            self._checksum(value),
            base64.b64decode(value["resource"]),
            value["tenantId"],
        )
        self.state.forms_by_id.setdefault((form.form_id, form.tenant_id), []).append(form)

    def _deployment_created(self, key: int, value: dict[str, Any]) -> None:
        """The versions each resource of the deployment resolved to, new or duplicates (bindingType
        ``deployment`` of call activities and linked forms)."""
        state = self.state
        self.parsed.clear()
        for meta in value["processesMetadata"]:
            process = state.processes_by_key[meta["processDefinitionKey"]]
            state.processes_by_deployment.setdefault(key, {})[process.bpmn_process_id] = process
        for meta in value["formMetadata"]:
            form_key = (meta["formId"], meta["tenantId"])
            form = next(f for f in state.forms_by_id[form_key] if f.key == meta["formKey"])
            state.forms_by_deployment.setdefault(key, {})[form_key] = form

    # -- PROCESS_INSTANCE ------------------------------------------------------------------------
    def _element_activating(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        element_type = value["bpmnElementType"]
        scope_key = value["flowScopeKey"]
        scope = state.instances[scope_key] if scope_key > 0 else None
        element = process.model.root if scope is None else process.model.elements[value["elementId"]]
        inst = ElementInstance(key, element, process, value["processInstanceKey"], scope, element_type)
        inst.record_value = value
        state.instances[key] = inst
        if scope is not None:
            scope.children[key] = inst
            self._trigger_variables(inst, scope)
            if scope.element_type == MI_BODY:  # an inner instance of a multi-instance body
                scope.mi_next += 1
                inst.loop_counter = scope.mi_next
            elif element.is_for_compensation and self._compensation_throw:
                inst.compensation_throw_key = self._compensation_throw  # a handler the throw event invoked
            if element_type == "EVENT_SUB_PROCESS" and _interrupting_start(element):
                scope.interrupted = True  # its other children were terminated: their tokens are gone
                scope.join_tokens.clear()
            elif is_join(element):
                tokens = scope.join_tokens.get(element.id)
                if tokens is not None:  # the join fired: one token of each flow that has one
                    for flow_id in list(tokens):
                        tokens[flow_id] -= 1
                        if tokens[flow_id] <= 0:
                            del tokens[flow_id]
                    if not tokens:
                        del scope.join_tokens[element.id]
            return
        inst.parent_process_instance_key = value["parentProcessInstanceKey"]
        inst.parent_element_instance_key = value["parentElementInstanceKey"]
        inst.tags = tuple(value.get("tags", ()))  # Camunda 8.8 (absent on untagged instances' records)
        call = state.instances.get(inst.parent_element_instance_key) if inst.parent_element_instance_key > 0 else None
        if call is not None:
            call.called_instance_key = key
        self.instance_started(inst)
        self._started_at(inst)

    def _trigger_variables(self, inst: ElementInstance, scope: ElementInstance) -> None:
        """A boundary event, event sub-process or event after an event-based gateway activated by the last
        trigger takes its variables; an event sub-process hands them to its start event."""
        element = inst.element
        gateway, self._gateway_left = self._gateway_left, None
        if gateway is not None and gateway[0] == scope.key and any(f.source_id == gateway[1] for f in element.incoming):
            inst.triggered = True
        if element.element_type == "START_EVENT" and scope.element_type == "EVENT_SUB_PROCESS":
            inst.temp_variables, scope.temp_variables = scope.temp_variables, None
            return
        if element.element_type == "EVENT_SUB_PROCESS" and scope.event_trigger is not None:
            # an interrupting event sub-process that waited for the termination of the scope's children
            catch_id, variables = scope.event_trigger
            if any(c.id == catch_id for c in element.children):
                scope.event_trigger = None
                if self._trigger is not None and self._trigger[0] == catch_id:
                    self._trigger = None
                inst.temp_variables = dict(variables) if variables is not None else None
                return
        if self._signal is not None and _signal_triggered(inst, element):
            inst.temp_variables = dict(self._signal)
            return
        trigger = self._trigger
        if trigger is None:
            return
        catch_id, variables = trigger
        if element.id == catch_id or (
            element.element_type == "EVENT_SUB_PROCESS"
            and any(c.id == catch_id for c in element.children if c.element_type == "START_EVENT")
        ):
            self._trigger = None
            inst.temp_variables = dict(variables) if variables is not None else None

    def _flow_taken(self, key: int, value: dict[str, Any]) -> None:
        """A token for a joining gateway waits there (counted when the flow is taken; processing tells the
        tokens still on their way apart within the command)."""
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        flow = process.model.flows[value["elementId"]]
        target = process.model.elements[flow.target_id]
        if is_join(target):
            scope = state.instances[value["flowScopeKey"]]
            tokens = scope.join_tokens.setdefault(target.id, {})
            tokens[flow.id] = tokens.get(flow.id, 0) + 1

    def _element_moved(self, to: str, key: int, value: dict[str, Any]) -> None:
        inst = self.state.instances[key]
        inst.state = to
        element = inst.element
        if (
            to == COMPLETING
            and self._trigger is not None
            and self._trigger[0] == element.id
            and element.element_type in ("INTERMEDIATE_CATCH_EVENT", "RECEIVE_TASK")
        ):
            # a catch event or receive task completes with the message that triggered it
            inst.temp_variables = self._trigger[1]
            self._trigger = None
        elif (
            to == COMPLETING
            and self._signal is not None
            and element.element_type == "INTERMEDIATE_CATCH_EVENT"
            and element.event_type == "SIGNAL"
        ):
            inst.temp_variables = dict(self._signal)
        if to == ACTIVATED and element.event_type == "COMPENSATION" and element.element_type != "BOUNDARY_EVENT":
            # a compensation throw or end event: it takes the handlers it invokes out of its scope
            target, chosen = compensation_choice(inst)
            target.compensable = [e for e in target.compensable or [] if e not in chosen]
            inst.compensation_pending = len(chosen)
            self._compensation_throw = key if chosen else 0

    def _element_terminating(self, key: int, value: dict[str, Any]) -> None:
        """TERMINATING: the interrupting event that terminates the instance (one of its boundary events) or
        its scope's children (an event sub-process of the scope) is remembered, so that the element it
        activates still gets it when the termination has to wait (canceling task listeners)."""
        inst = self.state.instances[key]
        inst.state = TERMINATING
        scope = inst.flow_scope
        if scope is not None and scope.element_type == MI_BODY:
            return  # the body's boundary events are the body's
        element = inst.element
        if element.boundary_events:
            trigger = self._interrupting_trigger(inst, element.boundary_events, subscribed=True)
            if trigger is not None:
                inst.event_trigger = trigger
                return
        if scope is not None and scope.element.event_sub_starts and scope.event_trigger is None:
            trigger = self._interrupting_trigger(scope, scope.element.event_sub_starts, subscribed=False)
            if trigger is not None:  # the event sub-process's activation will mark the same
                scope.event_trigger = trigger
                scope.interrupted = True
                scope.join_tokens.clear()

    def _interrupting_trigger(
        self, owner: ElementInstance, catches: Sequence[Element], *, subscribed: bool
    ) -> tuple[str, dict[str, Any] | None] | None:
        """The trigger of the command (a fired timer, a correlated message, a thrown error or escalation, a
        broadcast signal) if it is for one of the interrupting ``catches`` of ``owner``. A signal is told
        apart by ``owner``'s open subscriptions when ``subscribed`` (boundary events); an event
        sub-process's were closed (in this command) just before its scope's children are terminated."""
        interrupting = [c for c in catches if c.interrupting]
        if not interrupting:
            return None
        trigger = self._trigger
        if trigger is not None and any(c.id == trigger[0] for c in interrupting):
            self._trigger = None  # taken: the activation of its catch gets it from the instance
            return trigger
        if self._signal is not None:
            signals = [c for c in interrupting if c.event_type == "SIGNAL"]
            ids = {c.id for c in signals}
            if signals and subscribed:
                subs = self.state.signal_subs.get(self._signal_name, {})
                for sub_key in owner.signal_keys:
                    sub = subs.get(sub_key)
                    if sub is not None and sub.catch.id in ids:
                        return sub.catch.id, dict(self._signal)
            elif self._signal_closed.get(owner.key) in ids:
                return self._signal_closed[owner.key], dict(self._signal)
        return None

    def _element_left(self, to: str, key: int, value: dict[str, Any]) -> None:
        state = self.state
        inst = state.instances.pop(key)
        inst.state = to
        if inst.event_trigger is not None and to == TERMINATED:
            self._trigger = inst.event_trigger  # for the boundary event it activates now
        scope = inst.flow_scope
        if scope is not None:
            scope.children.pop(key, None)
            element = inst.element
            if to == COMPLETED:
                if element.element_type == "EVENT_BASED_GATEWAY":
                    self._gateway_left = (scope.key, element.id)
                if element.element_type == "END_EVENT" and element.event_type == "TERMINATE":
                    scope.join_tokens.clear()  # a terminate end event ended everything else in its scope
                if scope.element_type == MI_BODY:
                    scope.mi_completed += 1
                if inst.compensable or element.compensation_handler is not None:
                    _remember_completion(inst, scope)
                if inst.compensation_throw_key:
                    throw = state.instances.get(inst.compensation_throw_key)
                    if throw is not None and throw.state == ACTIVATED:
                        throw.compensation_pending -= 1
        else:
            self.instance_ended(inst)
            if inst.state == COMPLETED and inst.parent_element_instance_key > 0:
                call = state.instances.get(inst.parent_element_instance_key)
                if call is not None and call.state == ACTIVATED:
                    call.called_instance_key = 0
                    call.temp_variables = dict(state.variables.values.get(key, {}))  # the call's outputs
        variables = state.variables
        variables.values.pop(key, None)
        variables.keys.pop(key, None)
        if inst.incident_key:
            state.incidents.pop(inst.incident_key, None)

    # -- USER_TASK -------------------------------------------------------------------------------
    @staticmethod
    def _task_values(value: dict[str, Any]) -> dict[str, Any]:
        return {
            "assignee": value["assignee"],
            "candidateGroupsList": list(value["candidateGroupsList"]),
            "candidateUsersList": list(value["candidateUsersList"]),
            "dueDate": value["dueDate"],
            "followUpDate": value["followUpDate"],
            "priority": value["priority"],
        }

    def _user_task_creating(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        inst = state.instances[value["elementInstanceKey"]]
        values = self._task_values(value)
        task = UserTask(
            key=key,
            element_instance=inst,
            values=values,
            form_key=value["formKey"],
            external_form_reference=value["externalFormReference"],
            custom_headers=value["customHeaders"],
            creation_timestamp=value["creationTimestamp"],
            state="CREATING",
            transition=UserTaskTransition("creating", dict(values), [], value["action"]),
        )
        state.user_tasks[key] = task
        state.user_task_of_instance[inst.key] = key

    def _user_task_transition(self, event: str, key: int, value: dict[str, Any]) -> None:
        task = self.state.user_tasks[key]
        task.state = event.upper()
        task.transition = UserTaskTransition(
            event, self._task_values(value), list(value["changedAttributes"]), value["action"], value["variables"]
        )

    def _user_task_corrected(self, key: int, value: dict[str, Any]) -> None:
        transition = self.state.user_tasks[key].transition
        assert transition is not None
        transition.values = self._task_values(value)
        for name in value["changedAttributes"]:
            if name not in transition.changed:
                transition.changed.append(name)

    def _user_task_transition_ended(self, key: int, value: dict[str, Any]) -> None:
        task = self.state.user_tasks[key]
        task.values = self._task_values(value)
        task.transition = None
        task.state = "CREATED"

    def _user_task_denied(self, key: int, value: dict[str, Any]) -> None:
        task = self.state.user_tasks[key]
        task.transition = None
        task.state = "CREATED"

    def _user_task_canceling(self, key: int, value: dict[str, Any]) -> None:
        """Its element is terminating: the canceling listeners run (the element waits for them)."""
        task = self.state.user_tasks[key]
        task.state = "CANCELING"
        task.transition = UserTaskTransition("canceling", self._task_values(value), [], value["action"])

    def _user_task_gone(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        task = state.user_tasks.pop(key, None)
        if task is None:
            return
        inst = task.element_instance
        state.user_task_of_instance.pop(inst.key, None)
        variables = value["variables"]
        if inst.state == ACTIVATED and task.state == "COMPLETING":  # the element completes with them
            inst.temp_variables = dict(variables) if variables else None


def _signal_triggered(inst: ElementInstance, element: Element) -> bool:
    """Whether a signal activates ``element`` (only ever by its trigger): a signal boundary event, an event
    sub-process with a signal start, a signal catch event after an event-based gateway."""
    if element.element_type == "BOUNDARY_EVENT" or inst.triggered:
        return element.event_type == "SIGNAL"
    if element.element_type == "EVENT_SUB_PROCESS":
        start = next((c for c in element.children if c.element_type == "START_EVENT"), None)
        return start is not None and start.event_type == "SIGNAL"
    return False


def _interrupting_start(event_sub_process: Element) -> bool:
    start = next((c for c in event_sub_process.children if c.element_type == "START_EVENT"), None)
    return start is not None and start.interrupting


def _remember_completion(inst: ElementInstance, scope: ElementInstance) -> None:
    """``inst`` completed in ``scope``: remember it (or what it remembered) for a later compensation
    (engine/core/behaviours/compensation.py has the rules)."""
    if scope.element_type == MI_BODY:
        return  # a multi-instance activity is compensated once, for its body
    element = inst.element
    if element.compensation_handler is not None and inst.element_type != "PROCESS":
        scope.compensable = [*(scope.compensable or []), (element, False)]
    if inst.compensable and element.element_type == "SUB_PROCESS":
        scope.compensable = [*(scope.compensable or []), *((activity, True) for activity, _ in inst.compensable)]
        inst.compensable = None


def compensation_choice(inst: ElementInstance) -> tuple[ElementInstance, list[tuple[Element, bool]]]:
    """A compensation throw/end event ``inst``: the scope instance to compensate in and the remembered
    activities whose handlers it invokes (all, or the one of its ``activityRef``)."""
    scope = inst.flow_scope
    assert scope is not None
    target = scope
    if scope.element_type == "EVENT_SUB_PROCESS" and scope.flow_scope is not None:
        target = scope.flow_scope
    ref = inst.element.compensate_activity_ref
    remembered = target.compensable or []
    return target, [e for e in remembered if ref is None or (e[0].id == ref and not e[1])]
