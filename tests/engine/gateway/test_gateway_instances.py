"""Process instance creation, creation with result, cancellation and variables over gRPC.

Zeebe docs: "Process instance creation" (https://docs.camunda.io/docs/components/concepts/
process-instance-creation/) — "Create and execute", "Create and await results", "Create at a
specified element"; "Zeebe API (gRPC)" → CreateProcessInstance, CreateProcessInstanceWithResult,
CancelProcessInstance, SetVariables (https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/);
"Variables" (https://docs.camunda.io/docs/components/concepts/variables/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from pyzeebe import ZeebeClient
from pyzeebe.errors import (
    InvalidJSONError,
    ProcessDefinitionNotFoundError,
    ProcessInstanceNotFoundError,
    ProcessTimeoutError,
)
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine

RESOURCES = Path(__file__).parent / "resources"


@pytest.fixture
async def stub(zeebe: EmbeddedEngine) -> AsyncIterator[GatewayStub]:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        yield GatewayStub(channel)


async def test_create_instance_returns_keys_and_starts_it(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")

    created = await zeebe_client.run_process("gw-one-task", {"owner": "质量管理部", "attempt": 1})

    assert created.bpmn_process_id == "gw-one-task"
    assert created.version == 1
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_element_active("work")
    assert instance.variables() == {"owner": "质量管理部", "attempt": 1}


async def test_create_with_result_returns_the_final_variables(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    await zeebe.deploy(RESOURCES / "no-task.bpmn")

    result = await zeebe_client.run_process_with_result(
        "gw-no-task",
        {"processId": "P-7", "cutover": "2026-12-01", "ignored": True},
        timeout=5_000,
        variables_to_fetch=["processId", "cutover"],
    )

    assert result.variables == {"processId": "P-7", "cutover": "2026-12-01"}
    await zeebe.instance(result.process_instance_key).wait_completed()


async def test_create_with_result_times_out_with_deadline_exceeded(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")  # nobody works on "gw.work": it never completes

    with pytest.raises(ProcessTimeoutError):
        await zeebe_client.run_process_with_result("gw-one-task", timeout=300)


async def test_create_at_a_start_instruction_skips_earlier_elements(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    await zeebe.deploy(RESOURCES / "three-tasks.bpmn")

    created = await stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(
            bpmnProcessId="gw-three-tasks",
            version=-1,
            startInstructions=[pb.ProcessInstanceCreationStartInstruction(elementId="publish")],
        )
    )

    instance = zeebe.instance(created.processInstanceKey)
    await instance.wait_element_active("publish")
    activated = {
        r["value"]["elementId"]
        for r in zeebe.records()
        if r["valueType"] == "PROCESS_INSTANCE"
        and r["intent"] == "ELEMENT_ACTIVATED"
        and r["value"]["processInstanceKey"] == created.processInstanceKey
    }
    assert "prepare" not in activated
    assert "review" not in activated


async def test_create_by_definition_key(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    deployment = await zeebe.deploy(RESOURCES / "no-task.bpmn")
    [process] = deployment.processes

    created = await stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(processDefinitionKey=process.process_definition_key)
    )

    assert created.bpmnProcessId == "gw-no-task"
    await zeebe.instance(created.processInstanceKey).wait_completed()


async def test_cancel_terminates_the_instance(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    created = await zeebe_client.run_process("gw-one-task")
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_element_active("work")

    await zeebe_client.cancel_process_instance(created.process_instance_key)

    await instance.wait_terminated()
    with pytest.raises(ProcessInstanceNotFoundError):
        await zeebe_client.cancel_process_instance(created.process_instance_key)


async def test_unknown_process_is_not_found_with_zeebe_wording(zeebe_client: ZeebeClient, stub: GatewayStub) -> None:
    with pytest.raises(ProcessDefinitionNotFoundError):
        await zeebe_client.run_process("gw-missing")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="gw-missing", version=-1))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    details = raised.value.details() or ""
    assert details.startswith("Command 'CREATE' rejected with code 'NOT_FOUND': ")
    assert "'gw-missing'" in details


@pytest.mark.parametrize(("document", "json_type"), [("[1, 2]", "ARRAY"), ('"text"', "STRING"), ("42", "INTEGER")])
async def test_variables_that_are_not_an_object_are_invalid_argument(
    zeebe: EmbeddedEngine, stub: GatewayStub, document: str, json_type: str
) -> None:
    await zeebe.deploy(RESOURCES / "no-task.bpmn")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="gw-no-task", version=-1, variables=document)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == (
        f"Property 'variables' is invalid: Expected document to be a root level object, but was '{json_type}'"
    )


async def test_pyzeebe_raises_invalid_json_for_non_object_variables(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    await zeebe.deploy(RESOURCES / "no-task.bpmn")

    with pytest.raises(InvalidJSONError):
        await zeebe_client.run_process("gw-no-task", [1, 2])  # type: ignore[arg-type]


async def test_set_variables_on_the_instance_scope(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    created = await stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1, variables='{"owner": "a"}')
    )
    instance = zeebe.instance(created.processInstanceKey)
    await instance.wait_element_active("work")

    response = await stub.SetVariables(
        pb.SetVariablesRequest(
            elementInstanceKey=created.processInstanceKey, variables='{"owner": "b", "pilot": true}', local=False
        )
    )

    assert response.key > 0
    assert instance.variables() == {"owner": "b", "pilot": True}


async def test_set_variables_on_unknown_scope_is_not_found(stub: GatewayStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=123456789, variables="{}"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (raised.value.details() or "").startswith("Command 'UPDATE' rejected with code 'NOT_FOUND': ")
