"""Cluster and clock: ``GET /topology``, ``GET /status``, ``PUT /clock``, ``POST /clock/reset``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from procgov_engine.rest.body import read_model
from procgov_engine.rest.context import command, context, no_content
from procgov_engine.rest.models import ClockPin
from procgov_engine.rest.problems import invalid

CLUSTER_ID = "procgov-embedded-engine"


async def topology(request: Request) -> JSONResponse:
    """Camunda docs, "Get cluster topology": one broker leading every partition."""
    t = context(request).engine.topology()
    partitions = [
        {"partitionId": i + 1, "role": "leader", "health": "healthy", "state": "active"}
        for i in range(t.partitions_count)
    ]
    broker = {
        "nodeId": 0,
        "brokerId": "0",
        "host": t.broker_host,
        "port": t.broker_port,
        "partitions": partitions,
        "version": t.gateway_version,
    }
    return JSONResponse(
        {
            "brokers": [broker],
            "clusterId": CLUSTER_ID,
            "clusterSize": t.cluster_size,
            "partitionsCount": t.partitions_count,
            "replicationFactor": t.replication_factor,
            "gatewayVersion": t.gateway_version,
            "lastCompletedChangeId": "-1",
        }
    )


async def status(request: Request) -> Response:
    """Camunda docs, "Get cluster status": 204 while the engine takes commands, else 503."""
    return Response(status_code=204 if context(request).healthy else 503)


async def pin_clock(request: Request) -> Response:
    body = await read_model(request, ClockPin)
    if body.timestamp < 0:
        raise invalid(f"The value for timestamp is '{body.timestamp}' but must be not negative.")
    async with command("PIN"):
        await context(request).engine.pin_clock(body.timestamp)
    return no_content()


async def reset_clock(request: Request) -> Response:
    async with command("RESET"):
        await context(request).engine.reset_clock()
    return no_content()


routes = [
    Route("/topology", topology, methods=["GET"]),
    Route("/status", status, methods=["GET"]),
    Route("/clock", pin_clock, methods=["PUT"]),
    Route("/clock/reset", reset_clock, methods=["POST"]),
]
