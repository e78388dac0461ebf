"""DECISION_EVALUATION EVALUATE: evaluate a deployed decision outside of a process instance and record it.

Follows Zeebe's DECISION_EVALUATION record (docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/
#evaluatedecision-rpc): a failed evaluation is not a rejection but an EVALUATION_FAILED record and a
result carrying ``failed_decision_id`` and ``failure_message``.
"""

from __future__ import annotations

from typing import Any

from procgov_engine.api import DecisionEvaluationResult, Rejection, RejectionType
from procgov_engine.core.behaviours.decisions import decision_record, evaluated_decisions
from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.dmn import DmnEvaluationError, evaluate_decision


class EvaluateDecision(CommandProcessor):
    kind = "decision"
    value_type = "DECISION_EVALUATION"
    intent = "EVALUATE"

    def process(self, args: dict[str, Any]) -> DecisionEvaluationResult:
        w = self.w
        value: dict[str, Any] = {
            "decisionKey": args["decision_key"] or -1,
            "decisionId": args["decision_id"] or "",
            "variables": args["variables"],
            "tenantId": args["tenant_id"],
        }
        w.command("DECISION_EVALUATION", "EVALUATE", -1, value)
        decisions = self.b.decisions
        decision = decisions.find(args["decision_id"], args["decision_key"], args["tenant_id"])
        if decision is None:
            what = f"key '{args['decision_key']}'" if args["decision_key"] else f"id '{args['decision_id']}'"
            reason = f"Expected to evaluate decision with {what}, but no such decision found"
            w.rejection("DECISION_EVALUATION", "EVALUATE", -1, value, RejectionType.NOT_FOUND.value, reason)
            raise Rejection(RejectionType.NOT_FOUND, reason)
        key = w.next_key()
        failed_id, failure = "", ""
        try:
            result = evaluate_decision(
                decision.model, decision.decision_id, args["variables"], clock=self.ctx.feel_clock
            )
            output, evaluated_raw = result.output, result.evaluated_decisions
        except DmnEvaluationError as exc:
            output, failed_id, failure, evaluated_raw = None, exc.decision_id, str(exc), exc.evaluated_decisions
        evaluated = evaluated_decisions(decisions, decision, evaluated_raw)
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
