"""The public API of procgov_engine.feel: compilation, caching, errors, JSON mapping, clock, unary tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from procgov_engine.feel import (
    FeelError,
    FeelSyntaxError,
    YearsMonthsDuration,
    compile_expression,
    compile_unary_tests,
    evaluate,
    from_json,
    to_json,
)


def test_compiled_expression_is_cached_by_text_and_reusable() -> None:
    expr = compile_expression("a + b")
    assert compile_expression("a + b") is expr
    assert expr.evaluate({"a": 1, "b": 2}) == Decimal(3)
    assert expr.evaluate({"a": 10, "b": 0.5}) == Decimal("10.5")


def test_syntax_error_names_the_position() -> None:
    with pytest.raises(FeelSyntaxError) as info:
        compile_expression("a + * b")
    assert info.value.position == 4
    assert "a + * b" in str(info.value)
    assert "position 4" in str(info.value)


def test_unterminated_expression_points_at_its_end() -> None:
    with pytest.raises(FeelSyntaxError) as info:
        compile_expression("if a then b")
    assert info.value.position == len("if a then b")


def test_empty_expression_is_a_syntax_error() -> None:
    with pytest.raises(FeelSyntaxError):
        compile_expression("  ")


def test_unknown_function_raises_naming_it_not_null() -> None:
    with pytest.raises(FeelError, match="no function found with name 'calculateFine'"):
        evaluate("calculateFine(1)")
    with pytest.raises(FeelError, match="no function found with name 'string length'"):
        evaluate('string length("a", "b")')


def test_unknown_named_parameter_raises() -> None:
    with pytest.raises(FeelError, match="substring"):
        evaluate('substring(text: "abc", start position: 1)')


def test_function_value_from_variables_context_can_be_invoked() -> None:
    assert evaluate("{double: function(x) x * 2}.double(4)") == Decimal(8)


def test_from_json_converts_numbers_to_decimal_without_binary_noise() -> None:
    assert from_json({"a": [1, 0.1, True, None, "x"]}) == {"a": [Decimal(1), Decimal("0.1"), True, None, "x"]}
    assert from_json(float("nan")) is None


def test_to_json_shapes() -> None:
    assert to_json(Decimal("3.0")) == 3 and isinstance(to_json(Decimal("3.0")), int)
    assert to_json(Decimal("2.5")) == 2.5
    assert to_json(dt.date(2024, 1, 1)) == "2024-01-01"
    assert to_json(dt.timedelta(days=1, hours=2)) == "P1DT2H"
    assert to_json(-dt.timedelta(minutes=90)) == "-PT1H30M"
    assert to_json(dt.timedelta(0)) == "PT0S"
    assert to_json(YearsMonthsDuration(14)) == "P1Y2M"
    assert to_json(dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.UTC)) == "2024-01-01T10:00:00Z"
    assert to_json({"xs": [Decimal(1), None]}) == {"xs": [1, None]}


def test_variables_may_already_hold_feel_values() -> None:
    assert evaluate('d + duration("P1D")', {"d": dt.date(2024, 2, 28)}) == dt.date(2024, 2, 29)


def test_now_and_today_use_the_given_clock() -> None:
    fixed = dt.datetime(2026, 3, 15, 8, 30, tzinfo=dt.UTC)
    assert evaluate("now()", clock=lambda: fixed) == fixed
    assert evaluate("today()", clock=lambda: fixed) == dt.date(2026, 3, 15)
    assert evaluate('today() + duration("P1D") > today()') is True


def test_chinese_variable_names_and_backticks() -> None:
    assert evaluate("罚款 * 2", {"罚款": 10}) == Decimal(20)
    assert evaluate("`late fine` + 1", {"late fine": 10}) == Decimal(11)


def test_comments_are_ignored() -> None:
    assert evaluate("1 + // one\n 2 /* two */") == Decimal(3)


def test_iteration_contexts_see_earlier_ones() -> None:
    assert to_json(evaluate("for x in [1, 2], y in x..2 return [x, y]")) == [[1, 1], [1, 2], [2, 2]]


def test_date_time_offsets_compare_by_instant() -> None:
    assert evaluate('@"2024-01-01T10:00:00+02:00" = @"2024-01-01T08:00:00Z"') is True
    assert evaluate('@"2024-01-01T10:00:00+02:00" < @"2024-01-01T08:30:00Z"') is True
    assert evaluate('@"2024-01-01T10:00:00" < @"2024-01-01T08:30:00Z"') is None  # local vs zoned


def test_date_minus_date_and_duration_properties() -> None:
    assert evaluate('(date("2024-03-01") - date("2024-02-01")).days') == Decimal(29)


def test_filter_with_variable_index_and_boolean_filter_on_variables() -> None:
    findings = [{"type": "violation", "fine": 20}, {"type": "repeat", "fine": 40}]
    assert to_json(evaluate('findings[type = "repeat"].fine', {"findings": findings})) == [40]
    assert to_json(evaluate("sum(findings.fine)", {"findings": findings})) == 60
    assert to_json(evaluate("findings[n].type", {"findings": findings, "n": 2})) == "repeat"


class TestUnaryTests:
    def test_three_valued_outcome(self) -> None:
        tests = compile_unary_tests("> 5")
        assert tests.evaluate(7) is True
        assert tests.evaluate(3) is False
        assert tests.evaluate("x") is None
        assert tests.matches("x") is False

    def test_combined_comparisons_are_a_disjunction(self) -> None:
        tests = compile_unary_tests(">= 1, < 3")
        assert tests.matches(0) and tests.matches(5)

    def test_dash_and_empty_match_everything_including_null(self) -> None:
        assert compile_unary_tests("-").matches(None)
        assert compile_unary_tests("").matches("x")

    def test_negation_of_ranges(self) -> None:
        tests = compile_unary_tests("not([1..10])")
        assert tests.matches(11) and not tests.matches(5)

    def test_not_as_an_ordinary_boolean_expression(self) -> None:
        tests = compile_unary_tests("not(a) and not(b)")
        assert tests.matches("ignored", {"a": False, "b": False})
        assert not tests.matches("ignored", {"a": True, "b": False})

    def test_boolean_expression_without_question_mark(self) -> None:
        assert compile_unary_tests("amount > 100").matches("input", {"amount": 150})

    def test_boolean_input_compared_for_equality(self) -> None:
        assert compile_unary_tests("false").matches(False)
        assert not compile_unary_tests("true").matches(False)

    def test_dates_and_strings(self) -> None:
        assert compile_unary_tests('[date("2024-01-01")..date("2024-12-31")]').matches("2024-06-01") is False
        assert compile_unary_tests('[date("2024-01-01")..date("2024-12-31")]').matches(dt.date(2024, 6, 1))
        assert compile_unary_tests('"self-check", "inspection"').matches("inspection")

    def test_syntax_error_in_a_cell(self) -> None:
        with pytest.raises(FeelSyntaxError):
            compile_unary_tests("> > 5")


def test_question_mark_in_one_test_does_not_change_its_neighbours() -> None:
    tests = compile_unary_tests("? > 10, 3, 4")
    assert tests.matches(4) and tests.matches(11) and not tests.matches(5)


def test_warnings_name_missing_variables_but_not_functions_or_bound_names() -> None:
    expr = compile_expression("count(items[item > limit]) + {a: 1, b: a}.b + missing.deep + missing")
    value, warnings = expr.evaluate_with_warnings({"items": [1, 5]})
    assert value is None
    assert warnings == [
        "[NO_VARIABLE_FOUND] No variable found with name 'limit'",
        "[NO_VARIABLE_FOUND] No variable found with name 'missing'",
    ]
    assert compile_expression("a + 1").evaluate_with_warnings({"a": 1}) == (Decimal(2), [])
