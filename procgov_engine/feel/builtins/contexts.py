"""Context functions (DMN 1.4 §10.3.4.8; Camunda "Context functions")."""

from __future__ import annotations

from typing import Any

from procgov_engine.feel.builtins import _args
from procgov_engine.feel.functions import builtin


@builtin("get value", ("m", "key"), ("context", "key"))
def get_value(context: Any, key: Any) -> Any:
    value: Any = _args.context(context)
    keys = key if isinstance(key, list) else [key]
    for part in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(_args.text(part))
    return value


@builtin("get entries", ("m",), ("context",))
def get_entries(context: Any) -> list[dict[str, Any]]:
    return [{"key": key, "value": value} for key, value in _args.context(context).items()]


@builtin("put", ("context", "key", "value"))
def put(context: Any, key: Any, value: Any) -> dict[str, Any]:
    """Camunda's older name of ``context put``."""
    return context_put(context, key, value)


@builtin("context put", ("context", "key", "value"))
def context_put(context: Any, key: Any, value: Any) -> dict[str, Any]:
    keys = [_args.text(k) for k in key] if isinstance(key, list) else [_args.text(key)]
    if not keys:
        raise ValueError("empty key path")
    result = dict(_args.context(context))
    head = keys[0]
    if len(keys) == 1:
        result[head] = value
    else:
        inner = result.get(head)
        result[head] = context_put(inner if isinstance(inner, dict) else {}, keys[1:], value)
    return result


@builtin("context merge", ("contexts",), variadic=True)
def context_merge(*contexts: Any) -> dict[str, Any]:
    items = contexts[0] if len(contexts) == 1 and isinstance(contexts[0], list) else list(contexts)
    result: dict[str, Any] = {}
    for context in items:
        result.update(_args.context(context))
    return result


@builtin("put all", ("contexts",), variadic=True)
def put_all(*contexts: Any) -> dict[str, Any]:
    """Camunda's older name of ``context merge`` (contexts as separate arguments)."""
    return context_merge(*contexts)


@builtin("context", ("entries",))
def context(entries: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in _args.items(entries):
        pair = _args.context(entry)
        result[_args.text(pair["key"])] = pair.get("value")
    return result
