"""The registry of built-in functions and the one place functions are invoked.

Built-ins register themselves with :func:`builtin` (see ``procgov_engine.feel.builtins``). Invocation maps
named arguments onto a signature and turns the errors a built-in raises on bad input (wrong types,
values out of range) into null, as Camunda does; calling a function that does not exist or with
parameters no signature accepts is a modelling error and raises :class:`FeelError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import InvalidOperation
from typing import Any

from procgov_engine.feel.errors import FeelError
from procgov_engine.feel.values import FeelFunction

BUILTINS: dict[str, FeelFunction] = {}

#: What a built-in raises for input it is not defined on; the invocation's value is then null.
# re.error: an invalid regular expression or group reference in matches()/replace() is null, not a crash
_NULL_ERRORS = (ValueError, TypeError, ArithmeticError, InvalidOperation, OverflowError, IndexError, KeyError, re.error)


def builtin(
    name: str, *signatures: tuple[str, ...], variadic: bool = False, needs_clock: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated Python function as the FEEL built-in ``name``.

    Each signature is a tuple of parameter names (FEEL spelling, spaces allowed), one per accepted
    arity; a ``variadic`` function takes any number of positional arguments.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in BUILTINS:
            raise RuntimeError(f"built-in function '{name}' registered twice")
        BUILTINS[name] = FeelFunction(name, tuple(signatures), fn, variadic=variadic, needs_clock=needs_clock)
        return fn

    return register


def _describe(function: FeelFunction, count: int, names: Sequence[str] | None) -> str:
    given = f"parameters {list(names)}" if names else f"{count} parameters"
    return f"no function found with name '{function.name}' and {given}"


def _bind_named(function: FeelFunction, args: list[Any], names: Sequence[str]) -> list[Any]:
    given = dict(zip(names, args, strict=True))
    for signature in function.signatures:
        if set(given) == set(signature):
            return [given[param] for param in signature]
    raise FeelError(_describe(function, len(args), names))


def invoke_function(
    function: FeelFunction, args: list[Any], names: Sequence[str] | None, clock: Callable[[], dt.datetime]
) -> Any:
    if names is not None:
        args = _bind_named(function, args, names)
    elif not function.variadic and all(len(signature) != len(args) for signature in function.signatures):
        raise FeelError(_describe(function, len(args), None))
    try:
        if function.needs_clock:
            return function.call(clock, *args)
        return function.call(*args)
    except _NULL_ERRORS:
        return None
