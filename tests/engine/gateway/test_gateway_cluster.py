"""Topology, health checking, and the answers for unsupported or misdirected requests.

Zeebe docs: "Zeebe API (gRPC)" → Topology RPC and the gRPC health service the gateway serves
(https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#topology-rpc,
https://docs.camunda.io/docs/self-managed/zeebe-deployment/configuration/gateway-health-probes/);
rejections map to gRPC codes as the gateway.proto comments of each RPC list ("Errors" sections).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub
from pyzeebe import ZeebeClient
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine


@pytest.fixture
async def channel(zeebe: EmbeddedEngine) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        yield channel


async def test_topology_reports_one_healthy_leader(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    topology = await zeebe_client.topology()

    assert (topology.cluster_size, topology.partitions_count, topology.replication_factor) == (1, 1, 1)
    [broker] = topology.brokers
    assert broker.port == zeebe.port
    [partition] = broker.partitions
    assert partition.partition_id == 1
    assert partition.role.name == "LEADER"
    assert partition.health.name == "HEALTHY"
    assert topology.gateway_version


@pytest.mark.parametrize("service", ["", "gateway_protocol.Gateway"])
async def test_health_service_reports_serving(channel: grpc.aio.Channel, service: str) -> None:
    response = await HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_pyzeebe_healthcheck(zeebe_client: ZeebeClient) -> None:
    response = await zeebe_client.healthcheck()
    assert response.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("rpc", "request_"),
    [
        ("ModifyProcessInstance", pb.ModifyProcessInstanceRequest(processInstanceKey=1)),
        ("MigrateProcessInstance", pb.MigrateProcessInstanceRequest(processInstanceKey=1)),
        ("DeleteResource", pb.DeleteResourceRequest(resourceKey=1)),
    ],
)
async def test_unsupported_rpcs_are_unimplemented_with_a_reason(
    channel: grpc.aio.Channel, rpc: str, request_: object
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(GatewayStub(channel), rpc)(request_)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert f"{rpc} is not supported by the embedded procgov engine" in (raised.value.details() or "")


@pytest.mark.parametrize(
    ("rpc", "request_", "intent"),
    [
        ("UpdateJobRetries", pb.UpdateJobRetriesRequest(jobKey=424242, retries=3), "UPDATE_RETRIES"),
        ("UpdateJobTimeout", pb.UpdateJobTimeoutRequest(jobKey=424242, timeout=1000), "UPDATE_TIMEOUT"),
        ("FailJob", pb.FailJobRequest(jobKey=424242, retries=1), "FAIL"),
        ("ThrowError", pb.ThrowErrorRequest(jobKey=424242, errorCode="X"), "THROW_ERROR"),
        ("ResolveIncident", pb.ResolveIncidentRequest(incidentKey=424242), "RESOLVE"),
        ("CancelProcessInstance", pb.CancelProcessInstanceRequest(processInstanceKey=424242), "CANCEL"),
    ],
)
async def test_commands_on_unknown_keys_are_not_found(
    channel: grpc.aio.Channel, rpc: str, request_: object, intent: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(GatewayStub(channel), rpc)(request_)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (raised.value.details() or "").startswith(f"Command '{intent}' rejected with code 'NOT_FOUND': ")


async def test_update_retries_below_one_is_invalid_argument(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await GatewayStub(channel).UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=1, retries=0))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
