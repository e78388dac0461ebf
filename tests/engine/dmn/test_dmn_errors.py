"""Typed, precise errors: parsing rejects bad resources by element id; evaluation names the cell."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from procgov_engine.dmn import DmnEvaluationError, DmnParseError, evaluate_decision, parse_dmn

TableBuilder = Callable[..., bytes]  # the `table` fixture of conftest.py


def test_feel_syntax_error_in_an_input_entry_names_the_entry(table: TableBuilder) -> None:
    with pytest.raises(DmnParseError) as info:
        parse_dmn(table(rules=[(["> > 5"], ['"x"'])]))
    assert info.value.element_id == "rule1_in1"
    message = str(info.value)
    assert "> > 5" in message and "decision 'decision', rule 'rule1' (#1)" in message and "input1" in message


def test_feel_syntax_error_in_an_output_entry_names_the_entry(table: TableBuilder) -> None:
    with pytest.raises(DmnParseError) as info:
        parse_dmn(table(rules=[(["-"], ["1 +"])]))
    assert info.value.element_id == "rule1_out1"


def test_feel_syntax_error_in_an_input_expression_names_the_input(table: TableBuilder) -> None:
    with pytest.raises(DmnParseError) as info:
        parse_dmn(table(inputs=("amount +",), rules=[]))
    assert info.value.element_id == "input1"


def test_unknown_function_in_a_cell_names_decision_rule_and_cell(table: TableBuilder) -> None:
    drg = parse_dmn(table(rules=[(["-"], ["fine(amount)"])]))
    with pytest.raises(DmnEvaluationError) as info:
        evaluate_decision(drg, "decision", {"amount": 1})
    error = info.value
    assert (error.decision_id, error.rule_id, error.rule_index) == ("decision", "rule1", 1)
    assert "rule1_out1" in str(error) and "fine(amount)" in str(error)
    assert "no function found with name 'fine'" in str(error)


def test_unknown_function_in_an_input_entry(table: TableBuilder) -> None:
    drg = parse_dmn(table(rules=[(["isBig(?)"], ['"x"'])]))
    with pytest.raises(DmnEvaluationError) as info:
        evaluate_decision(drg, "decision", {"amount": 1})
    assert info.value.cell is not None and "rule1_in1" in info.value.cell


def test_failure_in_a_required_decision_names_it_and_keeps_earlier_results() -> None:
    xml = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D">
      <decision id="ok" name="Ok"><literalExpression><text>1</text></literalExpression></decision>
      <decision id="broken" name="Broken">
        <informationRequirement><requiredDecision href="#ok"/></informationRequirement>
        <literalExpression><text>nope(ok)</text></literalExpression></decision>
      <decision id="top" name="Top">
        <informationRequirement><requiredDecision href="#broken"/></informationRequirement>
        <literalExpression><text>broken</text></literalExpression></decision>
    </definitions>"""
    with pytest.raises(DmnEvaluationError) as info:
        evaluate_decision(parse_dmn(xml), "top", {})
    assert info.value.decision_id == "broken"
    assert [d.decision_id for d in info.value.evaluated_decisions] == ["ok"]


def test_unknown_decision_id(table: TableBuilder) -> None:
    with pytest.raises(DmnEvaluationError, match="no decision found with id 'other'"):
        evaluate_decision(parse_dmn(table(rules=[])), "other", {})


@pytest.mark.parametrize(
    ("xml", "element_id", "message"),
    [
        (b"<definitions", "", "not well-formed XML"),
        (b'<process xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="p"/>', "", "DMN <definitions>"),
        (
            b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"><decision>'
            b"<literalExpression><text>1</text></literalExpression></decision></definitions>",
            "",
            "decision has no id",
        ),
        (
            b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d">'
            b'<decision id="a"/></definitions>',
            "a",
            "decision has no decision logic",
        ),
        (
            b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"><decision id="a">'
            b'<informationRequirement><requiredDecision href="#missing"/></informationRequirement>'
            b"<literalExpression><text>1</text></literalExpression></decision></definitions>",
            "a",
            "unknown decision 'missing'",
        ),
        (
            b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d">'
            b'<decision id="a"><informationRequirement><requiredDecision href="#b"/></informationRequirement>'
            b"<literalExpression><text>b</text></literalExpression></decision>"
            b'<decision id="b"><informationRequirement><requiredDecision href="#a"/></informationRequirement>'
            b"<literalExpression><text>a</text></literalExpression></decision></definitions>",
            "a",
            "cycle: a -> b -> a",
        ),
    ],
)
def test_parse_errors(xml: bytes, element_id: str, message: str) -> None:
    with pytest.raises(DmnParseError, match=message) as info:
        parse_dmn(xml)
    assert info.value.element_id == element_id


def test_rule_with_missing_input_entry(table: TableBuilder) -> None:
    with pytest.raises(DmnParseError, match="1 input entries for 2 inputs") as info:
        parse_dmn(table(inputs=("a", "b"), rules=[(["-"], ['"x"'])]))
    assert info.value.element_id == "rule1"


def test_unknown_hit_policy_and_misplaced_aggregation(table: TableBuilder) -> None:
    with pytest.raises(DmnParseError, match="unknown hit policy 'SOME'"):
        parse_dmn(table(hit_policy="SOME"))
    with pytest.raises(DmnParseError, match="only allowed with hit policy COLLECT"):
        parse_dmn(table(hit_policy="UNIQUE", aggregation="SUM"))
