"""Decisions (DMN): finding a deployed decision, evaluating a business rule task's decision, and the
DECISION_EVALUATION record value shared with the EvaluateDecision command
(docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#evaluatedecision-rpc).
"""

from __future__ import annotations

from typing import Any

from procgov_engine.api import (
    EvaluatedDecision,
    EvaluatedDecisionInput,
    EvaluatedDecisionOutput,
    MatchedRule,
)
from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure
from procgov_engine.core.state import DeployedDecision, ElementInstance
from procgov_engine.dmn import DmnEvaluationError, evaluate_decision


class Decisions:
    def __init__(self, ctx: ProcessingContext) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.state = ctx.state

    def find(self, decision_id: str | None, decision_key: int | None, tenant_id: str) -> DeployedDecision | None:
        if decision_key:
            return self.state.decisions_by_key.get(decision_key)
        versions = self.state.decisions_by_id.get((decision_id or "", tenant_id))
        return versions[-1] if versions else None

    def evaluate_called(self, decision_id: str, variables: dict[str, Any], inst: ElementInstance) -> Any:
        """A business rule task's decision (docs: business-rule-tasks): its output, recorded as a
        DECISION_EVALUATION event, or a StepFailure that becomes an incident."""
        tenant_id = inst.process.tenant_id
        decision = self.find(decision_id, None, tenant_id)
        if decision is None:
            raise StepFailure(
                "CALLED_DECISION_ERROR",
                f"Expected to evaluate decision '{decision_id}', but no decision found for id '{decision_id}'",
            )
        try:
            result = evaluate_decision(decision.model, decision_id, variables, clock=self.ctx.feel_clock)
        except DmnEvaluationError as exc:
            raise StepFailure(
                "DECISION_EVALUATION_ERROR", f"Expected to evaluate decision '{decision_id}', but {exc}"
            ) from exc
        w = self.w
        evaluated = evaluated_decisions(self, decision, result.evaluated_decisions)
        record = decision_record(decision, result.output, evaluated, variables, "", "")
        record.update(
            processInstanceKey=inst.process_instance_key,
            elementInstanceKey=inst.key,
            elementId=inst.element.id,
            bpmnProcessId=inst.process.bpmn_process_id,
            processDefinitionKey=inst.process.key,
        )
        w.event("DECISION_EVALUATION", "EVALUATED", w.next_key(), record, inst.process_instance_key)
        return result.output


def _evaluated(decisions: Decisions, decision: DeployedDecision, evaluated: Any) -> EvaluatedDecision:
    found = decisions.find(evaluated.decision_id, None, decision.tenant_id)
    return EvaluatedDecision(
        decision_id=evaluated.decision_id,
        decision_name=evaluated.decision_name,
        decision_key=found.key if found else -1,
        decision_version=found.version if found else -1,
        decision_type=evaluated.decision_type,
        decision_output=evaluated.decision_output,
        evaluated_inputs=[
            EvaluatedDecisionInput(i.input_id, i.input_name, i.input_value) for i in evaluated.evaluated_inputs
        ],
        matched_rules=[
            MatchedRule(
                r.rule_id,
                r.rule_index,
                [EvaluatedDecisionOutput(o.output_id, o.output_name, o.output_value) for o in r.evaluated_outputs],
            )
            for r in evaluated.matched_rules
        ],
        tenant_id=decision.tenant_id,
    )


def _record_decisions(decisions: list[EvaluatedDecision]) -> list[dict[str, Any]]:
    return [
        {
            "decisionId": d.decision_id,
            "decisionName": d.decision_name,
            "decisionKey": d.decision_key,
            "decisionVersion": d.decision_version,
            "decisionType": d.decision_type,
            "decisionOutput": d.decision_output,
            "evaluatedInputs": [
                {"inputId": i.input_id, "inputName": i.input_name, "inputValue": i.input_value}
                for i in d.evaluated_inputs
            ],
            "matchedRules": [
                {
                    "ruleId": r.rule_id,
                    "ruleIndex": r.rule_index,
                    "evaluatedOutputs": [
                        {"outputId": o.output_id, "outputName": o.output_name, "outputValue": o.output_value}
                        for o in r.evaluated_outputs
                    ],
                }
                for r in d.matched_rules
            ],
            "tenantId": d.tenant_id,
        }
        for d in decisions
    ]


def evaluated_decisions(
    decisions: Decisions, decision: DeployedDecision, evaluated_raw: Any
) -> list[EvaluatedDecision]:
    """The DMN evaluation's decisions (``decision`` and those it required), with their deployed keys."""
    return [_evaluated(decisions, decision, d) for d in evaluated_raw]


def decision_record(
    decision: DeployedDecision,
    output: Any,
    evaluated: list[EvaluatedDecision],
    variables: dict[str, Any],
    failed_id: str,
    failure: str,
) -> dict[str, Any]:
    """The DECISION_EVALUATION record value (Zeebe's field names)."""
    return {
        "decisionKey": decision.key,
        "decisionId": decision.decision_id,
        "decisionName": decision.name,
        "decisionVersion": decision.version,
        "decisionRequirementsId": decision.requirements_id,
        "decisionRequirementsKey": decision.requirements_key,
        "decisionOutput": output,
        "variables": variables,
        "evaluatedDecisions": _record_decisions(evaluated),
        "evaluationFailureMessage": failure,
        "failedDecisionId": failed_id,
        "processInstanceKey": -1,
        "elementInstanceKey": -1,
        "tenantId": decision.tenant_id,
    }
