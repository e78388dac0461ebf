"""Process instance tags (Camunda 8.8) over the REST API, on the records, and across a restart.

Camunda docs, "Orchestration Cluster API" → "Create process instance" (``tags``: a TagSet, at most 10
tags, each starting with a letter, then letters, digits, ``_ - : .``, at most 100 characters), "Search
process instances" / "Get process instance" (``tags`` in the result, the ``tags`` filter), "Activate
jobs" (``tags`` of the job's process instance) and "Search user tasks" (``tags`` result and filter, 8.9).
The records follow Zeebe 8.8's protocol: ProcessInstanceCreationRecord, ProcessInstanceRecord and
JobRecord carry ``tags``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from rest_helpers import deploy

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.server import RunningServer, serve


async def _create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post("/process-instances", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _search(http: httpx.AsyncClient, path: str, filter_: dict[str, Any]) -> list[str]:
    response = await http.post(path, json={"filter": filter_})
    assert response.status_code == 200, response.text
    return [item["processInstanceKey"] for item in response.json()["items"]]


async def test_tags_are_returned_filtered_and_on_jobs_and_user_tasks(http: httpx.AsyncClient) -> None:
    """ "Create process instance" answers the tags (duplicates collapse: a set); "Get process instance" and
    "Search process instances" return them, and the ``tags`` filter matches the instances that carry all
    of the given tags; activated jobs and user tasks carry their instance's tags."""
    await deploy(http, "rest-order.bpmn", "rest-review.bpmn", "rest-form.form")
    tagged = await _create(
        http, processDefinitionId="rest-order", variables={"orderId": "t-1"}, tags=["region:eu", "vip", "vip"]
    )
    assert tagged["tags"] == ["region:eu", "vip"]
    plain = await _create(http, processDefinitionId="rest-order", variables={"orderId": "t-2"})
    assert plain["tags"] == []
    other = await _create(http, processDefinitionId="rest-order", variables={"orderId": "t-3"}, tags=["vip"])

    got = (await http.get(f"/process-instances/{tagged['processInstanceKey']}")).json()
    assert got["tags"] == ["region:eu", "vip"]
    assert (await http.get(f"/process-instances/{plain['processInstanceKey']}")).json()["tags"] == []

    search = "/process-instances/search"
    assert sorted(await _search(http, search, {"tags": ["vip"]})) == sorted(
        [tagged["processInstanceKey"], other["processInstanceKey"]]
    )
    assert await _search(http, search, {"tags": ["vip", "region:eu"]}) == [tagged["processInstanceKey"]]
    assert await _search(http, search, {"tags": ["absent"]}) == []
    assert len(await _search(http, search, {"tags": []})) == 3
    either = {"$or": [{"tags": ["region:eu"]}, {"processInstanceKey": plain["processInstanceKey"]}]}
    assert sorted(await _search(http, search, either)) == sorted(
        [tagged["processInstanceKey"], plain["processInstanceKey"]]
    )
    bad = await http.post(search, json={"filter": {"tags": ["1-starts-with-a-digit"]}})
    assert bad.status_code == 400, bad.text

    response = await http.post(
        "/jobs/activation", json={"type": "rest-work", "timeout": 30_000, "maxJobsToActivate": 5, "worker": "t"}
    )
    jobs = {job["processInstanceKey"]: job["tags"] for job in response.json()["jobs"]}
    assert jobs == {
        tagged["processInstanceKey"]: ["region:eu", "vip"],
        plain["processInstanceKey"]: [],
        other["processInstanceKey"]: ["vip"],
    }

    needed = {"orderId": "t-4", "urgency": 1, "requester": "bob"}
    review = await _create(http, processDefinitionId="rest-review", variables=needed, tags=["review"])
    await _create(http, processDefinitionId="rest-review", variables=needed)
    tasks = (await http.post("/user-tasks/search", json={})).json()["items"]
    assert sorted(task["tags"] for task in tasks) == [[], ["review"]]
    found = (await http.post("/user-tasks/search", json={"filter": {"tags": ["review"]}})).json()["items"]
    assert [task["processInstanceKey"] for task in found] == [review["processInstanceKey"]]
    task = (await http.get(f"/user-tasks/{found[0]['userTaskKey']}")).json()
    assert task["tags"] == ["review"]


async def test_invalid_tags_are_refused(http: httpx.AsyncClient, server: RunningServer) -> None:
    """ "Create process instance" → 400 for more than 10 tags or a tag out of format; the engine refuses
    them on its own too (Zeebe's ProcessInstanceCreationHelper rejects them with INVALID_ARGUMENT)."""
    await deploy(http, "rest-order.bpmn")
    for tags in ([f"t{i}" for i in range(11)], ["9lives"], ["has space"], ["x" * 101], [""], [7]):
        response = await http.post("/process-instances", json={"processDefinitionId": "rest-order", "tags": tags})
        assert response.status_code == 400, (tags, response.text)
    too_many = await http.post(
        "/process-instances", json={"processDefinitionId": "rest-order", "tags": [f"t{i}" for i in range(11)]}
    )
    assert "The provided number of tags '11' is not supported" in too_many.json()["detail"]
    bad = await http.post("/process-instances", json={"processDefinitionId": "rest-order", "tags": ["9lives"]})
    assert "The provided tag '9lives' is not valid. Tag must start with a letter" in bad.json()["detail"]
    # a set: eleven entries with a duplicate are ten tags
    ten = [f"t{i}" for i in range(10)] + ["t0"]
    accepted = await http.post("/process-instances", json={"processDefinitionId": "rest-order", "tags": ten})
    assert accepted.status_code == 200 and accepted.json()["tags"] == ten[:10]
    engine = server.engine
    for tags, reason in (
        ([f"t{i}" for i in range(11)], "the number of tags exceeds the limit of 10"),
        (["9lives"], "the tags '9lives' are invalid"),
    ):
        try:
            await engine.create_process_instance(bpmn_process_id="rest-order", tags=tags)
        except Rejection as error:
            assert error.type == RejectionType.INVALID_ARGUMENT and reason in str(error)
        else:
            raise AssertionError(f"{tags} were accepted")
    creations = engine.query.records(value_type="PROCESS_INSTANCE_CREATION")
    rejected = [r for r in creations if r["recordType"] == "COMMAND_REJECTION"]
    assert [r["rejectionType"] for r in rejected] == ["INVALID_ARGUMENT", "INVALID_ARGUMENT"]


async def test_tags_are_on_the_records_and_survive_a_restart(tmp_path: Path) -> None:
    """The tags live in the records (PROCESS_INSTANCE_CREATION, every PROCESS_INSTANCE record of the instance,
    JOB) and in the command log: after a restart (replaying the log) the instance and its new records keep them."""
    data = tmp_path / "engine"
    running = await serve("127.0.0.1", 0, data, rest_port=0)
    try:
        assert running.rest is not None
        async with httpx.AsyncClient(base_url=f"{running.rest.address}/v2", timeout=30) as http:
            await deploy(http, "rest-order.bpmn")
            key = (await _create(http, processDefinitionId="rest-order", variables={"orderId": "r"}, tags=["keep"]))[
                "processInstanceKey"
            ]
        records = list(running.engine.query.records(process_instance_key=int(key)))
        creation = [r for r in records if r["valueType"] == "PROCESS_INSTANCE_CREATION"]
        assert creation and all(r["value"]["tags"] == ["keep"] for r in creation)
        instance = [r for r in records if r["valueType"] == "PROCESS_INSTANCE"]
        assert instance and all(r["value"]["tags"] == ["keep"] for r in instance)
        assert all(r["value"]["tags"] == ["keep"] for r in records if r["valueType"] == "JOB")
    finally:
        await running.stop()

    running = await serve("127.0.0.1", 0, data, rest_port=0)
    try:
        assert running.rest is not None
        async with httpx.AsyncClient(base_url=f"{running.rest.address}/v2", timeout=30) as http:
            assert (await http.get(f"/process-instances/{key}")).json()["tags"] == ["keep"]
            assert await _search(http, "/process-instances/search", {"tags": ["keep"]}) == [key]
            response = await http.post(
                "/jobs/activation", json={"type": "rest-work", "timeout": 30_000, "maxJobsToActivate": 1, "worker": "t"}
            )
            (job,) = response.json()["jobs"]
            assert job["tags"] == ["keep"]  # the state rebuilt by the replay holds them
            before = running.engine.query.last_position()
            assert (await http.post(f"/jobs/{job['jobKey']}/completion", json={})).status_code == 204
        after = [
            r
            for r in running.engine.query.records(process_instance_key=int(key), after_position=before)
            if r["valueType"] in ("PROCESS_INSTANCE", "JOB")
        ]
        assert after and all(r["value"]["tags"] == ["keep"] for r in after), after
    finally:
        await running.stop()
