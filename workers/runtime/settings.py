"""Worker settings: environment (``PROCGOV_`` prefix, nested with ``__``) and an optional ``.env``.

Camunda's own variables are honoured too (``ZEEBE_ADDRESS``, ``ZEEBE_CLIENT_ID``/``CAMUNDA_CLIENT_ID``
…), so a worker configured for the Java/Go clients runs unchanged. An invalid value stops the start with
one line naming the setting (:func:`load_settings`).
"""

from __future__ import annotations

import base64
import os
import socket
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STORE_URL = "sqlite:///var/procgov.db"  # docs/contracts.md; PROCGOV_STORE_URL overrides it

CAMUNDA_ENV = {
    "client_id": ("CAMUNDA_CLIENT_ID", "ZEEBE_CLIENT_ID"),
    "client_secret": ("CAMUNDA_CLIENT_SECRET", "ZEEBE_CLIENT_SECRET"),
    "authorization_server_url": ("CAMUNDA_OAUTH_URL", "ZEEBE_AUTHORIZATION_SERVER_URL"),
    "audience": ("CAMUNDA_TOKEN_AUDIENCE", "ZEEBE_TOKEN_AUDIENCE"),
    "cluster_id": ("CAMUNDA_CLUSTER_ID",),
}
# Camunda's SDKs name the basic-auth user these ways (CAMUNDA_AUTH_STRATEGY=BASIC).
CAMUNDA_BASIC_ENV = {"username": ("CAMUNDA_BASIC_AUTH_USERNAME",), "password": ("CAMUNDA_BASIC_AUTH_PASSWORD",)}


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line naming it."""


class OAuthSettings(BaseModel):
    """OAuth2 client credentials (Camunda SaaS or Self-Managed with Identity)."""

    client_id: str | None = None
    client_secret: SecretStr | None = None
    authorization_server_url: str | None = None
    audience: str | None = None
    scope: str | None = None
    cluster_id: str | None = None  # SaaS: the gateway address follows from cluster id + region
    cluster_region: str = "bru-2"


class BasicAuthSettings(BaseModel):
    """Basic authentication of the Orchestration Cluster (Camunda 8.8's default, Helm chart included):
    a user of the cluster's Identity, sent as ``Authorization: Basic …`` on every gRPC call."""

    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False  # TLS to the gateway (system roots, or PROCGOV_TLS_ROOT_CERTIFICATES)

    def authorization(self) -> str:
        """The ``Authorization`` value of HTTP basic authentication (RFC 7617): ``user:password``, UTF-8."""
        password = self.password.get_secret_value() if self.password else ""
        return "Basic " + base64.b64encode(f"{self.username or ''}:{password}".encode()).decode("ascii")


class TaskSettings(BaseModel):
    """Per job type overrides (``PROCGOV_TASKS='{"rollout.notify": {"timeout_ms": 60000}}'``)."""

    timeout_ms: int | None = Field(default=None, gt=0)
    max_running_jobs: int | None = Field(default=None, gt=0)
    max_jobs_to_activate: int | None = Field(default=None, gt=0)
    retries: int | None = Field(default=None, ge=1)


class RetrySettings(BaseModel):
    """Exponential back-off between retries of transient failures (FailJob with ``retryBackOff``).

    ``budget_ms``: how long a task's retries together outlast an outage before the incident; the first
    wait grows from ``base_ms`` as needed (see :class:`workers.runtime.policy.RetryPolicy`). 0 = plain
    ``base_ms`` doubling.
    """

    base_ms: int = Field(default=1_000, gt=0)
    max_ms: int = Field(default=300_000, gt=0)
    budget_ms: int = Field(default=600_000, ge=0)


class SmtpSettings(BaseModel):
    host: str = "localhost"
    port: int = Field(default=25, gt=0, lt=65536)
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    from_address: str = "procgov@localhost"
    timeout_s: float = Field(default=30.0, gt=0)


class WebhookSettings(BaseModel):
    url: str
    secret: SecretStr | None = None  # signs the body (HMAC-SHA256) so the receiver can trust it
    # The receiver drops a repeat with the same Idempotency-Key header (a relay; not the public chat
    # platforms), so a message a crashed worker may have sent is re-sent rather than reported uncertain.
    deduplicates: bool = False


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PROCGOV_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    gateway_address: str = Field(
        default="127.0.0.1:26500",
        validation_alias=AliasChoices("PROCGOV_GATEWAY_ADDRESS", "ZEEBE_ADDRESS", "gateway_address"),
    )
    # Camunda's Orchestration Cluster REST API (v2): user tasks (`procgov tasks`), with the same transport.
    rest_url: str = Field(
        default="http://127.0.0.1:8080",
        validation_alias=AliasChoices("PROCGOV_REST_URL", "CAMUNDA_REST_ADDRESS", "rest_url"),
    )
    transport: Literal["plaintext", "tls", "basic", "oauth", "camunda-cloud"] = "plaintext"
    tls_root_certificates: str | None = None  # PEM file; None = system roots
    basic: BasicAuthSettings = Field(default_factory=BasicAuthSettings)
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    worker_name: str = Field(default_factory=lambda: f"procgov-{socket.gethostname()}")
    request_timeout_ms: int = Field(default=10_000, ge=0)  # long-polling ActivateJobs
    tasks: dict[str, TaskSettings] = Field(default_factory=dict)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    # A handler is cut off this long before its job's activation timeout, so its FailJob reaches the
    # gateway while the worker still holds the job (capped at a tenth of the timeout; see router).
    job_deadline_margin_ms: int = Field(default=1_000, ge=0)
    otlp_endpoint: str | None = None  # e.g. http://otel-collector:4317; None = no export
    service_name: str = "procgov-workers"
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    webhooks: dict[str, WebhookSettings] = Field(default_factory=dict)
    store_url: str = DEFAULT_STORE_URL
    # Signed audit checkpoints (workers/runtime/stores/checkpoints.py): the key lives here or in a file,
    # never in a database; KEY_ID:SECRET per entry, the last one signs, all verify (rotation).
    audit_key: SecretStr | None = None
    audit_key_file: str | None = None
    audit_checkpoint_dir: str = "var/checkpoints"
    health_host: str = "0.0.0.0"
    health_port: int = Field(default=9600, ge=0, lt=65536)  # 0 = any free port
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = None  # None: JSON unless stderr is a terminal

    @field_validator("gateway_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port, got {value!r}")
        return value

    @field_validator("rest_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL such as http://127.0.0.1:8080, got {value!r}")
        return value.strip().rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _oauth_complete(self) -> WorkerSettings:
        # Camunda's client variables fill what PROCGOV_OAUTH__* leaves open.
        for name, env_names in CAMUNDA_ENV.items():
            if getattr(self.oauth, name) is None:
                value = next((os.environ[env] for env in env_names if os.environ.get(env)), None)
                if value is not None:
                    setattr(self.oauth, name, SecretStr(value) if name == "client_secret" else value)
        for name, env_names in CAMUNDA_BASIC_ENV.items():
            if getattr(self.basic, name) is None:
                value = next((os.environ[env] for env in env_names if os.environ.get(env)), None)
                if value is not None:
                    setattr(self.basic, name, SecretStr(value) if name == "password" else value)
        if self.transport == "basic":
            missing = [name for name in ("username", "password") if getattr(self.basic, name) is None]
            if missing:
                names = ", ".join(f"PROCGOV_BASIC__{name.upper()}" for name in missing)
                raise ValueError(f"transport 'basic' needs {names}")
        if self.transport in ("oauth", "camunda-cloud"):
            missing = [name for name in ("client_id", "client_secret") if getattr(self.oauth, name) is None]
            if self.transport == "oauth" and self.oauth.authorization_server_url is None:
                missing.append("authorization_server_url")
            if self.transport == "camunda-cloud" and self.oauth.cluster_id is None:
                missing.append("cluster_id")
            if missing:
                names = ", ".join(f"PROCGOV_OAUTH__{name.upper()}" for name in missing)
                raise ValueError(f"transport {self.transport!r} needs {names}")
        return self

    def secret_values(self) -> list[str]:
        """Every secret's plain value, so the log redactor can mask it wherever it shows up."""
        secrets = [self.smtp.password, self.oauth.client_secret, self.basic.password]
        secrets += [hook.secret for hook in self.webhooks.values()]
        values = [s.get_secret_value() for s in secrets if s is not None]
        if self.basic.password is not None:  # the header carries it base64-encoded
            values.append(self.basic.authorization().removeprefix("Basic "))
        return values


def _env_name(loc: tuple[int | str, ...]) -> str:
    head = str(loc[0])
    if head.upper().startswith(("PROCGOV_", "ZEEBE_")):  # reported under the alias it was read from
        return "__".join([head.upper(), *(str(part).upper() for part in loc[1:])])
    return "PROCGOV_" + "__".join(str(part).upper() for part in loc)


def describe_settings_error(error: ValidationError) -> str:
    """One line: ``invalid setting: PROCGOV_HEALTH_PORT: Input should be ... (got 'abc')``."""
    parts = []
    for problem in error.errors(include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        if not problem["loc"]:  # a rule across several settings: its message names them
            parts.append(message)
            continue
        part = f"{_env_name(tuple(problem['loc']))}: {message}"
        if problem["type"] not in ("missing", "value_error") and not isinstance(problem.get("input"), dict):
            part += f" (got {problem.get('input')!r})"
        parts.append(part)
    return "invalid setting: " + "; ".join(parts)


def load_settings(**overrides: object) -> WorkerSettings:
    """Read the settings; raise :class:`SettingsError` with one line naming each bad setting."""
    try:
        return WorkerSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_settings_error(error)) from None
