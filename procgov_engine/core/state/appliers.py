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

import heapq
import json
from collections.abc import Callable
from typing import Any

import orjson

from procgov_engine.core.state import (
    JOB_ACTIVATABLE,
    JOB_ACTIVATED,
    JOB_ERROR_THROWN,
    JOB_FAILED,
    EngineState,
    Incident,
    Job,
)

Applier = Callable[[int, dict[str, Any]], None]


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
        }

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
        job.element_instance.job_key = 0

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

    def _error_created(self, key: int, value: dict[str, Any]) -> None:
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
        state.incidents[key] = Incident(key, value["errorType"], value["errorMessage"], inst, job_key)
        if job_key < 0:
            inst.incident_key = key
            return
        job = state.jobs.get(job_key)
        if job is not None:
            job.incident_key = key
            if job.state == JOB_ERROR_THROWN:  # the error was not caught: the job is the element's again
                inst.job_key = job_key
                self._thrown_job = 0

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
