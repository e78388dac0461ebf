"""FEEL (Friendly Enough Expression Language) for the embedded engine.

Covers what Zeebe models write in expressions (``=`` stripped by the caller) and what DMN decision
tables write in their cells; ``docs/feel-conformance.md`` lists what is and is not supported.

    expr = compile_expression("a + b")      # parsed once, cached by text
    expr.evaluate({"a": 1, "b": 2})         # Decimal('3')
    compile_unary_tests("> 5, < 3").matches(7)   # True
    to_json(Decimal("3"))                   # 3

Evaluation follows Camunda's engine: a type mismatch or failed conversion is null, but calling a
function that does not exist raises :class:`FeelError` (Zeebe raises an incident for it).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from lark.exceptions import VisitError

from procgov_engine.feel import builtins as _builtins  # noqa: F401 - registers the built-in functions
from procgov_engine.feel.compiler import Code, Compiler, Scope, TestCode
from procgov_engine.feel.errors import FeelError, FeelSyntaxError
from procgov_engine.feel.parser import parse
from procgov_engine.feel.values import FeelFunction, Range, YearsMonthsDuration, from_json, to_json

__all__ = [
    "CompiledExpression",
    "FeelError",
    "FeelFunction",
    "FeelSyntaxError",
    "Range",
    "UnaryTests",
    "YearsMonthsDuration",
    "compile_expression",
    "compile_unary_tests",
    "evaluate",
    "from_json",
    "to_json",
]

Clock = Callable[[], dt.datetime]
Variables = Mapping[str, Any]
_EMPTY: dict[str, Any] = {}


class CompiledExpression:
    """A parsed and compiled expression; evaluate it as often as needed (it holds no state)."""

    __slots__ = ("_code", "text")

    def __init__(self, text: str, code: Code) -> None:
        self.text = text
        self._code = code

    def evaluate(self, variables: Variables | None = None, *, clock: Clock | None = None) -> Any:
        """Evaluate with JSON-like ``variables`` (numbers may be int/float/Decimal); returns a FEEL value.

        ``clock`` supplies ``now()``/``today()`` (default: the system clock in UTC).
        """
        return self._code(Scope(variables if variables is not None else _EMPTY, clock=clock))

    def evaluate_with_warnings(
        self, variables: Variables | None = None, *, clock: Clock | None = None
    ) -> tuple[Any, list[str]]:
        """Evaluate and also return Camunda-style warnings for variables that were not found.

        The warnings read ``[NO_VARIABLE_FOUND] No variable found with name 'x'`` (one per name, in
        lookup order), as Zeebe appends them to an incident message when a result is null.
        """
        missing: list[str] = []
        value = self._code(Scope(variables if variables is not None else _EMPTY, clock=clock, missing=missing))
        return value, [f"[NO_VARIABLE_FOUND] No variable found with name '{name}'" for name in missing]

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r})"


class UnaryTests:
    """A compiled DMN input entry such as ``> 5, < 3`` or ``not("a", "b")``."""

    __slots__ = ("_test", "text")

    def __init__(self, text: str, test: TestCode) -> None:
        self.text = text
        self._test = test

    def evaluate(self, input_value: Any, variables: Variables | None = None, *, clock: Clock | None = None) -> Any:
        """The test's three-valued outcome: True, False or None (not decidable)."""
        scope = Scope(variables if variables is not None else _EMPTY, clock=clock)
        return self._test(scope, from_json(input_value))

    def matches(self, input_value: Any, variables: Variables | None = None, *, clock: Clock | None = None) -> bool:
        """Whether ``input_value`` satisfies the tests (null outcomes do not match)."""
        return self.evaluate(input_value, variables, clock=clock) is True

    def __repr__(self) -> str:
        return f"UnaryTests({self.text!r})"


@functools.lru_cache(maxsize=8192)
def compile_expression(text: str) -> CompiledExpression:
    """Parse and compile ``text`` (without Zeebe's leading ``=``); raises :class:`FeelSyntaxError`."""
    if not text.strip():
        raise FeelSyntaxError("empty expression", text, 0)
    code: Code = _transform(text, "expression")
    return CompiledExpression(text, code)


def _transform(text: str, start: str) -> Any:
    """Parse and compile; a compile-time refusal (an unknown ``foo<T>`` type) is a syntax error too."""
    try:
        return Compiler().transform(parse(text, start))
    except VisitError as exc:
        if isinstance(exc.orig_exc, FeelSyntaxError):
            raise FeelSyntaxError(exc.orig_exc.detail, text, 0) from exc
        raise


def evaluate(text: str, variables: Variables | None = None, *, clock: Clock | None = None) -> Any:
    """Compile (cached) and evaluate ``text`` in one call."""
    return compile_expression(text).evaluate(variables, clock=clock)


_NEGATED = re.compile(r"^\s*not\s*\((?P<inner>.*)\)\s*$", re.DOTALL)


def _always(scope: Scope, value: Any) -> Any:
    return True


def _negate(test: TestCode) -> TestCode:
    def negated(scope: Scope, value: Any) -> Any:
        outcome = test(scope, value)
        return None if outcome is None else not outcome

    return negated


def _compile_tests(text: str) -> TestCode:
    test: TestCode = _transform(text, "unary_tests")
    return test


@functools.lru_cache(maxsize=8192)
def compile_unary_tests(text: str) -> UnaryTests:
    """Compile a DMN input entry: ``-`` (or empty) matches anything, ``not(...)`` negates a test list."""
    stripped = text.strip()
    if stripped in ("", "-"):
        return UnaryTests(text, _always)
    negated = _NEGATED.match(stripped)
    if negated:
        try:
            return UnaryTests(text, _negate(_compile_tests(negated.group("inner"))))
        except FeelSyntaxError:
            pass  # e.g. "not(a) and not(b)": an ordinary expression, parsed below
    return UnaryTests(text, _compile_tests(stripped))
