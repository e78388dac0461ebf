"""Every request the console sends is one Camunda 8.8 documents, so the console works against any 8.8+
Orchestration Cluster and not only the embedded engine.

The console runs in-process (its pages and actions driven over ASGI) against a real engine process, with
its REST client's requests recorded. Each is checked against Camunda's OpenAPI description
(tests/engine/rest/spec/, the 8.10 line, which marks when each operation and property came:
``x-added-in-version``, ``x-properties-added-in-version``): the operation exists for the method and came
in 8.8 or before, and every body property, filter property, sort field and page property the console uses
is in the request schema and came in 8.8 or before.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from procgov.console.app import Console, create_console_app
from procgov.console.rest import ClusterApi
from procgov.console.settings import ConsoleSettings
from tests.console.conftest import activate, create_instance, deploy
from workers.runtime.reports import DirectoryStore

SPEC = json.loads((Path(__file__).resolve().parents[1] / "engine" / "rest" / "spec" / "rest-api.bundle.json")
                  .read_text(encoding="utf-8"))
OLDEST = (8, 8)
Json = dict[str, Any]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _resolve(schema: Json) -> Json:
    while "$ref" in schema:
        node: Any = SPEC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _properties(schema: Json) -> dict[str, tuple[Json, str | None]]:
    """Property name → (its schema, the version it came in), through ``$ref``, ``allOf`` and the
    alternatives of ``oneOf``/``anyOf`` (e.g. the page: limit, offset or cursor)."""
    schema = _resolve(schema)
    found: dict[str, tuple[Json, str | None]] = {}
    for part in [*schema.get("allOf", []), *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        found.update(_properties(part))
    added = {p["propertyName"]: p["addedInVersion"] for p in schema.get("x-properties-added-in-version", [])}
    for name, prop in schema.get("properties", {}).items():
        found[name] = (prop, added.get(name))
    return found


def _check_properties(where: str, used: dict[str, Any], schema: Json, problems: list[str]) -> None:
    known = _properties(schema)
    for name, value in used.items():
        if name not in known:
            problems.append(f"{where}: {name!r} is not in the request schema")
            continue
        prop, added = known[name]
        if added and _version(added) > OLDEST:
            problems.append(f"{where}: {name!r} came in {added}, after 8.8")
        if name == "filter" and isinstance(value, dict):
            _check_properties(f"{where} filter", value, prop, problems)
        if name == "page" and isinstance(value, dict):
            _check_properties(f"{where} page", value, prop, problems)
        if name == "sort" and isinstance(value, list):
            item = _resolve(_resolve(prop).get("items", {}))
            fields = _resolve(_properties(item)["field"][0]).get("enum", [])
            problems += [f"{where}: sort field {s['field']!r} not in {fields}"
                         for s in value if s["field"] not in fields]
        if name == "changeset" and isinstance(value, dict):
            _check_properties(f"{where} changeset", value, prop, problems)


def _operation(method: str, path: str) -> tuple[str, Json] | None:
    for template, operations in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    return None


def spec_problems(requests: list[tuple[str, str, Any]]) -> list[str]:
    problems: list[str] = []
    for method, path, body in requests:
        found = _operation(method, path.removeprefix("/v2"))
        if found is None:
            problems.append(f"{method} {path}: no such operation in the spec")
            continue
        template, operation = found
        where = f"{method} {template}"
        if _version(operation.get("x-added-in-version", "8.0")) > OLDEST:
            problems.append(f"{where} came in {operation['x-added-in-version']}, after 8.8")
        if isinstance(body, dict):
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                problems.append(f"{where} takes no JSON body")
            else:
                _check_properties(where, body, schema, problems)
    return problems


class _Recording(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        return await super().handle_async_request(request)


def test_the_checker_finds_what_8_8_lacks() -> None:
    assert spec_problems([("POST", "/v2/user-tasks/search", {"filter": {"businessId": "x"}})]) == [
        "POST /user-tasks/search filter: 'businessId' came in 8.10, after 8.8"]
    assert spec_problems([("POST", "/v2/user-tasks/search", {"sort": [{"field": "startDate"}]})])
    assert spec_problems([("GET", "/v2/user-tasks/1/nothing", None)]) == [
        "GET /v2/user-tasks/1/nothing: no such operation in the spec"]
    assert spec_problems([("POST", "/v2/incidents/1/resolution", {"colour": "red"})]) == [
        "POST /incidents/{incidentKey}/resolution: 'colour' is not in the request schema"]


def _prepare(engine_rest: str) -> tuple[str, str, list[Json], str]:
    """Two instances with a job incident each, and one with an open user task."""
    with httpx.Client(base_url=f"{engine_rest}/v2", timeout=30) as rest:
        deploy(rest, "console-work.bpmn", "console-approval.bpmn", "console-approval.form")
        work = create_instance(rest, "console-work")
        for instance in (work, create_instance(rest, "console-work")):
            job = activate(rest, "console-check", instance)
            rest.post(f"/jobs/{job['jobKey']}/failure", json={"retries": 0, "errorMessage": "down"})
        approval = create_instance(rest, "console-approval", {"requestTitle": "t", "requester": "r"})
        incidents = rest.post("/incidents/search", json={"filter": {"state": "ACTIVE"}}).json()["items"]
        tasks = rest.post("/user-tasks/search", json={"filter": {"processInstanceKey": approval}}).json()["items"]
    assert len(incidents) >= 2 and tasks, (incidents, tasks)
    return work, approval, incidents, str(tasks[0]["userTaskKey"])


@pytest.mark.timeout(120)
async def test_every_request_of_every_page_and_action_is_in_camunda_8_8(engine_rest: str, tmp_path: Path) -> None:
    work, approval, incidents, task = await asyncio.to_thread(_prepare, engine_rest)
    recording = _Recording()
    api = ClusterApi(engine_rest, transport=recording)
    console = Console(ConsoleSettings(user="alice"), api, DirectoryStore(tmp_path))
    csrf = {"X-Console-CSRF": console.local_csrf}
    pages = ["/tasks", "/tasks?assignee=me", "/tasks?assignee=unassigned&q=Approve&state=CREATED&group=reviewers",
             "/tasks?state=COMPLETED", f"/tasks/{task}", "/instances",
             "/instances?state=ACTIVE&process=console&incidents=1", f"/instances/{work}", f"/instances/{approval}",
             "/reports"]
    actions = [f"/api/tasks/{task}/claim", f"/api/tasks/{task}/unclaim", f"/api/tasks/{task}/claim",
               f"/api/incidents/{incidents[0]['incidentKey']}/retry",
               f"/api/incidents/{incidents[1]['incidentKey']}/resolve"]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_console_app(console)),
                                     base_url="http://127.0.0.1") as client:
            for page in pages:
                answer = await client.get(page)
                assert answer.status_code == 200, (page, answer.text[-500:])
            for action in actions:
                answer = await client.post(action, headers=csrf)
                assert answer.status_code == 200, (action, answer.text)
            answer = await client.post(f"/api/tasks/{task}/complete", headers=csrf,
                                       json={"variables": {"comment": "ok", "approved": True}})
            assert answer.status_code == 200, answer.text
    finally:
        await api.aclose()

    used = {(method, re.sub(r"/\d+", "/{key}", path)) for method, path, _ in recording.requests}
    assert used == {  # every kind of call the console makes was made
        ("GET", "/v2/user-tasks/{key}"), ("GET", "/v2/user-tasks/{key}/form"), ("POST", "/v2/user-tasks/search"),
        ("POST", "/v2/user-tasks/{key}/variables/search"), ("POST", "/v2/user-tasks/{key}/assignment"),
        ("DELETE", "/v2/user-tasks/{key}/assignee"), ("POST", "/v2/user-tasks/{key}/completion"),
        ("POST", "/v2/process-instances/search"), ("GET", "/v2/process-instances/{key}"),
        ("GET", "/v2/process-definitions/{key}/xml"), ("POST", "/v2/element-instances/search"),
        ("POST", "/v2/variables/search"), ("POST", "/v2/incidents/search"), ("GET", "/v2/incidents/{key}"),
        ("PATCH", "/v2/jobs/{key}"), ("POST", "/v2/incidents/{key}/resolution"),
    }, used
    assert spec_problems(recording.requests) == []
