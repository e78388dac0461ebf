"""Camunda's own Python client (``camunda-orchestration-sdk``), unchanged but for the address, drives
the embedded engine over REST: deploy, create an instance, work a service task (activate, fail with
back-off, complete), correlate a message, and handle an incident (search, update retries, resolve).

Camunda docs, "Orchestration Cluster API" (REST, v2): "Deploy resources", "Create process instance",
"Activate jobs", "Fail job" (``retryBackOff``), "Complete job", "Search incidents", "Update job",
"Resolve incident", "Correlate message", "Pin internal clock".
"""

from __future__ import annotations

import asyncio
import time

from camunda_orchestration_sdk import CamundaAsyncClient
from camunda_orchestration_sdk.models import (
    ClockPinRequest,
    IncidentFilter,
    IncidentSearchQuery,
    JobActivationRequest,
    JobChangeset,
    JobCompletionRequest,
    JobFailRequest,
    JobUpdateRequest,
    MessageCorrelationRequest,
    ProcessCreationById,
    UserTaskAssignmentRequest,
    UserTaskCompletionRequest,
    UserTaskSearchQuery,
)
from rest_helpers import RESOURCES


def _client(rest_url: str) -> CamundaAsyncClient:
    return CamundaAsyncClient(configuration={"CAMUNDA_REST_ADDRESS": rest_url, "CAMUNDA_AUTH_STRATEGY": "NONE"})


def _activation(request_timeout_ms: int) -> JobActivationRequest:
    return JobActivationRequest(
        type_="rest-work", timeout=30_000, max_jobs_to_activate=1, worker="sdk-py", request_timeout=request_timeout_ms
    )


async def test_python_sdk_drives_a_service_task_message_and_incident(rest_url: str) -> None:
    client = _client(rest_url)
    try:
        deployment = await client.deploy_resources_from_files([RESOURCES / "rest-order.bpmn"])
        assert [p.process_definition_id for p in deployment.processes] == ["rest-order"]

        created = await client.create_process_instance(
            data=ProcessCreationById.from_dict({"processDefinitionId": "rest-order", "variables": {"orderId": "py-1"}})
        )
        instance_key = str(created.process_instance_key)

        jobs = (await client.activate_jobs(data=_activation(2_000))).jobs
        assert len(jobs) == 1 and jobs[0].custom_headers.to_dict() == {"channel": "rest"}
        job_key = jobs[0].job_key
        assert jobs[0].variables.to_dict()["orderId"] == "py-1"

        # a technical failure with a one-minute back-off: not activatable until the clock passes it
        await client.fail_job(job_key, data=JobFailRequest(retries=1, error_message="ERP down", retry_back_off=60_000))
        assert (await client.activate_jobs(data=_activation(300))).jobs == []
        await client.pin_clock(data=ClockPinRequest(timestamp=int(time.time() * 1000) + 61_000))
        jobs = (await client.activate_jobs(data=_activation(2_000))).jobs
        assert [(j.job_key, j.retries) for j in jobs] == [(job_key, 1)]

        # retries exhausted: an incident, found by search, fixed by new retries and resolved
        await client.fail_job(job_key, data=JobFailRequest(retries=0, error_message="ERP still down"))
        found = await client.search_incidents(
            data=IncidentSearchQuery(filter_=IncidentFilter(process_instance_key=instance_key))
        )
        assert [(str(i.error_type), i.error_message, str(i.state)) for i in found.items] == [
            ("JOB_NO_RETRIES", "ERP still down", "ACTIVE")
        ]
        await client.update_job(job_key, data=JobUpdateRequest(changeset=JobChangeset(retries=1)))
        await client.resolve_incident(found.items[0].incident_key)
        await client.reset_clock()

        jobs = (await client.activate_jobs(data=_activation(2_000))).jobs
        assert [j.job_key for j in jobs] == [job_key]
        await client.complete_job(job_key, data=JobCompletionRequest.from_dict({"variables": {"worked": True}}))

        correlated = await client.correlate_message(
            data=MessageCorrelationRequest(name="rest-paid", correlation_key="py-1")
        )
        assert str(correlated.process_instance_key) == instance_key

        instance = await client.get_process_instance(instance_key)
        assert str(instance.state) == "COMPLETED"
    finally:
        await client.aclose()


async def test_python_sdk_searches_assigns_and_completes_a_user_task_and_sees_a_listener_deny(
    rest_url: str,
) -> None:
    """Camunda docs, "Orchestration Cluster API" → "Search user tasks", "Assign user task", "Complete user
    task", "Activate jobs", "Complete job" (a ``userTask`` result that denies); "User task listeners" → "Deny a
    state transition": the denied completion fails with 409 and the task stays CREATED."""
    client = _client(rest_url)
    try:
        await client.deploy_resources_from_files([RESOURCES / "rest-guarded.bpmn"])
        created = await client.create_process_instance(
            data=ProcessCreationById.from_dict({"processDefinitionId": "rest-guarded"})
        )
        instance_key = str(created.process_instance_key)
        # the modelled assignee's assigning listener: let it through unchanged
        [assign_guard] = (
            await client.activate_jobs(
                data=JobActivationRequest(type_="rest-assign-guard", timeout=30_000, max_jobs_to_activate=1)
            )
        ).jobs
        assert str(assign_guard.kind) == "TASK_LISTENER"
        await client.complete_job(assign_guard.job_key, data=JobCompletionRequest.from_dict({}))

        found = await client.search_user_tasks(
            data=UserTaskSearchQuery.from_dict({"filter": {"processInstanceKey": instance_key, "state": "CREATED"}})
        )
        assert [(t.element_id, t.assignee) for t in found.items] == [("approve", "ann")]
        task_key = found.items[0].user_task_key

        async def pass_assignment() -> None:  # the assignment request waits for its listener
            request = JobActivationRequest(
                type_="rest-assign-guard", timeout=30_000, max_jobs_to_activate=1, request_timeout=5_000
            )
            [job] = (await client.activate_jobs(data=request)).jobs
            await client.complete_job(job.job_key, data=JobCompletionRequest.from_dict({}))

        await asyncio.gather(
            client.assign_user_task(task_key, data=UserTaskAssignmentRequest(assignee="bea")), pass_assignment()
        )
        assert (await client.get_user_task(task_key)).assignee == "bea"

        async def guard(denied: bool) -> None:
            request = JobActivationRequest(
                type_="rest-complete-guard", timeout=30_000, max_jobs_to_activate=1, request_timeout=5_000
            )
            [job] = (await client.activate_jobs(data=request)).jobs
            result = {"type": "userTask", "denied": denied, "deniedReason": "not yet" if denied else ""}
            await client.complete_job(job.job_key, data=JobCompletionRequest.from_dict({"result": result}))

        completion = UserTaskCompletionRequest.from_dict({"variables": {"decision": "ok"}})
        outcome = await asyncio.gather(
            client.complete_user_task(task_key, data=completion), guard(True), return_exceptions=True
        )
        assert isinstance(outcome[0], Exception) and "409" in str(outcome[0]), outcome
        assert outcome[1] is None
        assert str((await client.get_user_task(task_key)).state) == "CREATED"

        await asyncio.gather(client.complete_user_task(task_key, data=completion), guard(False))
        assert str((await client.get_user_task(task_key)).state) == "COMPLETED"
        instance = await client.get_process_instance(instance_key)
        assert str(instance.state) == "COMPLETED"
    finally:
        await client.aclose()
