"""Jobs: activation with long polling, completion, failure with back-off, BPMN errors, updates.

Camunda docs, "Job workers" → "Long polling": ``POST /jobs/activation`` waits up to ``requestTimeout``
ms (0: the gateway's default of 10 s; negative: no waiting) for jobs and answers, possibly with none,
a margin before that timeout passes, so that a client's own HTTP timeout set to it never fires first.
Waiting requests share the engine's job dispatcher logic (``procgov_engine.gateway.jobs``), which only calls
the engine's command surface.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from procgov_engine.api import ActivatedJob
from procgov_engine.gateway.jobs import ActivationRequest
from procgov_engine.rest.body import parse_model, read_model
from procgov_engine.rest.context import command, context, no_content, path_key, tenant
from procgov_engine.rest.models import JobActivation, JobCompletion, JobError, JobFailure, JobResultUserTask, JobUpdate
from procgov_engine.rest.problems import invalid

DEFAULT_LONG_POLL_MS = 10_000
"""Long-polling time when ``requestTimeout`` is 0 (Zeebe gateway's ``longPolling.timeout`` default)."""


def answer_margin_s(wait_s: float) -> float:
    """Time kept back from the request timeout so that the answer arrives before it."""
    return max(0.05, min(1.0, wait_s * 0.1))


def _job(job: ActivatedJob) -> dict[str, Any]:
    return {
        "type": job.type,
        "processDefinitionId": job.bpmn_process_id,
        "processDefinitionVersion": job.process_definition_version,
        "elementId": job.element_id,
        "customHeaders": dict(job.custom_headers),
        "worker": job.worker,
        "retries": job.retries,
        "deadline": job.deadline,
        "variables": job.variables,
        "tenantId": job.tenant_id,
        "physicalTenantId": job.tenant_id,
        "jobKey": str(job.key),
        "processInstanceKey": str(job.process_instance_key),
        "processDefinitionKey": str(job.process_definition_key),
        "elementInstanceKey": str(job.element_instance_key),
        "kind": job.kind,
        "listenerEventType": job.listener_event_type,
        "userTask": _user_task_properties(job),
        "tags": list(job.tags),
        "rootProcessInstanceKey": None,
        "businessId": None,
        "priority": 0,
        "leaseToken": None,
    }


def _user_task_properties(job: ActivatedJob) -> dict[str, Any] | None:
    """A task listener job's UserTaskProperties, from the ``io.camunda.zeebe:*`` headers the engine sets."""
    headers = job.custom_headers
    if job.kind != "TASK_LISTENER" or "io.camunda.zeebe:userTaskKey" not in headers:
        return None

    def listed(name: str) -> list[str]:
        raw = headers.get(name)
        return list(json.loads(raw)) if raw else []

    priority = headers.get("io.camunda.zeebe:priority")
    return {
        "action": headers.get("io.camunda.zeebe:action", ""),
        "assignee": headers.get("io.camunda.zeebe:assignee"),
        "candidateGroups": listed("io.camunda.zeebe:candidateGroups"),
        "candidateUsers": listed("io.camunda.zeebe:candidateUsers"),
        "changedAttributes": listed("io.camunda.zeebe:changedAttributes"),
        "dueDate": headers.get("io.camunda.zeebe:dueDate"),
        "followUpDate": headers.get("io.camunda.zeebe:followUpDate"),
        "formKey": headers.get("io.camunda.zeebe:formKey"),
        "priority": int(priority) if priority is not None else None,
        "userTaskKey": headers["io.camunda.zeebe:userTaskKey"],
    }


# a task listener's corrections: the REST API's names → Zeebe's UserTaskRecord attribute names
_CORRECTION_NAMES = {"candidateUsers": "candidateUsersList", "candidateGroups": "candidateGroupsList"}


def _job_result(result: dict[str, Any]) -> dict[str, Any]:
    """``JobResultUserTask`` as the engine's job result (``{denied, deniedReason, corrections}``)."""
    kind = result.get("type") or "userTask"  # null or missing: a user task result, as Camunda defaults it
    if kind == "adHocSubProcess":
        raise invalid("Ad-hoc sub-process job results are not supported by the embedded procgov engine")
    if kind != "userTask":
        raise invalid(f"The job result type '{kind}' is not one of 'userTask', 'adHocSubProcess'")
    parsed = parse_model(JobResultUserTask, result)
    engine_result: dict[str, Any] = {"denied": bool(parsed.denied), "deniedReason": parsed.deniedReason or ""}
    if parsed.corrections is not None:
        given = parsed.corrections.model_dump(exclude_none=True)
        engine_result["corrections"] = {_CORRECTION_NAMES.get(k, k): v for k, v in given.items()}
    return engine_result


async def activate_jobs(request: Request) -> JSONResponse:
    body = await read_model(request, JobActivation)
    if not body.type:
        raise invalid("No type provided.")
    if body.timeout < 1:
        raise invalid(f"The value for timeout is '{body.timeout}' but must be greater than 0.")
    if body.maxJobsToActivate < 1:
        raise invalid(f"The value for maxJobsToActivate is '{body.maxJobsToActivate}' but must be greater than 0.")
    if body.withLease:
        raise invalid("withLease is not supported by the embedded procgov engine")
    activation = ActivationRequest(
        job_type=body.type,
        worker=body.worker,
        timeout_ms=body.timeout,
        max_jobs=body.maxJobsToActivate,
        fetch_variables=tuple(body.fetchVariable or ()),
        tenant_ids=tuple(tenant(t) for t in body.tenantIds) or (tenant(None),),
    )
    if body.requestTimeout < 0:
        wait_s = 0.0
    else:
        wanted_s = (body.requestTimeout or DEFAULT_LONG_POLL_MS) / 1000
        wait_s = max(0.0, wanted_s - answer_margin_s(wanted_s))
    async with command("ACTIVATE"):
        jobs = await context(request).jobs.activate(activation, wait_s)
    return JSONResponse({"jobs": [_job(job) for job in jobs]})


async def complete_job(request: Request) -> Response:
    key = path_key(request, "jobKey")
    body = await read_model(request, JobCompletion, required=False)
    result = _job_result(body.result) if body.result is not None else None
    async with command("COMPLETE"):
        await context(request).engine.complete_job(key, body.variables or {}, result=result)
    return no_content()


async def fail_job(request: Request) -> Response:
    key = path_key(request, "jobKey")
    body = await read_model(request, JobFailure, required=False)
    if body.retryBackOff < 0:
        raise invalid(f"The value for retryBackOff is '{body.retryBackOff}' but must be not negative.")
    async with command("FAIL"):
        await context(request).engine.fail_job(
            key,
            retries=body.retries,
            error_message=body.errorMessage,
            retry_backoff_ms=body.retryBackOff,
            variables=body.variables or {},
        )
    return no_content()


async def throw_job_error(request: Request) -> Response:
    key = path_key(request, "jobKey")
    body = await read_model(request, JobError)
    if not body.errorCode:
        raise invalid("No errorCode provided.")
    async with command("THROW_ERROR"):
        await context(request).engine.throw_error(
            key, error_code=body.errorCode, error_message=body.errorMessage or "", variables=body.variables or {}
        )
    return no_content()


async def update_job(request: Request) -> Response:
    """Camunda docs, "Update job": retries and/or timeout; both are checked before either is applied."""
    key = path_key(request, "jobKey")
    body = await read_model(request, JobUpdate)
    changes = body.changeset
    if changes.retries is None and changes.timeout is None:
        raise invalid("At least one of [retries, timeout] is required.")
    if changes.priority is not None:
        raise invalid("Job priorities are not supported by the embedded procgov engine")
    if changes.retries is not None and changes.retries < 1:
        raise invalid(f"The value for changeset.retries is '{changes.retries}' but must be greater than 0.")
    if changes.timeout is not None and changes.timeout < 0:
        raise invalid(f"The value for changeset.timeout is '{changes.timeout}' but must be not negative.")
    engine = context(request).engine
    async with command("UPDATE"):
        if changes.retries is not None:
            await engine.update_job_retries(key, changes.retries)
        if changes.timeout is not None:
            await engine.update_job_timeout(key, changes.timeout)
    return no_content()


routes = [
    Route("/jobs/activation", activate_jobs, methods=["POST"]),
    Route("/jobs/{jobKey}/completion", complete_job, methods=["POST"]),
    Route("/jobs/{jobKey}/failure", fail_job, methods=["POST"]),
    Route("/jobs/{jobKey}/error", throw_job_error, methods=["POST"]),
    Route("/jobs/{jobKey}", update_job, methods=["PATCH"]),
]
