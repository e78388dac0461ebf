"""Read-only views for the test API and the CLI, folded from the record log.

History (completed instances, resolved incidents, completed jobs) is only in the log, so the views
read it: the engine first commits what is pending, then the view folds the relevant records. Deployed
resources come from the in-memory deployment state. Nothing here changes the engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from procgov_engine.api import DecisionMetadata, FormMetadata, ProcessMetadata
from procgov_engine.core.log import RecordLog

if TYPE_CHECKING:
    from procgov_engine.core.state import EngineState


@dataclass(frozen=True)
class ProcessInstanceView:
    key: int
    bpmn_process_id: str
    version: int
    process_definition_key: int
    state: str  # "ACTIVE" | "COMPLETED" | "TERMINATED"
    parent_process_instance_key: int
    started_at: int  # epoch ms
    ended_at: int | None
    tenant_id: str = "<default>"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ElementInstanceView:
    key: int
    process_instance_key: int
    element_id: str
    element_type: str
    state: str  # the last lifecycle intent, e.g. "ELEMENT_ACTIVATED"
    flow_scope_key: int
    activated_at: int
    ended_at: int | None


@dataclass(frozen=True)
class IncidentView:
    key: int
    error_type: str
    error_message: str
    element_id: str
    element_instance_key: int
    job_key: int
    process_instance_key: int
    state: str  # "ACTIVE" | "RESOLVED"
    bpmn_process_id: str = ""
    process_definition_key: int = -1
    tenant_id: str = "<default>"
    created_at: int = 0  # epoch ms of the CREATED record


def fold_incident(previous: IncidentView | None, record: Mapping[str, Any]) -> IncidentView:
    """The incident as one more INCIDENT event leaves it (``previous`` is the view before it, if any)."""
    value = record["value"]
    return IncidentView(
        key=record["key"],
        error_type=value["errorType"],
        error_message=value["errorMessage"],
        element_id=value["elementId"],
        element_instance_key=value["elementInstanceKey"],
        job_key=value["jobKey"],
        process_instance_key=value["processInstanceKey"],
        state="RESOLVED" if record["intent"] == "RESOLVED" else "ACTIVE",
        bpmn_process_id=value.get("bpmnProcessId", ""),
        process_definition_key=value.get("processDefinitionKey", -1),
        tenant_id=value.get("tenantId", "<default>"),
        created_at=previous.created_at if previous else record["timestamp"],
    )


@dataclass(frozen=True)
class JobView:
    key: int
    type: str
    state: str  # the last JOB intent: CREATED, ACTIVATED (from a batch), FAILED, COMPLETED, ...
    retries: int
    element_id: str
    element_instance_key: int
    process_instance_key: int
    worker: str
    deadline: int
    error_message: str


ENDED_STATES = {"ELEMENT_COMPLETED": "COMPLETED", "ELEMENT_TERMINATED": "TERMINATED"}


def fold_process_instances(rows: Iterable[Mapping[str, Any]]) -> dict[int, ProcessInstanceView]:
    """Each process instance as its PROCESS_INSTANCE events leave it, by key (other element types are skipped)."""
    views: dict[int, ProcessInstanceView] = {}
    for record in rows:
        value = record["value"]
        if value.get("bpmnElementType") != "PROCESS":
            continue
        key = record["key"]
        previous = views.get(key)
        ended = ENDED_STATES.get(record["intent"])
        views[key] = ProcessInstanceView(
            key=key,
            bpmn_process_id=value["bpmnProcessId"],
            version=value["version"],
            process_definition_key=value["processDefinitionKey"],
            state=ended or "ACTIVE",
            parent_process_instance_key=value.get("parentProcessInstanceKey", -1),
            started_at=previous.started_at if previous else record["timestamp"],
            ended_at=record["timestamp"] if ended else None,
            tenant_id=value.get("tenantId", "<default>"),
            tags=tuple(value.get("tags", ())),
        )
    return views


@dataclass(frozen=True)
class UserTaskView:
    """A Camunda user task as its USER_TASK events leave it; ``state`` is the REST API's UserTaskStateEnum."""

    key: int
    state: str
    element_id: str
    element_instance_key: int
    process_instance_key: int
    process_definition_key: int
    bpmn_process_id: str
    process_definition_version: int
    assignee: str
    candidate_groups: list[str]
    candidate_users: list[str]
    due_date: str
    follow_up_date: str
    form_key: int
    external_form_reference: str
    priority: int
    custom_headers: dict[str, str]
    created_at: int
    completed_at: int | None
    tenant_id: str
    tags: tuple[str, ...] = ()


# USER_TASK intent → the task's state after it; a transition's attributes count once it has ended
_USER_TASK_STATES = {
    "CREATING": "CREATING",
    "CREATED": "CREATED",
    "ASSIGNING": "ASSIGNING",
    "ASSIGNED": "CREATED",
    "UPDATING": "UPDATING",
    "UPDATED": "CREATED",
    "COMPLETING": "COMPLETING",
    "COMPLETED": "COMPLETED",
    "CANCELING": "CANCELING",
    "CANCELED": "CANCELED",
    "ASSIGNMENT_DENIED": "CREATED",
    "UPDATE_DENIED": "CREATED",
    "COMPLETION_DENIED": "CREATED",
}
_SETTLED = {"CREATING", "CREATED", "ASSIGNED", "UPDATED", "COMPLETED", "CANCELED"}


def fold_user_tasks(
    rows: Iterable[Mapping[str, Any]], views: dict[int, UserTaskView] | None = None
) -> dict[int, UserTaskView]:
    """Each user task by key, from its USER_TASK events in log order (folded onto ``views``, if given)."""
    views = {} if views is None else views
    for record in rows:
        intent = record["intent"]
        state = _USER_TASK_STATES.get(intent)
        if state is None:  # CORRECTED: seen by the listeners only until the transition ends
            continue
        key = record["key"]
        previous = views.get(key)
        value = record["value"]
        if previous is not None and intent not in _SETTLED:
            views[key] = _replace_state(previous, state)
            continue
        views[key] = UserTaskView(
            key=key,
            state=state,
            element_id=value["elementId"],
            element_instance_key=value["elementInstanceKey"],
            process_instance_key=value["processInstanceKey"],
            process_definition_key=value["processDefinitionKey"],
            bpmn_process_id=value["bpmnProcessId"],
            process_definition_version=value["processDefinitionVersion"],
            assignee=value["assignee"],
            candidate_groups=list(value["candidateGroupsList"]),
            candidate_users=list(value["candidateUsersList"]),
            due_date=value["dueDate"],
            follow_up_date=value["followUpDate"],
            form_key=value["formKey"],
            external_form_reference=value["externalFormReference"],
            priority=value["priority"],
            custom_headers=dict(value["customHeaders"]),
            created_at=value["creationTimestamp"],
            completed_at=record["timestamp"] if intent == "COMPLETED" else None,
            tenant_id=value.get("tenantId", "<default>"),
            tags=tuple(value.get("tags", ())),
        )
    return views


def _replace_state(view: UserTaskView, state: str) -> UserTaskView:
    return replace(view, state=state)


class Query:
    def __init__(self, log: RecordLog, state: EngineState, flush: Callable[[], None]) -> None:
        self._log = log
        self._state = state
        self._user_task_views: dict[int, UserTaskView] = {}  # folded up to _user_tasks_position
        self._user_tasks_position = 0
        self._flush = flush

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        self._flush()
        return [json.loads(row[0]) for row in self._log.query(sql, params)]

    # -- records -------------------------------------------------------------------------------
    def records(
        self,
        *,
        value_type: str | None = None,
        intent: str | None = None,
        process_instance_key: int | None = None,
        after_position: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Records in log order, optionally filtered (exporter shape, as docs/contracts.md describes)."""
        clauses, params = ["position > ?"], [after_position]
        if value_type:
            clauses.append("value_type = ?")
            params.append(value_type)  # type: ignore[arg-type]
        if intent:
            clauses.append("intent = ?")
            params.append(intent)  # type: ignore[arg-type]
        if process_instance_key is not None:
            clauses.append("process_instance_key = ?")
            params.append(process_instance_key)
        sql = f"SELECT json FROM records WHERE {' AND '.join(clauses)} ORDER BY position"
        yield from self._rows(sql, tuple(params))

    def last_position(self) -> int:
        """Position of the newest record (0 for an empty log): a starting point for ``records(after_position=…)``."""
        rows = self._rows("SELECT json FROM records ORDER BY position DESC LIMIT 1")
        return int(rows[0]["position"]) if rows else 0

    # -- instances -----------------------------------------------------------------------------
    def process_instances(self) -> list[ProcessInstanceView]:
        rows = self._rows(
            "SELECT json FROM records WHERE value_type='PROCESS_INSTANCE' AND key = process_instance_key "
            "AND record_type='EVENT' ORDER BY position"
        )
        return list(fold_process_instances(rows).values())

    def user_tasks(self) -> list[UserTaskView]:
        """Every user task as its records leave it. The log only grows, so the fold goes on from where the
        previous call stopped: a task list's refresh reads only the records written since."""
        rows = self._rows(
            "SELECT json FROM records WHERE position > ? AND value_type='USER_TASK' AND record_type='EVENT' "
            "ORDER BY position",
            (self._user_tasks_position,),
        )
        if rows:
            fold_user_tasks(rows, self._user_task_views)
            self._user_tasks_position = int(rows[-1]["position"])
        return list(self._user_task_views.values())

    def user_task(self, key: int) -> UserTaskView | None:
        self.user_tasks()
        return self._user_task_views.get(key)

    def process_instance(self, key: int) -> ProcessInstanceView | None:
        rows = self._rows(
            "SELECT json FROM records WHERE process_instance_key=? AND key=? AND value_type='PROCESS_INSTANCE' "
            "AND record_type='EVENT' ORDER BY position",
            (key, key),
        )
        return fold_process_instances(rows).get(key)

    def element_instances(self, process_instance_key: int) -> list[ElementInstanceView]:
        rows = self._rows(
            "SELECT json FROM records WHERE process_instance_key=? AND value_type='PROCESS_INSTANCE' "
            "AND record_type='EVENT' ORDER BY position",
            (process_instance_key,),
        )
        views: dict[int, ElementInstanceView] = {}
        for record in rows:
            value = record["value"]
            if value["bpmnElementType"] in ("SEQUENCE_FLOW", "PROCESS"):
                continue
            key = record["key"]
            previous = views.get(key)
            intent = record["intent"]
            views[key] = ElementInstanceView(
                key=key,
                process_instance_key=process_instance_key,
                element_id=value["elementId"],
                element_type=value["bpmnElementType"],
                state=intent,
                flow_scope_key=value["flowScopeKey"],
                activated_at=previous.activated_at if previous else record["timestamp"],
                ended_at=record["timestamp"] if intent in ENDED_STATES else None,
            )
        return list(views.values())

    # -- variables -----------------------------------------------------------------------------
    def variables(self, scope_key: int) -> dict[str, Any]:
        """The variables of one scope (the latest value of each), including ended scopes."""
        alive = self._state.instances.get(scope_key)
        if alive is not None:
            return self.variables_by_scope(alive.process_instance_key).get(scope_key, {})
        rows = self._rows(
            "SELECT json FROM records WHERE value_type='VARIABLE' AND record_type='EVENT' "
            "AND json_extract(json, '$.value.scopeKey') = ? ORDER BY position",
            (scope_key,),
        )
        return {r["value"]["name"]: json.loads(r["value"]["value"]) for r in rows}

    def instance_variables(self, process_instance_key: int) -> dict[str, Any]:
        """The process instance's root scope variables."""
        return self.variables_by_scope(process_instance_key).get(process_instance_key, {})

    def variables_by_scope(self, process_instance_key: int) -> dict[int, dict[str, Any]]:
        rows = self._rows(
            "SELECT json FROM records WHERE process_instance_key=? AND value_type='VARIABLE' "
            "AND record_type='EVENT' ORDER BY position",
            (process_instance_key,),
        )
        scopes: dict[int, dict[str, Any]] = {}
        for record in rows:
            value = record["value"]
            scopes.setdefault(value["scopeKey"], {})[value["name"]] = json.loads(value["value"])
        return scopes

    # -- incidents and jobs --------------------------------------------------------------------
    def incidents(self, process_instance_key: int | None = None, *, active_only: bool = False) -> list[IncidentView]:
        if process_instance_key is None:
            rows = self._rows(
                "SELECT json FROM records WHERE value_type='INCIDENT' AND record_type='EVENT' ORDER BY position"
            )
        else:
            rows = self._rows(
                "SELECT json FROM records WHERE process_instance_key=? AND value_type='INCIDENT' "
                "AND record_type='EVENT' ORDER BY position",
                (process_instance_key,),
            )
        views: dict[int, IncidentView] = {}
        for record in rows:
            views[record["key"]] = fold_incident(views.get(record["key"]), record)
        result = list(views.values())
        return [v for v in result if v.state == "ACTIVE"] if active_only else result

    def jobs(self, process_instance_key: int | None = None, *, job_type: str | None = None) -> list[JobView]:
        if process_instance_key is None:
            rows = self._rows(
                "SELECT json FROM records WHERE value_type IN ('JOB','JOB_BATCH') AND record_type='EVENT' "
                "ORDER BY position"
            )
        else:
            rows = self._rows(
                "SELECT json FROM records WHERE value_type IN ('JOB','JOB_BATCH') AND record_type='EVENT' AND "
                "(process_instance_key=? OR value_type='JOB_BATCH') ORDER BY position",
                (process_instance_key,),
            )
        views: dict[int, JobView] = {}
        for record in rows:
            if record["valueType"] == "JOB_BATCH":
                for key, job in zip(record["value"]["jobKeys"], record["value"]["jobs"], strict=False):
                    if process_instance_key is None or job["processInstanceKey"] == process_instance_key:
                        views[key] = self._job_view(key, "ACTIVATED", job)
                continue
            views[record["key"]] = self._job_view(record["key"], record["intent"], record["value"])
        result = list(views.values())
        return [j for j in result if j.type == job_type] if job_type else result

    @staticmethod
    def _job_view(key: int, state: str, value: dict[str, Any]) -> JobView:
        return JobView(
            key=key,
            type=value["type"],
            state=state,
            retries=value["retries"],
            element_id=value["elementId"],
            element_instance_key=value["elementInstanceKey"],
            process_instance_key=value["processInstanceKey"],
            worker=value["worker"],
            deadline=value["deadline"],
            error_message=value["errorMessage"],
        )

    # -- deployments ---------------------------------------------------------------------------
    def processes(self) -> list[ProcessMetadata]:
        return [
            ProcessMetadata(p.bpmn_process_id, p.version, p.key, p.resource_name, p.tenant_id)
            for versions in self._state.processes_by_id.values()
            for p in versions
        ]

    def decisions(self) -> list[DecisionMetadata]:
        return [
            DecisionMetadata(
                d.decision_id, d.name, d.version, d.key, d.requirements_id, d.requirements_key, d.tenant_id
            )
            for versions in self._state.decisions_by_id.values()
            for d in versions
        ]

    def element_name(self, process_definition_key: int, element_id: str) -> str | None:
        """The modelled name of an element (None when it has none), e.g. a user task's name."""
        process = self._state.processes_by_key.get(process_definition_key)
        element = process.model.elements.get(element_id) if process is not None else None
        return (element.name or None) if element is not None else None

    def process_xml(self, process_definition_key: int) -> bytes | None:
        """The deployed BPMN resource of one process definition (``GET /v2/process-definitions/{key}/xml``)."""
        process = self._state.processes_by_key.get(process_definition_key)
        return process.resource if process is not None else None

    def forms(self) -> list[FormMetadata]:
        return [
            FormMetadata(f.form_id, f.version, f.key, f.resource_name, f.tenant_id)
            for versions in self._state.forms_by_id.values()
            for f in versions
        ]

    def form_by_key(self, form_key: int) -> dict[str, Any] | None:
        """The schema of one deployed form version (``GET /v2/forms/{formKey}``)."""
        for versions in self._state.forms_by_id.values():
            for f in versions:
                if f.key == form_key:
                    return dict(json.loads(f.resource))
        return None

    def form(self, form_id: str, tenant_id: str = "<default>") -> dict[str, Any] | None:
        versions = self._state.forms_by_id.get((form_id, tenant_id))
        return json.loads(versions[-1].resource) if versions else None
