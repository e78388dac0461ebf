"""Jobs, failures, back-off, time-outs and incidents.

docs.camunda.io/docs/components/concepts/job-workers/ (timeouts, retries, back-off),
docs.camunda.io/docs/components/concepts/incidents/ (incidents and their resolution),
docs.camunda.io/docs/components/modeler/bpmn/error-events/ (throwing and catching BPMN errors).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from core_helpers import activate, bpmn, chain, deploy, passed, service, state

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.core import Engine

ONE_TASK = bpmn(
    '<bpmn:startEvent id="s" />' + service("work", "work") + '<bpmn:endEvent id="e" />' + chain("s", "work", "e")
)


async def start(engine: Engine, doc: bytes = ONE_TASK, variables: dict | None = None) -> int:
    await deploy(engine, doc)
    created = await engine.create_process_instance(bpmn_process_id="p", variables=variables or {})
    return created.process_instance_key


async def test_job_timeout_makes_job_activatable_again(engine: Engine) -> None:
    """job-workers#timeouts: an activated job not completed before its deadline is activatable again."""
    await start(engine)
    jobs = await activate(engine, "work", timeout_ms=10_000)
    assert await activate(engine, "work") == []
    await engine.increase_time(timedelta(seconds=9))
    assert await activate(engine, "work") == []
    await engine.increase_time(timedelta(seconds=2))
    again = await activate(engine, "work")
    assert [j.key for j in again] == [jobs[0].key]
    intents = [r["intent"] for r in engine.query.records(value_type="JOB") if r["recordType"] == "EVENT"]
    assert intents == ["CREATED", "TIMED_OUT"]


async def test_fail_with_backoff_waits_on_the_clock(engine: Engine) -> None:
    """job-workers#backoff: FailJob with retries and a back-off → activatable after the back-off."""
    await start(engine)
    job = (await activate(engine, "work"))[0]
    await engine.fail_job(job.key, retries=2, error_message="smtp down", retry_backoff_ms=30_000)
    assert await activate(engine, "work") == []
    await engine.increase_time(timedelta(seconds=31))
    again = await activate(engine, "work")
    assert again[0].key == job.key and again[0].retries == 2


async def test_fail_without_retries_raises_incident_then_resolve_after_update_retries(engine: Engine) -> None:
    """incidents: retries 0 → JOB_NO_RETRIES incident with the error message; update retries + resolve →
    the job is activatable again."""
    pik = await start(engine)
    job = (await activate(engine, "work"))[0]
    await engine.fail_job(job.key, retries=0, error_message="invalid input: field 'owner' missing")
    incidents = engine.query.incidents(pik, active_only=True)
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.error_type == "JOB_NO_RETRIES"
    assert incident.error_message == "invalid input: field 'owner' missing"
    assert incident.job_key == job.key and incident.element_id == "work"
    assert await activate(engine, "work") == []
    await engine.update_job_retries(job.key, 1)
    await engine.resolve_incident(incident.key)
    again = await activate(engine, "work")
    assert again[0].key == job.key and again[0].retries == 1
    await engine.complete_job(job.key)
    assert state(engine, pik) == "COMPLETED"
    assert engine.query.incidents(pik, active_only=True) == []


async def test_resolve_unknown_incident_is_not_found(engine: Engine) -> None:
    with pytest.raises(Rejection) as info:
        await engine.resolve_incident(42)
    assert info.value.type is RejectionType.NOT_FOUND


async def test_complete_failed_job_is_invalid_state(engine: Engine) -> None:
    await start(engine)
    job = (await activate(engine, "work"))[0]
    await engine.fail_job(job.key, retries=0, error_message="x")
    with pytest.raises(Rejection) as info:
        await engine.complete_job(job.key)
    assert info.value.type is RejectionType.INVALID_STATE


async def test_expression_failure_raises_incident_and_resolution_retries(engine: Engine) -> None:
    """incidents: a condition that cannot be evaluated → CONDITION_ERROR incident with Zeebe's wording;
    after setting the variable, resolving re-evaluates the gateway."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:exclusiveGateway id="g" />'
        '<bpmn:endEvent id="big" /><bpmn:endEvent id="small" />'
        + chain("s", "g")
        + '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="big"><bpmn:conditionExpression>= x &gt; 1'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="small"><bpmn:conditionExpression>= x &lt;= 1'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )
    pik = await start(engine, doc)
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert incident.error_type == "CONDITION_ERROR"
    assert incident.error_message.startswith(
        "Expected result of the expression 'x > 1' to be 'BOOLEAN', but was 'NULL'."
    )
    assert "No variable found with name 'x'" in incident.error_message
    await engine.set_variables(pik, {"x": 5}, local=False)
    await engine.resolve_incident(incident.key)
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik)[-1] == "big"


async def test_no_condition_true_and_no_default_is_incident(engine: Engine) -> None:
    """exclusive-gateways: no true condition and no default flow → incident."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:exclusiveGateway id="g" /><bpmn:endEvent id="a" /><bpmn:endEvent id="b" />'
        + chain("s", "g")
        + '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="a"><bpmn:conditionExpression>= false'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="b"><bpmn:conditionExpression>= 1 &gt; 2'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )
    pik = await start(engine, doc)
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert incident.error_message == "Expected at least one condition to evaluate to true, or to have a default flow"
    assert incident.element_id == "g"


async def test_input_mapping_failure_is_io_mapping_error(engine: Engine) -> None:
    """Zeebe's incident type for a failing variable mapping is IO_MAPPING_ERROR (docs: concepts/incidents)."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service(
            "work",
            "work",
            inner='<zeebe:ioMapping><zeebe:input source="= no_such_function(1)" target="n" /></zeebe:ioMapping>',
        )
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
    )
    pik = await start(engine, doc)
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert incident.error_type == "IO_MAPPING_ERROR"
    assert incident.element_id == "work"
    assert incident.error_message.startswith("failed to evaluate expression 'no_such_function(1)':")


async def test_throw_error_caught_by_boundary_by_code(engine: Engine) -> None:
    """error-events#catching-errors: the boundary with the matching code catches; variables go along."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:boundaryEvent id="catch_all" attachedToRef="work"><bpmn:errorEventDefinition />'
        "</bpmn:boundaryEvent>"
        '<bpmn:boundaryEvent id="catch_rejected" attachedToRef="work">'
        '<bpmn:errorEventDefinition errorRef="err_rejected" /></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="e" /><bpmn:endEvent id="e_all" /><bpmn:endEvent id="e_rejected" />'
        + chain("s", "work", "e")
        + chain("catch_all", "e_all")
        + chain("catch_rejected", "e_rejected"),
        extra='<bpmn:error id="err_rejected" errorCode="REJECTED" />',
    )
    pik = await start(engine, doc)
    job = (await activate(engine, "work"))[0]
    await engine.throw_error(job.key, error_code="REJECTED", error_message="no", variables={"reason": "late"})
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik)[-2:] == ["catch_rejected", "e_rejected"]
    assert engine.query.instance_variables(pik)["reason"] == "late"
    terminated = [e.element_id for e in engine.query.element_instances(pik) if e.state == "ELEMENT_TERMINATED"]
    assert terminated == ["work"]


async def test_uncaught_error_is_unhandled_error_event_incident(engine: Engine) -> None:
    pik = await start(engine)
    job = (await activate(engine, "work"))[0]
    await engine.throw_error(job.key, error_code="BOOM", error_message="it broke")
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert incident.error_type == "UNHANDLED_ERROR_EVENT"
    assert "'BOOM'" in incident.error_message and incident.job_key == job.key


async def test_wait_for_jobs_wakes_on_creation_and_backoff(engine: Engine) -> None:
    """Long polling: wait_for_jobs returns as soon as a job of the type becomes activatable."""
    await deploy(engine, ONE_TASK)
    waiter = asyncio.create_task(engine.wait_for_jobs("work", 5))
    await asyncio.sleep(0)
    assert not waiter.done()
    await engine.create_process_instance(bpmn_process_id="p")
    assert await asyncio.wait_for(waiter, 1) is True
    job = (await activate(engine, "work"))[0]
    await engine.fail_job(job.key, retries=3, retry_backoff_ms=1_000)
    waiter = asyncio.create_task(engine.wait_for_jobs("work", 5))
    await asyncio.sleep(0)
    assert not waiter.done()
    await engine.increase_time(timedelta(seconds=2))
    assert await asyncio.wait_for(waiter, 1) is True
    assert await engine.wait_for_jobs("other", 0.01) is False


async def test_update_timeout_extends_deadline(engine: Engine) -> None:
    await start(engine)
    job = (await activate(engine, "work", timeout_ms=1_000))[0]
    await engine.update_job_timeout(job.key, 60_000)
    await engine.increase_time(timedelta(seconds=30))
    assert await activate(engine, "work") == []
    await engine.complete_job(job.key)


async def test_cancel_terminates_and_cancels_job(engine: Engine) -> None:
    pik = await start(engine)
    await engine.cancel_process_instance(pik)
    assert state(engine, pik) == "TERMINATED"
    assert await activate(engine, "work") == []
    assert [j.state for j in engine.query.jobs(pik)] == ["CANCELED"]
    with pytest.raises(Rejection):
        await engine.cancel_process_instance(pik)


async def test_unhandled_error_end_event_incident_rethrows_on_resolve(engine: Engine) -> None:
    """error-events#unhandled-errors: an error end event nobody catches is an UNHANDLED_ERROR_EVENT
    incident on the end event; resolving it throws again (still uncaught → a new incident)."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="err" />'
        "</bpmn:endEvent>" + chain("s", "boom"),
        extra='<bpmn:error id="err" errorCode="BOOM" />',
    )
    pik = await start(engine, doc)
    first = engine.query.incidents(pik, active_only=True)
    assert [(i.error_type, i.element_id) for i in first] == [("UNHANDLED_ERROR_EVENT", "boom")]
    await engine.resolve_incident(first[0].key)
    second = engine.query.incidents(pik, active_only=True)
    assert len(second) == 1 and second[0].key != first[0].key
    await engine.cancel_process_instance(pik)
    assert engine.query.incidents(pik, active_only=True) == []
