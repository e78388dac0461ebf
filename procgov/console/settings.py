"""What the console listens on, which REST API it talks to, and who may log in.

Environment (``PROCGOV_CONSOLE_`` prefix; the command's options override host and port):

* The REST API is the workers' setting ``PROCGOV_REST_URL`` (else Camunda's ``CAMUNDA_REST_ADDRESS``, else
  ``http://127.0.0.1:8080``, the embedded engine's default), as for ``procgov tasks``; ``--rest-url``
  overrides it. The console authenticates to it as the workers do: ``PROCGOV_TRANSPORT=basic`` with
  ``PROCGOV_BASIC__*``, or ``oauth``/``camunda-cloud`` with ``PROCGOV_OAUTH__*``.
* ``PROCGOV_CONSOLE_HOST`` (default ``127.0.0.1``), ``PROCGOV_CONSOLE_PORT`` (default 8090).
* ``PROCGOV_CONSOLE_USERS``: JSON ``{"name": "scrypt$…"}`` of people who log in with a password
  (hashes from ``procgov console hash-password``); ``PROCGOV_CONSOLE_TOKEN``: a shared access token (at
  least 24 characters) to log in with instead. Beyond loopback one of them is required: the console refuses
  to start without. When either is set, login is required on loopback too.
* ``PROCGOV_CONSOLE_USER``: on loopback without login, the name tasks are claimed for (default: the
  operating system's user). A person who logs in claims under their own name; a token login under
  ``PROCGOV_CONSOLE_TOKEN_USER`` (default ``console``).
* ``PROCGOV_CONSOLE_TIMEZONE``: the zone times are shown in (default ``Asia/Shanghai``, as the reports).
* ``PROCGOV_CONSOLE_SESSION_SECRET``: signs session cookies; unset, a random one per start (everyone logs
  in again after a restart). ``PROCGOV_CONSOLE_SESSION_HOURS`` (default 12).
"""

from __future__ import annotations

import getpass
import ipaddress
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from procgov.console.passwords import PasswordHashError, check_hash

DEFAULT_PORT = 8090
MIN_TOKEN_LENGTH = 24


class ConsoleSettingsError(Exception):
    """A console setting is missing or invalid; the message is one line naming it."""


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers running as an arbitrary uid)
        return "console"


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCGOV_CONSOLE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, lt=65536)
    users: dict[str, str] = Field(default_factory=dict)
    token: SecretStr | None = None
    token_user: str = "console"
    user: str = Field(default_factory=_default_user)
    session_secret: SecretStr | None = None
    session_hours: float = Field(default=12, gt=0)
    timezone: str = "Asia/Shanghai"  # times on the pages, with their offset (as the audit report)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai or UTC)") from None
        return value

    @field_validator("users")
    @classmethod
    def _hashes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, encoded in value.items():
            if not name.strip():
                raise ValueError("a user name is empty")
            try:
                check_hash(encoded)
            except PasswordHashError as error:
                raise ValueError(f"user {name!r}: {error}") from None
        return value

    @field_validator("token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters (e.g. `python -c \"import secrets; "
                             "print(secrets.token_urlsafe(32))\"`)")
        return value

    @property
    def login_configured(self) -> bool:
        return bool(self.users) or self.token is not None

    def check_exposure(self) -> None:
        """Refuse to listen beyond loopback when no one has to log in."""
        if not is_loopback(self.host) and not self.login_configured:
            raise ConsoleSettingsError(
                f"refusing to listen on {self.host} without login: set PROCGOV_CONSOLE_USERS (name → password "
                "hash from `procgov console hash-password`) or PROCGOV_CONSOLE_TOKEN, or listen on 127.0.0.1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def load_console_settings(**overrides: object) -> ConsoleSettings:
    """Read the settings (options in ``overrides`` win); one line naming the bad setting otherwise."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return ConsoleSettings(**given)  # type: ignore[arg-type]
    except ValidationError as error:
        parts = []
        for problem in error.errors(include_url=False):
            name = "PROCGOV_CONSOLE_" + "__".join(str(p).upper() for p in problem["loc"][:1])
            parts.append(f"{name}: {str(problem['msg']).removeprefix('Value error, ')}")
        raise ConsoleSettingsError("invalid setting: " + "; ".join(parts)) from None
