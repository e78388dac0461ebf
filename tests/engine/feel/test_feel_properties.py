"""Property tests: JSON round trip and arithmetic/comparison agree with Python's Decimal."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from procgov_engine.feel import (
    FeelError,
    FeelSyntaxError,
    compile_expression,
    compile_unary_tests,
    evaluate,
    from_json,
    to_json,
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda f: f != int(f) or abs(f) < 2**53),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
integers = st.integers(min_value=-(10**12), max_value=10**12)


@given(json_values)
def test_json_round_trip(value: Any) -> None:
    assert to_json(from_json(value)) == value


@given(json_values)
def test_a_variable_evaluates_to_itself(value: Any) -> None:
    assert to_json(evaluate("x", {"x": value})) == value


@given(integers, integers)
def test_integer_arithmetic_is_exact(a: int, b: int) -> None:
    assert evaluate("a + b", {"a": a, "b": b}) == Decimal(a + b)
    assert evaluate("a - b", {"a": a, "b": b}) == Decimal(a - b)
    assert evaluate("a * b", {"a": a, "b": b}) == Decimal(a * b)


@given(integers, integers)
def test_comparisons_agree_with_python(a: int, b: int) -> None:
    variables = {"a": a, "b": b}
    assert evaluate("a < b", variables) is (a < b)
    assert evaluate("a >= b", variables) is (a >= b)
    assert evaluate("a = b", variables) is (a == b)
    assert compile_unary_tests("< b").matches(a, {"b": b}) is (a < b)
    assert compile_unary_tests("[b..b + 10]").matches(a, {"b": b}) is (b <= a <= b + 10)


@given(st.lists(integers, max_size=10))
def test_list_aggregates(values: list[int]) -> None:
    assert to_json(evaluate("count(xs)", {"xs": values})) == len(values)
    assert to_json(evaluate("sum(xs)", {"xs": values})) == (sum(values) if values else None)
    assert to_json(evaluate("xs[item > 0]", {"xs": values})) == [v for v in values if v > 0]
    assert to_json(evaluate("sort(xs, function(x, y) x < y)", {"xs": values})) == sorted(values)


TOKENS = [
    "1", "2.5", "-", "+", "*", "/", "**", "(", ")", "[", "]", "{", "}", ",", ":", ".", "..", "x", "y", "item",
    '"a"', "true", "null", "and", "or", "not", "if", "then", "else", "for", "in", "return", "some",
    "satisfies", "between", "instance of", "number", "=", "!=", "<", ">=", "?", '@"2024-01-01"', '@"P1D"',
    "count", "sum", "string length", "substring", "function", "partial", "sort", "x.y", "[1,2,3]", "{a:1}",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=9))
def test_any_text_either_compiles_or_is_a_syntax_error_and_never_crashes(tokens: list[str]) -> None:
    text = " ".join(tokens)
    variables = {"x": [1, 2, {"y": 3}], "y": {"y": "z"}, "item": 5}
    try:
        expression = compile_expression(text)
    except FeelSyntaxError:
        pass
    else:
        with contextlib.suppress(FeelError):  # unknown function or bad invocation: FEEL's only failure
            expression.evaluate(variables)
    try:
        tests = compile_unary_tests(text)
    except FeelSyntaxError:
        return
    with contextlib.suppress(FeelError):
        tests.matches(3, variables)
