"""The gRPC channel to the Zeebe gateway for the configured transport (pyzeebe's channel helpers):
plaintext, TLS (system or own root certificates), OAuth client credentials, or Camunda SaaS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from pyzeebe import (
    create_camunda_cloud_channel,
    create_insecure_channel,
    create_oauth2_client_credentials_channel,
    create_secure_channel,
)

from workers.runtime.settings import WorkerSettings


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
