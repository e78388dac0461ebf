"""Translation between the gateway protocol's messages and the engine's plain data types.

Zeebe's protocol carries variables, custom headers and decision values as JSON *strings*; the engine
works with parsed values. Parsing happens here, once, so that a malformed document is rejected at the
edge with Zeebe's own wording instead of surfacing as an engine error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyzeebe.proto import gateway_pb2 as pb

from procgov_engine import strict_json
from procgov_engine.api import (
    DEFAULT_TENANT,
    ActivatedJob,
    DecisionEvaluationResult,
    Deployment,
    EvaluatedDecision,
    JsonObject,
    Topology,
)

_JSON_TYPE_NAMES = {
    list: "ARRAY",
    str: "STRING",
    int: "INTEGER",
    float: "FLOAT",
    bool: "BOOLEAN",
    type(None): "NIL",
}


class InvalidRequest(Exception):
    """A request field the gateway refuses before it reaches the engine (gRPC INVALID_ARGUMENT)."""


def parse_variables(document: str, property_name: str = "variables") -> JsonObject:
    """Parse a JSON variables document; an empty string means "no variables".

    The document must be strict JSON within :mod:`procgov_engine.strict_json`'s limits (no NaN/Infinity, no
    lone surrogates, at most ``MAX_NESTING_DEPTH`` levels). Zeebe requires a JSON object at the root;
    anything else is refused with the message Zeebe's gateway gives ("Property 'variables' is invalid:
    Expected document to be a root level object, but was 'ARRAY'") so that clients written against
    Camunda see the same text.
    """
    if document == "{}":  # what clients send for "no variables" (pyzeebe: ``json.dumps({})``)
        return {}
    if not document.strip():
        return {}
    try:
        value = strict_json.loads(document, property_name)
    except strict_json.InvalidDocument as error:
        raise InvalidRequest(str(error)) from None
    if not isinstance(value, dict):
        type_name = _JSON_TYPE_NAMES.get(type(value), type(value).__name__.upper())
        raise InvalidRequest(
            f"Property '{property_name}' is invalid: Expected document to be a root level object, but was '{type_name}'"
        )
    return value


def tenant(tenant_id: str) -> str:
    """An unset tenant (the proto default "") is Zeebe's default tenant."""
    return tenant_id or DEFAULT_TENANT


def tenants(tenant_ids: Sequence[str]) -> list[str]:
    return [tenant(t) for t in tenant_ids]


def dump_json(value: Any) -> str:
    """Compact JSON as Zeebe sends it (non-ASCII kept readable: the domain data is Chinese); always
    valid UTF-8 and strict JSON, so a stored value can never make an answer unserializable."""
    return strict_json.dumps(value)


def activated_job(job: ActivatedJob) -> pb.ActivatedJob:
    return pb.ActivatedJob(
        key=job.key,
        type=job.type,
        processInstanceKey=job.process_instance_key,
        bpmnProcessId=job.bpmn_process_id,
        processDefinitionVersion=job.process_definition_version,
        processDefinitionKey=job.process_definition_key,
        elementId=job.element_id,
        elementInstanceKey=job.element_instance_key,
        customHeaders=dump_json(dict(job.custom_headers)) if job.custom_headers else "{}",
        worker=job.worker,
        retries=job.retries,
        deadline=job.deadline,
        variables=dump_json(job.variables),
        tenantId=job.tenant_id,
    )


def deployments(deployment: Deployment) -> list[pb.Deployment]:
    """The deployed resources' metadata in the order Zeebe's gateway lists them: processes, then decisions,
    then decision requirements, then forms (``ResponseMapper.toDeployResourceResponse``)."""
    result = [
        pb.Deployment(
            process=pb.ProcessMetadata(
                bpmnProcessId=p.bpmn_process_id,
                version=p.version,
                processDefinitionKey=p.process_definition_key,
                resourceName=p.resource_name,
                tenantId=p.tenant_id,
            )
        )
        for p in deployment.processes
    ]
    result += [
        pb.Deployment(
            decision=pb.DecisionMetadata(
                dmnDecisionId=d.decision_id,
                dmnDecisionName=d.decision_name,
                version=d.version,
                decisionKey=d.decision_key,
                dmnDecisionRequirementsId=d.decision_requirements_id,
                decisionRequirementsKey=d.decision_requirements_key,
                tenantId=d.tenant_id,
            )
        )
        for d in deployment.decisions
    ]
    result += [
        pb.Deployment(
            decisionRequirements=pb.DecisionRequirementsMetadata(
                dmnDecisionRequirementsId=d.decision_requirements_id,
                dmnDecisionRequirementsName=d.decision_requirements_name,
                version=d.version,
                decisionRequirementsKey=d.decision_requirements_key,
                resourceName=d.resource_name,
                tenantId=d.tenant_id,
            )
        )
        for d in deployment.decision_requirements
    ]
    result += [
        pb.Deployment(
            form=pb.FormMetadata(
                formId=f.form_id,
                version=f.version,
                formKey=f.form_key,
                resourceName=f.resource_name,
                tenantId=f.tenant_id,
            )
        )
        for f in deployment.forms
    ]
    return result


def _evaluated_decision(decision: EvaluatedDecision) -> pb.EvaluatedDecision:
    return pb.EvaluatedDecision(
        decisionKey=decision.decision_key,
        decisionId=decision.decision_id,
        decisionName=decision.decision_name,
        decisionVersion=decision.decision_version,
        decisionType=decision.decision_type,
        decisionOutput=dump_json(decision.decision_output),
        tenantId=decision.tenant_id,
        evaluatedInputs=[
            pb.EvaluatedDecisionInput(inputId=i.input_id, inputName=i.input_name, inputValue=dump_json(i.input_value))
            for i in decision.evaluated_inputs
        ],
        matchedRules=[
            pb.MatchedDecisionRule(
                ruleId=rule.rule_id,
                ruleIndex=rule.rule_index,
                evaluatedOutputs=[
                    pb.EvaluatedDecisionOutput(
                        outputId=o.output_id, outputName=o.output_name, outputValue=dump_json(o.output_value)
                    )
                    for o in rule.evaluated_outputs
                ],
            )
            for rule in decision.matched_rules
        ],
    )


def decision_evaluation(result: DecisionEvaluationResult) -> pb.EvaluateDecisionResponse:
    return pb.EvaluateDecisionResponse(
        decisionKey=result.decision_key,
        decisionId=result.decision_id,
        decisionName=result.decision_name,
        decisionVersion=result.decision_version,
        decisionRequirementsId=result.decision_requirements_id,
        decisionRequirementsKey=result.decision_requirements_key,
        decisionOutput=dump_json(result.decision_output),
        evaluatedDecisions=[_evaluated_decision(d) for d in result.evaluated_decisions],
        failedDecisionId=result.failed_decision_id,
        failureMessage=result.failure_message,
        tenantId=result.tenant_id,
        decisionInstanceKey=result.decision_instance_key,
    )


def topology(info: Topology) -> pb.TopologyResponse:
    """A single broker leading every partition: the embedded engine is one node."""
    broker = pb.BrokerInfo(
        nodeId=0,
        host=info.broker_host,
        port=info.broker_port,
        version=info.gateway_version,
        partitions=[
            pb.Partition(partitionId=p, role=pb.Partition.LEADER, health=pb.Partition.HEALTHY)
            for p in range(1, info.partitions_count + 1)
        ],
    )
    return pb.TopologyResponse(
        brokers=[broker],
        clusterSize=info.cluster_size,
        partitionsCount=info.partitions_count,
        replicationFactor=info.replication_factor,
        gatewayVersion=info.gateway_version,
    )
