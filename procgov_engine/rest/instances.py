"""Process instances, element instances, variables and incidents.

Commands (create, cancel, resolve) go to the engine's command surface; searches and gets read the
engine's record-log views (``procgov_engine.core.query``), which are consistent at once (Camunda's secondary
storage is eventually consistent; the same requests work against both).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from procgov_engine.api import ProcessInstanceCreated, RequestTimeout
from procgov_engine.rest.body import read_model
from procgov_engine.rest.context import (
    RestContext,
    body_key,
    command,
    context,
    iso,
    key_str,
    no_content,
    path_key,
    tenant,
)
from procgov_engine.rest.models import OperationReference, ProcessInstanceCreation
from procgov_engine.rest.problems import Problem, invalid, not_found
from procgov_engine.rest.search import (
    MAX_TAGS,
    TAG,
    TAG_FORMAT,
    Fields,
    SearchQuery,
    date,
    definition_id,
    enum,
    flag,
    key,
    number,
    search,
    tag_set,
    tenant_id,
    text,
)

DEFAULT_REQUEST_TIMEOUT_MS = 15_000
"""``awaitCompletion`` with ``requestTimeout`` 0 waits this long (Zeebe's default request timeout)."""


# -- process instances -------------------------------------------------------------------------------


def _tag_set(tags: list[str]) -> list[str]:
    """A TagSet as Camunda's gateway reads it (TagsValidator): a set, so duplicates collapse, of at most
    10 tags of the spec's Tag format; refused with Camunda's wording."""
    unique = list(dict.fromkeys(tags))
    problems = []
    if len(unique) > MAX_TAGS:
        problems.append(
            f"The provided number of tags '{len(unique)}' is not supported. "
            f"Ensure to not add more than {MAX_TAGS} tags."
        )
    problems += [f"The provided tag '{t}' is not valid. {TAG_FORMAT}" for t in unique if not TAG.fullmatch(t)]
    if problems:
        raise invalid(" ".join(problems))
    return unique


async def create_process_instance(request: Request) -> JSONResponse:
    """Camunda docs, "Create process instance": by key or by id and version; ``awaitCompletion`` waits."""
    body = await read_model(request, ProcessInstanceCreation)
    if body.processDefinitionKey is None and body.processDefinitionId is None:
        raise invalid("At least one of [processDefinitionId, processDefinitionKey] is required.")
    if body.processDefinitionKey is not None and body.processDefinitionId is not None:
        raise invalid("Only one of [processDefinitionId, processDefinitionKey] is allowed.")
    if body.runtimeInstructions:
        raise invalid("runtimeInstructions are not supported by the embedded procgov engine")
    tags = _tag_set(body.tags)
    args: dict[str, Any] = {
        "bpmn_process_id": body.processDefinitionId,
        "process_definition_key": body_key(body.processDefinitionKey),
        "version": body.processDefinitionVersion,
        "variables": body.variables or {},
        "start_element_ids": [i.elementId for i in body.startInstructions],
        "tenant_id": tenant(body.tenantId),
        "tags": tags,
    }
    engine = context(request).engine
    variables: dict[str, Any] = {}
    created: ProcessInstanceCreated
    if body.awaitCompletion:
        timeout_ms = body.requestTimeout if body.requestTimeout > 0 else DEFAULT_REQUEST_TIMEOUT_MS
        try:
            async with command("CREATE_WITH_AWAITING_RESULT"):
                result = await engine.create_process_instance_with_result(
                    **args, request_timeout_ms=timeout_ms, fetch_variables=body.fetchVariables
                )
        except RequestTimeout as error:
            raise Problem(504, "DEADLINE_EXCEEDED", str(error) or "The request timed out") from None
        created = result
        variables = result.variables
    else:
        async with command("CREATE"):
            created = await engine.create_process_instance(**args)
    return JSONResponse(
        {
            "processDefinitionId": created.bpmn_process_id,
            "processDefinitionVersion": created.version,
            "tenantId": created.tenant_id,
            "variables": variables,
            "processDefinitionKey": str(created.process_definition_key),
            "processInstanceKey": str(created.process_instance_key),
            "tags": tags,
            "businessId": body.businessId,
        }
    )


async def cancel_process_instance(request: Request) -> Response:
    key = path_key(request, "processInstanceKey")
    await read_model(request, OperationReference, required=False, nullable=True)
    async with command("CANCEL"):
        await context(request).engine.cancel_process_instance(key)
    return no_content()


def _process_instances(ctx: RestContext) -> list[dict[str, Any]]:
    views = ctx.query.process_instances()
    parents = {v.key: v.parent_process_instance_key for v in views}
    with_incident = {i.process_instance_key for i in ctx.query.incidents(active_only=True)}

    def root(key: int) -> int:
        while parents.get(key, -1) > 0:
            key = parents[key]
        return key

    return [
        {
            "processDefinitionId": v.bpmn_process_id,
            "processDefinitionName": None,
            "processDefinitionVersion": v.version,
            "processDefinitionVersionTag": None,
            "startDate": iso(v.started_at),
            "endDate": iso(v.ended_at),
            "state": v.state,
            "suspendedDate": None,
            "hasIncident": v.key in with_incident,
            "tenantId": v.tenant_id,
            "processInstanceKey": str(v.key),
            "processDefinitionKey": str(v.process_definition_key),
            "parentProcessInstanceKey": key_str(v.parent_process_instance_key),
            "parentElementInstanceKey": None,
            "rootProcessInstanceKey": str(root(v.key)),
            "tags": list(v.tags),
            "businessId": None,
        }
        for v in views
    ]


INSTANCE_STATES = ("ACTIVE", "COMPLETED", "SUSPENDED", "TERMINATED")
_INSTANCE_FIELDS: Fields = {
    "processDefinitionId": text(),
    "processDefinitionName": text(),
    "processDefinitionVersion": number(),
    "processDefinitionVersionTag": text(),
    "processDefinitionKey": key(),
    "startDate": date(),
    "endDate": date(),
    "state": enum(*INSTANCE_STATES),
    "hasIncident": flag(),
    "suspendedDate": date(),
    "tenantId": text(),
    "processInstanceKey": key(),
    "parentProcessInstanceKey": key(),
    "parentElementInstanceKey": key(),
    "businessId": text(),
    "tags": tag_set(),
}


async def search_process_instances(request: Request) -> JSONResponse:
    query = await read_model(request, SearchQuery, required=False)
    items = _process_instances(context(request))
    sort = [f for f in _INSTANCE_FIELDS if f not in ("suspendedDate", "tags")]
    return JSONResponse(search(query, items, _INSTANCE_FIELDS, sort))


async def get_process_instance(request: Request) -> JSONResponse:
    key = path_key(request, "processInstanceKey")
    for item in _process_instances(context(request)):
        if item["processInstanceKey"] == str(key):
            return JSONResponse(item)
    raise not_found(f"Process instance with key '{key}' not found")


# -- element instances -------------------------------------------------------------------------------

ELEMENT_TYPES = [
    "UNSPECIFIED",
    "PROCESS",
    "SUB_PROCESS",
    "EVENT_SUB_PROCESS",
    "AD_HOC_SUB_PROCESS",
    "AD_HOC_SUB_PROCESS_INNER_INSTANCE",
    "START_EVENT",
    "INTERMEDIATE_CATCH_EVENT",
    "INTERMEDIATE_THROW_EVENT",
    "BOUNDARY_EVENT",
    "END_EVENT",
    "SERVICE_TASK",
    "RECEIVE_TASK",
    "USER_TASK",
    "MANUAL_TASK",
    "TASK",
    "EXCLUSIVE_GATEWAY",
    "INCLUSIVE_GATEWAY",
    "PARALLEL_GATEWAY",
    "EVENT_BASED_GATEWAY",
    "SEQUENCE_FLOW",
    "MULTI_INSTANCE_BODY",
    "CALL_ACTIVITY",
    "BUSINESS_RULE_TASK",
    "SCRIPT_TASK",
    "SEND_TASK",
    "UNKNOWN",
]
_ELEMENT_STATE = {"ELEMENT_COMPLETED": "COMPLETED", "ELEMENT_TERMINATED": "TERMINATED"}


def _element_instances(ctx: RestContext) -> list[dict[str, Any]]:
    incidents = {i.element_instance_key: i.key for i in ctx.query.incidents(active_only=True)}
    items = []
    for pi in ctx.query.process_instances():
        for e in ctx.query.element_instances(pi.key):
            items.append(
                {
                    "processDefinitionId": pi.bpmn_process_id,
                    "startDate": iso(e.activated_at),
                    "endDate": iso(e.ended_at),
                    "elementId": e.element_id,
                    "elementName": e.element_id,
                    "type": e.element_type,
                    "state": _ELEMENT_STATE.get(e.state, "ACTIVE"),
                    "hasIncident": e.key in incidents,
                    "tenantId": pi.tenant_id,
                    "elementInstanceKey": str(e.key),
                    "processInstanceKey": str(pi.key),
                    "rootProcessInstanceKey": None,
                    "processDefinitionKey": str(pi.process_definition_key),
                    "incidentKey": key_str(incidents.get(e.key)),
                    "elementInstanceScopeKey": str(e.flow_scope_key),  # filter only
                }
            )
    return items


_ELEMENT_FIELDS: Fields = {
    "processDefinitionId": definition_id(),
    "state": enum("ACTIVE", "COMPLETED", "TERMINATED"),
    "type": enum(*ELEMENT_TYPES, plain=True),
    "elementId": text(),
    "elementName": text(),
    "hasIncident": flag(),
    "tenantId": tenant_id(plain=True),
    "elementInstanceKey": key(plain=True),
    "processInstanceKey": key(plain=True),
    "processDefinitionKey": key(plain=True),
    "incidentKey": key(plain=True),
    "startDate": date(),
    "endDate": date(),
    "elementInstanceScopeKey": key(),
}
_ELEMENT_SORT = [f for f in _ELEMENT_FIELDS if f not in ("hasIncident", "elementInstanceScopeKey")]


async def search_element_instances(request: Request) -> JSONResponse:
    query = await read_model(request, SearchQuery, required=False)
    items = _element_instances(context(request))
    return JSONResponse(search(query, items, _ELEMENT_FIELDS, _ELEMENT_SORT, ["elementInstanceScopeKey"]))


async def get_element_instance(request: Request) -> JSONResponse:
    key = path_key(request, "elementInstanceKey")
    for item in _element_instances(context(request)):
        if item.pop("elementInstanceScopeKey") is not None and item["elementInstanceKey"] == str(key):
            return JSONResponse(item)
    raise not_found(f"Element instance with key '{key}' not found")


# -- variables ---------------------------------------------------------------------------------------


def variable_items(ctx: RestContext) -> list[dict[str, Any]]:
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for record in ctx.query.records(value_type="VARIABLE"):
        if record.get("recordType", "EVENT") != "EVENT":
            continue
        value = record["value"]
        scope = (value["scopeKey"], value["name"])
        previous = latest.get(scope)
        latest[scope] = {
            "name": value["name"],
            "value": value["value"],
            "isTruncated": False,
            "tenantId": value.get("tenantId", "<default>"),
            "variableKey": previous["variableKey"] if previous else str(record["key"]),
            "scopeKey": str(value["scopeKey"]),
            "processInstanceKey": str(value["processInstanceKey"]),
            "rootProcessInstanceKey": None,
        }
    return list(latest.values())


_VARIABLE_FIELDS: Fields = {
    "name": text(),
    "value": text(),
    "tenantId": tenant_id(plain=True),
    "isTruncated": flag(),
    "variableKey": key(),
    "scopeKey": key(),
    "processInstanceKey": key(),
}
_VARIABLE_SORT = ["value", "name", "tenantId", "variableKey", "scopeKey", "processInstanceKey"]


async def search_variables(request: Request) -> JSONResponse:
    truncate = request.query_params.get("truncateValues", "false")
    if truncate not in ("true", "false"):
        raise invalid(f"The query parameter truncateValues is '{truncate}' but must be true or false.")
    query = await read_model(request, SearchQuery, required=False)
    items = variable_items(context(request))
    return JSONResponse(search(query, items, _VARIABLE_FIELDS, _VARIABLE_SORT))


async def get_variable(request: Request) -> JSONResponse:
    key = path_key(request, "variableKey")
    for item in variable_items(context(request)):
        if item["variableKey"] == str(key):
            return JSONResponse({k: v for k, v in item.items() if k != "isTruncated"})
    raise not_found(f"Variable with key '{key}' not found")


# -- incidents ---------------------------------------------------------------------------------------


def _incidents(ctx: RestContext) -> list[dict[str, Any]]:
    return [
        {
            "processDefinitionId": i.bpmn_process_id,
            "errorType": i.error_type,
            "errorMessage": i.error_message,
            "elementId": i.element_id,
            "creationTime": iso(i.created_at),
            "state": i.state,
            "tenantId": i.tenant_id,
            "incidentKey": str(i.key),
            "processDefinitionKey": str(i.process_definition_key),
            "processInstanceKey": str(i.process_instance_key),
            "rootProcessInstanceKey": None,
            "elementInstanceKey": str(i.element_instance_key),
            "jobKey": key_str(i.job_key),
        }
        for i in ctx.query.incidents()
    ]


INCIDENT_ERROR_TYPES = [
    "AD_HOC_SUB_PROCESS_NO_RETRIES",
    "CALLED_DECISION_ERROR",
    "CALLED_ELEMENT_ERROR",
    "CONDITION_ERROR",
    "DECISION_EVALUATION_ERROR",
    "EXECUTION_LISTENER_NO_RETRIES",
    "EXTRACT_VALUE_ERROR",
    "FORM_NOT_FOUND",
    "IO_MAPPING_ERROR",
    "JOB_NO_RETRIES",
    "MESSAGE_SIZE_EXCEEDED",
    "RESOURCE_NOT_FOUND",
    "SECRET_RESOLUTION_ERROR",
    "TASK_LISTENER_NO_RETRIES",
    "UNHANDLED_ERROR_EVENT",
    "UNKNOWN",
    "UNSPECIFIED",
]
_INCIDENT_FIELDS: Fields = {
    "processDefinitionId": text(),
    "errorType": enum(*INCIDENT_ERROR_TYPES),
    "errorMessage": text(),
    "elementId": text(),
    "creationTime": date(),
    "state": enum("ACTIVE", "MIGRATED", "PENDING", "RESOLVED", "UNKNOWN"),
    "tenantId": text(),
    "incidentKey": key(),
    "processDefinitionKey": key(),
    "processInstanceKey": key(),
    "elementInstanceKey": key(),
    "jobKey": key(),
}


async def search_incidents(request: Request) -> JSONResponse:
    query = await read_model(request, SearchQuery, required=False)
    sort = [f for f in _INCIDENT_FIELDS if f != "errorMessage"]
    return JSONResponse(search(query, _incidents(context(request)), _INCIDENT_FIELDS, sort))


async def get_incident(request: Request) -> JSONResponse:
    key = path_key(request, "incidentKey")
    for item in _incidents(context(request)):
        if item["incidentKey"] == str(key):
            return JSONResponse(item)
    raise not_found(f"Incident with key '{key}' not found")


async def resolve_incident(request: Request) -> Response:
    key = path_key(request, "incidentKey")
    await read_model(request, OperationReference, required=False)
    async with command("RESOLVE"):
        await context(request).engine.resolve_incident(key)
    return no_content()


routes = [
    Route("/process-instances", create_process_instance, methods=["POST"]),
    Route("/process-instances/search", search_process_instances, methods=["POST"]),
    Route("/process-instances/{processInstanceKey}", get_process_instance, methods=["GET"]),
    Route("/process-instances/{processInstanceKey}/cancellation", cancel_process_instance, methods=["POST"]),
    Route("/element-instances/search", search_element_instances, methods=["POST"]),
    Route("/element-instances/{elementInstanceKey}", get_element_instance, methods=["GET"]),
    Route("/variables/search", search_variables, methods=["POST"]),
    Route("/variables/{variableKey}", get_variable, methods=["GET"]),
    Route("/incidents/search", search_incidents, methods=["POST"]),
    Route("/incidents/{incidentKey}", get_incident, methods=["GET"]),
    Route("/incidents/{incidentKey}/resolution", resolve_incident, methods=["POST"]),
]
