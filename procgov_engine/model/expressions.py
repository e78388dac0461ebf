"""Zeebe expression attributes: a value starting with ``=`` is FEEL, anything else is a static value.

Expressions are compiled once at deploy time (a syntax error rejects the deployment, naming the
element and attribute) and evaluated on the hot path against a variables mapping. Evaluation failures
surface as :class:`ExpressionError` with Zeebe's wording ("failed to evaluate expression 'x > 1': ...")
so that the processor can raise an incident with that message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from procgov_engine import feel


class ExpressionError(Exception):
    """An expression could not be evaluated, or its result has the wrong type."""


class ExpressionSyntaxError(Exception):
    """An expression could not be compiled (raised at deploy time)."""


_TYPE_NAMES: dict[type, str] = {
    bool: "BOOLEAN",
    int: "NUMBER",
    float: "NUMBER",
    str: "STRING",
    list: "ARRAY",
    dict: "OBJECT",
    type(None): "NULL",
}


def type_name(value: Any) -> str:
    """Zeebe's name for a value's type, as used in its incident messages."""
    return _TYPE_NAMES.get(type(value), type(value).__name__.upper())


class Expression:
    """One attribute value: static text, or a compiled FEEL expression (source without the ``=``)."""

    __slots__ = ("compiled", "is_feel", "source", "static")

    def __init__(self, raw: str, *, feel_only: bool = False) -> None:
        text = raw.strip()
        self.is_feel = text.startswith("=") or feel_only
        self.source = text[1:].strip() if text.startswith("=") else text
        self.static: Any = None if self.is_feel else raw
        self.compiled: Any = None
        if self.is_feel:
            if not self.source:
                raise ExpressionSyntaxError(f"expression '{raw}' is empty")
            try:
                self.compiled = feel.compile_expression(self.source)
            except feel.FeelError as exc:  # FeelSyntaxError is a FeelError
                raise ExpressionSyntaxError(str(exc)) from exc

    def __repr__(self) -> str:
        return f"Expression({'=' if self.is_feel else ''}{self.source!r})"

    def evaluate(self, variables: Mapping[str, Any], clock: Callable[[], dt.datetime] | None = None) -> Any:
        """The JSON value of the expression (FEEL numbers become int/float, dates ISO text)."""
        if not self.is_feel:
            return self.static
        try:
            return feel.to_json(self.compiled.evaluate(variables, clock=clock))
        except feel.FeelError as exc:
            raise ExpressionError(f"failed to evaluate expression '{self.source}': {exc}") from exc

    def missing_variables(self, variables: Mapping[str, Any]) -> list[str]:
        """Names the expression seems to reference that are not variables (for Zeebe-like warnings)."""
        names: list[str] = []
        text = _STRING.sub("", self.source)
        for match in _NAME.finditer(text):
            name = match.group(1)
            start, end = match.span(1)
            if name in _KEYWORDS or name in variables or name in names:
                continue
            if start > 0 and text[start - 1] == ".":
                continue
            if text[end:].lstrip().startswith("("):
                continue
            names.append(name)
        return names

    def evaluate_typed(
        self, variables: Mapping[str, Any], expected: str, clock: Callable[[], dt.datetime] | None = None
    ) -> Any:
        """Evaluate and check the result type (``STRING``, ``BOOLEAN``, ``NUMBER``, ``ARRAY``, ``OBJECT``).

        ``STRING`` also accepts numbers (Zeebe converts a numeric correlation key or job type to text).
        """
        value = self.evaluate(variables, clock)
        actual = type_name(value)
        if actual == expected:
            return value
        if expected == "STRING" and actual == "NUMBER":
            return str(value)
        if expected == "NUMBER" and isinstance(value, bool):
            actual = "BOOLEAN"
        message = f"Expected result of the expression '{self.source}' to be '{expected}', but was '{actual}'."
        missing = self.missing_variables(variables) if value is None else []
        if missing:
            warnings = "\n".join(f"[NO_VARIABLE_FOUND] No variable found with name '{name}'" for name in missing)
            message += f" The evaluation reported the following warnings:\n{warnings}"
        raise ExpressionError(message)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NAME = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)")
_KEYWORDS = {
    "and",
    "or",
    "not",
    "true",
    "false",
    "null",
    "if",
    "then",
    "else",
    "for",
    "in",
    "return",
    "some",
    "every",
    "satisfies",
    "between",
    "instance",
    "of",
    "function",
    "item",
}
