"""Boolean functions (DMN 1.4 §10.3.4.1; Camunda "Boolean functions")."""

from __future__ import annotations

from typing import Any

from procgov_engine.feel.errors import FeelError
from procgov_engine.feel.functions import builtin
from procgov_engine.feel.values import feel_equals, type_name


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


@builtin("is", ("value1", "value2"))
def is_(value1: Any, value2: Any) -> bool:
    """DMN 1.4 §10.3.4.1 ``is(value1, value2)``: same type and equal; for times and date-times the
    offsets/zones must be the same too (``is(@"10:00:00+01:00", @"09:00:00Z")`` is false)."""
    if type_name(value1) != type_name(value2):
        return False
    if getattr(value1, "tzinfo", None) != getattr(value2, "tzinfo", None):
        return False
    return feel_equals(value1, value2) is True
