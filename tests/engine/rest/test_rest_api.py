"""The REST API over real HTTP on loopback, against the engine that also serves gRPC.

Each test cites the section of Camunda's "Orchestration Cluster API" reference (REST, v2) whose
behaviour it checks; bodies and status codes follow the spec file under ``spec/``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from pyzeebe import ZeebeClient, create_insecure_channel
from rest_helpers import deploy

from procgov_engine.server import RunningServer

ACTIVATE = {"type": "rest-work", "timeout": 30_000, "maxJobsToActivate": 5, "worker": "api-test"}


async def _create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post("/process-instances", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _activate(http: httpx.AsyncClient, request_timeout_ms: int = 2_000) -> list[dict[str, Any]]:
    response = await http.post("/jobs/activation", json=ACTIVATE | {"requestTimeout": request_timeout_ms})
    assert response.status_code == 200, response.text
    return list(response.json()["jobs"])


async def test_topology_and_status(http: httpx.AsyncClient, server: RunningServer) -> None:
    """ "Get cluster topology": one broker leading the one partition, its gRPC port; "Get cluster
    status": 204 while the cluster has a healthy partition leader."""
    topology = (await http.get("/topology")).json()
    assert topology["clusterSize"] == 1 and topology["partitionsCount"] == 1
    assert topology["brokers"][0]["port"] == server.port
    assert topology["brokers"][0]["partitions"] == [
        {"partitionId": 1, "role": "leader", "health": "healthy", "state": "active"}
    ]
    assert (await http.get("/status")).status_code == 204


async def test_deploy_bpmn_dmn_and_form_then_read_them_back(http: httpx.AsyncClient) -> None:
    """ "Deploy resources" (multipart, one entry per deployed definition), "Get process definition",
    "Get process definition XML", "Search process definitions", "Get form"."""
    deployment = await deploy(http, "rest-order.bpmn", "rest-grade.dmn", "rest-form.form")
    entries = deployment["deployments"]
    process = next(e["processDefinition"] for e in entries if e["processDefinition"])
    decision = next(e["decisionDefinition"] for e in entries if e["decisionDefinition"])
    form = next(e["form"] for e in entries if e["form"])
    assert (process["processDefinitionId"], process["processDefinitionVersion"]) == ("rest-order", 1)
    assert decision["decisionDefinitionId"] == "bh-exam-grade"
    assert form["formId"] == "rest-form"

    key = process["processDefinitionKey"]
    got = (await http.get(f"/process-definitions/{key}")).json()
    assert got["processDefinitionId"] == "rest-order" and got["resourceName"] == "rest-order.bpmn"
    xml = await http.get(f"/process-definitions/{key}/xml")
    assert xml.headers["content-type"].startswith("text/xml") and b'id="rest-order"' in xml.content

    await deploy(http, "rest-order.bpmn")  # same content: no new version
    changed = (await http.post("/deployments", files=[("resources", ("rest-order.bpmn", _renamed_order()))])).json()
    assert changed["deployments"][0]["processDefinition"]["processDefinitionVersion"] == 2
    latest = await http.post(
        "/process-definitions/search", json={"filter": {"processDefinitionId": "rest-order", "isLatestVersion": True}}
    )
    assert [d["version"] for d in latest.json()["items"]] == [2]

    got_form = (await http.get(f"/forms/{form['formKey']}")).json()
    assert json.loads(got_form["schema"])["id"] == "rest-form"


def _renamed_order() -> bytes:
    from rest_helpers import RESOURCES

    return (RESOURCES / "rest-order.bpmn").read_bytes().replace(b'name="Work"', b'name="Work v2"')


async def test_create_with_await_completion_and_start_instructions(http: httpx.AsyncClient) -> None:
    """ "Create process instance": ``awaitCompletion`` answers with the completed instance's variables
    (``fetchVariables`` limits them); ``startInstructions`` start at the given element instead."""
    await deploy(http, "rest-straight.bpmn", "rest-order.bpmn")
    done = await _create(
        http,
        processDefinitionId="rest-straight",
        variables={"a": 1, "b": 2},
        awaitCompletion=True,
        fetchVariables=["a"],
    )
    assert done["variables"] == {"a": 1}

    started = await _create(
        http, processDefinitionId="rest-order", variables={"orderId": "skip"}, startInstructions=[{"elementId": "paid"}]
    )
    assert await _activate(http, 100) == []  # the service task was skipped
    correlated = await http.post("/messages/correlation", json={"name": "rest-paid", "correlationKey": "skip"})
    assert correlated.json()["processInstanceKey"] == started["processInstanceKey"]
    instance = (await http.get(f"/process-instances/{started['processInstanceKey']}")).json()
    assert instance["state"] == "COMPLETED" and instance["endDate"] is not None


async def test_await_completion_times_out_with_504(http: httpx.AsyncClient) -> None:
    """ "Create process instance" → 504: the instance did not complete within ``requestTimeout``."""
    await deploy(http, "rest-order.bpmn")
    response = await http.post(
        "/process-instances",
        json={"processDefinitionId": "rest-order", "awaitCompletion": True, "requestTimeout": 300},
    )
    assert response.status_code == 504 and response.json()["title"] == "DEADLINE_EXCEEDED"


async def test_cancel_then_cancel_again_is_not_found(http: httpx.AsyncClient) -> None:
    """ "Cancel process instance": 204, then 404 for an instance that is no longer active."""
    await deploy(http, "rest-order.bpmn")
    key = (await _create(http, processDefinitionId="rest-order"))["processInstanceKey"]
    assert (await http.post(f"/process-instances/{key}/cancellation")).status_code == 204
    assert (await http.get(f"/process-instances/{key}")).json()["state"] == "TERMINATED"
    again = await http.post(f"/process-instances/{key}/cancellation", json={})
    assert again.status_code == 404 and again.json()["title"] == "NOT_FOUND"


async def test_long_poll_answers_when_a_job_appears_and_before_the_request_timeout(http: httpx.AsyncClient) -> None:
    """ "Activate jobs" with long polling ("Job workers" → "Long polling"): a waiting request is
    answered as soon as a job is created; with none, it answers empty before ``requestTimeout``."""
    await deploy(http, "rest-order.bpmn")
    started = time.monotonic()
    assert await _activate(http, 600) == []
    assert time.monotonic() - started < 0.6

    waiting = asyncio.create_task(_activate(http, 5_000))
    await asyncio.sleep(0.2)
    await _create(http, processDefinitionId="rest-order", variables={"orderId": "lp"})
    jobs = await asyncio.wait_for(waiting, 3)
    assert [j["variables"]["orderId"] for j in jobs] == ["lp"]
    assert jobs[0]["customHeaders"] == {"channel": "rest"} and jobs[0]["retries"] == 3


async def test_job_error_timeout_update_and_fetch_variables(http: httpx.AsyncClient) -> None:
    """ "Activate jobs" (``fetchVariable``), "Update job" (timeout), "Throw error for job": an error
    no boundary catches raises an UNHANDLED_ERROR_EVENT incident."""
    await deploy(http, "rest-order.bpmn")
    await _create(http, processDefinitionId="rest-order", variables={"orderId": "e1", "secretish": "x"})
    response = await http.post("/jobs/activation", json=ACTIVATE | {"fetchVariable": ["orderId"]})
    job = response.json()["jobs"][0]
    assert job["variables"] == {"orderId": "e1"}
    updated = await http.patch(f"/jobs/{job['jobKey']}", json={"changeset": {"timeout": 120_000}})
    assert updated.status_code == 204
    thrown = await http.post(f"/jobs/{job['jobKey']}/error", json={"errorCode": "NOT_PAID", "errorMessage": "no"})
    assert thrown.status_code == 204
    incidents = (await http.post("/incidents/search", json={"filter": {"jobKey": job["jobKey"]}})).json()["items"]
    assert [i["errorType"] for i in incidents] == ["UNHANDLED_ERROR_EVENT"]
    one = (await http.get(f"/incidents/{incidents[0]['incidentKey']}")).json()
    assert one == incidents[0]


async def test_message_publication_buffers_and_deduplicates(http: httpx.AsyncClient) -> None:
    """ "Publish message": with a TTL the message waits for a subscription; the same ``messageId``
    within the TTL is rejected 409 ALREADY_EXISTS. "Correlate message" with no subscription → 404."""
    await deploy(http, "rest-order.bpmn")
    body = {"name": "rest-paid", "correlationKey": "m1", "timeToLive": 60_000, "messageId": "pay-m1"}
    published = await http.post("/messages/publication", json=body)
    assert published.status_code == 200 and published.json()["tenantId"] == "<default>"
    duplicate = await http.post("/messages/publication", json=body)
    assert duplicate.status_code == 409 and duplicate.json()["title"] == "ALREADY_EXISTS"

    key = (await _create(http, processDefinitionId="rest-order", variables={"orderId": "m1"}))["processInstanceKey"]
    job = (await _activate(http))[0]
    assert (await http.post(f"/jobs/{job['jobKey']}/completion")).status_code == 204
    assert (await http.get(f"/process-instances/{key}")).json()["state"] == "COMPLETED"

    nobody = await http.post("/messages/correlation", json={"name": "rest-paid", "correlationKey": "nobody"})
    assert nobody.status_code == 404


async def test_signal_and_decision(http: httpx.AsyncClient) -> None:
    """ "Broadcast signal" answers its key; "Evaluate decision" by id: output and matched rule, JSON-encoded."""
    await deploy(http, "rest-grade.dmn")
    signal = await http.post("/signals/broadcast", json={"signalName": "nobody-listens"})
    assert signal.status_code == 200 and int(signal.json()["signalKey"]) > 0
    result = (
        await http.post(
            "/decision-definitions/evaluation",
            json={"decisionDefinitionId": "bh-exam-grade", "variables": {"score": 95}},
        )
    ).json()
    assert json.loads(result["output"]) == "distinction"
    assert result["evaluatedDecisions"][0]["matchedRules"][0]["ruleId"] == "rule-distinction"
    missing = await http.post("/decision-definitions/evaluation", json={"decisionDefinitionId": "no-such"})
    assert missing.status_code == 404


async def test_pinned_clock_fires_timers_and_reset_returns_to_system_time(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    """ "Pin internal clock": the engine's clock stands at the given instant, and timers due by then
    fire; "Reset internal clock": back to system time."""
    await deploy(http, "rest-timer.bpmn")
    key = (await _create(http, processDefinitionId="rest-timer"))["processInstanceKey"]
    pinned = int(time.time() * 1000) + 2 * 3_600_000
    assert (await http.put("/clock", json={"timestamp": pinned})).status_code == 204
    assert server.engine.clock.now_ms() == pinned
    for _ in range(50):
        if (await http.get(f"/process-instances/{key}")).json()["state"] == "COMPLETED":
            break
        await asyncio.sleep(0.05)
    assert (await http.get(f"/process-instances/{key}")).json()["state"] == "COMPLETED"
    assert (await http.post("/clock/reset")).status_code == 204
    assert abs(server.engine.clock.now_ms() - time.time() * 1000) < 5_000


async def test_searches_filter_sort_and_page(http: httpx.AsyncClient) -> None:
    """Search requests (Camunda docs, "Search requests"): ``filter`` with exact values and operators,
    ``sort``, ``page`` with ``limit`` and cursors; element instances and variables by instance."""
    await deploy(http, "rest-order.bpmn")
    keys = [
        (await _create(http, processDefinitionId="rest-order", variables={"orderId": f"p{n}"}))["processInstanceKey"]
        for n in range(3)
    ]
    first = (
        await http.post(
            "/process-instances/search",
            json={"sort": [{"field": "processInstanceKey", "order": "DESC"}], "page": {"limit": 2}},
        )
    ).json()
    assert [i["processInstanceKey"] for i in first["items"]] == keys[::-1][:2]
    assert first["page"]["totalItems"] == 3
    rest = (
        await http.post(
            "/process-instances/search",
            json={
                "sort": [{"field": "processInstanceKey", "order": "desc"}],
                "page": {"after": first["page"]["endCursor"]},
            },
        )
    ).json()
    assert [i["processInstanceKey"] for i in rest["items"]] == [keys[0]]
    some = await http.post("/process-instances/search", json={"filter": {"processInstanceKey": {"$in": keys[:2]}}})
    assert sorted(i["processInstanceKey"] for i in some.json()["items"]) == sorted(keys[:2])

    elements = await http.post(
        "/element-instances/search", json={"filter": {"processInstanceKey": keys[1], "type": "SERVICE_TASK"}}
    )
    assert [(e["elementId"], e["state"]) for e in elements.json()["items"]] == [("work", "ACTIVE")]
    variables = (await http.post("/variables/search", json={"filter": {"name": "orderId", "value": '"p2"'}})).json()
    assert [v["processInstanceKey"] for v in variables["items"]] == [keys[2]]
    one = (await http.get(f"/variables/{variables['items'][0]['variableKey']}")).json()
    assert one["value"] == '"p2"' and one["name"] == "orderId"


async def test_grpc_and_rest_share_one_engine(http: httpx.AsyncClient, server: RunningServer) -> None:
    """An instance started over gRPC (pyzeebe) is found and worked over REST, and the other way round."""
    await deploy(http, "rest-order.bpmn")
    client = ZeebeClient(create_insecure_channel(grpc_address=server.address))
    created = await client.run_process("rest-order", variables={"orderId": "g1"})
    jobs = await _activate(http)
    assert [int(j["processInstanceKey"]) for j in jobs] == [created.process_instance_key]
    await http.post(f"/jobs/{jobs[0]['jobKey']}/completion")
    await client.publish_message("rest-paid", correlation_key="g1")
    for _ in range(50):
        if (await http.get(f"/process-instances/{created.process_instance_key}")).json()["state"] == "COMPLETED":
            break
        await asyncio.sleep(0.05)
    assert (await http.get(f"/process-instances/{created.process_instance_key}")).json()["state"] == "COMPLETED"


async def test_get_form_answers_the_version_of_its_key(http: httpx.AsyncClient) -> None:
    """ "Get form": the schema of the form version the key names, not the latest one."""
    from rest_helpers import RESOURCES

    first = (await deploy(http, "rest-form.form"))["deployments"][0]["form"]
    changed = (RESOURCES / "rest-form.form").read_bytes().replace(b'"Approved"', b'"Approved (v2)"')
    second = (await http.post("/deployments", files=[("resources", ("rest-form.form", changed))])).json()
    assert second["deployments"][0]["form"]["version"] == 2
    old = (await http.get(f"/forms/{first['formKey']}")).json()
    assert old["version"] == 1 and "(v2)" not in old["schema"]
