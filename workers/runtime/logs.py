"""structlog set-up: JSON lines in containers, a readable console in a terminal, secrets never shown.

Every line logged while a job runs carries the job's fields (bound as contextvars by
:mod:`workers.runtime.jobs`): ``job_key``, ``job_type``, ``process_instance_key``,
``bpmn_process_id``, ``element_id``, ``trace_id``. pyzeebe's stdlib log records go through the same
pipeline, so they carry them too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

from workers.runtime.redact import MASK, redact_text

REDACTED = MASK
SECRET_KEY_PARTS = ("password", "secret", "token", "authorization", "api_key", "apikey", "credential", "private_key")
JOB_FIELDS = ("job_key", "job_type", "process_instance_key", "bpmn_process_id", "element_id", "trace_id")


class SecretRedactor:
    """structlog processor: masks values under secret-looking keys, SecretStr values, any known
    secret value (registered from the settings) wherever it appears inside a string, and whatever
    looks like a credential by its shape (:func:`workers.runtime.redact.redact_text`: webhook URL
    tokens, Authorization headers, form-encoded or JSON credentials). It runs for structlog events and
    for every stdlib record (third-party libraries at DEBUG included), before rendering."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []
        self.register(secrets)

    def register(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary words; a secret that short is not one worth hiding.
        # Longest first, so a secret containing another is masked whole.
        self._secrets.update(s for s in secrets if s and len(s) >= 4)
        self._ordered = sorted(self._secrets, key=len, reverse=True)

    @staticmethod
    def _secret_key(key: str) -> bool:
        lowered = key.lower()
        return any(part in lowered for part in SECRET_KEY_PARTS)

    def _clean(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, SecretStr):
            return REDACTED
        if isinstance(value, str):
            for secret in self._ordered:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return redact_text(value)
        if depth > 5:
            return value
        if isinstance(value, dict):
            return {
                k: REDACTED if isinstance(k, str) and self._secret_key(k) else self._clean(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v, depth + 1) for v in value)
        return value

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            if self._secret_key(key):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self._clean(event_dict[key])
        return event_dict


redactor = SecretRedactor()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, stream: Any = None, secrets: Iterable[str] = ()
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr): JSON unless it is a TTY."""
    stream = stream or sys.stderr
    redactor.register(secrets)
    if json is None:
        json = not (hasattr(stream, "isatty") and stream.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    shared = _shared_processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_procgov", False):
            root.removeHandler(old)
    handler._procgov = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
