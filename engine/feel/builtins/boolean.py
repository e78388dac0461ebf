"""Boolean functions (DMN 1.4 §10.3.4.1; Camunda "Boolean functions")."""

from __future__ import annotations

from typing import Any

from engine.feel.errors import FeelError
from engine.feel.functions import builtin


@builtin("not", ("negand",))
def not_(negand: Any) -> bool | None:
    return (not negand) if isinstance(negand, bool) else None


@builtin("is defined", ("value",))
def is_defined(value: Any) -> bool:
    # Camunda 8.x semantics: null and "no such variable/entry" are both "not defined".
    return value is not None


@builtin("get or else", ("value", "default"))
def get_or_else(value: Any, default: Any) -> Any:
    return default if value is None else value


@builtin("assert", ("value", "condition"), ("value", "condition", "cause"))
def assert_(value: Any, condition: Any, cause: Any = None) -> Any:
    """Camunda's ``assert``: the value when the condition holds, otherwise the evaluation fails
    (an incident), with ``cause`` as the message when given."""
    if condition is True:
        return value
    if isinstance(cause, str):
        raise FeelError(f"Assertion failure on evaluate the expression: {cause}")
    raise FeelError("Assertion failure on evaluate the expression: the condition is not fulfilled")
