"""Hit policies and output shapes, as Camunda's DMN engine applies them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from procgov_engine.dmn import DmnEvaluationError, evaluate_decision, parse_dmn

TableBuilder = Callable[..., bytes]  # the `table` fixture of conftest.py

# amount -> band; rules overlap on purpose: 150 matches rules 1 (">= 100"), 2 ("> 120") and 3 ("-")
OVERLAPPING = [
    ([">= 100"], ['"medium"']),
    (["> 120"], ['"high"']),
    (["-"], ['"low"']),
]


def _run(xml: bytes, variables: dict[str, object]) -> object:
    return evaluate_decision(parse_dmn(xml), "decision", variables).output


def test_unique_single_match_gives_the_value(table: TableBuilder) -> None:
    xml = table(rules=[(["< 10"], ['"small"']), (["[10..100]"], ['"medium"'])])
    assert _run(xml, {"amount": 50}) == "medium"
    assert _run(xml, {"amount": 500}) is None


def test_unique_violation_names_decision_and_rules(table: TableBuilder) -> None:
    xml = table(rules=OVERLAPPING)
    with pytest.raises(DmnEvaluationError) as info:
        _run(xml, {"amount": 150})
    error = info.value
    assert error.decision_id == "decision"
    assert error.rule_id == "rule2" and error.rule_index == 2
    assert "UNIQUE" in str(error) and "'rule1' (#1)" in str(error) and "'rule3' (#3)" in str(error)


def test_first_takes_the_first_match_and_records_only_it(table: TableBuilder) -> None:
    drg = parse_dmn(table(hit_policy="FIRST", rules=OVERLAPPING))
    result = evaluate_decision(drg, "decision", {"amount": 150})
    assert result.output == "medium"
    assert [r.rule_id for r in result.evaluated_decisions[0].matched_rules] == ["rule1"]


def test_priority_uses_the_output_values_order(table: TableBuilder) -> None:
    xml = table(hit_policy="PRIORITY", rules=OVERLAPPING, output_values={"result": '"high","medium","low"'})
    assert _run(xml, {"amount": 150}) == "high"
    assert _run(xml, {"amount": 110}) == "medium"
    assert _run(xml, {"amount": 5}) == "low"


def test_output_order_sorts_all_matches_by_priority(table: TableBuilder) -> None:
    xml = table(hit_policy="OUTPUT ORDER", rules=OVERLAPPING, output_values={"result": '"high","medium","low"'})
    assert _run(xml, {"amount": 150}) == ["high", "medium", "low"]


def test_rule_order_lists_matches_in_rule_order(table: TableBuilder) -> None:
    xml = table(hit_policy="RULE ORDER", rules=OVERLAPPING)
    assert _run(xml, {"amount": 150}) == ["medium", "high", "low"]
    assert _run(xml, {"amount": 5}) == ["low"]


def test_any_accepts_equal_outputs_and_rejects_different_ones(table: TableBuilder) -> None:
    same = table(hit_policy="ANY", rules=[([">= 100"], ['"ok"']), (["> 120"], ['"ok"'])])
    assert _run(same, {"amount": 150}) == "ok"
    different = table(hit_policy="ANY", rules=OVERLAPPING)
    with pytest.raises(DmnEvaluationError, match="hit policy ANY"):
        _run(different, {"amount": 150})


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [(None, [10, 20, 5]), ("SUM", 35), ("MIN", 5), ("MAX", 20), ("COUNT", 3)],
)
def test_collect_with_and_without_aggregation(table: TableBuilder, aggregation: str | None, expected: object) -> None:
    rules = [([">= 100"], ["10"]), (["> 120"], ["20"]), (["-"], ["5"])]
    xml = table(hit_policy="COLLECT", aggregation=aggregation, rules=rules)
    assert _run(xml, {"amount": 150}) == expected


def test_collect_without_match_is_null(table: TableBuilder) -> None:
    xml = table(hit_policy="COLLECT", aggregation="SUM", rules=[(["> 1000"], ["10"])])
    assert _run(xml, {"amount": 1}) is None


def test_collect_sum_needs_numbers(table: TableBuilder) -> None:
    xml = table(hit_policy="COLLECT", aggregation="SUM", rules=[(["-"], ['"ten"'])])
    with pytest.raises(DmnEvaluationError, match="needs numbers"):
        _run(xml, {"amount": 1})


def test_collect_sum_is_exact_decimal(table: TableBuilder) -> None:
    xml = table(hit_policy="COLLECT", aggregation="SUM", rules=[(["-"], ["0.1"]), (["-"], ["0.2"])])
    assert _run(xml, {"amount": 1}) == 0.3


def test_multiple_outputs_give_a_context_and_collect_a_list_of_contexts(table: TableBuilder) -> None:
    rules = [(["> 100"], ['"high"', "amount * 2"]), (["-"], ['"any"', "0"])]
    unique = table(hit_policy="FIRST", outputs=("band", "score"), rules=rules)
    assert _run(unique, {"amount": 150}) == {"band": "high", "score": 300}
    collect = table(hit_policy="COLLECT", outputs=("band", "score"), rules=rules)
    assert _run(collect, {"amount": 150}) == [{"band": "high", "score": 300}, {"band": "any", "score": 0}]


def test_several_inputs_must_all_match(table: TableBuilder) -> None:
    xml = table(
        inputs=("origin", "scope"),
        rules=[
            (['"self-check"', '"department"'], ['"department head approves"']),
            (['"self-check", "inspection"', '"cross-department"'], ['"planning department approves"']),
        ],
    )
    assert _run(xml, {"origin": "inspection", "scope": "cross-department"}) == "planning department approves"
    assert _run(xml, {"origin": "inspection", "scope": "department"}) is None


def test_empty_output_entry_is_null(table: TableBuilder) -> None:
    xml = table(outputs=("band", "note"), rules=[(["-"], ['"x"', ""])])
    assert _run(xml, {"amount": 1}) == {"band": "x", "note": None}


def test_default_output_entry_when_nothing_matches(table: TableBuilder) -> None:
    xml = table(rules=[(["> 100"], ['"high"'])]).replace(
        b'typeRef="string"></output>',
        b'typeRef="string"><defaultOutputEntry><text>"normal"</text></defaultOutputEntry></output>',
    )
    assert _run(xml, {"amount": 1}) == "normal"


def test_input_entries_may_use_question_mark_and_variables(table: TableBuilder) -> None:
    xml = table(rules=[(["? > limit * 2"], ['"far above"']), (["> limit"], ['"above"'])], hit_policy="FIRST")
    assert _run(xml, {"amount": 250, "limit": 100}) == "far above"
    assert _run(xml, {"amount": 150, "limit": 100}) == "above"


def test_literal_expression_decision() -> None:
    xml = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D">
      <decision id="lateFine" name="Late fine">
        <variable id="v" name="lateFine" typeRef="number"/>
        <literalExpression id="e"><text>daysLate * 10</text></literalExpression>
      </decision></definitions>"""
    result = evaluate_decision(parse_dmn(xml), "lateFine", {"daysLate": 3})
    assert result.output == 30
    assert result.evaluated_decisions[0].decision_type == "LITERAL_EXPRESSION"


@pytest.mark.parametrize(
    "namespace",
    [
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "https://www.omg.org/spec/DMN/20211108/MODEL/",
    ],
)
def test_dmn_12_13_14_namespaces(table: TableBuilder, namespace: str) -> None:
    xml = table(namespace=namespace, rules=[(["-"], ['"yes"'])])
    assert _run(xml, {"amount": 1}) == "yes"


def test_shared_requirement_is_evaluated_once() -> None:
    xml = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D">
      <decision id="base" name="Base"><literalExpression><text>x + 1</text></literalExpression></decision>
      <decision id="left" name="Left">
        <informationRequirement id="i1"><requiredDecision href="#base"/></informationRequirement>
        <literalExpression><text>base * 2</text></literalExpression></decision>
      <decision id="right" name="Right">
        <informationRequirement id="i2"><requiredDecision href="#base"/></informationRequirement>
        <literalExpression><text>base * 3</text></literalExpression></decision>
      <decision id="top" name="Top">
        <informationRequirement id="i3"><requiredDecision href="#left"/></informationRequirement>
        <informationRequirement id="i4"><requiredDecision href="#right"/></informationRequirement>
        <informationRequirement id="i5"><requiredInput href="#x"/></informationRequirement>
        <literalExpression><text>left + right</text></literalExpression></decision>
    </definitions>"""
    result = evaluate_decision(parse_dmn(xml), "top", {"x": 1})
    assert result.output == 10
    assert [d.decision_id for d in result.evaluated_decisions] == ["base", "left", "right", "top"]


def test_required_result_by_variable_name_with_dashes_as_zeebe_escapes_it() -> None:
    xml = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D">
      <decision id="lateFine" name="Late fine">
        <variable id="v1" name="late-fine" typeRef="number"/>
        <literalExpression><text>daysLate * 10</text></literalExpression></decision>
      <decision id="report" name="Report">
        <variable id="v2" name="report"/>
        <informationRequirement><requiredDecision href="#lateFine"/></informationRequirement>
        <literalExpression><text>{fine: late-fine, byId: lateFine, label: "late-fine"}</text></literalExpression>
      </decision></definitions>"""
    result = evaluate_decision(parse_dmn(xml), "report", {"daysLate": 2})
    assert result.output == {"fine": 20, "byId": 20, "label": "late-fine"}


def test_camunda_modeler_defaults_empty_cell_unnamed_output_and_no_label() -> None:
    xml = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
        xmlns:biodi="http://bpmn.io/schema/dmn/biodi/2.0" id="Definitions_1" name="DRD">
      <decision id="Decision_1" name="Decision 1">
        <decisionTable id="DecisionTable_1">
          <input id="Input_1" biodi:width="192">
            <inputExpression id="InputExpression_1" typeRef="number"><text>amount</text></inputExpression>
          </input>
          <output id="Output_1" typeRef="string" />
          <rule id="DecisionRule_1">
            <inputEntry id="UnaryTests_1"><text></text></inputEntry>
            <outputEntry id="LiteralExpression_1"><text>"ok"</text></outputEntry>
          </rule>
        </decisionTable>
      </decision>
    </definitions>"""
    result = evaluate_decision(parse_dmn(xml), "Decision_1", {"amount": 3})
    assert result.output == "ok"
    (evaluated,) = result.evaluated_decisions
    assert evaluated.evaluated_inputs[0].input_name == "amount"  # no label: the input expression
    assert evaluated.matched_rules[0].evaluated_outputs[0].output_name == ""
