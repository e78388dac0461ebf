"""Modelling features the Zeebe documentation lists as supported (engine version 8.8, see Topology), which
must deploy and run here too.

Each test names the doc page that says Zeebe supports the feature. A failure here means the engine rejects at
deploy time (or mis-runs) something Camunda 8.8 accepts; see the behaviour suite's report for the list.
"""

from __future__ import annotations

import pytest
from behaviour_helpers import Gateway, bpmn
from pyzeebe import ZeebeClient

from engine.api import Rejection, RejectionType
from engine.testing import EmbeddedEngine


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
    "a deliberate limit of this engine (engine/core/STATUS.md, known limits): Camunda 8.8 deploys zeebe:userTask"
)
async def test_camunda_user_task_is_rejected_at_deploy_naming_the_element(zeebe: EmbeddedEngine) -> None:
    """Doc "User tasks" § Camunda user tasks https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/:
    ``zeebe:userTask`` marks a Camunda user task, the recommended implementation since 8.5.

    Deliberately rejected here (engine/core/STATUS.md, known limits): Zeebe completes a Camunda user task only
    through the REST API ``POST /v2/user-tasks/{userTaskKey}/completion``
    (https://docs.camunda.io/docs/apis-tools/camunda-api-rest/specifications/complete-user-task/); the gRPC
    gateway, the only protocol this engine serves, has no user task call. Accepting the model would create
    tasks no client could ever complete, so the deployment fails naming the element and the way out (a
    job-based user task, completed with CompleteJob like in Zeebe)."""
    with pytest.raises(Rejection) as rejected:
        await zeebe.deploy(bpmn("camunda-user-task.bpmn"))
    assert rejected.value.type == RejectionType.INVALID_ARGUMENT
    reason = rejected.value.reason
    assert "'camunda-user-task.bpmn': Element: approve: Camunda user tasks ('zeebe:userTask') are not supported" in (
        reason
    )
    assert "POST /v2/user-tasks/{userTaskKey}/completion" in reason
    assert "job-based user task" in reason
