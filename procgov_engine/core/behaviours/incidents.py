"""Incidents (docs.camunda.io/docs/components/concepts/incidents/): a step that failed on data, or a job
out of retries, waits for an operator. Creating and resolving the INCIDENT records; what a resolution
retries is up to the Resolve processor (engine/core/processing/incident.py)."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure
from procgov_engine.core.state import ElementInstance, Incident, RetryStep


class Incidents:
    def __init__(self, ctx: ProcessingContext) -> None:
        self.w = ctx.w
        self.incidents = ctx.state.incidents

    def raise_incident(
        self, inst: ElementInstance, failure: StepFailure, retry: RetryStep | None, job_key: int = -1
    ) -> Incident:
        key = self.w.next_key()
        self._event(Incident(key, failure.error_type, failure.message, inst, job_key), "CREATED")
        incident = self.incidents[key]
        # the INCIDENT CREATED applier derived the retry step from where the element stands; it must be the
        # step that failed (a creation's start instructions are added by PROCESS_INSTANCE_CREATION's applier)
        assert (incident.retry and incident.retry.method) == (retry and retry.method), (incident.retry, retry)
        return incident

    def resolve_record(self, incident: Incident) -> None:
        """Write RESOLVED for ``incident``: its applier takes it out of the state and unlinks its element
        (and makes its job activatable again, if it had one with retries left)."""
        self._event(incident, "RESOLVED")

    def resolve_of(self, inst: ElementInstance) -> None:
        """``inst`` leaves: its open incident (if any) is resolved."""
        if inst.incident_key and inst.incident_key in self.incidents:
            self.resolve_record(self.incidents[inst.incident_key])

    def _event(self, incident: Incident, intent: str) -> None:
        inst = incident.element_instance
        self.w.event("INCIDENT", intent, incident.key, self.value(incident), inst.process_instance_key)

    @staticmethod
    def value(incident: Incident) -> dict[str, Any]:
        inst = incident.element_instance
        return {
            "errorType": incident.error_type,
            "errorMessage": incident.error_message,
            "bpmnProcessId": inst.process.bpmn_process_id,
            "processDefinitionKey": inst.process.key,
            "processInstanceKey": inst.process_instance_key,
            "elementId": inst.element.id,
            "elementInstanceKey": inst.key,
            "jobKey": incident.job_key,
            "variableScopeKey": inst.key,
            "tenantId": inst.process.tenant_id,
        }
