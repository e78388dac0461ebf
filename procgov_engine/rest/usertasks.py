"""Camunda user tasks: search, get, assign, unassign, update, complete, their form and variables.

Camunda docs, "Orchestration Cluster API" → "User task" (Search user tasks, Get user task, Assign user task,
Unassign user task, Update user task, Complete user task, Get user task form, Search user task variables).
Commands answer once the task's transition has ended, its task listeners included; a listener's denial is
the command's rejection (409 INVALID_STATE), a task that does not exist (or no longer: completed, canceled)
is 404 NOT_FOUND. Searches read the USER_TASK records (``procgov_engine.core.query.fold_user_tasks``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from procgov_engine.api import RequestTimeout
from procgov_engine.core.query import UserTaskView
from procgov_engine.rest.body import read_model
from procgov_engine.rest.context import RestContext, command, context, iso, no_content, path_key
from procgov_engine.rest.instances import DEFAULT_REQUEST_TIMEOUT_MS, variable_items
from procgov_engine.rest.models import UserTaskAssignment, UserTaskCompletion, UserTaskUpdate
from procgov_engine.rest.problems import Problem, invalid, not_found
from procgov_engine.rest.resources import form_result
from procgov_engine.rest.search import (
    Fields,
    SearchQuery,
    date,
    definition_id,
    enum,
    key,
    matches_condition,
    number,
    search,
    tag_set,
    text,
    validate_filter,
)

STATES = ("CREATING", "CREATED", "ASSIGNING", "UPDATING", "COMPLETING", "COMPLETED", "CANCELING", "CANCELED", "FAILED")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _or_none(value: str) -> str | None:
    return value or None


def _date(value: str) -> str | None:
    """A due or follow-up date as Camunda's API answers dates: UTC with milliseconds (the record keeps the
    text as modelled or given, e.g. with an offset)."""
    if not value:
        return None
    text = value.split("[", 1)[0]  # a zone id after the offset adds nothing to the instant
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return iso(int(moment.timestamp() * 1000))


def user_task_item(ctx: RestContext, view: UserTaskView) -> dict[str, Any]:
    """A UserTaskResult; candidateGroup/candidateUser (lists) are there for filtering only."""
    return {
        "name": ctx.query.element_name(view.process_definition_key, view.element_id),
        "state": view.state,
        "assignee": _or_none(view.assignee),
        "elementId": view.element_id,
        "candidateGroups": view.candidate_groups,
        "candidateUsers": view.candidate_users,
        "processDefinitionId": view.bpmn_process_id,
        "creationDate": iso(view.created_at),
        "completionDate": iso(view.completed_at),
        "followUpDate": _date(view.follow_up_date),
        "dueDate": _date(view.due_date),
        "tenantId": view.tenant_id,
        "externalFormReference": _or_none(view.external_form_reference),
        "processDefinitionVersion": view.process_definition_version,
        "customHeaders": view.custom_headers,
        "priority": view.priority,
        "userTaskKey": str(view.key),
        "elementInstanceKey": str(view.element_instance_key),
        "processName": None,
        "processDefinitionKey": str(view.process_definition_key),
        "processInstanceKey": str(view.process_instance_key),
        "rootProcessInstanceKey": None,
        "businessId": None,
        "formKey": str(view.form_key) if view.form_key > 0 else None,
        "tags": list(view.tags),
        "candidateGroup": view.candidate_groups,  # filter only
        "candidateUser": view.candidate_users,  # filter only
    }


_FILTER_ONLY = ("candidateGroup", "candidateUser")
_FIELDS: Fields = {
    "state": enum(*STATES),
    "assignee": text(),
    "priority": number(),
    "elementId": definition_id(),
    "name": text(),
    "candidateGroup": text(),
    "candidateUser": text(),
    "tenantId": text(),
    "processDefinitionId": text(),
    "creationDate": date(),
    "completionDate": date(),
    "followUpDate": date(),
    "dueDate": date(),
    "userTaskKey": key(),
    "processDefinitionKey": key(),
    "processInstanceKey": key(),
    "elementInstanceKey": key(),
    "businessId": text(),
    "tags": tag_set(),
}
_SORT = ["creationDate", "completionDate", "followUpDate", "dueDate", "priority", "name", "businessId"]


def _variable_filters(value: Any, what: str) -> list[tuple[str, Any]]:
    """``processInstanceVariables`` / ``localVariables``: ``[{name, value}]``, the value a string filter on
    the variable's JSON."""
    if not isinstance(value, list):
        raise invalid(f"The filter property {what!r} must be a list of {{name, value}} objects")
    filters = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"name", "value"} or not isinstance(entry["name"], str):
            raise invalid(f"Each entry of the filter property {what!r} needs exactly a 'name' and a 'value'")
        condition = entry["value"]
        validate_filter({"value": condition}, {"value": text()})  # a StringFilterProperty: its operators
        filters.append((entry["name"], condition))
    return filters


def _variables_match(variables: dict[str, str], filters: list[tuple[str, Any]]) -> bool:
    return all(name in variables and matches_condition(variables[name], cond) for name, cond in filters)


async def search_user_tasks(request: Request) -> JSONResponse:
    query = await read_model(request, SearchQuery, required=False)
    ctx = context(request)
    filter_ = dict(query.filter or {})
    instance_filters = _variable_filters(filter_.pop("processInstanceVariables", []), "processInstanceVariables")
    local_filters = _variable_filters(filter_.pop("localVariables", []), "localVariables")
    views = ctx.query.user_tasks()
    if instance_filters or local_filters:
        scoped = variable_items(ctx)
        by_scope: dict[str, dict[str, str]] = {}
        for item in scoped:
            by_scope.setdefault(item["scopeKey"], {})[item["name"]] = item["value"]
        views = [
            v
            for v in views
            if _variables_match(by_scope.get(str(v.process_instance_key), {}), instance_filters)
            and _variables_match(by_scope.get(str(v.element_instance_key), {}), local_filters)
        ]
    items = [user_task_item(ctx, v) for v in views]
    return JSONResponse(search(query.model_copy(update={"filter": filter_}), items, _FIELDS, _SORT, _FILTER_ONLY))


def _view(ctx: RestContext, key: int) -> UserTaskView:
    view = ctx.query.user_task(key)
    if view is None:
        raise not_found(f"User task with key '{key}' not found")
    return view


async def get_user_task(request: Request) -> JSONResponse:
    ctx = context(request)
    item = user_task_item(ctx, _view(ctx, path_key(request, "userTaskKey")))
    return JSONResponse({k: v for k, v in item.items() if k not in _FILTER_ONLY})


async def get_user_task_form(request: Request) -> Response:
    ctx = context(request)
    view = _view(ctx, path_key(request, "userTaskKey"))
    if view.form_key <= 0:
        return no_content()
    form = form_result(ctx, view.form_key)
    if form is None:
        raise not_found(f"Form with key '{view.form_key}' not found")
    return JSONResponse(form)


async def search_user_task_variables(request: Request) -> JSONResponse:
    """The variables visible in the task's scope: its element instance's own first, then each enclosing
    scope's up to the process instance (an inner one hides an outer one of the same name)."""
    ctx = context(request)
    view = _view(ctx, path_key(request, "userTaskKey"))
    query = await read_model(request, SearchQuery, required=False)
    scopes = {e.key: e.flow_scope_key for e in ctx.query.element_instances(view.process_instance_key)}
    chain, scope = [], view.element_instance_key
    while scope > 0 and scope not in chain:
        chain.append(scope)
        scope = scopes.get(scope, -1)
    rank = {str(s): n for n, s in enumerate(chain)}
    visible: dict[str, tuple[int, dict[str, Any]]] = {}
    for item in variable_items(ctx):
        depth = rank.get(item["scopeKey"])
        if depth is None:
            continue
        seen = visible.get(item["name"])
        if seen is None or depth < seen[0]:
            visible[item["name"]] = (depth, item)
    items = [item for _, item in visible.values()]
    fields: Fields = {"name": text()}
    sort = ["value", "name", "tenantId", "variableKey", "scopeKey", "processInstanceKey"]
    return JSONResponse(search(query, items, fields, sort))


async def _run(coroutine: Any, intent: str) -> None:
    try:
        async with command(intent):
            await coroutine
    except RequestTimeout as error:
        raise Problem(504, "DEADLINE_EXCEEDED", str(error)) from None


async def assign_user_task(request: Request) -> Response:
    key = path_key(request, "userTaskKey")
    body = await read_model(request, UserTaskAssignment)
    if not body.assignee:
        raise invalid("No assignee provided.")
    allow_override = body.allowOverride is not False
    await _run(
        context(request).engine.assign_user_task(
            key,
            body.assignee,
            action=body.action or "",
            allow_override=allow_override,
            timeout_ms=DEFAULT_REQUEST_TIMEOUT_MS,
        ),
        "ASSIGN" if allow_override else "CLAIM",
    )
    return no_content()


async def unassign_user_task(request: Request) -> Response:
    key = path_key(request, "userTaskKey")
    await _run(
        context(request).engine.assign_user_task(key, "", action="unassign", timeout_ms=DEFAULT_REQUEST_TIMEOUT_MS),
        "ASSIGN",
    )
    return no_content()


async def complete_user_task(request: Request) -> Response:
    key = path_key(request, "userTaskKey")
    body = await read_model(request, UserTaskCompletion, required=False)
    await _run(
        context(request).engine.complete_user_task(
            key, body.variables or {}, action=body.action or "", timeout_ms=DEFAULT_REQUEST_TIMEOUT_MS
        ),
        "COMPLETE",
    )
    return no_content()


def _date_change(name: str, value: str | None, changes: dict[str, Any]) -> None:
    if value is None:
        return
    if value and not _RFC3339.fullmatch(value):
        raise invalid(f"The provided {name} '{value}' cannot be parsed as a date according to RFC 3339, section 5.6.")
    changes[name] = value


async def update_user_task(request: Request) -> Response:
    """Camunda docs, "Update user task": candidate groups/users, due and follow-up date, priority; null or
    missing keeps a value, "" / [] resets it; other changeset attributes are ignored."""
    key = path_key(request, "userTaskKey")
    body = await read_model(request, UserTaskUpdate, required=False)
    changes: dict[str, Any] = {}
    changeset = body.changeset
    if changeset is not None:
        _date_change("dueDate", changeset.dueDate, changes)
        _date_change("followUpDate", changeset.followUpDate, changes)
        if changeset.candidateGroups is not None:
            changes["candidateGroupsList"] = list(changeset.candidateGroups)
        if changeset.candidateUsers is not None:
            changes["candidateUsersList"] = list(changeset.candidateUsers)
        if changeset.priority is not None:
            changes["priority"] = changeset.priority
    if not changes and body.action is None:
        raise invalid(
            'No update data provided. Provide at least an "action" or a non-null value for at least one of the '
            "changeset attributes [candidateGroups, candidateUsers, dueDate, followUpDate, priority]."
        )
    await _run(
        context(request).engine.update_user_task(
            key, changes, action=body.action or "", timeout_ms=DEFAULT_REQUEST_TIMEOUT_MS
        ),
        "UPDATE",
    )
    return no_content()


routes = [
    Route("/user-tasks/search", search_user_tasks, methods=["POST"]),
    Route("/user-tasks/{userTaskKey}", get_user_task, methods=["GET"]),
    Route("/user-tasks/{userTaskKey}", update_user_task, methods=["PATCH"]),
    Route("/user-tasks/{userTaskKey}/assignment", assign_user_task, methods=["POST"]),
    Route("/user-tasks/{userTaskKey}/assignee", unassign_user_task, methods=["DELETE"]),
    Route("/user-tasks/{userTaskKey}/completion", complete_user_task, methods=["POST"]),
    Route("/user-tasks/{userTaskKey}/form", get_user_task_form, methods=["GET"]),
    Route("/user-tasks/{userTaskKey}/variables/search", search_user_task_variables, methods=["POST"]),
]
