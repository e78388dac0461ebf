"""EvaluateDecision: evaluate a deployed decision outside of a process instance and record it.

Follows Zeebe's DECISION_EVALUATION record (docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/
#evaluatedecision-rpc): a failed evaluation is not a rejection but an EVALUATION_FAILED record and a
result carrying ``failed_decision_id`` and ``failure_message``.
"""

from __future__ import annotations

from typing import Any

from engine.api import (
    DecisionEvaluationResult,
    EvaluatedDecision,
    EvaluatedDecisionInput,
    EvaluatedDecisionOutput,
    MatchedRule,
    Rejection,
    RejectionType,
)
from engine.core.deploy import Deployer
from engine.core.state import DeployedDecision


def _evaluated(deployer: Deployer, decision: DeployedDecision, evaluated: Any) -> EvaluatedDecision:
    found = deployer.find_decision(evaluated.decision_id, None, decision.tenant_id)
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


def evaluated_decisions(deployer: Deployer, decision: DeployedDecision, evaluated_raw: Any) -> list[EvaluatedDecision]:
    """The DMN evaluation's decisions (``decision`` and those it required), with their deployed keys."""
    return [_evaluated(deployer, decision, d) for d in evaluated_raw]


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


def evaluate_decision_command(deployer: Deployer, args: dict[str, Any]) -> DecisionEvaluationResult:
    from engine.dmn import DmnEvaluationError, evaluate_decision

    w = deployer.p.w
    value: dict[str, Any] = {
        "decisionKey": args["decision_key"] or -1,
        "decisionId": args["decision_id"] or "",
        "variables": args["variables"],
        "tenantId": args["tenant_id"],
    }
    w.command("DECISION_EVALUATION", "EVALUATE", -1, value)
    decision = deployer.find_decision(args["decision_id"], args["decision_key"], args["tenant_id"])
    if decision is None:
        what = f"key '{args['decision_key']}'" if args["decision_key"] else f"id '{args['decision_id']}'"
        reason = f"Expected to evaluate decision with {what}, but no such decision found"
        w.rejection("DECISION_EVALUATION", "EVALUATE", -1, value, RejectionType.NOT_FOUND.value, reason)
        raise Rejection(RejectionType.NOT_FOUND, reason)
    key = w.next_key()
    failed_id, failure = "", ""
    try:
        result = evaluate_decision(decision.model, decision.decision_id, args["variables"], clock=deployer.p.feel_clock)
        output, evaluated_raw = result.output, result.evaluated_decisions
    except DmnEvaluationError as exc:
        output, failed_id, failure, evaluated_raw = None, exc.decision_id, str(exc), exc.evaluated_decisions
    evaluated = evaluated_decisions(deployer, decision, evaluated_raw)
    record = decision_record(decision, output, evaluated, args["variables"], failed_id, failure)
    w.event("DECISION_EVALUATION", "EVALUATED" if not failure else "FAILED", key, record)
    return DecisionEvaluationResult(
        decision_id=decision.decision_id,
        decision_name=decision.name,
        decision_key=decision.key,
        decision_version=decision.version,
        decision_requirements_id=decision.requirements_id,
        decision_requirements_key=decision.requirements_key,
        decision_output=output,
        evaluated_decisions=evaluated,
        failed_decision_id=failed_id,
        failure_message=failure,
        decision_instance_key=key,
        tenant_id=decision.tenant_id,
    )
