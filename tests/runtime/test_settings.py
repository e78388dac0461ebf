"""Settings from the environment and .env; an invalid one stops `procgov workers` with one line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procgov.cli import app
from workers.runtime.settings import SettingsError, WorkerSettings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    import os

    for name in list(os.environ):
        if name.startswith(("PROCGOV_", "ZEEBE_", "CAMUNDA_")):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level  # `procgov workers` configured logging onto the runner's stream


def test_defaults() -> None:
    settings = load_settings()
    assert settings.gateway_address == "127.0.0.1:26500"
    assert settings.store_url == "sqlite:///var/procgov.db"
    assert settings.transport == "plaintext"


def test_environment_with_nested_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCGOV_GATEWAY_ADDRESS", "zeebe:26500")
    monkeypatch.setenv("PROCGOV_SMTP__HOST", "mail.example.com")
    monkeypatch.setenv("PROCGOV_SMTP__PORT", "587")
    monkeypatch.setenv("PROCGOV_SMTP__STARTTLS", "true")
    monkeypatch.setenv("PROCGOV_SMTP__PASSWORD", "s3cret-pw")
    monkeypatch.setenv("PROCGOV_WEBHOOKS", '{"ops": {"url": "https://hooks.example.com/x", "secret": "hook-key"}}')
    monkeypatch.setenv("PROCGOV_TASKS", '{"rollout.notify": {"timeout_ms": 60000, "max_running_jobs": 2}}')
    settings = load_settings()
    assert settings.gateway_address == "zeebe:26500"
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.starttls) == ("mail.example.com", 587, True)
    assert settings.smtp.password is not None and settings.smtp.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings)
    assert settings.tasks["rollout.notify"].timeout_ms == 60_000
    assert sorted(settings.secret_values()) == ["hook-key", "s3cret-pw"]


def test_camunda_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEEBE_ADDRESS", "camunda.example.com:443")
    monkeypatch.setenv("PROCGOV_TRANSPORT", "oauth")
    monkeypatch.setenv("ZEEBE_CLIENT_ID", "procgov")
    monkeypatch.setenv("ZEEBE_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("ZEEBE_AUTHORIZATION_SERVER_URL", "https://idp.example.com/token")
    settings = load_settings()
    assert settings.gateway_address == "camunda.example.com:443"
    assert settings.oauth.client_id == "procgov"
    assert settings.oauth.client_secret is not None
    assert settings.oauth.authorization_server_url == "https://idp.example.com/token"


def test_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PROCGOV_HEALTH_PORT=9700\nPROCGOV_WORKER_NAME=from-dotenv\n")
    settings = WorkerSettings()
    assert (settings.health_port, settings.worker_name) == (9700, "from-dotenv")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PROCGOV_HEALTH_PORT": "nine"}, "invalid setting: PROCGOV_HEALTH_PORT: Input should be a valid integer"),
        ({"PROCGOV_SMTP__PORT": "70000"}, "invalid setting: PROCGOV_SMTP__PORT: Input should be less than 65536"),
        (
            {"PROCGOV_GATEWAY_ADDRESS": "zeebe"},
            "invalid setting: PROCGOV_GATEWAY_ADDRESS: expected host:port, got 'zeebe'",
        ),
        ({"PROCGOV_TRANSPORT": "oauth"}, "invalid setting: transport 'oauth' needs PROCGOV_OAUTH__CLIENT_ID"),
    ],
)
def test_an_invalid_setting_stops_the_workers_with_one_line(env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(app, ["workers"], env=env)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"procgov: {message}")


def test_load_settings_raises_a_single_line_error() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(health_port=-1)
    assert "\n" not in str(caught.value)
    assert "PROCGOV_HEALTH_PORT" in str(caught.value)


def test_a_store_that_cannot_be_reached_stops_the_start_with_one_line() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PROCGOV_STORE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/procgov",
        "PROCGOV_HEALTH_PORT": "0",
        "PROCGOV_LOG_LEVEL": "ERROR",
    }
    result = CliRunner().invoke(app, ["workers", "--group", "audit"], env=env)
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("procgov: workers cannot start: OperationalError:")
    assert str(port) in last
