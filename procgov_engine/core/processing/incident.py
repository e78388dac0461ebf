"""INCIDENT RESOLVE (docs.camunda.io/docs/components/concepts/incidents/#resolving-incidents): a job
incident makes the job activatable again (or raises a new one while it has no retries); any other
incident re-runs the step that failed, named by its :class:`RetryStep`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from procgov_engine.api import RejectionType
from procgov_engine.core.behaviours.bpmn import BpmnBehaviours
from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.core.state import JOB_ERROR_THROWN


class ResolveIncident(CommandProcessor):
    kind = "resolve"
    value_type = "INCIDENT"
    intent = "RESOLVE"

    def __init__(self, behaviours: BpmnBehaviours, retry_steps: Mapping[str, Callable[..., None]]) -> None:
        super().__init__(behaviours)
        self.retry_steps = retry_steps

    def process(self, args: dict[str, Any]) -> None:
        incident_key = args["key"]
        value = {"incidentKey": incident_key}
        self.w.command("INCIDENT", "RESOLVE", incident_key, value)
        incidents = self.state.incidents
        incident = incidents.get(incident_key)
        if incident is None:
            self.ctx.reject_command(
                "INCIDENT",
                "RESOLVE",
                value,
                RejectionType.NOT_FOUND,
                f"Expected to resolve incident with key '{incident_key}', but no such incident was found",
            )
        self.b.incidents.resolve_record(incident)  # its applier makes a job with retries activatable again
        if incident.job_key > 0:
            job = self.state.jobs.get(incident.job_key)
            if job is not None and job.retries <= 0 and job.state != JOB_ERROR_THROWN:
                jobs = self.b.jobs
                jobs.incident(job, jobs.no_retries_incident(job), job.error_message or "No more retries left.")
        elif incident.retry is not None:
            self.retry_steps[incident.retry.method](*incident.retry.args)
