"""Bad input over REST gets Camunda's status and problem detail, and nothing is half-applied.

Camunda docs, "Orchestration Cluster API" → "Problem detail" (RFC 9457 ``application/problem+json``:
type, title, status, detail, instance): a body that is not JSON or has a property of the wrong type or an
unknown one is ``400 Bad Request``; a missing or invalid value is ``400 INVALID_ARGUMENT``; an unknown
key is ``404 NOT_FOUND``; a command in the wrong state is ``409 INVALID_STATE``; "Deploy resources" is
atomic (all resources or none).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rest_helpers import RESOURCES, deploy

from procgov_engine.rest.body import MAX_BODY_BYTES

MISSING_KEY = "2251799813999999"


def _problem(response: httpx.Response, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = dict(response.json())
    assert problem["status"] == status and problem["title"] == title and problem["type"] == "about:blank"
    assert problem["instance"] == response.request.url.path
    return problem


async def _instances(http: httpx.AsyncClient) -> int:
    return int((await http.post("/process-instances/search", json={})).json()["page"]["totalItems"])


async def test_malformed_json_is_bad_request(http: httpx.AsyncClient) -> None:
    await deploy(http, "rest-order.bpmn")
    response = await http.post(
        "/process-instances",
        content=b'{"processDefinitionId": "rest-order",',
        headers={"content-type": "application/json"},
    )
    assert _problem(response, 400, "Bad Request")["detail"] == "Failed to read request"
    assert await _instances(http) == 0


@pytest.mark.parametrize(
    ("body", "title", "detail"),
    [
        ({"processDefinitionId": "rest-order", "colour": "red"}, "Bad Request", "Request property [colour]"),
        ({"processDefinitionId": "rest-order", "variables": []}, "Bad Request", "Request property [variables]"),
        (
            {"processDefinitionId": "rest-order", "processDefinitionVersion": "1"},
            "Bad Request",
            "[processDefinitionVersion]",
        ),
        ({"variables": {}}, "INVALID_ARGUMENT", "At least one of [processDefinitionId, processDefinitionKey]"),
        ({"processDefinitionId": "rest-order", "processDefinitionKey": "1"}, "INVALID_ARGUMENT", "Only one of"),
        ({"processDefinitionKey": "not-a-key"}, "INVALID_ARGUMENT", "processDefinitionKey"),
    ],
)
async def test_invalid_creation_requests_create_nothing(
    http: httpx.AsyncClient, body: dict[str, Any], title: str, detail: str
) -> None:
    await deploy(http, "rest-order.bpmn")
    problem = _problem(await http.post("/process-instances", json=body), 400, title)
    assert detail in problem["detail"]
    assert await _instances(http) == 0


async def test_missing_required_property_is_named(http: httpx.AsyncClient) -> None:
    response = await http.post("/jobs/activation", json={"timeout": 1000, "maxJobsToActivate": 1})
    assert _problem(response, 400, "INVALID_ARGUMENT")["detail"] == "No type provided."


async def test_oversized_body_is_refused_whole(http: httpx.AsyncClient) -> None:
    await deploy(http, "rest-order.bpmn")
    big = {"processDefinitionId": "rest-order", "variables": {"blob": "x" * (MAX_BODY_BYTES + 1)}}
    _problem(await http.post("/process-instances", json=big), 413, "PAYLOAD_TOO_LARGE")
    assert await _instances(http) == 0


async def test_unknown_and_malformed_keys(http: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", f"/jobs/{MISSING_KEY}/completion"),
        ("POST", f"/jobs/{MISSING_KEY}/failure"),
        ("POST", f"/incidents/{MISSING_KEY}/resolution"),
        ("POST", f"/process-instances/{MISSING_KEY}/cancellation"),
        ("GET", f"/process-instances/{MISSING_KEY}"),
        ("GET", f"/incidents/{MISSING_KEY}"),
        ("GET", f"/process-definitions/{MISSING_KEY}"),
        ("GET", f"/forms/{MISSING_KEY}"),
    ]:
        _problem(await http.request(method, path), 404, "NOT_FOUND")
    problem = _problem(await http.post("/jobs/abc/completion"), 400, "INVALID_ARGUMENT")
    assert "jobKey" in problem["detail"]
    _problem(await http.get("/process-instances/99999999999999999999"), 400, "INVALID_ARGUMENT")


async def test_wrong_state_is_conflict_and_leaves_the_job_alone(http: httpx.AsyncClient) -> None:
    """Resolving an incident that is not active, or completing a job twice: nothing changes."""
    await deploy(http, "rest-order.bpmn")
    await http.post("/process-instances", json={"processDefinitionId": "rest-order", "variables": {"orderId": "w"}})
    jobs = (
        await http.post("/jobs/activation", json={"type": "rest-work", "timeout": 60_000, "maxJobsToActivate": 1})
    ).json()
    key = jobs["jobs"][0]["jobKey"]
    bad_update = await http.patch(f"/jobs/{key}", json={"changeset": {"retries": 5, "timeout": -1}})
    _problem(bad_update, 400, "INVALID_ARGUMENT")
    empty_update = await http.patch(f"/jobs/{key}", json={"changeset": {}})
    assert "At least one of" in _problem(empty_update, 400, "INVALID_ARGUMENT")["detail"]
    activated = (
        await http.post(
            "/jobs/activation",
            json={"type": "rest-work", "timeout": 60_000, "maxJobsToActivate": 1, "requestTimeout": -1},
        )
    ).json()
    assert activated["jobs"] == []  # still activated for the first worker
    assert (await http.post(f"/jobs/{key}/completion")).status_code == 204
    _problem(await http.post(f"/jobs/{key}/completion"), 404, "NOT_FOUND")


async def test_deployment_is_atomic(http: httpx.AsyncClient) -> None:
    files = [
        ("resources", ("rest-order.bpmn", (RESOURCES / "rest-order.bpmn").read_bytes())),
        ("resources", ("broken.bpmn", b"<definitions>not bpmn")),
    ]
    problem = _problem(await http.post("/deployments", files=files), 400, "INVALID_ARGUMENT")
    assert "broken.bpmn" in problem["detail"]
    definitions = (await http.post("/process-definitions/search", json={})).json()
    assert definitions["page"]["totalItems"] == 0
    no_files = await http.post("/deployments", data={"tenantId": "<default>"}, files=[])
    assert no_files.status_code == 400


async def test_search_refuses_unknown_filter_sort_and_cursor(http: httpx.AsyncClient) -> None:
    """Search requests: an unknown filter property, sort field, operator or cursor is 400."""
    for body in (
        {"filter": {"colour": "red"}},
        {"sort": [{"field": "colour"}]},
        {"filter": {"state": {"$regex": "A.*"}}},
        {"page": {"after": "bm90LWEtbnVtYmVy"}},
        {"page": {"limit": 0}},
        {"filter": {"processInstanceKey": 12}},
    ):
        response = await http.post("/process-instances/search", json=body)
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/problem+json"


async def test_durations_and_instants_past_year_9999_are_refused(http: httpx.AsyncClient) -> None:
    """The spec allows any int64, but a pinned clock or a job deadline past 9999 could not be stored:
    refused with 400, and the engine keeps taking commands."""
    assert (await http.put("/clock", json={"timestamp": 2**63 - 1})).status_code == 400
    too_long = {"type": "rest-work", "timeout": 2**62, "maxJobsToActivate": 1}
    _problem(await http.post("/jobs/activation", json=too_long), 400, "INVALID_ARGUMENT")
    await deploy(http, "rest-order.bpmn")
    assert (await http.post("/process-instances", json={"processDefinitionId": "rest-order"})).status_code == 200
    assert (await http.get("/status")).status_code == 204


async def test_json_that_strict_json_cannot_hold_is_refused(http: httpx.AsyncClient) -> None:
    """NaN, lone surrogates and documents nested past the limit are not strict JSON: 400, nothing created."""
    await deploy(http, "rest-order.bpmn")
    for raw in (
        b'{"processDefinitionId": "rest-order", "variables": {"x": NaN}}',
        b'{"processDefinitionId": "rest-order", "variables": {"x": "\\ud800"}}',
        b'{"processDefinitionId": "rest-order", "variables": {"x": ' + b"[" * 200 + b"]" * 200 + b"}}",
    ):
        response = await http.post("/process-instances", content=raw, headers={"content-type": "application/json"})
        _problem(response, 400, "INVALID_ARGUMENT")
    assert await _instances(http) == 0
