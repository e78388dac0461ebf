"""JOB, JOB_BATCH and ERROR: jobs, their activatability and deadlines, and the error a job threw (the
trigger of the catch it activates)."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETING,
    JOB_ACTIVATED,
    JOB_ERROR_THROWN,
    JOB_FAILED,
    Job,
)
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class JobAppliers(Appliers):
    KEY_ONLY = frozenset(
        {
            ("JOB", "TIMED_OUT"),
            ("JOB", "RECURRED_AFTER_BACKOFF"),
            ("JOB", "CANCELED"),
        }
    )

    def appliers(self) -> AppliersTable:
        return {
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
        }

    # -- JOB -------------------------------------------------------------------------------------
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
        self.scratch.thrown_job = key
        self.scratch.thrown_variables = value["variables"] or None

    def _error_created(self, key: int, value: dict[str, Any]) -> None:
        self.scratch.trigger = (value["catchElementId"], self.scratch.thrown_variables)
        self.scratch.thrown_variables = None
        job = self.state.jobs.get(self.scratch.thrown_job)
        self.scratch.thrown_job = 0
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
