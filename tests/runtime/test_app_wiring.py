"""WorkerApp wiring that needs no gateway: channels per transport, settings → per-type task config."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from tests.runtime.handlers import greet_router
from workers.runtime.app import build_services, create_channel
from workers.runtime.jobs import JobObserver
from workers.runtime.settings import WorkerSettings


def settings(**values: object) -> WorkerSettings:
    return WorkerSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "values",
    [
        {"transport": "plaintext"},
        {"transport": "tls"},
        {
            "transport": "oauth",
            "oauth": {
                "client_id": "procgov",
                "client_secret": "s3cret-value",
                "authorization_server_url": "https://idp.example.com/token",
                "audience": "zeebe-api",
            },
        },
        {
            "transport": "camunda-cloud",
            "oauth": {
                "client_id": "procgov",
                "client_secret": "s3cret-value",
                "cluster_id": "c0ffee",
                "cluster_region": "bru-2",
            },
        },
    ],
    ids=lambda v: str(v["transport"]),
)
async def test_every_transport_builds_a_channel(values: dict[str, object]) -> None:
    channel = create_channel(settings(gateway_address="zeebe.example.com:443", **values))
    try:
        assert isinstance(channel, grpc.aio.Channel)
    finally:
        await channel.close()


async def test_tls_with_own_root_certificates(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    channel = create_channel(settings(transport="tls", tls_root_certificates=str(pem)))
    await channel.close()
    with pytest.raises(FileNotFoundError):
        create_channel(settings(transport="tls", tls_root_certificates=str(tmp_path / "missing.pem")))


def test_per_type_settings_reach_the_pyzeebe_task() -> None:
    configured = settings(
        tasks={"runtime-test.greet": {"timeout_ms": 90_000, "max_running_jobs": 3, "retries": 5}},
        retry={"base_ms": 2_000, "max_ms": 20_000},
    )
    services = build_services(configured, observer=JobObserver(), decision_log=None)
    assert services.retry_policy.base_ms == 2_000 and services.retry_policy.max_ms == 20_000
    (task,) = greet_router().to_pyzeebe(services).tasks
    assert (task.config.timeout_ms, task.config.max_running_jobs, task.config.max_jobs_to_activate) == (90_000, 3, 3)
