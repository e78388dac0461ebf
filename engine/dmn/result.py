"""What evaluating a decision returns: the output and an audit trail shaped like Zeebe's records.

Field names follow ``engine.api`` (``EvaluatedDecision``, ``MatchedRule``, ...) so the engine core maps
them one to one. Every value here is JSON-able (FEEL values went through ``to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EvaluatedInput:
    input_id: str
    input_name: str
    input_value: Any


@dataclass(frozen=True)
class EvaluatedOutput:
    output_id: str
    output_name: str
    output_value: Any


@dataclass(frozen=True)
class MatchedRule:
    rule_id: str
    rule_index: int  # 1-based
    evaluated_outputs: tuple[EvaluatedOutput, ...] = ()


@dataclass(frozen=True)
class EvaluatedDecision:
    decision_id: str
    decision_name: str
    decision_type: str  # "DECISION_TABLE" | "LITERAL_EXPRESSION"
    decision_output: Any
    evaluated_inputs: tuple[EvaluatedInput, ...] = ()
    matched_rules: tuple[MatchedRule, ...] = ()


@dataclass(frozen=True)
class DecisionResult:
    decision_id: str
    decision_name: str
    decision_requirements_id: str
    output: Any
    #: in evaluation order: required decisions first, the requested decision last
    evaluated_decisions: tuple[EvaluatedDecision, ...] = field(default_factory=tuple)
