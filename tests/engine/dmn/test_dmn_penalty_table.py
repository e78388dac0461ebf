"""A realistic table: spot-check fines per case by finding and role (考核办法 100104 §2.2)."""

from __future__ import annotations

import pytest

from procgov_engine.dmn import EvaluatedInput, evaluate_decision, parse_dmn

# (finding, role) -> fine in yuan per case, from domain.md §3 (100104 §2.2.1-§2.2.3)
FINES = [
    ("undetected-violation", "direct", 20, "100104 §2.2.1"),
    ("undetected-violation", "supervisor", 10, "100104 §2.2.1"),
    ("undetected-violation", "head", 5, "100104 §2.2.1"),
    ("design-defect-no-change", "direct", 20, "100104 §2.2.2"),
    ("design-defect-no-change", "supervisor", 10, "100104 §2.2.2"),
    ("design-defect-no-change", "head", 5, "100104 §2.2.2"),
    ("repeat-problem", "direct", 40, "100104 §2.2.3"),
    ("repeat-problem", "supervisor", 20, "100104 §2.2.3"),
    ("repeat-problem", "head", 20, "100104 §2.2.3"),
]


def test_model_is_parsed_from_camunda_modeler_output(spot_check_fines: bytes) -> None:
    drg = parse_dmn(spot_check_fines)
    assert drg.id == "spot-check-fines"
    assert drg.name == "Spot-check fines (100104 §2.2)"
    assert set(drg.decisions) == {"spotCheckFine", "spotCheckTotal"}
    assert drg.decisions["spotCheckFine"].decision_type == "DECISION_TABLE"
    assert drg.decisions["spotCheckTotal"].decision_type == "LITERAL_EXPRESSION"
    assert drg.decisions["spotCheckTotal"].required_decisions == ("spotCheckFine",)


@pytest.mark.parametrize(("finding", "role", "fine", "rule_ref"), FINES)
def test_fine_per_case(spot_check_fines: bytes, finding: str, role: str, fine: int, rule_ref: str) -> None:
    result = evaluate_decision(parse_dmn(spot_check_fines), "spotCheckFine", {"finding": finding, "role": role})
    assert result.output == {"fineYuan": fine, "ruleRef": rule_ref}
    (evaluated,) = result.evaluated_decisions
    assert evaluated.evaluated_inputs == (
        EvaluatedInput("Input_finding", "Finding", finding),
        EvaluatedInput("Input_role", "Responsible role", role),
    )
    (matched,) = evaluated.matched_rules
    assert matched.rule_index == FINES.index((finding, role, fine, rule_ref)) + 1
    assert [(o.output_name, o.output_value) for o in matched.evaluated_outputs] == [
        ("fineYuan", fine),
        ("ruleRef", rule_ref),
    ]


def test_unknown_role_matches_no_rule_and_gives_null(spot_check_fines: bytes) -> None:
    result = evaluate_decision(
        parse_dmn(spot_check_fines), "spotCheckFine", {"finding": "repeat-problem", "role": "cfo"}
    )
    assert result.output is None
    assert result.evaluated_decisions[0].matched_rules == ()


def test_required_decision_is_evaluated_first_and_exposed_by_id(spot_check_fines: bytes) -> None:
    variables = {"finding": "repeat-problem", "role": "head", "cases": 3}
    result = evaluate_decision(parse_dmn(spot_check_fines), "spotCheckTotal", variables)
    assert result.output == 60  # 3 cases x 20 yuan, 100104 §2.2.3 (department head)
    assert [d.decision_id for d in result.evaluated_decisions] == ["spotCheckFine", "spotCheckTotal"]
    fine, total = result.evaluated_decisions
    assert fine.decision_output == {"fineYuan": 20, "ruleRef": "100104 §2.2.3"}
    assert fine.matched_rules[0].rule_id == "Rule_2_2_3_head"
    assert total.decision_type == "LITERAL_EXPRESSION"
    assert total.decision_output == 60
    assert result.decision_requirements_id == "spot-check-fines"


def test_required_decision_without_match_flows_as_null(spot_check_fines: bytes) -> None:
    variables = {"finding": "none", "role": "head", "cases": 3}
    assert evaluate_decision(parse_dmn(spot_check_fines), "spotCheckTotal", variables).output == 0
