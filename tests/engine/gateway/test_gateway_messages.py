"""Messages, signals and decisions over gRPC.

Zeebe docs: "Messages" (https://docs.camunda.io/docs/components/concepts/messages/) — "Message
buffering" (a message with a time to live waits for a subscription until it expires) and "Message
uniqueness" (a second message with the same message id is rejected while the first is buffered);
"Signals" (https://docs.camunda.io/docs/components/concepts/signals/) — a broadcast triggers every
waiting signal catch event; "Zeebe API (gRPC)" → EvaluateDecision
(https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#evaluatedecision-rpc).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from pyzeebe import ZeebeClient
from pyzeebe.errors import DecisionNotFoundError, MessageAlreadyExistsError
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine

RESOURCES = Path(__file__).parent / "resources"


async def test_message_correlates_to_a_waiting_instance(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    await zeebe.deploy(RESOURCES / "message-catch.bpmn")
    created = await zeebe_client.run_process("gw-message-catch", {"requestId": "CR-1"})
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_element_active("await-approval")

    response = await zeebe_client.publish_message(
        "approval-received", correlation_key="CR-1", variables={"approvedBy": "部门负责人"}
    )

    assert response.key > 0
    await instance.wait_completed()
    assert instance.variables() == {"requestId": "CR-1", "approvedBy": "部门负责人"}


async def test_buffered_message_correlates_until_its_time_to_live_passes(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    await zeebe.deploy(RESOURCES / "message-catch.bpmn")
    await zeebe_client.publish_message(
        "approval-received", correlation_key="CR-2", time_to_live_in_milliseconds=60_000, variables={"n": 1}
    )
    await zeebe_client.publish_message(
        "approval-received", correlation_key="CR-3", time_to_live_in_milliseconds=60_000, variables={"n": 2}
    )

    early = await zeebe_client.run_process("gw-message-catch", {"requestId": "CR-2"})
    await zeebe.instance(early.process_instance_key).wait_completed()  # the buffered message was waiting

    await zeebe.increase_time(timedelta(seconds=61))
    late = await zeebe_client.run_process("gw-message-catch", {"requestId": "CR-3"})
    late_instance = zeebe.instance(late.process_instance_key)
    await late_instance.wait_element_active("await-approval")  # CR-3's message expired: still waiting
    assert "n" not in late_instance.variables()


async def test_message_id_is_unique_while_the_message_is_buffered(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    await zeebe_client.publish_message(
        "approval-received", correlation_key="CR-4", time_to_live_in_milliseconds=60_000, message_id="mail-4711"
    )

    with pytest.raises(MessageAlreadyExistsError):
        await zeebe_client.publish_message(
            "approval-received", correlation_key="CR-4", time_to_live_in_milliseconds=60_000, message_id="mail-4711"
        )

    # Only one message is correlated, so a second waiting instance keeps waiting.
    await zeebe.deploy(RESOURCES / "message-catch.bpmn")
    first = await zeebe_client.run_process("gw-message-catch", {"requestId": "CR-4"})
    second = await zeebe_client.run_process("gw-message-catch", {"requestId": "CR-4"})
    await zeebe.instance(first.process_instance_key).wait_completed()
    await zeebe.instance(second.process_instance_key).wait_element_active("await-approval")


async def test_broadcast_signal_triggers_every_waiting_instance(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    await zeebe.deploy(RESOURCES / "signal-catch.bpmn")
    keys = [(await zeebe_client.run_process("gw-signal-catch")).process_instance_key for _ in range(2)]
    for key in keys:
        await zeebe.instance(key).wait_element_active("await-signal")

    response = await zeebe_client.broadcast_signal("change-freeze-lifted", {"liftedBy": "质量管理部"})

    assert response.key > 0
    for key in keys:
        await zeebe.instance(key).wait_completed()
        assert zeebe.instance(key).variables() == {"liftedBy": "质量管理部"}


async def test_evaluate_decision_by_id_reports_output_and_matched_rule(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    await zeebe.deploy(RESOURCES / "grade.dmn")

    result = await zeebe_client.evaluate_decision(None, "gw-exam-grade", {"score": 85})

    assert result.decision_id == "gw-exam-grade"
    assert result.decision_version == 1
    assert result.decision_output == "pass"
    assert result.failure_message == ""
    [evaluated] = result.evaluated_decisions
    assert evaluated.decision_type == "DECISION_TABLE"
    [rule] = evaluated.matched_rules
    assert (rule.rule_id, rule.rule_index) == ("rule-pass", 1)
    assert [(o.output_name, o.output_value) for o in rule.evaluated_outputs] == [("grade", "pass")]
    assert [(i.input_name, i.input_value) for i in evaluated.evaluated_inputs] == [("Score", 85)]

    by_key = await zeebe_client.evaluate_decision(result.decision_key, None, {"score": 12})
    assert by_key.decision_output == "fail"


async def test_unknown_decision_is_not_found(zeebe_client: ZeebeClient) -> None:
    with pytest.raises(DecisionNotFoundError):
        await zeebe_client.evaluate_decision(None, "gw-no-such-decision", {})


async def test_broadcast_with_a_tenant_is_refused_as_multi_tenancy_is_off(zeebe: EmbeddedEngine) -> None:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await GatewayStub(channel).BroadcastSignal(pb.BroadcastSignalRequest(signalName="s", tenantId="acme"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "multi-tenancy is disabled" in (raised.value.details() or "")
