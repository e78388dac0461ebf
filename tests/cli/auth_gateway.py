"""A real gRPC gateway that demands basic authentication, in front of the embedded engine.

The embedded engine (like a local Zeebe) has no authentication; Camunda 8.8's Orchestration Cluster
checks ``Authorization: Basic base64(user:password)`` on every call (docs: Zeebe API (gRPC) >
Authentication: no authentication, basic authentication, OIDC). This proxy does what that gateway does
to a call: refuses it with UNAUTHENTICATED unless the header names the one user, and otherwise forwards
the call's bytes to the engine and its answer back. It records every header it saw.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import grpc

SERVER_STREAMING = ("/ActivateJobs", "/StreamActivatedJobs")


class BasicAuthGateway(grpc.GenericRpcHandler):
    def __init__(self, upstream: grpc.aio.Channel, username: str, password: str) -> None:
        self._upstream = upstream
        self._expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.seen: list[str | None] = []

    async def _check(self, context: grpc.aio.ServicerContext) -> None:
        header = dict(context.invocation_metadata() or ()).get("authorization")
        self.seen.append(header if isinstance(header, str) else None)
        if header != self._expected:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "Failed to authenticate: invalid credentials")

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method  # type: ignore[attr-defined]
        if method.endswith(SERVER_STREAMING):
            stream = self._upstream.unary_stream(method)

            async def forward_stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                await self._check(context)
                async for response in stream(request, timeout=context.time_remaining()):
                    yield response

            return grpc.unary_stream_rpc_method_handler(forward_stream)
        unary = self._upstream.unary_unary(method)

        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> Any:
            await self._check(context)
            return await unary(request, timeout=context.time_remaining())

        return grpc.unary_unary_rpc_method_handler(forward)


async def start_gateway(engine_address: str, username: str, password: str) -> tuple[grpc.aio.Server, int, Any]:
    upstream = grpc.aio.insecure_channel(engine_address)
    handler = BasicAuthGateway(upstream, username, password)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port, handler
