"""DECISION_EVALUATION: a business rule task's decision output, the task's result variable."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class DecisionAppliers(Appliers):
    def appliers(self) -> AppliersTable:
        return {
            ("DECISION_EVALUATION", "EVALUATED"): self._decision_evaluated,
        }

    # -- DECISION_EVALUATION ---------------------------------------------------------------------
    def _decision_evaluated(self, key: int, value: dict[str, Any]) -> None:
        """A business rule task's decision: its output is the task's result variable."""
        inst = self.state.instances.get(value["elementInstanceKey"])
        if inst is not None:
            inst.temp_variables = {inst.element.result_variable or "": value["decisionOutput"]}
