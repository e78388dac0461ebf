"""Jobs (docs.camunda.io/docs/components/concepts/job-workers/): creating an element's job, the JOB
records, the activatable index per job type, cancelling and job incidents."""

from __future__ import annotations

import json
from typing import Any

from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure, instance_tags
from procgov_engine.core.behaviours.due import DueDates
from procgov_engine.core.behaviours.incidents import Incidents
from procgov_engine.core.behaviours.variables import Expressions
from procgov_engine.core.state import JOB_ACTIVATABLE, ElementInstance, Job
from procgov_engine.model.expressions import Expression

LISTENER_JOB = "EXECUTION_LISTENER"  # Zeebe's JobKind of an execution listener's job
LISTENER_NO_RETRIES_INCIDENT = "EXECUTION_LISTENER_NO_RETRIES"
TASK_LISTENER_JOB = "TASK_LISTENER"  # a user task listener's job (engine/core/behaviours/user_tasks.py)
TASK_LISTENER_NO_RETRIES_INCIDENT = "TASK_LISTENER_NO_RETRIES"


class Jobs:
    def __init__(self, ctx: ProcessingContext, expressions: Expressions, incidents: Incidents, due: DueDates) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.jobs = ctx.state.jobs
        self.activatable = ctx.state.activatable
        self.expressions = expressions
        self.incidents = incidents
        self.due = due

    def create_for_element(self, inst: ElementInstance) -> None:
        """The job of a job-worker element (service-like tasks, job-based user tasks, message throws)."""
        element = inst.element
        assert element.job_type is not None and element.job_retries is not None
        job_type = self.expressions.eval(element.job_type, inst, "STRING")
        retries = self.expressions.eval(element.job_retries, inst, "NUMBER")
        headers = self.headers(inst)
        self.create(inst, job_type, int(retries), headers)

    def create(
        self,
        inst: ElementInstance,
        job_type: str,
        retries: int,
        headers: dict[str, str],
        kind: str = "BPMN_ELEMENT",
        listener_event_type: str = "UNSPECIFIED",
    ) -> Job:
        job = Job(
            key=self.w.next_key(),
            type=job_type,
            element_instance=inst,
            retries=retries,
            custom_headers=headers,
            tenant_id=inst.process.tenant_id,
            kind=kind,
            listener_event_type=listener_event_type,
        )
        self.jobs[job.key] = job
        inst.job_key = job.key
        self.event(job, "CREATED")
        self.make_activatable(job)
        return job

    def headers(self, inst: ElementInstance) -> dict[str, str]:
        """The element's custom headers, its FEEL headers (``=...``) evaluated; the model's own dict when none is."""
        headers = inst.element.headers
        if any(v.startswith("=") for v in headers.values()):
            headers = {k: self._header_value(v, inst) if v.startswith("=") else v for k, v in headers.items()}
        return headers

    def _header_value(self, raw: str, inst: ElementInstance) -> str:
        value = self.expressions.eval(Expression(raw), inst)
        return value if isinstance(value, str) else json.dumps(value)

    @staticmethod
    def value(job: Job, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        inst = job.element_instance
        process = inst.process
        return {
            "type": job.type,
            "worker": job.worker,
            "retries": job.retries,
            "deadline": job.deadline,
            "errorMessage": job.error_message,
            "errorCode": job.error_code,
            "customHeaders": job.custom_headers,
            "variables": variables or {},
            "elementId": inst.element.id,
            "elementInstanceKey": inst.key,
            "processInstanceKey": inst.process_instance_key,
            "bpmnProcessId": process.bpmn_process_id,
            "processDefinitionKey": process.key,
            "processDefinitionVersion": process.version,
            "retryBackoff": job.retry_backoff,
            "recurringTime": job.recurring_time,
            "tenantId": job.tenant_id,
            "jobKind": job.kind,
            "jobListenerEventType": job.listener_event_type,
            **instance_tags(inst),
        }

    def event(self, job: Job, intent: str, variables: dict[str, Any] | None = None) -> None:
        if self.w.replaying:
            self.w.position += 1
            return
        self.w.event("JOB", intent, job.key, self.value(job, variables), job.element_instance.process_instance_key)

    def make_activatable(self, job: Job) -> None:
        job.state = JOB_ACTIVATABLE
        job.deadline = -1
        job.worker = ""
        self.activatable.setdefault(job.type, {})[job.key] = job
        self.ctx.hooks.on_jobs_available(job.type)

    def leave_activatable(self, job: Job) -> None:
        bucket = self.activatable.get(job.type)
        if bucket is not None:
            bucket.pop(job.key, None)

    def has_activatable(self, job_type: str) -> bool:
        return bool(self.activatable.get(job_type))

    def cancel(self, job_key: int) -> None:
        job = self.jobs.pop(job_key, None)
        if job is None:
            return
        self.leave_activatable(job)
        incidents = self.incidents.incidents
        if job.incident_key and job.incident_key in incidents:
            self.incidents.resolve_record(incidents.pop(job.incident_key))
        self.event(job, "CANCELED")

    @staticmethod
    def no_retries_incident(job: Job) -> str:
        if job.kind == TASK_LISTENER_JOB:
            return TASK_LISTENER_NO_RETRIES_INCIDENT
        return LISTENER_NO_RETRIES_INCIDENT if job.kind == LISTENER_JOB else "JOB_NO_RETRIES"

    def incident(self, job: Job, error_type: str, message: str) -> None:
        incident = self.incidents.raise_incident(job.element_instance, StepFailure(error_type, message), None, job.key)
        job.incident_key = incident.key
