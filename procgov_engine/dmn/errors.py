"""Errors of DMN parsing and evaluation, worded for a deployment rejection or an incident."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from procgov_engine.dmn.result import EvaluatedDecision


class DmnParseError(Exception):
    """The DMN resource cannot be deployed; ``element_id`` is the offending element (or "")."""

    def __init__(self, message: str, element_id: str = "") -> None:
        prefix = f"element '{element_id}': " if element_id else ""
        super().__init__(prefix + message)
        self.element_id = element_id
        self.detail = message


class DmnEvaluationError(Exception):
    """A decision failed to evaluate.

    Names the decision, and where it applies the rule (id and 1-based index) and the cell (its
    element id and text). ``evaluated_decisions`` are the decisions evaluated before the failure
    (required decisions that succeeded), as Zeebe reports them alongside the failure.
    """

    def __init__(
        self,
        decision_id: str,
        message: str,
        *,
        rule_id: str | None = None,
        rule_index: int | None = None,
        cell: str | None = None,
        evaluated_decisions: Sequence[EvaluatedDecision] = (),
    ) -> None:
        where = f"decision '{decision_id}'"
        if rule_id is not None:
            where += f", rule '{rule_id}' (#{rule_index})"
        if cell is not None:
            where += f", {cell}"
        super().__init__(f"failed to evaluate {where}: {message}")
        self.decision_id = decision_id
        self.rule_id = rule_id
        self.rule_index = rule_index
        self.cell = cell
        self.detail = message
        self.evaluated_decisions: tuple[EvaluatedDecision, ...] = tuple(evaluated_decisions)
