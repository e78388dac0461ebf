"""The worker runtime every procgov worker group runs on (see docs/contracts.md, "Worker runtime surface").

Groups import only from here: ``TaskRouter`` to declare handlers and recorded decisions, the error types
that steer the process, ``Decision``/``RuleSet`` for pure rule-driven decisions, and the stores.

Names are loaded on first use (PEP 562), so a command-line call that needs only the settings does not
pay for pyzeebe, SQLAlchemy and OpenTelemetry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.runtime.context import JobContext
    from workers.runtime.decisions import Decision, RuleSet
    from workers.runtime.errors import BusinessError, PermanentError, RuleDataError, TransientError
    from workers.runtime.router import RuntimeServices, TaskRouter
    from workers.runtime.stores import DecisionLog, DecisionRecord, IdempotencyStore, decision_hash, open_engine

_EXPORTS = {
    "BusinessError": "workers.runtime.errors",
    "Decision": "workers.runtime.decisions",
    "DecisionLog": "workers.runtime.stores",
    "DecisionRecord": "workers.runtime.stores",
    "IdempotencyStore": "workers.runtime.stores",
    "JobContext": "workers.runtime.context",
    "PermanentError": "workers.runtime.errors",
    "RuleDataError": "workers.runtime.errors",
    "RuleSet": "workers.runtime.decisions",
    "RuntimeServices": "workers.runtime.router",
    "TaskRouter": "workers.runtime.router",
    "TransientError": "workers.runtime.errors",
    "decision_hash": "workers.runtime.stores",
    "open_engine": "workers.runtime.stores",
}

__all__ = [
    "BusinessError",
    "Decision",
    "DecisionLog",
    "DecisionRecord",
    "IdempotencyStore",
    "JobContext",
    "PermanentError",
    "RuleDataError",
    "RuleSet",
    "RuntimeServices",
    "TaskRouter",
    "TransientError",
    "decision_hash",
    "open_engine",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workers.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
