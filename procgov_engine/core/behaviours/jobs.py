"""Jobs (docs.camunda.io/docs/components/concepts/job-workers/): creating an element's job, the JOB
records, the activatable index per job type, cancelling and job incidents."""

from __future__ import annotations

import json
from typing import Any

from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure, instance_tags
from procgov_engine.core.behaviours.due import DueDates
from procgov_engine.core.behaviours.incidents import Incidents
from procgov_engine.core.behaviours.variables import Expressions
from procgov_engine.core.state import ElementInstance, Job
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
        key = self.w.next_key()
        process = inst.process
        value = {
            "type": job_type,
            "worker": "",
            "retries": retries,
            "deadline": -1,
            "errorMessage": "",
            "errorCode": "",
            "customHeaders": headers,
            "variables": {},
            "elementId": inst.element.id,
            "elementInstanceKey": inst.key,
            "processInstanceKey": inst.process_instance_key,
            "bpmnProcessId": process.bpmn_process_id,
            "processDefinitionKey": process.key,
            "processDefinitionVersion": process.version,
            "retryBackoff": 0,
            "recurringTime": -1,
            "tenantId": process.tenant_id,
            "jobKind": kind,
            "jobListenerEventType": listener_event_type,
            **instance_tags(inst),
        }
        self.w.event("JOB", "CREATED", key, value, inst.process_instance_key)
        return self.jobs[key]

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
    def value(job: Job, variables: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
        """The JOB record value of ``job``, with ``changes`` (record field → value) the event makes."""
        inst = job.element_instance
        process = inst.process
        value = {
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
        if changes:
            value.update(changes)
        return value

    def event(self, job: Job, intent: str, variables: dict[str, Any] | None = None, **changes: Any) -> None:
        """Write the JOB event ``intent`` (its applier changes the job, engine/core/state/appliers/jobs.py)."""
        value = self.value(job, variables, **changes)
        self.w.event("JOB", intent, job.key, value, job.element_instance.process_instance_key)

    def has_activatable(self, job_type: str) -> bool:
        return bool(self.activatable.get(job_type))

    def cancel(self, job_key: int) -> None:
        job = self.jobs.get(job_key)
        if job is None:
            return
        incidents = self.incidents.incidents
        if job.incident_key and job.incident_key in incidents:
            self.incidents.resolve_record(incidents[job.incident_key])
        self.event(job, "CANCELED")

    @staticmethod
    def no_retries_incident(job: Job) -> str:
        if job.kind == TASK_LISTENER_JOB:
            return TASK_LISTENER_NO_RETRIES_INCIDENT
        return LISTENER_NO_RETRIES_INCIDENT if job.kind == LISTENER_JOB else "JOB_NO_RETRIES"

    def incident(self, job: Job, error_type: str, message: str) -> None:
        self.incidents.raise_incident(job.element_instance, StepFailure(error_type, message), None, job.key)
