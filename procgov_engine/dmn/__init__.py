"""DMN decisions for the embedded engine: parse a DMN resource, evaluate its decisions.

    drg = parse_dmn(xml_bytes)                               # DecisionRequirements
    result = evaluate_decision(drg, "penalty", {"finding": "repeat", "role": "owner"})
    result.output                                            # JSON-able, Camunda's output shape
    result.evaluated_decisions                               # audit trail, required decisions first

Output shape as Camunda: a single output gives its value, several outputs a context; COLLECT (no
aggregation), RULE ORDER and OUTPUT ORDER give a list; no matching rule gives null (or the
outputs' default entries).
"""

from __future__ import annotations

from procgov_engine.dmn.errors import DmnEvaluationError, DmnParseError
from procgov_engine.dmn.evaluation import evaluate_decision
from procgov_engine.dmn.model import (
    Aggregation,
    Decision,
    DecisionRequirements,
    DecisionTable,
    HitPolicy,
    LiteralExpression,
)
from procgov_engine.dmn.parser import parse_dmn
from procgov_engine.dmn.result import (
    DecisionResult,
    EvaluatedDecision,
    EvaluatedInput,
    EvaluatedOutput,
    MatchedRule,
)

__all__ = [
    "Aggregation",
    "Decision",
    "DecisionRequirements",
    "DecisionResult",
    "DecisionTable",
    "DmnEvaluationError",
    "DmnParseError",
    "EvaluatedDecision",
    "EvaluatedInput",
    "EvaluatedOutput",
    "HitPolicy",
    "LiteralExpression",
    "MatchedRule",
    "evaluate_decision",
    "parse_dmn",
]
