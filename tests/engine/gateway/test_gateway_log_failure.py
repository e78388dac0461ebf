"""A record log that cannot be written (disk full, I/O error): what clients and probes see.

The engine stops taking commands (fail-stop, engine/core/STATUS.md); over gRPC the failed commands
answer INTERNAL with the cause, later ones say to restart, and the health service turns NOT_SERVING
(Camunda docs, "Gateway health probes"), so that an orchestrator restarts the process. The failure
itself is injected on the commit thread: a full disk cannot be made to happen here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.core.log import CommandRow, RecordRow
from procgov_engine.testing import EmbeddedEngine

ONE_TASK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://procgov.test">
  <bpmn:process id="one" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="w" />
    </bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


async def _status(channel: grpc.aio.Channel, service: str) -> int:
    response = await HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    return int(response.status)


async def test_a_log_that_cannot_be_written_fails_the_command_rejects_later_ones_and_health_says_so(
    zeebe: EmbeddedEngine,
) -> None:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        gateway = GatewayStub(channel)
        await gateway.DeployResource(
            pb.DeployResourceRequest(resources=[pb.Resource(name="one.bpmn", content=ONE_TASK)])
        )
        log = zeebe.engine.log
        append = log.append
        loop_thread = threading.get_ident()

        def full_disk(records: list[RecordRow], commands: list[CommandRow]) -> None:
            if threading.get_ident() != loop_thread:
                raise sqlite3.OperationalError("database or disk is full")
            append(records, commands)

        log.append = full_disk  # type: ignore[method-assign]
        create = pb.CreateProcessInstanceRequest(bpmnProcessId="one", version=-1)
        with pytest.raises(grpc.aio.AioRpcError) as first:  # never acknowledged: its commit failed
            await gateway.CreateProcessInstance(create)
        assert first.value.code() == grpc.StatusCode.INTERNAL
        assert "database or disk is full" in (first.value.details() or "")

        with pytest.raises(grpc.aio.AioRpcError) as later:  # the engine takes no more commands
            await gateway.CreateProcessInstance(create)
        assert later.value.code() == grpc.StatusCode.INTERNAL
        details = later.value.details() or ""
        assert "could not write its record log" in details and "restart" in details

        for _ in range(50):  # the health update is a task of its own
            if await _status(channel, "") == health_pb2.HealthCheckResponse.NOT_SERVING:
                break
            await asyncio.sleep(0.02)
        assert await _status(channel, "") == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await _status(channel, "gateway_protocol.Gateway") == health_pb2.HealthCheckResponse.NOT_SERVING

    log.append = append  # type: ignore[method-assign]
    await zeebe.restart()  # recovers from the log: the deployment is there, no instance was created
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        assert await _status(channel, "") == health_pb2.HealthCheckResponse.SERVING
        created = await GatewayStub(channel).CreateProcessInstance(create)
        assert created.processInstanceKey > 0
    instances = list(zeebe.engine.query.records(value_type="PROCESS_INSTANCE_CREATION", intent="CREATED"))
    assert [r["key"] for r in instances] == [created.processInstanceKey]
