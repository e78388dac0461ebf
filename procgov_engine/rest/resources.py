"""Deployed resources: ``POST /deployments`` (multipart), process definitions, forms."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from procgov_engine.api import Deployment, FormMetadata, ProcessMetadata, Resource
from procgov_engine.rest.body import MAX_BODY_BYTES, read_model, too_large
from procgov_engine.rest.context import RestContext, command, context, key_str, path_key, tenant
from procgov_engine.rest.problems import bad_request, invalid, not_found
from procgov_engine.rest.search import Fields, SearchQuery, enum, flag, key, number, search, tenant_id, text

MAX_RESOURCES = 100


def _deployment(d: Deployment) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    empty = {"processDefinition": None, "decisionDefinition": None, "decisionRequirements": None, "form": None}
    for p in d.processes:
        entries.append(empty | {"resource": None, "processDefinition": _deployed_process(p)})
    for r in d.decision_requirements:
        entries.append(
            empty
            | {
                "resource": None,
                "decisionRequirements": {
                    "decisionRequirementsId": r.decision_requirements_id,
                    "decisionRequirementsName": r.decision_requirements_name,
                    "version": r.version,
                    "resourceName": r.resource_name,
                    "tenantId": r.tenant_id,
                    "decisionRequirementsKey": str(r.decision_requirements_key),
                },
            }
        )
    for x in d.decisions:
        entries.append(
            empty
            | {
                "resource": None,
                "decisionDefinition": {
                    "decisionDefinitionId": x.decision_id,
                    "version": x.version,
                    "name": x.decision_name,
                    "tenantId": x.tenant_id,
                    "decisionRequirementsId": x.decision_requirements_id,
                    "decisionDefinitionKey": str(x.decision_key),
                    "decisionRequirementsKey": str(x.decision_requirements_key),
                },
            }
        )
    for f in d.forms:
        entries.append(empty | {"resource": None, "form": _deployed_form(f)})
    return {"deploymentKey": str(d.key), "tenantId": d.tenant_id, "deployments": entries}


def _deployed_process(p: ProcessMetadata) -> dict[str, Any]:
    return {
        "processDefinitionId": p.bpmn_process_id,
        "processDefinitionVersion": p.version,
        "resourceName": p.resource_name,
        "tenantId": p.tenant_id,
        "processDefinitionKey": str(p.process_definition_key),
    }


def _deployed_form(f: FormMetadata) -> dict[str, Any]:
    return {
        "formId": f.form_id,
        "version": f.version,
        "resourceName": f.resource_name,
        "tenantId": f.tenant_id,
        "formKey": str(f.form_key),
    }


async def deploy(request: Request) -> JSONResponse:
    """Camunda docs, "Deploy resources": every file part is a resource (any part name); atomic."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise bad_request("Content-Type must be multipart/form-data")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large(MAX_BODY_BYTES)
    try:
        form = await request.form(max_files=MAX_RESOURCES, max_fields=10, max_part_size=MAX_BODY_BYTES)
    except Exception as error:  # python-multipart / Starlette: malformed or over the limits
        raise bad_request(f"Failed to read the multipart request: {error}") from None
    try:
        resources: list[Resource] = []
        tenant_id = None
        size = 0
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read()
                size += len(content)
                if size > MAX_BODY_BYTES:
                    raise too_large(MAX_BODY_BYTES)
                resources.append(Resource(name=value.filename or name, content=content))
            elif name == "tenantId":
                tenant_id = value
            else:
                raise bad_request(f"Request property [{name}] cannot be parsed")
    finally:
        await form.close()
    if not resources:
        raise invalid("No resources provided.")
    async with command("CREATE"):
        deployment = await context(request).engine.deploy(resources, tenant_id=tenant(tenant_id))
    return JSONResponse(_deployment(deployment))


def _definition(p: ProcessMetadata, latest: bool, with_form: bool) -> dict[str, Any]:
    return {
        "name": None,
        "resourceName": p.resource_name,
        "version": p.version,
        "versionTag": None,
        "processDefinitionId": p.bpmn_process_id,
        "tenantId": p.tenant_id,
        "processDefinitionKey": str(p.process_definition_key),
        "hasStartForm": with_form,
        "state": "ACTIVE",
        "isLatestVersion": latest,  # filter-only property; dropped from the answer
    }


def process_definitions(request: Request) -> list[dict[str, Any]]:
    processes = context(request).query.processes()
    latest: dict[tuple[str, str], int] = {}
    for p in processes:
        latest[(p.bpmn_process_id, p.tenant_id)] = max(latest.get((p.bpmn_process_id, p.tenant_id), 0), p.version)
    return [_definition(p, latest[(p.bpmn_process_id, p.tenant_id)] == p.version, False) for p in processes]


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "isLatestVersion"}


_DEFINITION_FIELDS: Fields = {
    "name": text(),
    "isLatestVersion": flag(),
    "resourceName": text(plain=True),
    "version": number(plain=True),
    "versionTag": text(plain=True),
    "processDefinitionId": text(),
    "tenantId": tenant_id(plain=True),
    "processDefinitionKey": key(plain=True),
    "hasStartForm": flag(),
    "state": enum("ACTIVE", "DRAINING", "DELETED", plain=True),
}
_DEFINITION_SORT = [
    "processDefinitionKey",
    "name",
    "resourceName",
    "version",
    "versionTag",
    "processDefinitionId",
    "tenantId",
]


async def search_process_definitions(request: Request) -> JSONResponse:
    query = await read_model(request, SearchQuery, required=False)
    items = process_definitions(request)
    return JSONResponse(search(query, items, _DEFINITION_FIELDS, _DEFINITION_SORT, ["isLatestVersion"]))


def _find_definition(request: Request) -> dict[str, Any]:
    key = path_key(request, "processDefinitionKey")
    for item in process_definitions(request):
        if item["processDefinitionKey"] == str(key):
            return item
    raise not_found(f"Process definition with key '{key}' not found")


async def get_process_definition(request: Request) -> JSONResponse:
    return JSONResponse(_public(_find_definition(request)))


async def get_process_definition_xml(request: Request) -> Response:
    key = path_key(request, "processDefinitionKey")
    xml = context(request).query.process_xml(key)
    if xml is None:
        raise not_found(f"Process definition with key '{key}' not found")
    return Response(xml, media_type="text/xml")


def form_result(ctx: RestContext, form_key: int) -> dict[str, Any] | None:
    """The FormResult of one deployed form version (also the answer of ``GET /user-tasks/{key}/form``)."""
    for f in ctx.query.forms():
        if f.form_key == form_key:
            return {
                "tenantId": f.tenant_id,
                "formId": f.form_id,
                "schema": json.dumps(ctx.query.form_by_key(form_key)),
                "version": f.version,
                "formKey": key_str(f.form_key),
            }
    return None


async def get_form(request: Request) -> JSONResponse:
    key = path_key(request, "formKey")
    found = form_result(context(request), key)
    if found is None:
        raise not_found(f"Form with key '{key}' not found")
    return JSONResponse(found)


routes = [
    Route("/deployments", deploy, methods=["POST"]),
    Route("/process-definitions/search", search_process_definitions, methods=["POST"]),
    Route("/process-definitions/{processDefinitionKey}", get_process_definition, methods=["GET"]),
    Route("/process-definitions/{processDefinitionKey}/xml", get_process_definition_xml, methods=["GET"]),
    Route("/forms/{formKey}", get_form, methods=["GET"]),
]
