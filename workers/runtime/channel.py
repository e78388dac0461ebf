"""The gRPC channel to the Zeebe gateway for the configured transport (pyzeebe's channel helpers):
plaintext, TLS (system or own root certificates), basic authentication, OAuth client credentials, or
Camunda SaaS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from pyzeebe import (
    create_camunda_cloud_channel,
    create_insecure_channel,
    create_oauth2_client_credentials_channel,
    create_secure_channel,
)
from pyzeebe.channel.channel_options import get_channel_options

from workers.runtime.settings import BasicAuthSettings, WorkerSettings


def _with_authorization(details: grpc.aio.ClientCallDetails, value: str) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata["authorization"] = value
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _UnaryAuthorization(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, value: str) -> None:
        self._value = value

    async def intercept_unary_unary(
        self, continuation: Callable[..., Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_authorization(details, self._value), request)


class _StreamAuthorization(grpc.aio.UnaryStreamClientInterceptor):
    """ActivateJobs and StreamActivatedJobs are server-streaming calls: they need the header too."""

    def __init__(self, value: str) -> None:
        self._value = value

    async def intercept_unary_stream(
        self, continuation: Callable[..., Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_authorization(details, self._value), request)


def _basic_channel(address: str, basic: BasicAuthSettings, credentials: grpc.ChannelCredentials | None) -> Any:
    """A channel whose every call carries the basic ``Authorization`` header.

    An interceptor, not call credentials: gRPC sends call credentials only over TLS, and the
    Orchestration Cluster's gateway is often plaintext inside the cluster network."""
    value = basic.authorization()
    interceptors: list[Any] = [_UnaryAuthorization(value), _StreamAuthorization(value)]
    options = get_channel_options()
    if basic.tls or credentials is not None:
        return grpc.aio.secure_channel(
            address, credentials or grpc.ssl_channel_credentials(), options=options, interceptors=interceptors
        )
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)


def create_channel(settings: WorkerSettings) -> grpc.aio.Channel:
    """The gRPC channel for ``settings.transport`` (pyzeebe's channel helpers)."""
    address = settings.gateway_address
    oauth = settings.oauth
    secret = oauth.client_secret.get_secret_value() if oauth.client_secret else None
    if settings.transport == "plaintext":
        return create_insecure_channel(grpc_address=address)
    credentials = None
    if settings.tls_root_certificates:
        credentials = grpc.ssl_channel_credentials(Path(settings.tls_root_certificates).read_bytes())
    if settings.transport == "tls":
        return create_secure_channel(grpc_address=address, channel_credentials=credentials)
    if settings.transport == "basic":
        return _basic_channel(address, settings.basic, credentials)
    if settings.transport == "oauth":
        return create_oauth2_client_credentials_channel(
            grpc_address=address,
            client_id=oauth.client_id or "",
            client_secret=secret or "",
            authorization_server=oauth.authorization_server_url or "",
            scope=oauth.scope,
            audience=oauth.audience,
            channel_credentials=credentials,
        )
    extra: dict[str, Any] = {}
    if oauth.authorization_server_url:
        extra["authorization_server"] = oauth.authorization_server_url
    if oauth.audience:
        extra["audience"] = oauth.audience
    return create_camunda_cloud_channel(
        client_id=oauth.client_id or "",
        client_secret=secret or "",
        cluster_id=oauth.cluster_id or "",
        region=oauth.cluster_region,
        scope=oauth.scope,
        channel_credentials=credentials,
        **extra,
    )
