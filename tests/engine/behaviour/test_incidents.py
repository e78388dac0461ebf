"""Incidents: when they are raised and how resolving them resumes the instance.

Doc: "Incidents" https://docs.camunda.io/docs/components/concepts/incidents/ (a job whose retries run out,
or an expression that cannot be evaluated, raises an incident; for a job incident, update the job's
retries and resolve the incident; for other incidents fix the cause, e.g. set the missing variables, and
resolve it, which retries the failed step). Gateway API: UpdateJobRetries / ResolveIncident / SetVariables
https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/.
"""

from __future__ import annotations

from behaviour_helpers import Gateway, bpmn, job_variables, settle
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine


async def test_job_without_retries_raises_incident_and_update_retries_plus_resolve_resumes(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Incidents" § Resolving: a job failed with no retries left creates an incident carrying the
    failure message; after UpdateJobRetries and ResolveIncident the job can be activated again.
    Docs:
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    created = await zeebe_client.run_process("bh-one-task")
    instance = zeebe.instance(created.process_instance_key)

    job = await gateway.activate_one("bh.work")
    await gateway.fail(job.key, retries=0, message="mail relay rejected the sender")

    incident = await instance.wait_incident()
    assert (incident.error_type, incident.error_message) == ("JOB_NO_RETRIES", "mail relay rejected the sender")
    assert (incident.element_id, incident.job_key) == ("work", job.key)
    assert await gateway.activate("bh.work", wait=False) == []  # not activatable while the incident is open

    await gateway.update_retries(job.key, 2)
    await gateway.resolve(incident.key)
    again = await gateway.activate_one("bh.work")
    assert (again.key, again.retries) == (job.key, 2)
    await gateway.complete(again.key)
    await instance.wait_completed()
    assert instance.snapshot().incidents == []


async def test_exclusive_gateway_without_a_match_raises_incident_fixed_by_set_variables(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Exclusive gateways" https://docs.camunda.io/docs/components/modeler/bpmn/exclusive-gateways/
    § Conditions: if no condition is fulfilled and there is no default flow, an incident is created; doc
    "Incidents": set the variables, then resolve, and the gateway is evaluated again.
    Docs:
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("gateway-nomatch.bpmn"))
    created = await zeebe_client.run_process("bh-gateway-nomatch", {"amount": 50})
    instance = zeebe.instance(created.process_instance_key)

    incident = await instance.wait_incident()
    assert (incident.error_type, incident.element_id) == ("CONDITION_ERROR", "route")

    await gateway.set_variables(created.process_instance_key, {"amount": 500}, local=False)
    await gateway.resolve(incident.key)
    await instance.wait_completed()
    await instance.wait_element_passed("big")
    assert "tiny" not in instance.snapshot().passed_elements


async def test_failing_input_mapping_raises_incident_fixed_by_set_variables(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Incidents": an incident is created when an input mapping cannot be applied (error type
    IO_MAPPING_ERROR); FEEL ``assert(value, condition, cause)``
    (https://docs.camunda.io/docs/components/modeler/feel/builtin-functions/feel-built-in-functions-boolean/
    § assert) fails the evaluation with the cause. After SetVariables + ResolveIncident the element is
    activated again and its job gets the mapped variable.
    Docs:
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("input-assert.bpmn"))
    created = await zeebe_client.run_process("bh-input-assert", {})
    instance = zeebe.instance(created.process_instance_key)

    incident = await instance.wait_incident()
    assert incident.element_id == "check"
    assert "order is required" in incident.error_message
    assert incident.error_type == "IO_MAPPING_ERROR"
    assert await gateway.activate("bh.check", wait=False) == []

    await gateway.set_variables(created.process_instance_key, {"order": {"id": "PO-7"}}, local=False)
    await gateway.resolve(incident.key)
    job = await gateway.activate_one("bh.check")
    assert job_variables(job)["checkedOrder"] == {"id": "PO-7"}


async def test_resolving_a_job_incident_without_retries_raises_it_again(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Incidents" § Resolving (job-related incidents): the retries must be increased first; resolving
    alone leaves the job with no retries, so a new incident is raised for it.
    Docs:
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    created = await zeebe_client.run_process("bh-one-task")
    instance = zeebe.instance(created.process_instance_key)
    job = await gateway.activate_one("bh.work")
    await gateway.fail(job.key, retries=0, message="disk full")
    first = await instance.wait_incident()

    await gateway.resolve(first.key)
    await settle()

    await instance.wait_incident("disk full")
    assert [i.key for i in instance.snapshot().incidents] != [first.key]
    assert await gateway.activate("bh.work", wait=False) == []
