"""Argument checks shared by the built-ins: a wrong type raises TypeError, which becomes null."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected string but found {value!r}")
    return value


def number(value: Any) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected number but found {value!r}")
    return value


def integer(value: Any) -> int:
    num = number(value)
    if num != num.to_integral_value():
        raise ValueError(f"expected an integer but found {num}")
    return int(num)


def items(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected list but found {value!r}")
    return value


def context(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected context but found {value!r}")
    return value


def spread(args: tuple[Any, ...]) -> list[Any]:
    """Variadic list functions accept ``f([1, 2])`` and ``f(1, 2)`` alike."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]
    if not args:
        raise TypeError("expected at least one argument")
    return list(args)
