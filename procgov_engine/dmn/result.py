"""What evaluating a decision returns: the output and an audit trail shaped like Zeebe's records.

Field names follow ``procgov_engine.api`` (``EvaluatedDecision``, ``MatchedRule``, ...) so the engine core maps
them one to one; the input, output and matched-rule records are ``procgov_engine.api``'s own types. Every value
here is JSON-able (FEEL values went through ``to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procgov_engine.api import EvaluatedDecisionInput as EvaluatedInput
from procgov_engine.api import EvaluatedDecisionOutput as EvaluatedOutput
from procgov_engine.api import MatchedRule

__all__ = ["DecisionResult", "EvaluatedDecision", "EvaluatedInput", "EvaluatedOutput", "MatchedRule"]


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
