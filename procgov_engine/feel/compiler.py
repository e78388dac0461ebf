"""Compile lark's parse tree into nested Python closures.

Each node becomes a function ``(Scope) -> value``, so evaluating a compiled expression is a chain of
plain calls with no tree walking or dispatch on node types; that is what makes evaluating the many
small expressions of a process instance cheap after the one-off parse.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, v_args

from procgov_engine.feel import operators as ops
from procgov_engine.feel.errors import FeelError, FeelSyntaxError
from procgov_engine.feel.functions import BUILTINS, invoke_function
from procgov_engine.feel.values import (
    FeelFunction,
    Range,
    from_json,
    in_range,
    list_contains,
    parse_temporal,
    type_name,
)

Clock = Callable[[], dt.datetime]
Code = Callable[["Scope"], Any]
#: A compiled unary test: (scope, input value) -> true / false / null
TestCode = Callable[["Scope", Any], Any]

_MISSING = object()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scope:
    """Variables visible to an expression: a chain of frames, innermost first.

    The root frame holds the caller's JSON-like variables and converts a value to FEEL on first
    access (numbers to Decimal), so unused variables cost nothing.
    """

    __slots__ = ("_converted", "_frame", "clock", "missing", "parent")

    def __init__(
        self,
        frame: Mapping[str, Any],
        parent: Scope | None = None,
        clock: Clock | None = None,
        missing: list[str] | None = None,
    ) -> None:
        self._frame = frame
        self.parent = parent
        self._converted: dict[str, Any] | None = {} if parent is None else None
        self.clock: Clock = clock or (parent.clock if parent is not None else _utc_now)
        #: root only: when a list, names looked up but not found anywhere are appended (warnings)
        self.missing = missing

    def child(self, frame: Mapping[str, Any]) -> Scope:
        return Scope(frame, self)

    def get(self, name: str, record: bool = True) -> Any:
        scope: Scope | None = self
        while scope is not None:
            converted = scope._converted
            if converted is not None:  # root frame: JSON values, converted lazily
                if name in converted:
                    return converted[name]
                raw = scope._frame.get(name, _MISSING)
                if raw is _MISSING:
                    if record and scope.missing is not None and name not in scope.missing:
                        scope.missing.append(name)
                    return _MISSING
                value = from_json(raw)
                converted[name] = value
                return value
            value = scope._frame.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return _MISSING

    def lookup(self, name: str) -> Any:
        value = self.get(name)
        return None if value is _MISSING else value


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _unquote(text: str) -> str:
    """The value of a FEEL string literal (escapes ``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\r``, ``\\uXXXX``)."""
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "U" and i + 8 <= len(body):  # \U01F40E: six hex digits (DMN 1.4 10.3.1.2 rule 35)
            out.append(chr(int(body[i + 2 : i + 8], 16)))
            i += 8
            continue
        if nxt == "u" and i + 6 <= len(body):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
            continue
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
        else:  # keep unknown escapes, so regular expressions like "\d{3}" need no doubling
            out.append(ch + nxt)
        i += 2
    text = "".join(out)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        # "\ud83d\udc0e" is one character, U+1F40E (UTF-16 surrogate pairs, DMN 1.4 10.3.1.2 rule 35);
        # a lone surrogate is no character: it becomes U+FFFD, so no value holds one (JSON cannot)
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _name_text(token: Token) -> str:
    text = str(token)
    return text[1:-1] if text.startswith("`") else text


@dataclass(frozen=True)
class Unequal:
    """The value of ``(!= x)``: a unary test usable with ``in``; as a value it converts to null."""

    value: Any


def _const(value: Any) -> Code:
    def run(scope: Scope) -> Any:
        return value

    run.feel_const = value  # type: ignore[attr-defined]
    return run


def _binary(op: Callable[[Any, Any], Any], left: Code, right: Code) -> Code:
    def run(scope: Scope) -> Any:
        return op(left(scope), right(scope))

    return run


def _range_items(start: Any, end: Any) -> list[Any] | None:
    if type(start) is dt.date and type(end) is dt.date:  # for d in @"2024-01-01"..@"2024-01-03" (DMN 1.4 10.3.2.14)
        step_days = 1 if end >= start else -1
        return [start + dt.timedelta(days=i * step_days) for i in range(abs((end - start).days) + 1)]
    if not isinstance(start, Decimal) or not isinstance(end, Decimal):
        return None
    if start != start.to_integral_value() or end != end.to_integral_value():
        return None
    first, last = int(start), int(end)
    step = 1 if last >= first else -1
    return [Decimal(i) for i in range(first, last + step, step)]


def _item_scope(scope: Scope, item: Any) -> Scope:
    # A context item's own entries come first, even one named "item" (TCK 0069: [{item: 1}][item >= 1]).
    frame: dict[str, Any] = {"item": item}
    if isinstance(item, dict):
        frame.update(item)
    return scope.child(frame)


def _index(items: Sequence[Any], index: Decimal) -> Any:
    if index != index.to_integral_value():
        return None
    position = int(index)
    if position > 0 and position <= len(items):
        return items[position - 1]
    if position < 0 and -position <= len(items):
        return items[position]
    return None


@v_args(inline=True)
class Compiler(Transformer[Token, Any]):
    """Turns a parse tree into closures. One instance per compilation (it records ``uses_input``)."""

    def __init__(self) -> None:
        super().__init__()
        self.uses_input = False

    # ----------------------------------------------------------------------------------- literals
    def number(self, token: Token) -> Code:
        text = str(token)
        value = Decimal(text)
        if "e" in text or "E" in text:  # 1.23e4 is the number 12300 (DMN 1.4 10.3.1.2, DMN 1.5 numeric literal)
            value = Decimal(format(value, "f"))
        return _const(value)

    def string(self, token: Token) -> Code:
        return _const(_unquote(str(token)))

    def true(self) -> Code:
        return _const(True)

    def false(self) -> Code:
        return _const(False)

    def null(self) -> Code:
        return _const(None)

    def temporal(self, token: Token) -> Code:
        text = _unquote(str(token))
        try:
            return _const(parse_temporal(text))
        except ValueError:
            return _const(None)  # an invalid literal is null, as every failed conversion

    def input_value(self) -> Code:
        self.uses_input = True

        def run(scope: Scope) -> Any:
            return scope.lookup("?")

        return run

    def name(self, token: Token) -> str:
        return _name_text(token)

    def var(self, name: str) -> Code:
        def run(scope: Scope) -> Any:
            return scope.lookup(name)

        run.feel_name = name  # type: ignore[attr-defined]
        return run

    def list_literal(self, *items: Code | None) -> Code:
        codes = [item for item in items if item is not None]

        def run(scope: Scope) -> Any:
            return [code(scope) for code in codes]

        return run

    def entry(self, key: str, value: Code) -> tuple[str, Code]:
        return key, value

    def key(self, value: str | Token) -> str:
        if isinstance(value, Token):
            return _name_text(value) if value.type == "BACKTICK_NAME" else _unquote(str(value))
        return value

    def key_name(self, *tokens: Token) -> str:
        """A context key of several words or with name symbols, ``{foo bar: 1}``, ``{foo+bar: 1}`` (DMN 1.4
        10.3.1.2 rules 27-30): parts are joined as written, with one space where there was white space."""
        text = str(tokens[0])
        for previous, token in itertools.pairwise(tokens):
            adjacent = previous.end_pos is not None and previous.end_pos == token.start_pos
            text += ("" if adjacent else " ") + str(token)
        return text

    def context(self, *entries: tuple[str, Code] | None) -> Code:
        pairs = [entry for entry in entries if entry is not None]

        def run(scope: Scope) -> Any:
            result: dict[str, Any] = {}
            inner = scope.child(result)  # later entries see earlier ones
            for key, code in pairs:
                result[key] = code(inner)
            return result

        return run

    def _interval(self, start: Code, end: Code, start_included: bool, end_included: bool) -> Code:
        def run(scope: Scope) -> Any:
            return Range(start(scope), end(scope), start_included, end_included)

        return run

    def comparison_range(self, op: Token, bound: Code) -> Code:
        """``(< 10)`` is the range ``(null..10)`` and ``(= 10)`` is ``[10..10]`` (DMN 1.4 10.3.1.2 rule 7,
        10.3.2.7 ranges); ``(!= 10)`` is no range but still a test for ``in``."""
        kind = str(op)

        def run(scope: Scope) -> Any:
            value = bound(scope)
            if kind == "=":
                return Range(value, value, True, True)
            if kind == "!=":
                return Unequal(value)
            if kind.startswith("<"):
                return Range(None, value, False, kind == "<=")
            return Range(value, None, kind == ">=", False)

        return run

    def interval_ii(self, start: Code, end: Code) -> Code:
        return self._interval(start, end, True, True)

    def interval_ie(self, start: Code, end: Code) -> Code:
        return self._interval(start, end, True, False)

    def interval_ei(self, start: Code, end: Code) -> Code:
        return self._interval(start, end, False, True)

    def interval_ee(self, start: Code, end: Code) -> Code:
        return self._interval(start, end, False, False)

    # ---------------------------------------------------------------------------------- operators
    def add(self, a: Code, b: Code) -> Code:
        return _binary(ops.add, a, b)

    def sub(self, a: Code, b: Code) -> Code:
        return _binary(ops.subtract, a, b)

    def mul(self, a: Code, b: Code) -> Code:
        return _binary(ops.multiply, a, b)

    def div(self, a: Code, b: Code) -> Code:
        return _binary(ops.divide, a, b)

    def pow(self, a: Code, b: Code) -> Code:
        return _binary(ops.power, a, b)

    def neg(self, a: Code) -> Code:
        if hasattr(a, "feel_const") and isinstance(a.feel_const, Decimal):
            return _const(-a.feel_const)

        def run(scope: Scope) -> Any:
            return ops.negate(a(scope))

        return run

    def compare(self, a: Code, op: Token, b: Code) -> Code:
        operator = str(op)

        def run(scope: Scope) -> Any:
            return ops.compare(operator, a(scope), b(scope))

        run.feel_boolean = True  # type: ignore[attr-defined]
        return run

    def between(self, value: Code, low: Code, high: Code) -> Code:
        def run(scope: Scope) -> Any:
            v = value(scope)
            return ops.logical_and(ops.compare(">=", v, low(scope)), ops.compare("<=", v, high(scope)))

        run.feel_boolean = True  # type: ignore[attr-defined]
        return run

    def and_expr(self, a: Code, b: Code) -> Code:
        def run(scope: Scope) -> Any:
            left = a(scope)
            if left is False:
                return False
            return ops.logical_and(left, b(scope))

        run.feel_boolean = True  # type: ignore[attr-defined]
        return run

    def or_expr(self, a: Code, b: Code) -> Code:
        def run(scope: Scope) -> Any:
            left = a(scope)
            if left is True:
                return True
            return ops.logical_or(left, b(scope))

        run.feel_boolean = True  # type: ignore[attr-defined]
        return run

    def instance_of(self, value: Code, conforms: Callable[[Any], bool]) -> Code:
        def run(scope: Scope) -> Any:
            return conforms(value(scope))

        return run

    def type_name(self, token: Token) -> str:
        return " ".join(str(token).split())

    # Type expressions (DMN 1.4 10.3.2.9.4 type conformance) compile to predicates on values.
    def simple_type(self, wanted: str) -> Callable[[Any], bool]:
        def conforms(v: Any) -> bool:
            if wanted == "Any":
                return v is not None
            if wanted == "days and time duration" and isinstance(v, dt.timedelta):
                return True
            return type_name(v) == wanted

        return conforms

    def generic_type(self, kind: Token, _lt: Token, item: Callable[[Any], bool], _gt: Token) -> Callable[[Any], bool]:
        if str(kind) == "list":
            return lambda v: isinstance(v, list) and all(x is None or item(x) for x in v)
        if str(kind) == "range":
            return lambda v: isinstance(v, Range) and all(b is None or item(b) for b in (v.start, v.end))
        raise FeelSyntaxError(f"unknown type '{kind}<...>'", "", 0)

    def type_field(self, name: str, conforms: Callable[[Any], bool]) -> tuple[str, Callable[[Any], bool]]:
        return name, conforms

    def context_type(self, kind: Token, _lt: Token, *rest: Any) -> Callable[[Any], bool]:
        if str(kind) != "context":
            raise FeelSyntaxError(f"unknown type '{kind}<...>'", "", 0)
        fields = [f for f in rest[:-1] if isinstance(f, tuple)]
        return lambda v: isinstance(v, dict) and all(k in v and (v[k] is None or c(v[k])) for k, c in fields)

    def function_type(self, *_parts: Any) -> Callable[[Any], bool]:
        return lambda v: isinstance(v, FeelFunction)  # parameter types are not checked

    # --------------------------------------------------------------------------------- unary tests
    def test_expr(self, code: Code) -> TestCode:
        uses_input, self.uses_input = self.uses_input, False  # each test of a list on its own
        return expression_test(code, uses_input)

    def test_compare(self, op: Token, code: Code) -> TestCode:
        return compare_test(str(op), code)

    def unary_tests(self, *tests: TestCode) -> TestCode:
        return any_test(tests)

    def in_single(self, code: Code) -> TestCode:
        self.uses_input = False
        return expression_test(code, False)

    def in_compare(self, op: Token, code: Code) -> TestCode:
        return compare_test(str(op), code)

    def in_many(self, *tests: TestCode) -> TestCode:
        return any_test(tests)

    def in_expr(self, value: Code, test: TestCode) -> Code:
        def run(scope: Scope) -> Any:
            return test(scope, value(scope))

        run.feel_boolean = True  # type: ignore[attr-defined]
        return run

    # ------------------------------------------------------------------------------- postfix forms
    def path(self, target: Code, name: str | Token) -> Code:
        if isinstance(name, Token):  # a property name with a space, such as "time offset"
            name = " ".join(str(name).split())

        def get(value: Any) -> Any:
            if isinstance(value, dict):
                return value.get(name)
            if isinstance(value, list):
                return [get(item) for item in value]
            return ops.property_of(value, name)

        def run(scope: Scope) -> Any:
            return get(target(scope))

        return run

    def filter(self, target: Code, condition: Code) -> Code:
        const = getattr(condition, "feel_const", _MISSING)
        boolean = getattr(condition, "feel_boolean", False)

        def select(scope: Scope, items: list[Any]) -> list[Any]:
            chosen = []
            for item in items:
                if condition(_item_scope(scope, item)) is True:
                    chosen.append(item)
            return chosen

        def run(scope: Scope) -> Any:
            value = target(scope)
            if value is None:
                return None
            items = value if isinstance(value, list) else [value]
            if const is not _MISSING:
                if isinstance(const, Decimal):
                    return _index(items, const)
                return list(items) if const is True else []
            if boolean or not items:
                return select(scope, items)
            first = condition(_item_scope(scope, items[0]))
            if isinstance(first, Decimal):
                return _index(items, first)
            return select(scope, items)

        return run

    def positional(self, *args: Code) -> tuple[list[Code], list[str] | None]:
        return list(args), None

    def named(self, name: str, code: Code) -> tuple[str, Code]:
        return name, code

    def param_name(self, *tokens: Token) -> str:
        return " ".join(_name_text(token) for token in tokens)

    def named_args(self, *pairs: tuple[str, Code]) -> tuple[list[Code], list[str] | None]:
        return [code for _, code in pairs], [name for name, _ in pairs]

    def _call(self, name: str, callee: Code | None, arguments: Any, by_name: bool = False) -> Code:
        codes, names = arguments if arguments is not None else ([], None)
        builtin = BUILTINS.get(name)

        def run(scope: Scope) -> Any:
            function: Any = None
            if by_name:  # a function value in the variables shadows the built-in; absence is no warning
                function = scope.get(name, record=False)
            elif callee is not None:
                function = callee(scope)
            if not isinstance(function, FeelFunction):
                function = builtin
            if function is None:
                raise FeelError(f"no function found with name '{name}'")
            args = [code(scope) for code in codes]
            return invoke_function(function, args, names, scope.clock)

        return run

    def invoke(self, callee: Code, arguments: Any = None) -> Code:
        name = getattr(callee, "feel_name", None)
        if name is None:
            return self._call("<anonymous>", callee, arguments)
        return self._call(name, callee, arguments, by_name=True)

    def builtin_call(self, token: Token, arguments: Any = None) -> Code:
        name = " ".join(str(token).split())
        return self._call(name, None, arguments)

    # --------------------------------------------------------------------------- textual expressions
    def if_expr(self, condition: Code, then: Code, otherwise: Code) -> Code:
        def run(scope: Scope) -> Any:
            return then(scope) if condition(scope) is True else otherwise(scope)

        return run

    def iteration(self, name: str, start: Code, end: Code | None) -> tuple[str, Code, Code | None]:
        return name, start, end

    def quantified(self, name: str, source: Code) -> tuple[str, Code, Code | None]:
        return name, source, None

    def for_expr(self, *parts: Any) -> Code:
        contexts: list[tuple[str, Code, Code | None]] = list(parts[:-1])
        body: Code = parts[-1]

        def run(scope: Scope) -> Any:
            results: list[Any] = []
            frame: dict[str, Any] = {"partial": results}
            inner = scope.child(frame)
            for binding in _bindings(contexts, 0, inner, frame):
                if binding is None:
                    return None
                results.append(body(inner))
            return results

        return run

    def _quantifier(self, parts: Sequence[Any], every: bool) -> Code:
        contexts: list[tuple[str, Code, Code | None]] = list(parts[:-1])
        condition: Code = parts[-1]

        def run(scope: Scope) -> Any:
            frame: dict[str, Any] = {}
            inner = scope.child(frame)
            for binding in _bindings(contexts, 0, inner, frame):
                if binding is None:
                    return None
                outcome = condition(inner)
                if every and outcome is not True:
                    return False if outcome is False else None
                if not every and outcome is True:
                    return True
            return every

        return run

    def some_expr(self, *parts: Any) -> Code:
        return self._quantifier(parts, every=False)

    def every_expr(self, *parts: Any) -> Code:
        return self._quantifier(parts, every=True)

    def formal(self, name: str, _type: Any = None) -> str:
        return name

    def function_def(self, *parts: Any) -> Code:
        params = tuple(p for p in parts[:-1] if p is not None)
        body: Code = parts[-1]

        def run(scope: Scope) -> Any:
            def call(*args: Any) -> Any:
                return body(scope.child(dict(zip(params, args, strict=True))))

            return FeelFunction("<anonymous>", (params,), call)

        return run


def _bindings(
    contexts: Sequence[tuple[str, Code, Code | None]], depth: int, scope: Scope, frame: dict[str, Any]
) -> Iterator[bool | None]:
    """Bind each iteration context's name in turn (nested loops); yields None if a source is not a list."""
    name, start, end = contexts[depth]
    if end is not None:
        items: Any = _range_items(start(scope), end(scope))
    else:
        items = start(scope)
        if isinstance(items, Range):
            items = _range_items(items.start, items.end)
        elif items is not None and not isinstance(items, list):
            items = [items]
    if items is None:
        yield None
        return
    for item in items:
        frame[name] = item
        if depth + 1 == len(contexts):
            yield True
        else:
            yield from _bindings(contexts, depth + 1, scope, frame)


# ------------------------------------------------------------------------------------ unary tests


def compare_test(op: str, code: Code) -> TestCode:
    def test(scope: Scope, value: Any) -> Any:
        return ops.compare(op, value, code(scope))

    return test


def expression_test(code: Code, uses_input: bool) -> TestCode:
    """A unary test given as an expression.

    With ``?`` in it, its boolean result is the outcome. Otherwise its value is a range (membership),
    a list (membership), a boolean (the outcome, unless the input is itself a boolean: then equality),
    or any other value, compared with the input for equality.
    """
    if uses_input:

        def with_input(scope: Scope, value: Any) -> Any:
            return code(scope.child({"?": value}))

        return with_input

    def test(scope: Scope, value: Any) -> Any:
        expected = code(scope.child({"?": value}))
        if isinstance(expected, Unequal):
            return ops.compare("!=", value, expected.value)
        if isinstance(expected, Range):
            return in_range(value, expected)
        if isinstance(expected, list) and (
            not isinstance(value, list) or any(isinstance(item, list) for item in expected)
        ):  # [1, 2] in [[1, 2], [3]]: membership of a list in a list of lists
            if any(isinstance(item, Range) for item in expected):  # 1 in [[2..4], [1..3]]
                return any(in_range(value, item) is True for item in expected if isinstance(item, Range)) or (
                    list_contains([item for item in expected if not isinstance(item, Range)], value) is True
                )
            return list_contains(expected, value)
        if isinstance(expected, bool) and not isinstance(value, bool):
            return expected
        return ops.compare("=", value, expected)

    return test


def any_test(tests: Sequence[TestCode]) -> TestCode:
    if len(tests) == 1:
        return tests[0]

    def test(scope: Scope, value: Any) -> Any:
        outcome: Any = False
        for one in tests:
            result = one(scope, value)
            if result is True:
                return True
            if result is None:
                outcome = None
        return outcome

    return test
