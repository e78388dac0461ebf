"""Call activities: variable propagation both ways, mappings, cancellation and incidents in the child.

Doc: "Call activities" https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/ (§ Variable
mappings: by default all parent variables are copied to the child (``propagateAllParentVariables``) and all
child variables are propagated back on completion (``propagateAllChildVariables``); input/output mappings
customise both; § Boundary events / termination: terminating the call activity terminates the child).
Models: ``bpmn/call-{all,none,mapped}.bpmn`` calling ``bpmn/call-child.bpmn``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from behaviour_helpers import Gateway, bpmn, child_instances, eventually, job_variables
from pyzeebe import ZeebeClient
from pyzeebe.proto import gateway_pb2 as pb

from procgov_engine.testing import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON


async def _child_job_of(zeebe: EmbeddedEngine, gateway: Gateway, parent: int) -> tuple[int, pb.ActivatedJob]:
    await eventually("a child instance", lambda: len(child_instances(zeebe, parent)) == 1)
    [child] = child_instances(zeebe, parent)
    job = await gateway.activate_one("bh.child")
    assert job.processInstanceKey == child
    return child, job


@pytest.mark.record_log
async def test_default_propagation_copies_all_variables_in_and_out(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities" § Variable mappings: by default the child instance gets all the parent's
    variables, and on completion all child variables are propagated to the call activity (and up).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-all.bpmn"))
    created = await zeebe_client.run_process("bh-call-all", {"amount": 4, "secret": "s"})
    pik = created.process_instance_key

    child, job = await _child_job_of(zeebe, gateway, pik)
    assert job_variables(job) == {"amount": 4, "secret": "s"}
    await gateway.complete(job.key, {"childResult": 8})

    await zeebe.instance(child).wait_completed()
    await zeebe.instance(pik).wait_completed()
    assert zeebe.instance(pik).variables() == {"amount": 4, "secret": "s", "childResult": 8}


@pytest.mark.record_log
async def test_propagate_all_child_variables_false_keeps_child_variables_out(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities" § Variable mappings: with ``propagateAllChildVariables="false"`` and no output
    mappings, no variables of the child instance are propagated to the parent.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-none.bpmn"))
    created = await zeebe_client.run_process("bh-call-none", {"amount": 4})
    pik = created.process_instance_key

    _, job = await _child_job_of(zeebe, gateway, pik)
    await gateway.complete(job.key, {"childResult": 8})

    await zeebe.instance(pik).wait_completed()
    assert zeebe.instance(pik).variables() == {"amount": 4}


@pytest.mark.record_log
async def test_input_and_output_mappings_decide_what_crosses_the_boundary(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities" § Variable mappings: with ``propagateAllParentVariables="false"`` only the input
    mappings' variables are copied into the child; output mappings map child variables into the parent.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-mapped.bpmn"))
    created = await zeebe_client.run_process("bh-call-mapped", {"amount": 4, "secret": "s"})
    pik = created.process_instance_key

    _, job = await _child_job_of(zeebe, gateway, pik)
    assert job_variables(job) == {"amount": 4}
    await gateway.complete(job.key, {"childResult": 8, "childOnly": True})

    await zeebe.instance(pik).wait_completed()
    assert zeebe.instance(pik).variables() == {"amount": 4, "secret": "s", "result": 8}


@pytest.mark.record_log
async def test_cancelling_the_parent_terminates_the_child(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities": the child instance belongs to the call activity; when the call activity is
    terminated (here by cancelling the parent instance), the created process instance is terminated too.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-all.bpmn"))
    created = await zeebe_client.run_process("bh-call-all", {"amount": 1})
    child, _ = await _child_job_of(zeebe, gateway, created.process_instance_key)

    await zeebe_client.cancel_process_instance(created.process_instance_key)

    await zeebe.instance(created.process_instance_key).wait_terminated()
    await zeebe.instance(child).wait_terminated()
    assert await gateway.activate("bh.child", wait=False) == []


@pytest.mark.record_log
async def test_incident_in_the_child_is_raised_there_and_resolving_it_completes_both(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Incidents" and "Call activities": an incident is raised on the element that failed, i.e. in the
    child instance; the parent's call activity stays active, and once resolved both instances complete.
    Docs:
    https://docs.camunda.io/docs/components/concepts/incidents/
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-all.bpmn"))
    created = await zeebe_client.run_process("bh-call-all", {"amount": 1})
    pik = created.process_instance_key
    child, job = await _child_job_of(zeebe, gateway, pik)

    await gateway.fail(job.key, retries=0, message="child store down")
    incident = await zeebe.instance(child).wait_incident("child store down")
    assert (incident.process_instance_key, incident.element_id) == (child, "child-work")
    assert zeebe.instance(pik).snapshot().active_elements == ["call"]

    await gateway.update_retries(job.key, 1)
    await gateway.resolve(incident.key)
    again = await gateway.activate_one("bh.child")
    await gateway.complete(again.key)
    await zeebe.instance(pik).wait_completed()


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_interrupting_boundary_on_the_call_activity_terminates_the_child_without_its_variables(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities" § Boundary events: when an interrupting boundary event is triggered, the call
    activity and the created process instance are terminated; the variables of the created process instance
    are not propagated to the call activity.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-timeout.bpmn"))
    created = await zeebe_client.run_process("bh-call-timeout", {"amount": 3})
    pik = created.process_instance_key
    child, job = await _child_job_of(zeebe, gateway, pik)
    await gateway.set_variables(child, {"childDraft": "half done"}, local=False)

    await zeebe.increase_time(timedelta(hours=1, seconds=1))

    await zeebe.instance(pik).wait_completed()
    await zeebe.instance(child).wait_terminated()
    assert "timed-out" in zeebe.instance(pik).snapshot().passed_elements
    assert zeebe.instance(pik).variables() == {"amount": 3}
    assert job.key not in {j.key for j in await gateway.activate("bh.child", wait=False)}


@pytest.mark.record_log
async def test_error_thrown_in_the_child_is_caught_by_a_boundary_on_the_call_activity(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Error events" https://docs.camunda.io/docs/components/modeler/bpmn/error-events/ § Catching the
    error: an error is caught by the first matching catch event in its scope or a higher one, across call
    activities; here the child's error end event (``CHILD_FAILED``) is caught on the parent's call activity,
    the child instance is terminated (docs: "Call activities" § Boundary events).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""
    await zeebe.deploy(bpmn("call-error-child.bpmn"), bpmn("call-error-parent.bpmn"))
    created = await zeebe_client.run_process("bh-call-error-parent")
    pik = created.process_instance_key
    await eventually("a child instance", lambda: len(child_instances(zeebe, pik)) == 1)
    [child] = child_instances(zeebe, pik)

    await gateway.complete((await gateway.activate_one("bh.child-check")).key)

    await zeebe.instance(pik).wait_completed()
    assert "handled" in zeebe.instance(pik).snapshot().passed_elements
    assert "end" not in zeebe.instance(pik).snapshot().passed_elements
    assert zeebe.instance(child).snapshot().state == "TERMINATED"
    assert zeebe.instance(child).snapshot().incidents == []


@pytest.mark.record_log
async def test_called_process_id_expression_is_evaluated_on_activation_and_a_missing_process_is_an_incident(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities" § Defining the called process: ``processId`` may be an expression, evaluated when
    the call activity is activated (``="bh-call-" + childKind``); "Incidents": if no process with the resulting
    id is deployed, an incident (CALLED_ELEMENT_ERROR) is raised on the call activity.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("call-dynamic.bpmn"))
    found = await zeebe_client.run_process("bh-call-dynamic", {"childKind": "child"})
    missing = await zeebe_client.run_process("bh-call-dynamic", {"childKind": "nobody"})

    child, job = await _child_job_of(zeebe, gateway, found.process_instance_key)
    await gateway.complete(job.key)
    await zeebe.instance(found.process_instance_key).wait_completed()
    await zeebe.instance(child).wait_completed()

    incident = await zeebe.instance(missing.process_instance_key).wait_incident()
    assert (incident.error_type, incident.element_id) == ("CALLED_ELEMENT_ERROR", "call")
    assert "bh-call-nobody" in incident.error_message
