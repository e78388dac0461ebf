"""DeployResource over gRPC with pyzeebe: BPMN, DMN and form metadata, versioning, duplicates.

Zeebe docs: "Zeebe API (gRPC)" → DeployResource RPC
(https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#deployresource-rpc) and
"Versioning process definitions" (https://docs.camunda.io/docs/components/best-practices/operations/
versioning-process-definitions/): a redeployed, unchanged resource keeps its version; a changed one
gets the next version.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from pyzeebe import ZeebeClient
from pyzeebe.errors import ProcessInvalidError
from pyzeebe.grpc_internals.types import DeployResourceResponse
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine

RESOURCES = Path(__file__).parent / "resources"


async def test_deploy_bpmn_dmn_and_form_reports_each_resource(zeebe_client: ZeebeClient) -> None:
    response = await zeebe_client.deploy_resource(
        RESOURCES / "three-tasks.bpmn", RESOURCES / "grade.dmn", RESOURCES / "request.form"
    )

    assert response.key > 0
    assert response.tenant_id == "<default>"
    by_kind = {type(d).__name__: d for d in response.deployments}
    process = by_kind["ProcessMetadata"]
    assert isinstance(process, DeployResourceResponse.ProcessMetadata)
    assert (process.bpmn_process_id, process.version, process.resource_name) == (
        "gw-three-tasks",
        1,
        "three-tasks.bpmn",
    )
    decision = by_kind["DecisionMetadata"]
    assert isinstance(decision, DeployResourceResponse.DecisionMetadata)
    assert (decision.dmn_decision_id, decision.dmn_decision_name) == ("gw-exam-grade", "Exam grade")
    assert decision.dmn_decision_requirements_id == "gw-grading"
    drg = by_kind["DecisionRequirementsMetadata"]
    assert isinstance(drg, DeployResourceResponse.DecisionRequirementsMetadata)
    assert drg.decision_requirements_key == decision.decision_requirements_key
    form = by_kind["FormMetadata"]
    assert isinstance(form, DeployResourceResponse.FormMetadata)
    assert (form.form_id, form.version, form.resource_name) == ("gw-request-form", 1, "request.form")


async def test_deployment_metadata_lists_processes_decisions_requirements_then_forms(
    zeebe_client: ZeebeClient,
) -> None:
    """Zeebe's gateway lists a deployment's metadata in a fixed order whatever the resources' order:
    processes, then decisions, then decision requirements, then forms (gateway ``ResponseMapper``
    ``toDeployResourceResponse``); pyzeebe's own integration tests index the list by that order."""
    response = await zeebe_client.deploy_resource(
        RESOURCES / "request.form", RESOURCES / "grade.dmn", RESOURCES / "three-tasks.bpmn"
    )

    kinds = [type(d).__name__ for d in response.deployments]
    assert kinds == ["ProcessMetadata", "DecisionMetadata", "DecisionRequirementsMetadata", "FormMetadata"]


async def test_redeploying_unchanged_resource_keeps_version_and_changed_gets_next(
    zeebe_client: ZeebeClient, tmp_path: Path
) -> None:
    first = await zeebe_client.deploy_resource(RESOURCES / "one-task.bpmn")
    duplicate = await zeebe_client.deploy_resource(RESOURCES / "one-task.bpmn")
    changed = tmp_path / "one-task.bpmn"
    changed.write_text((RESOURCES / "one-task.bpmn").read_text().replace('name="Work"', 'name="Work v2"'))
    second = await zeebe_client.deploy_resource(changed)

    def version_and_key(response: DeployResourceResponse) -> tuple[int, int]:
        [process] = response.deployments
        assert isinstance(process, DeployResourceResponse.ProcessMetadata)
        return process.version, process.process_definition_key

    assert version_and_key(first)[0] == 1
    assert version_and_key(duplicate) == version_and_key(first)
    assert version_and_key(second)[0] == 2
    assert version_and_key(second)[1] != version_and_key(first)[1]

    # A new instance runs the latest version.
    created = await zeebe_client.run_process("gw-one-task")
    assert created.version == 2


async def test_invalid_bpmn_is_invalid_argument(zeebe_client: ZeebeClient, tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions this is not xml")

    with pytest.raises(ProcessInvalidError):
        await zeebe_client.deploy_resource(broken)


async def test_deprecated_deploy_process_still_deploys(zeebe: EmbeddedEngine) -> None:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        stub = GatewayStub(channel)
        response = await stub.DeployProcess(
            pb.DeployProcessRequest(
                processes=[
                    pb.ProcessRequestObject(name="no-task.bpmn", definition=(RESOURCES / "no-task.bpmn").read_bytes())
                ]
            )
        )
    assert [p.bpmnProcessId for p in response.processes] == ["gw-no-task"]
    assert response.processes[0].version == 1


async def test_deploy_without_resources_is_invalid_argument(zeebe: EmbeddedEngine) -> None:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await GatewayStub(channel).DeployResource(pb.DeployResourceRequest())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least one resource" in (raised.value.details() or "")
