"""The executable model of a DMN resource: a decision requirements graph of compiled decisions.

FEEL is compiled when the model is built, so a syntax error in any cell rejects the resource (as
Zeebe rejects the deployment) and evaluation never parses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from procgov_engine.dmn.types import ItemType
from procgov_engine.feel import CompiledExpression, UnaryTests


class HitPolicy(enum.Enum):
    UNIQUE = "UNIQUE"
    FIRST = "FIRST"
    PRIORITY = "PRIORITY"
    ANY = "ANY"
    COLLECT = "COLLECT"
    RULE_ORDER = "RULE ORDER"
    OUTPUT_ORDER = "OUTPUT ORDER"


class Aggregation(enum.Enum):
    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    COUNT = "COUNT"


@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression_text: str
    expression: CompiledExpression
    type_ref: str | None = None

    @property
    def name(self) -> str:
        """How Zeebe names the input in evaluation records: its label, else its expression."""
        return self.label or self.expression_text


@dataclass(frozen=True)
class Output:
    id: str
    name: str
    label: str
    type_ref: str | None = None
    #: the output's allowed values in priority order (PRIORITY / OUTPUT ORDER), as FEEL values
    priority_values: tuple[Any, ...] = ()
    default: CompiledExpression | None = None


@dataclass(frozen=True)
class InputEntry:
    id: str
    text: str
    tests: UnaryTests


@dataclass(frozen=True)
class OutputEntry:
    id: str
    text: str
    expression: CompiledExpression | None  # None: empty cell, the output is null


@dataclass(frozen=True)
class Rule:
    id: str
    index: int  # 1-based, as Zeebe reports it
    input_entries: tuple[InputEntry, ...]
    output_entries: tuple[OutputEntry, ...]
    description: str = ""


@dataclass(frozen=True)
class DecisionTable:
    id: str
    hit_policy: HitPolicy
    aggregation: Aggregation | None
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class LiteralExpression:
    id: str
    text: str
    expression: CompiledExpression
    variable_name: str
    type_ref: str | None = None


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    logic: DecisionTable | LiteralExpression
    required_decisions: tuple[str, ...] = ()
    #: the name a requiring decision sees this decision's output under: its ``<variable name>``, else
    #: its id (as dmn-scala does); the output is visible under the decision id as well
    result_name: str = ""

    @property
    def decision_type(self) -> str:
        """Zeebe's ``decisionType``: ``DECISION_TABLE`` or ``LITERAL_EXPRESSION``."""
        return "DECISION_TABLE" if isinstance(self.logic, DecisionTable) else "LITERAL_EXPRESSION"


@dataclass(frozen=True)
class DecisionService:
    """A ``decisionService`` (DMN 1.5 6.3.10): a function of its input data and input decisions (in
    that order) whose value is its output decision's, or a context of several output decisions."""

    name: str
    output_decisions: tuple[str, ...]
    input_data: tuple[str, ...]  # parameter names
    input_decisions: tuple[str, ...]  # decision ids, parameters under the decisions' variable names


@dataclass(frozen=True, eq=False)  # identity semantics: a deployed model is hashable, compared by id
class DecisionRequirements:
    """A DMN ``definitions`` element: the decision requirements graph (DRG) Zeebe deploys."""

    id: str
    name: str
    namespace: str = ""
    decisions: dict[str, Decision] = field(default_factory=dict)
    #: business knowledge models as (name, FEEL ``function(...)`` expression), in document order
    knowledge_models: tuple[tuple[str, CompiledExpression], ...] = ()
    decision_services: tuple[DecisionService, ...] = ()
    #: the model's item definitions by name, for typeRef conformance of results
    item_types: dict[str, ItemType] = field(default_factory=dict)
