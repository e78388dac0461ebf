"""INCIDENT: open incidents, the step each one repeats when resolved, and the job an incident holds."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state import (
    ACTIVATING,
    COMPLETING,
    JOB_ERROR_THROWN,
    MI_BODY,
    ElementInstance,
    Incident,
    RetryStep,
)
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable
from procgov_engine.model.bpmn import Element

USER_TASK_LISTENER_STEP = "user_task_listener"  # the RetryStep of an incident on a task listener's expressions


class IncidentAppliers(Appliers):
    KEY_ONLY = frozenset(
        {
            ("INCIDENT", "RESOLVED"),
        }
    )

    def appliers(self) -> AppliersTable:
        return {
            ("INCIDENT", "CREATED"): self._incident_created,
            ("INCIDENT", "RESOLVED"): self._incident_resolved,
        }

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
                self.scratch.thrown_job = 0

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
        started = self.scratch.root_started
        if started is not None and started[0] == root.key:
            return started[1], started[2]
        none_start = root.element.none_start
        return ([none_start] if none_start is not None else []), None

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
