"""Modelling features the Zeebe documentation lists as supported (engine version 8.8, see Topology), which
must deploy and run here too.

Each test names the doc page that says Zeebe supports the feature. A failure here means the engine rejects at
deploy time (or mis-runs) something Camunda 8.8 accepts; see the behaviour suite's report for the list.
"""

from __future__ import annotations

import pytest
from behaviour_helpers import Gateway, bpmn
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine


async def test_link_events_deploy_and_jump(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    """Doc "Link events" https://docs.camunda.io/docs/components/modeler/bpmn/link-events/: a link throw event
    continues the flow at the link catch event with the same name (supported since 8.2)."""
    await zeebe.deploy(bpmn("link-events.bpmn"))
    created = await zeebe_client.run_process("bh-link-events")
    await zeebe.instance(created.process_instance_key).wait_completed()
    assert "landed" in zeebe.instance(created.process_instance_key).snapshot().passed_elements


async def test_call_activity_binding_type_deployment(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Call activities" § Defining the called process
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/: ``bindingType="deployment"`` calls
    the version deployed together with the calling process."""
    await zeebe.deploy(bpmn("call-child.bpmn"), bpmn("binding-deployment.bpmn"))
    created = await zeebe_client.run_process("bh-binding-deployment")
    job = await gateway.activate_one("bh.child")
    await gateway.complete(job.key)
    await zeebe.instance(created.process_instance_key).wait_completed()


async def test_execution_listener_runs_before_the_task(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Execution listeners" https://docs.camunda.io/docs/components/concepts/execution-listeners/: a start
    execution listener is a job (``bh.listener``) that must complete before the element is activated."""
    await zeebe.deploy(bpmn("execution-listener.bpmn"))
    created = await zeebe_client.run_process("bh-execution-listener")
    listener = await gateway.activate_one("bh.listener")
    assert await gateway.activate("bh.work", wait=False) == []
    await gateway.complete(listener.key)
    work = await gateway.activate_one("bh.work")
    await gateway.complete(work.key)
    await zeebe.instance(created.process_instance_key).wait_completed()


async def test_compensation_handler_runs_for_a_completed_activity(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Compensation events" https://docs.camunda.io/docs/components/modeler/bpmn/compensation-events/: a
    compensation throw event invokes the compensation handlers of the completed activities of its scope."""
    await zeebe.deploy(bpmn("compensation.bpmn"))
    created = await zeebe_client.run_process("bh-compensation")
    await gateway.complete((await gateway.activate_one("bh.book")).key)
    undo = await gateway.activate_one("bh.undo-book")
    await gateway.complete(undo.key)
    await zeebe.instance(created.process_instance_key).wait_completed()


@pytest.mark.embedded_only(
    "completes the Camunda user task through the engine's command surface; against a cluster, "
    "tests/engine/rest/test_rest_user_tasks.py drives the same over the REST API"
)
async def test_camunda_user_task_deploys_and_waits_for_its_completion(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "User tasks" § Camunda user tasks https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/:
    ``zeebe:userTask`` marks a Camunda user task, the recommended implementation since 8.5; its assignee may
    be a FEEL expression, and the instance waits at the task until it is completed (over the REST API:
    ``POST /v2/user-tasks/{userTaskKey}/completion``); no job of type ``io.camunda.zeebe:userTask`` is made."""
    await zeebe.deploy(bpmn("camunda-user-task.bpmn"))
    created = await zeebe_client.run_process("bh-camunda-user-task", variables={"owner": "ann"})
    [task] = [t for t in zeebe.engine.query.user_tasks() if t.process_instance_key == created.process_instance_key]
    assert (task.state, task.assignee, task.element_id) == ("CREATED", "ann", "approve")
    assert zeebe.engine.query.jobs(created.process_instance_key) == []
    await zeebe.engine.complete_user_task(task.key, {"approved": True})
    await zeebe.instance(created.process_instance_key).wait_completed()
    assert zeebe.instance(created.process_instance_key).variables()["approved"] is True
