"""JOB_BATCH ACTIVATE and the JOB commands: COMPLETE, FAIL, THROW_ERROR, UPDATE_RETRIES, UPDATE_TIMEOUT,
and the time-driven TIME_OUT and RECUR_AFTER_BACKOFF (docs.camunda.io/docs/components/concepts/job-workers/)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from procgov_engine.api import DEFAULT_TENANT, RejectionType
from procgov_engine.core.behaviours.jobs import LISTENER_JOB, TASK_LISTENER_JOB
from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.core.state import (
    ACTIVATED,
    JOB_ACTIVATABLE,
    JOB_ACTIVATED,
    JOB_ERROR_THROWN,
    JOB_FAILED,
    Job,
)


class JobCommand(CommandProcessor):
    value_type = "JOB"

    def job_for(self, job_key: int, value: dict[str, Any], verb: str, states: Sequence[str]) -> Job:
        """The job the command is for, or its rejection (not found; not in one of ``states``)."""
        job = self.state.jobs.get(job_key)
        if job is None:
            self.ctx.reject_command(
                "JOB",
                self.intent,
                value,
                RejectionType.NOT_FOUND,
                f"Expected to {verb} job with key '{job_key}', but no such job was found",
            )
        if job.state not in states:
            wording = {
                JOB_FAILED: "it is marked as failed",
                JOB_ERROR_THROWN: "it is in an error state",
                JOB_ACTIVATABLE: "it is not activated",
            }.get(job.state, f"it is in state '{job.state}'")
            self.ctx.reject_command(
                "JOB",
                self.intent,
                value,
                RejectionType.INVALID_STATE,
                f"Expected to {verb} job with key '{job_key}', but {wording}",
            )
        return job


class ActivateJobs(CommandProcessor):
    kind = "activate"
    value_type = "JOB_BATCH"
    intent = "ACTIVATE"

    def process(self, args: dict[str, Any]) -> list[Job]:
        job_type: str = args["type"]
        worker: str = args["worker"]
        timeout_ms: int = args["timeout"]
        max_jobs: int = args["max"]
        tenant_ids: Sequence[str] = args["tenant_ids"]
        w = self.w
        value = {
            "type": job_type,
            "worker": worker,
            "timeout": timeout_ms,
            "maxJobsToActivate": max_jobs,
            "tenantIds": list(tenant_ids) or [DEFAULT_TENANT],
            "jobKeys": [],
            "jobs": [],
            "truncated": False,
        }
        w.command("JOB_BATCH", "ACTIVATE", -1, value)
        bucket = self.state.activatable.get(job_type)
        activated: list[Job] = []
        if bucket:
            tenants = set(tenant_ids) if tenant_ids else None
            # pick first, then take out of the bucket: no copy of a long backlog per activation
            for job in bucket.values():
                if len(activated) >= max_jobs:
                    break
                if tenants is None or job.tenant_id in tenants:
                    activated.append(job)
        if activated:
            key = w.next_key()
            deadline = w.now + timeout_ms
            value["jobKeys"] = [j.key for j in activated]
            value["jobs"] = [self.b.jobs.value(j, worker=worker, deadline=deadline) for j in activated]
            w.event("JOB_BATCH", "ACTIVATED", key, value)  # its applier activates the jobs
        return activated


class CompleteJob(JobCommand):
    kind = "complete"
    intent = "COMPLETE"

    def process(self, args: dict[str, Any]) -> None:
        job_key, variables = args["key"], args["variables"]
        result = args.get("result")  # a task listener's {denied, deniedReason, corrections}
        value: dict[str, Any] = {"variables": dict(variables)}
        if result is not None:
            value["result"] = dict(result)
        self.w.command("JOB", "COMPLETE", job_key, value)
        job = self.job_for(job_key, value, "complete", (JOB_ACTIVATABLE, JOB_ACTIVATED))
        user_tasks = self.b.user_tasks
        if result is not None or job.kind == TASK_LISTENER_JOB:
            user_tasks.check_job_completion(job, value, variables, result)
        jobs = self.b.jobs
        jobs.event(job, "COMPLETED", value["variables"])  # the record is serialized at once: no copy
        if job.kind == TASK_LISTENER_JOB:
            user_tasks.listener_completed(job, result)
            return
        lifecycle = self.b.lifecycle
        if job.kind == LISTENER_JOB:
            step = self.b.listeners.completed(job, variables)
            if step == "activation":
                lifecycle.run_activation(job.element_instance)
            elif step == "completion":
                lifecycle.run_completion(job.element_instance)
            return
        inst = job.element_instance
        if inst.state == ACTIVATED:  # its variables: the JOB COMPLETED applier handed them to the element
            lifecycle.complete(inst)


class FailJob(JobCommand):
    kind = "fail"
    intent = "FAIL"

    def process(self, args: dict[str, Any]) -> None:
        job_key, retries, error_message = args["key"], args["retries"], args["message"]
        backoff_ms, variables = args["backoff"], args["variables"]
        value = {
            "retries": retries,
            "errorMessage": error_message,
            "retryBackoff": backoff_ms,
            "variables": dict(variables),
        }
        self.w.command("JOB", "FAIL", job_key, value)
        job = self.job_for(job_key, value, "fail", (JOB_ACTIVATABLE, JOB_ACTIVATED))
        jobs = self.b.jobs
        inst = job.element_instance
        if variables:
            self.b.vars.set_all_local(inst, variables)
        changes: dict[str, Any] = {"retries": retries, "errorMessage": error_message, "retryBackoff": backoff_ms}
        if retries > 0 and backoff_ms > 0:
            changes["recurringTime"] = self.w.now + backoff_ms
        jobs.event(job, "FAILED", **changes)  # its applier schedules the back-off or makes the job activatable
        if retries <= 0:
            message = error_message or "No more retries left."
            jobs.incident(job, jobs.no_retries_incident(job), message)


class ThrowJobError(JobCommand):
    kind = "throw_error"
    intent = "THROW_ERROR"

    def process(self, args: dict[str, Any]) -> None:
        job_key, code, message, variables = args["key"], args["code"], args["message"], args["variables"]
        value = {"errorCode": code, "errorMessage": message, "variables": dict(variables)}
        self.w.command("JOB", "THROW_ERROR", job_key, value)
        job = self.job_for(job_key, value, "throw an error for", (JOB_ACTIVATABLE, JOB_ACTIVATED))
        if job.kind in (LISTENER_JOB, TASK_LISTENER_JOB):
            what = "an execution" if job.kind == LISTENER_JOB else "a task"
            self.ctx.reject_command(
                "JOB",
                "THROW_ERROR",
                value,
                RejectionType.INVALID_STATE,
                f"Expected to throw an error for job with key '{job_key}', but it is {what} listener job; "
                f"throwing a BPMN error from {what} listener job is not supported",
            )
        jobs = self.b.jobs
        # its applier detaches the job from its element: the ERROR event of a catch drops it, an incident
        # gives it back to the element
        jobs.event(job, "ERROR_THROWN", dict(variables), errorCode=code, errorMessage=message)
        inst = job.element_instance
        if self.b.events.throw_error(inst, code, dict(variables)):
            return
        reason = (
            f"Expected to throw an error event with the code '{code}' with message '{message}', but it was not "
            "caught. No error events are available in the scope."
        )
        jobs.incident(job, "UNHANDLED_ERROR_EVENT", reason)


class UpdateJobRetries(JobCommand):
    kind = "update_retries"
    intent = "UPDATE_RETRIES"

    def process(self, args: dict[str, Any]) -> None:
        job_key, retries = args["key"], args["retries"]
        value = {"retries": retries}
        self.w.command("JOB", "UPDATE_RETRIES", job_key, value)
        if retries < 1:
            self.ctx.reject_command(
                "JOB",
                "UPDATE_RETRIES",
                value,
                RejectionType.INVALID_ARGUMENT,
                f"Expected to update job retries with key '{job_key}' with a positive amount of retries, "
                f"but the amount given was '{retries}'",
            )
        job = self.job_for(
            job_key, value, "update retries of", (JOB_ACTIVATABLE, JOB_ACTIVATED, JOB_FAILED, JOB_ERROR_THROWN)
        )
        self.b.jobs.event(job, "RETRIES_UPDATED", retries=retries)


class UpdateJobTimeout(JobCommand):
    kind = "update_timeout"
    intent = "UPDATE_TIMEOUT"

    def process(self, args: dict[str, Any]) -> None:
        job_key, timeout_ms = args["key"], args["timeout"]
        value = {"timeout": timeout_ms}
        self.w.command("JOB", "UPDATE_TIMEOUT", job_key, value)
        job = self.job_for(job_key, value, "update the timeout of", (JOB_ACTIVATED,))
        self.b.jobs.event(job, "TIMEOUT_UPDATED", deadline=self.w.now + timeout_ms)


class TimeOutJob(JobCommand):
    kind = "job_timeout"
    intent = "TIME_OUT"

    def process(self, args: dict[str, Any]) -> None:
        job_key = args["key"]
        job = self.state.jobs[job_key]
        jobs = self.b.jobs
        self.w.command("JOB", "TIME_OUT", job_key, jobs.value(job))
        jobs.event(job, "TIMED_OUT")


class RecurJobAfterBackoff(JobCommand):
    kind = "job_backoff"
    intent = "RECUR_AFTER_BACKOFF"

    def process(self, args: dict[str, Any]) -> None:
        job_key = args["key"]
        job = self.state.jobs[job_key]
        jobs = self.b.jobs
        self.w.command("JOB", "RECUR_AFTER_BACKOFF", job_key, jobs.value(job))
        jobs.event(job, "RECURRED_AFTER_BACKOFF")
