"""The history of one process instance, folded from its Zeebe records.

Records are the truth (Zeebe's own rule): the history is a pure fold over the instance's records in
log order, so the same records give the same history whichever source they were read from. It holds
what an auditor asks about: which elements ran and for how long, what the variables were over time,
which jobs ran on which worker with how many retries and how they ended, which incidents occurred and
how they were resolved, and which timers and messages moved the instance.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from workers.audit.records import Record
from workers.audit.sources import RecordSource, SourceError

#: Element states as Operate words them.
ACTIVE, COMPLETED, TERMINATED = "ACTIVE", "COMPLETED", "TERMINATED"


@dataclass(frozen=True)
class ElementVisit:
    """One element instance: a task, event, gateway or sub-process the token went through."""

    element_instance_key: int
    element_id: str
    element_type: str  # Zeebe's bpmnElementType, e.g. SERVICE_TASK, EXCLUSIVE_GATEWAY
    flow_scope_key: int
    started_at: int  # epoch ms of ELEMENT_ACTIVATING
    ended_at: int | None = None  # epoch ms of ELEMENT_COMPLETED / ELEMENT_TERMINATED
    state: str = ACTIVE

    @property
    def duration_ms(self) -> int | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class VariableChange:
    """A variable set or changed; ``value`` is the parsed JSON value."""

    position: int
    at: int
    name: str
    value: Any
    scope_key: int
    intent: str  # CREATED | UPDATED


@dataclass(frozen=True)
class JobAttempt:
    """Something that happened to a job after it was created (fail, time-out, retries, ...)."""

    at: int
    intent: str
    retries: int | None
    worker: str
    error_message: str = ""
    error_code: str = ""


@dataclass(frozen=True)
class JobActivation:
    """One hand-out of the job to a worker (a ``JOB_BATCH`` ``ACTIVATED`` record naming the job).

    Zeebe writes the worker's name on activation, not only on completion: a job that timed out, is
    still running or failed is attributed to its worker only through these records, and a job that
    timed out and was handed to another worker has one activation per worker.
    """

    at: int  # epoch ms of the ACTIVATED record
    worker: str
    timeout_ms: int
    deadline: int | None = None  # epoch ms the activation times out, when the record carries it
    position: int = -1  # of the ACTIVATED record: the variables the job saw are those written before it


@dataclass(frozen=True)
class JobHistory:
    key: int
    type: str
    element_id: str
    element_instance_key: int
    created_at: int
    retries: int  # as created
    outcome: str = "CREATED"  # last intent: COMPLETED, FAILED, ERROR_THROWN, CANCELED, TIMED_OUT, ...
    worker: str = ""  # the worker that completed, failed or threw (the last one to touch it)
    ended_at: int | None = None
    attempts: tuple[JobAttempt, ...] = ()
    variables: Any = None  # the variables the job completed (or threw) with
    activations: tuple[JobActivation, ...] = ()  # every hand-out to a worker, in log order
    #: as created: a user task's assignment (``io.camunda.zeebe:assignee``, ``...:candidateGroups``)
    custom_headers: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def activated_by(self) -> tuple[str, ...]:
        """The workers the job was handed to, in order (a worker twice if it activated it twice)."""
        return tuple(a.worker for a in self.activations)

    @property
    def failures(self) -> int:
        return sum(1 for a in self.attempts if a.intent == "FAILED")


@dataclass(frozen=True)
class UserTaskAssignment:
    """One change of a user task's assignee (USER_TASK ASSIGNED; empty ``assignee``: unassigned)."""

    at: int
    assignee: str
    action: str  # what the caller named it: assign, claim, unassign, or a custom action


@dataclass(frozen=True)
class UserTaskHistory:
    """A Camunda user task (``zeebe:userTask``) from its USER_TASK records: who it was for, who had it,
    and how it ended. Who did a human step is read here, not from jobs: such a task has no job."""

    key: int
    element_id: str
    element_instance_key: int
    created_at: int
    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    assignee: str = ""  # the current (at the end: the completing) assignee
    outcome: str = "CREATED"  # last intent: COMPLETED, CANCELED, ... (a denied one leaves it as it was)
    ended_at: int | None = None
    action: str = ""  # the completion's action (complete, or the caller's own word)
    variables: Any = None  # the variables the task was completed with
    assignments: tuple[UserTaskAssignment, ...] = ()
    denials: tuple[str, ...] = ()  # reasons a task listener gave for denying a transition


@dataclass(frozen=True)
class IncidentHistory:
    key: int
    error_type: str
    error_message: str
    element_id: str
    element_instance_key: int
    job_key: int
    created_at: int
    resolved_at: int | None = None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


@dataclass(frozen=True)
class TimerEvent:
    key: int
    target_element_id: str
    element_instance_key: int
    due_date: int
    created_at: int
    outcome: str = "CREATED"  # TRIGGERED | CANCELED
    ended_at: int | None = None


@dataclass(frozen=True)
class MessageEvent:
    """A message subscription of the instance and whether (and when) a message was correlated."""

    message_name: str
    correlation_key: str
    element_id: str
    element_instance_key: int
    opened_at: int
    correlated_at: int | None = None
    message_key: int = -1
    variables: Any = None


@dataclass(frozen=True)
class CalledInstance:
    """A process instance started by one of this instance's call activities."""

    process_instance_key: int
    bpmn_process_id: str
    call_activity_id: str  # the parent's call activity element that started it
    call_activity_instance_key: int  # the parent's element instance (the child's parentElementInstanceKey)
    state: str
    started_at: int
    ended_at: int | None


@dataclass(frozen=True)
class InstanceHistory:
    process_instance_key: int
    bpmn_process_id: str
    version: int
    process_definition_key: int
    started_at: int
    ended_at: int | None
    state: str
    parent_process_instance_key: int = -1  # -1: not started by a call activity
    parent_element_instance_key: int = -1  # the parent's call activity instance that started this one
    elements: tuple[ElementVisit, ...] = ()
    taken_flows: tuple[str, ...] = ()  # ids of sequence flows taken, in order
    variables: tuple[VariableChange, ...] = ()
    jobs: tuple[JobHistory, ...] = ()
    user_tasks: tuple[UserTaskHistory, ...] = ()
    incidents: tuple[IncidentHistory, ...] = ()
    timers: tuple[TimerEvent, ...] = ()
    messages: tuple[MessageEvent, ...] = ()
    bpmn_xml: str | None = field(default=None, compare=False)  # the deployed model, for the diagram
    children: tuple[CalledInstance, ...] = ()  # instances its call activities started (set by load_history)

    @property
    def duration_ms(self) -> int | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def final_variables(self) -> dict[str, Any]:
        """Process-scope variables as they stood last (what Operate shows for a finished instance)."""
        final: dict[str, Any] = {}
        for change in self.variables:
            if change.scope_key == self.process_instance_key:
                final[change.name] = change.value
        return final

    def visits_of(self, element_id: str) -> list[ElementVisit]:
        return [v for v in self.elements if v.element_id == element_id]

    def variables_seen(self, element_instance_key: int, before_position: int) -> dict[str, Any]:
        """The variables visible in ``element_instance_key``'s scope just before ``before_position``:
        the element's own (input mappings) over its flow scopes' up to the process, each as last written
        before that position. What a job activated at that position was given (Zeebe hands a job the
        variables of its scope hierarchy)."""
        scopes: list[int] = []
        parents = {v.element_instance_key: v.flow_scope_key for v in self.elements}
        key = element_instance_key
        while key > 0 and key not in scopes:
            scopes.append(key)
            key = parents.get(key, -1)
        depth = {scope: i for i, scope in enumerate(scopes)}
        seen: dict[str, tuple[int, Any]] = {}
        for change in self.variables:
            if change.position >= before_position or change.scope_key not in depth:
                continue
            level = depth[change.scope_key]
            current = seen.get(change.name)
            if current is None or level <= current[0]:
                seen[change.name] = (level, change.value)
        return {name: value for name, (_, value) in seen.items()}


class HistoryError(ValueError):
    """The records do not describe the requested instance (names the key and what is missing)."""


def _parse_variable_value(raw: Any, where: str) -> Any:
    # The exporter stores variable values as JSON text; the engine may hand over parsed values.
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{where}: variable value is not JSON: {raw[:80]!r}") from exc


_ELEMENT_END = {"ELEMENT_COMPLETED": COMPLETED, "ELEMENT_TERMINATED": TERMINATED}
_JOB_TERMINAL = {"COMPLETED", "ERROR_THROWN", "CANCELED"}


def build_history(records: Iterable[Record], process_instance_key: int) -> InstanceHistory:
    """Fold one instance's records (any order; sorted by position here) into its history."""
    ordered = sorted(
        (r for r in records if r.is_event and _concerns(r, process_instance_key)),
        key=lambda r: (r.position, r.partition_id),
    )
    root: Record | None = None
    elements: dict[int, ElementVisit] = {}
    flows: list[str] = []
    variables: list[VariableChange] = []
    jobs: dict[int, JobHistory] = {}
    user_tasks: dict[int, UserTaskHistory] = {}
    incidents: dict[int, IncidentHistory] = {}
    timers: dict[int, TimerEvent] = {}
    messages: dict[tuple[int, str], MessageEvent] = {}
    ended_at: int | None = None
    state = ACTIVE

    for r in ordered:
        v = r.value
        if r.value_type == "PROCESS_INSTANCE":
            element_type = str(v.get("bpmnElementType", ""))
            if element_type == "SEQUENCE_FLOW":
                if r.intent == "SEQUENCE_FLOW_TAKEN":
                    flows.append(str(v.get("elementId", "")))
                continue
            if r.intent == "ELEMENT_ACTIVATING":
                elements[r.key] = ElementVisit(
                    element_instance_key=r.key,
                    element_id=str(v.get("elementId", "")),
                    element_type=element_type,
                    flow_scope_key=int(v.get("flowScopeKey", -1)),
                    started_at=r.timestamp,
                )
                if element_type == "PROCESS" and r.key == process_instance_key:
                    root = r
            elif r.intent in _ELEMENT_END and r.key in elements:
                elements[r.key] = replace(elements[r.key], ended_at=r.timestamp, state=_ELEMENT_END[r.intent])
                if r.key == process_instance_key:
                    ended_at, state = r.timestamp, _ELEMENT_END[r.intent]
        elif r.value_type == "VARIABLE":
            variables.append(
                VariableChange(
                    position=r.position,
                    at=r.timestamp,
                    name=str(v.get("name", "")),
                    value=_parse_variable_value(
                        v.get("value"), f"instance {process_instance_key} record at position {r.position}"
                    ),
                    scope_key=int(v.get("scopeKey", -1)),
                    intent=r.intent,
                )
            )
        elif r.value_type == "JOB":
            _fold_job(jobs, r)
        elif r.value_type == "USER_TASK":
            _fold_user_task(user_tasks, r)
        elif r.value_type == "JOB_BATCH" and r.intent == "ACTIVATED":
            _fold_activations(jobs, r, process_instance_key)
        elif r.value_type == "INCIDENT":
            if r.intent == "CREATED":
                incidents[r.key] = IncidentHistory(
                    key=r.key,
                    error_type=str(v.get("errorType", "")),
                    error_message=str(v.get("errorMessage", "")),
                    element_id=str(v.get("elementId", "")),
                    element_instance_key=int(v.get("elementInstanceKey", -1)),
                    job_key=int(v.get("jobKey", -1)),
                    created_at=r.timestamp,
                )
            elif r.intent == "RESOLVED" and r.key in incidents:
                incidents[r.key] = replace(incidents[r.key], resolved_at=r.timestamp)
        elif r.value_type == "TIMER":
            if r.intent == "CREATED":
                timers[r.key] = TimerEvent(
                    key=r.key,
                    target_element_id=str(v.get("targetElementId", "")),
                    element_instance_key=int(v.get("elementInstanceKey", -1)),
                    due_date=int(v.get("dueDate", 0)),
                    created_at=r.timestamp,
                )
            elif r.intent in {"TRIGGERED", "CANCELED"} and r.key in timers:
                timers[r.key] = replace(timers[r.key], outcome=r.intent, ended_at=r.timestamp)
        elif r.value_type == "PROCESS_MESSAGE_SUBSCRIPTION":
            slot = (int(v.get("elementInstanceKey", -1)), str(v.get("messageName", "")))
            if r.intent == "CREATED" and slot not in messages:
                messages[slot] = MessageEvent(
                    message_name=slot[1],
                    correlation_key=str(v.get("correlationKey", "")),
                    element_id=str(v.get("elementId", "")),
                    element_instance_key=slot[0],
                    opened_at=r.timestamp,
                )
            elif r.intent == "CORRELATED" and slot in messages:
                messages[slot] = replace(
                    messages[slot],
                    correlated_at=r.timestamp,
                    message_key=int(v.get("messageKey", -1)),
                    variables=v.get("variables"),
                )

    if root is None:
        raise HistoryError(
            f"no records of process instance {process_instance_key} (no PROCESS_INSTANCE ELEMENT_ACTIVATING "
            "event for the process itself)"
        )
    rv = root.value
    return InstanceHistory(
        process_instance_key=process_instance_key,
        bpmn_process_id=str(rv.get("bpmnProcessId", "")),
        version=int(rv.get("version", -1)),
        process_definition_key=int(rv.get("processDefinitionKey", -1)),
        parent_process_instance_key=int(rv.get("parentProcessInstanceKey", -1)),
        parent_element_instance_key=int(rv.get("parentElementInstanceKey", -1)),
        started_at=root.timestamp,
        ended_at=ended_at,
        state=state,
        elements=tuple(e for e in elements.values() if e.element_type != "PROCESS"),
        taken_flows=tuple(flows),
        variables=tuple(variables),
        jobs=tuple(jobs.values()),
        user_tasks=tuple(user_tasks.values()),
        incidents=tuple(incidents.values()),
        timers=tuple(timers.values()),
        messages=tuple(messages.values()),
    )


def _concerns(record: Record, process_instance_key: int) -> bool:
    """The record belongs to the instance: its value names it, or (JOB_BATCH) one of its jobs does."""
    if record.process_instance_key == process_instance_key:
        return True
    return record.value_type == "JOB_BATCH" and any(
        isinstance(job, dict) and job.get("processInstanceKey") == process_instance_key
        for job in record.value.get("jobs") or ()
    )


def _fold_activations(jobs: dict[int, JobHistory], r: Record, process_instance_key: int) -> None:
    """Attach one activation to each of this instance's jobs in the batch (``jobKeys[i]`` is ``jobs[i]``)."""
    v = r.value
    keys, values = v.get("jobKeys") or [], v.get("jobs") or []
    if len(keys) != len(values):
        raise HistoryError(
            f"JOB_BATCH record at position {r.position}: {len(keys)} jobKeys but {len(values)} jobs"
        )
    timeout = v.get("timeout")
    for job_key, job_value in zip(keys, values, strict=True):
        job = jobs.get(job_key)
        if job is None or not isinstance(job_value, dict):
            continue  # another instance's job in the same batch, or one created before our records
        if job_value.get("processInstanceKey") != process_instance_key:
            continue
        deadline = job_value.get("deadline")
        activation = JobActivation(
            at=r.timestamp,
            worker=str(job_value.get("worker") or v.get("worker") or ""),
            timeout_ms=int(timeout) if isinstance(timeout, int) else -1,
            deadline=deadline if isinstance(deadline, int) and deadline > 0 else None,
            position=r.position,
        )
        # The activating worker is the last one to touch the job until it completes, fails or throws.
        jobs[job_key] = replace(job, activations=(*job.activations, activation), worker=activation.worker)


def _fold_user_task(tasks: dict[int, UserTaskHistory], r: Record) -> None:
    """USER_TASK events as Zeebe writes them (Camunda docs, "User tasks", "User task lifecycle")."""
    v = r.value
    if r.intent == "CREATED":
        tasks[r.key] = UserTaskHistory(
            key=r.key, element_id=str(v.get("elementId", "")),
            element_instance_key=int(v.get("elementInstanceKey", -1)), created_at=r.timestamp,
            candidate_groups=tuple(map(str, v.get("candidateGroupsList") or ())),
            candidate_users=tuple(map(str, v.get("candidateUsersList") or ())), assignee=str(v.get("assignee") or ""))
        return
    task = tasks.get(r.key)
    if task is None:
        return  # created before the records we were given
    if r.intent == "ASSIGNED":
        assignee, action = str(v.get("assignee") or ""), str(v.get("action") or "")
        task = replace(task, assignee=assignee,
                       assignments=(*task.assignments, UserTaskAssignment(r.timestamp, assignee, action)))
    elif r.intent == "UPDATED":
        changed = set(v.get("changedAttributes") or ())
        if "candidateGroupsList" in changed:
            task = replace(task, candidate_groups=tuple(map(str, v.get("candidateGroupsList") or ())))
        if "candidateUsersList" in changed:
            task = replace(task, candidate_users=tuple(map(str, v.get("candidateUsersList") or ())))
    elif r.intent in {"COMPLETED", "CANCELED"}:
        task = replace(task, outcome=r.intent, ended_at=r.timestamp, action=str(v.get("action") or ""),
                       assignee=str(v.get("assignee") or task.assignee), variables=v.get("variables"))
    elif r.intent.endswith("_DENIED"):
        task = replace(task, denials=(*task.denials, f"{r.intent}: {v.get('deniedReason') or ''}".rstrip(": ")))
    tasks[r.key] = task


def _fold_job(jobs: dict[int, JobHistory], r: Record) -> None:
    v = r.value
    retries = v.get("retries")
    retries_int = int(retries) if isinstance(retries, int) else None
    if r.intent == "CREATED":
        jobs[r.key] = JobHistory(
            key=r.key,
            type=str(v.get("type", "")),
            element_id=str(v.get("elementId", "")),
            element_instance_key=int(v.get("elementInstanceKey", -1)),
            created_at=r.timestamp,
            retries=retries_int if retries_int is not None else 0,
            custom_headers={str(k): str(h) for k, h in (v.get("customHeaders") or {}).items()},
        )
        return
    job = jobs.get(r.key)
    if job is None:
        return  # a job created before the records we were given; nothing to attach it to
    worker = str(v.get("worker") or job.worker)
    attempt = JobAttempt(
        at=r.timestamp,
        intent=r.intent,
        retries=retries_int,
        worker=worker,
        error_message=str(v.get("errorMessage") or ""),
        error_code=str(v.get("errorCode") or ""),
    )
    job = replace(job, outcome=r.intent, worker=worker, attempts=(*job.attempts, attempt))
    if r.intent in _JOB_TERMINAL:
        job = replace(job, ended_at=r.timestamp, variables=v.get("variables"))
    jobs[r.key] = job


def bpmn_resource(definition_records: Sequence[Record], process_definition_key: int) -> str | None:
    """The deployed BPMN XML of a definition, from its PROCESS record (or its DEPLOYMENT record)."""
    for r in definition_records:
        if r.value_type == "PROCESS" and r.value.get("processDefinitionKey") == process_definition_key:
            text = _decode_resource(r.value.get("resource"))
            if text:
                return text
    for r in definition_records:
        if r.value_type != "DEPLOYMENT":
            continue
        names = {
            m.get("resourceName")
            for m in r.value.get("processesMetadata") or []
            if m.get("processDefinitionKey") == process_definition_key
        }
        for resource in r.value.get("resources") or []:
            if resource.get("resourceName") in names:
                text = _decode_resource(resource.get("resource"))
                if text:
                    return text
    return None


def _decode_resource(raw: Any) -> str | None:
    # The exporter serialises byte[] as base64 (Jackson); accept plain XML too.
    if not isinstance(raw, str) or not raw:
        return None
    if raw.lstrip().startswith("<"):
        return raw
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


class NoInstanceRecords(SourceError):
    """The source holds no record of the instance (for replay a finding when the store has its decisions)."""


def load_history(source: RecordSource, process_instance_key: int) -> InstanceHistory:
    """Read one instance's history (its deployed BPMN and the instances it called) from any source."""
    history = _instance_history(source, process_instance_key)
    definition = source.definition_records(history.process_definition_key)
    children = tuple(_called(history, _instance_history(source, key)) for key in source.child_instance_keys(
        process_instance_key))
    return replace(history, bpmn_xml=bpmn_resource(definition, history.process_definition_key), children=children)


def _instance_history(source: RecordSource, process_instance_key: int) -> InstanceHistory:
    records = source.instance_records(process_instance_key)
    if not records:
        raise NoInstanceRecords(f"{source.describe()} has no records of process instance {process_instance_key}")
    return build_history(records, process_instance_key)


def _called(parent: InstanceHistory, child: InstanceHistory) -> CalledInstance:
    call = next((e for e in parent.elements if e.element_instance_key == child.parent_element_instance_key), None)
    return CalledInstance(
        process_instance_key=child.process_instance_key,
        bpmn_process_id=child.bpmn_process_id,
        call_activity_id=call.element_id if call else "",
        call_activity_instance_key=child.parent_element_instance_key,
        state=child.state,
        started_at=child.started_at,
        ended_at=child.ended_at,
    )


def descendant_keys(source: RecordSource, process_instance_key: int) -> list[int]:
    """Every instance called from this one, directly or through its children, depth first."""
    found: list[int] = []
    pending = list(reversed(source.child_instance_keys(process_instance_key)))
    while pending:
        key = pending.pop()
        if key in found:
            continue  # a log cannot hold a cycle; guard anyway so a corrupt one cannot loop forever
        found.append(key)
        pending.extend(reversed(source.child_instance_keys(key)))
    return found
