"""Messages, signals and decisions: ``/messages/publication``, ``/messages/correlation``,
``/signals/broadcast``, ``/decision-definitions/evaluation``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from procgov_engine.api import DEFAULT_TENANT, DecisionEvaluationResult
from procgov_engine.rest.body import read_model
from procgov_engine.rest.context import RestContext, body_key, command, context, tenant
from procgov_engine.rest.models import DecisionEvaluation, MessageCorrelation, MessagePublication, SignalBroadcast
from procgov_engine.rest.problems import invalid, not_found


async def publish_message(request: Request) -> JSONResponse:
    body = await read_model(request, MessagePublication)
    if not body.name:
        raise invalid("No name provided.")
    if body.timeToLive < 0:
        raise invalid(f"The value for timeToLive is '{body.timeToLive}' but must be not negative.")
    tenant_id = tenant(body.tenantId)
    async with command("PUBLISH"):
        key = await context(request).engine.publish_message(
            name=body.name,
            correlation_key=body.correlationKey,
            time_to_live_ms=body.timeToLive,
            message_id=body.messageId,
            variables=body.variables or {},
            tenant_id=tenant_id,
        )
    return JSONResponse({"tenantId": tenant_id, "messageKey": str(key)})


def _correlated_instance(ctx: RestContext, message_key: int, after_position: int) -> int | None:
    """The instance a just-published message reached: a catch event's subscription or a message start."""
    started_process: str | None = None
    for record in ctx.query.records(after_position=after_position):
        value = record["value"]
        kind = record["valueType"]
        if kind == "PROCESS_MESSAGE_SUBSCRIPTION" and record["intent"] == "CORRELATED":
            if value.get("messageKey") == message_key:
                return int(value["processInstanceKey"])
        elif kind == "MESSAGE_START_EVENT_SUBSCRIPTION" and record["intent"] == "CORRELATED":
            if value.get("messageKey") == message_key:
                started_process = value["bpmnProcessId"]
        elif (
            started_process is not None
            and kind == "PROCESS_INSTANCE"
            and value.get("bpmnElementType") == "PROCESS"
            and value.get("bpmnProcessId") == started_process
        ):
            return int(record["key"])
    return None


async def correlate_message(request: Request) -> JSONResponse:
    """Camunda docs, "Correlate message": correlate now or answer 404; the message is not buffered."""
    body = await read_model(request, MessageCorrelation)
    if not body.name:
        raise invalid("No name provided.")
    ctx = context(request)
    tenant_id = tenant(body.tenantId)
    before = ctx.query.last_position()
    async with command("CORRELATE"):
        key = await ctx.engine.publish_message(
            name=body.name,
            correlation_key=body.correlationKey,
            time_to_live_ms=0,
            variables=body.variables or {},
            tenant_id=tenant_id,
        )
    instance = _correlated_instance(ctx, key, before)
    if instance is None:
        raise not_found(
            f"Command 'CORRELATE' rejected with code 'NOT_FOUND': Expected to find subscription for message with "
            f"name '{body.name}' and correlation key '{body.correlationKey}', but none was found."
        )
    return JSONResponse({"tenantId": tenant_id, "messageKey": str(key), "processInstanceKey": str(instance)})


async def broadcast_signal(request: Request) -> JSONResponse:
    body = await read_model(request, SignalBroadcast)
    if not body.signalName:
        raise invalid("No signalName provided.")
    if tenant(body.tenantId) != DEFAULT_TENANT:
        raise invalid(
            f"Expected to handle request Broadcast Signal with tenant identifier '{body.tenantId}', "
            "but multi-tenancy is disabled"
        )
    async with command("BROADCAST"):
        key = await context(request).engine.broadcast_signal(body.signalName, body.variables or {})
    return JSONResponse({"tenantId": DEFAULT_TENANT, "signalKey": str(key)})


def _decision_result(r: DecisionEvaluationResult) -> dict[str, Any]:
    evaluated = [
        {
            "decisionDefinitionId": d.decision_id,
            "decisionDefinitionName": d.decision_name,
            "decisionDefinitionVersion": d.decision_version,
            "decisionDefinitionType": d.decision_type,
            "output": json.dumps(d.decision_output),
            "tenantId": d.tenant_id,
            "matchedRules": [
                {
                    "ruleId": m.rule_id,
                    "ruleIndex": m.rule_index,
                    "evaluatedOutputs": [
                        {
                            "outputId": o.output_id,
                            "outputName": o.output_name,
                            "outputValue": json.dumps(o.output_value),
                        }
                        for o in m.evaluated_outputs
                    ],
                }
                for m in d.matched_rules
            ],
            "evaluatedInputs": [
                {"inputId": i.input_id, "inputName": i.input_name, "inputValue": json.dumps(i.input_value)}
                for i in d.evaluated_inputs
            ],
            "decisionDefinitionKey": str(d.decision_key),
            "decisionEvaluationInstanceKey": f"{r.decision_instance_key}-{n}",
        }
        for n, d in enumerate(r.evaluated_decisions, start=1)
    ]
    return {
        "decisionDefinitionId": r.decision_id,
        "decisionDefinitionKey": str(r.decision_key),
        "decisionDefinitionName": r.decision_name,
        "decisionDefinitionVersion": r.decision_version,
        "decisionEvaluationKey": str(r.decision_instance_key),
        "decisionInstanceKey": str(r.decision_instance_key),
        "decisionRequirementsId": r.decision_requirements_id,
        "decisionRequirementsKey": str(r.decision_requirements_key),
        "evaluatedDecisions": evaluated,
        "failedDecisionDefinitionId": r.failed_decision_id or None,
        "failureMessage": r.failure_message or None,
        "output": json.dumps(r.decision_output),
        "tenantId": r.tenant_id,
    }


async def evaluate_decision(request: Request) -> JSONResponse:
    body = await read_model(request, DecisionEvaluation)
    if (body.decisionDefinitionId is None) == (body.decisionDefinitionKey is None):
        raise invalid("Exactly one of [decisionDefinitionId, decisionDefinitionKey] is required.")
    async with command("EVALUATE"):
        result = await context(request).engine.evaluate_decision(
            decision_key=body_key(body.decisionDefinitionKey),
            decision_id=body.decisionDefinitionId,
            variables=body.variables or {},
            tenant_id=tenant(body.tenantId),
        )
    return JSONResponse(_decision_result(result))


routes = [
    Route("/messages/publication", publish_message, methods=["POST"]),
    Route("/messages/correlation", correlate_message, methods=["POST"]),
    Route("/signals/broadcast", broadcast_signal, methods=["POST"]),
    Route("/decision-definitions/evaluation", evaluate_decision, methods=["POST"]),
]
