"""BPMN error events: caught by code, caught by a catch-all, by an error event sub-process, or uncaught.

Doc: "Error events" https://docs.camunda.io/docs/components/modeler/bpmn/error-events/ (§ Defining the error:
a catch event with an error code catches errors with that code; § Catching the error: a catch event without
an error code catches any error; an error event sub-process start event catches errors of its scope; the
activity is terminated; § Unhandled errors: if no catch event catches the error, an incident is raised).
Jobs throw errors with ThrowError (pyzeebe ``BusinessError``).
"""

from __future__ import annotations

from typing import Any

import pytest
from behaviour_helpers import Gateway, bpmn, element_events
from pyzeebe import ZeebeClient, ZeebeWorker
from pyzeebe.errors import BusinessError

from procgov_engine.testing import EmbeddedEngine, running_worker


@pytest.mark.record_log
async def test_boundary_catches_the_error_with_its_code(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker
) -> None:
    """Doc "Error events" § Catching the error: the boundary event with error code ``EXAM_FAILED`` catches
    the error thrown by the job worker; the task is terminated and the boundary's flow is taken.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/error-events/"""
    await zeebe.deploy(bpmn("error-boundary.bpmn"))

    @worker.task(task_type="bh.grade")  # type: ignore[arg-type]  # pyzeebe generics defeat mypy inference
    async def grade(score: int) -> dict[str, Any]:
        if score < 80:
            raise BusinessError("EXAM_FAILED", f"score {score} is below 80")
        return {"grade": "pass"}

    async with running_worker(worker):
        failed = await zeebe_client.run_process("bh-error-boundary", {"score": 61})
        passed = await zeebe_client.run_process("bh-error-boundary", {"score": 95})
        await zeebe.instance(failed.process_instance_key).wait_completed()
        await zeebe.instance(passed.process_instance_key).wait_completed()

    assert "retake" in zeebe.instance(failed.process_instance_key).snapshot().passed_elements
    assert element_events(zeebe, "grade", "ELEMENT_TERMINATED", failed.process_instance_key)
    assert "passed" in zeebe.instance(passed.process_instance_key).snapshot().passed_elements


async def test_error_without_a_matching_catch_event_raises_an_incident(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Error events" § Unhandled errors: an error no catch event catches raises an incident
    (UNHANDLED_ERROR_EVENT) on the element that threw it.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/error-events/"""
    await zeebe.deploy(bpmn("error-boundary.bpmn"))
    created = await zeebe_client.run_process("bh-error-boundary", {"score": 10})
    job = await gateway.activate_one("bh.grade")

    await gateway.throw_error(job.key, "EXAM_CANCELLED", "exam was cancelled")

    incident = await zeebe.instance(created.process_instance_key).wait_incident()
    assert (incident.error_type, incident.element_id) == ("UNHANDLED_ERROR_EVENT", "grade")


@pytest.mark.record_log
async def test_catch_all_boundary_on_a_sub_process_catches_any_code(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Error events" § Catching the error: an error catch event without an error code (no ``errorRef``)
    catches every error thrown inside its scope, here from a task inside the sub-process.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/error-events/"""
    await zeebe.deploy(bpmn("error-catch-all.bpmn"))
    created = await zeebe_client.run_process("bh-error-catch-all")
    job = await gateway.activate_one("bh.check")

    await gateway.throw_error(job.key, "ANY_CODE_AT_ALL", "check found a problem")

    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_completed()
    assert "handled" in instance.snapshot().passed_elements
    assert element_events(zeebe, "checks", "ELEMENT_TERMINATED", created.process_instance_key)


@pytest.mark.record_log
async def test_error_event_sub_process_catches_the_error_and_interrupts_the_scope(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Error events" § Catching the error / "Event subprocesses": an error start event of an event
    sub-process catches the error thrown in its scope; error event sub-processes are always interrupting, so
    the throwing task is terminated and the event sub-process runs to completion.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/error-events/
    https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/"""
    await zeebe.deploy(bpmn("error-event-subprocess.bpmn"))
    created = await zeebe_client.run_process("bh-error-event-subprocess")
    job = await gateway.activate_one("bh.sync")

    await gateway.throw_error(job.key, "SYNC_FAILED", "directory sync failed")

    compensate = await gateway.activate_one("bh.compensate")
    await gateway.complete(compensate.key)
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_completed()
    assert "failed-end" in instance.snapshot().passed_elements
    assert "end" not in instance.snapshot().passed_elements
    assert element_events(zeebe, "sync", "ELEMENT_TERMINATED", created.process_instance_key)
