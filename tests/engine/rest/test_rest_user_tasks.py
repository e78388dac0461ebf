"""Camunda user tasks over the REST API, on the engine that also serves gRPC.

Behaviour as Camunda 8.8 documents it: docs.camunda.io/docs/components/modeler/bpmn/user-tasks/ ("User
tasks": Assignments, Scheduling, Define a task priority, User task forms, Variable mappings),
docs.camunda.io/docs/components/concepts/user-task-listeners/ ("User task listeners": Blocking behavior,
Deny a state transition, Correct user task data) and the "Orchestration Cluster API" → "User task" operations
(Search user tasks, Get user task, Assign / Unassign / Update / Complete user task, Get user task form,
Search user task variables). Records: Zeebe's USER_TASK intents and UserTaskRecord properties.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rest_helpers import deploy

from procgov_engine.server import RunningServer


async def _create(http: httpx.AsyncClient, process_id: str, variables: dict[str, Any]) -> str:
    response = await http.post("/process-instances", json={"processDefinitionId": process_id, "variables": variables})
    assert response.status_code == 200, response.text
    return str(response.json()["processInstanceKey"])


async def _tasks(http: httpx.AsyncClient, **filter_: Any) -> list[dict[str, Any]]:
    response = await http.post("/user-tasks/search", json={"filter": filter_})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _intents(server: RunningServer, task_key: str) -> list[str]:
    records = server.engine.query.records(value_type="USER_TASK")
    return [r["intent"] for r in records if r["recordType"] == "EVENT" and str(r["key"]) == task_key]


async def _activate(http: httpx.AsyncClient, job_type: str) -> list[dict[str, Any]]:
    body = {"type": job_type, "timeout": 30_000, "maxJobsToActivate": 5, "requestTimeout": 2_000}
    response = await http.post("/jobs/activation", json=body)
    assert response.status_code == 200, response.text
    return list(response.json()["jobs"])


async def test_user_task_is_created_assigned_and_completed_through_output_mappings(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    """ "User tasks": candidate groups as a comma-separated list, candidate users and priority as FEEL, a
    due date from FEEL and a static follow-up date; "User task forms": formId with bindingType deployment;
    "Variable mappings": with output mappings the completion variables are local to the task, so only the
    mapped ``reviewApproved`` reaches the process. "Search user tasks" filters on candidate group and state;
    "Assign user task" / "Unassign user task" / "Complete user task" answer 204; a completed task is gone
    for commands (404 NOT_FOUND), but still found by get and search as COMPLETED."""
    deployment = await deploy(http, "rest-review.bpmn", "rest-form.form")
    form_key = next(e["form"]["formKey"] for e in deployment["deployments"] if e["form"])
    first = await _create(http, "rest-review", {"orderId": "o-1", "urgency": 7, "requester": "bob"})
    await _create(http, "rest-review", {"orderId": "o-2", "urgency": 2, "requester": "eve"})

    tasks = await _tasks(http, candidateGroup="leads", state="CREATED")
    assert len(tasks) == 2
    by_user = await _tasks(http, candidateUser="bob")
    assert [t["processInstanceKey"] for t in by_user] == [first]
    task = by_user[0]
    key = task["userTaskKey"]
    assert task["name"] == "Review the order" and task["elementId"] == "review"
    assert task["candidateGroups"] == ["reviewers", "leads"] and task["candidateUsers"] == ["bob"]
    assert task["priority"] == 70 and task["assignee"] is None
    assert task["dueDate"] == "2026-12-24T12:00:00.000Z"  # dates as the API answers them: UTC, milliseconds
    assert task["followUpDate"] == "2026-12-20T08:00:00.000Z"
    assert task["formKey"] == form_key and task["customHeaders"] == {"channel": "rest"}
    assert "candidateGroup" not in task
    by_priority = await http.post("/user-tasks/search", json={"sort": [{"field": "priority", "order": "DESC"}]})
    assert [t["priority"] for t in by_priority.json()["items"]] == [70, 20]

    form = (await http.get(f"/user-tasks/{key}/form")).json()
    assert form["formId"] == "rest-form" and form["formKey"] == form_key
    variables = (await http.post(f"/user-tasks/{key}/variables/search", json={})).json()["items"]
    assert {v["name"]: v["value"] for v in variables} == {
        "reviewedOrder": '"o-1"',  # the input mapping: local to the task
        "orderId": '"o-1"',
        "urgency": "7",
        "requester": '"bob"',
    }

    assert (await http.post(f"/user-tasks/{key}/assignment", json={"assignee": "ann"})).status_code == 204
    assert [t["userTaskKey"] for t in await _tasks(http, assignee="ann")] == [key]
    claim = await http.post(f"/user-tasks/{key}/assignment", json={"assignee": "carl", "allowOverride": False})
    assert claim.status_code == 409, claim.text
    assert "has already been assigned" in claim.json()["detail"]
    assert (await http.delete(f"/user-tasks/{key}/assignee")).status_code == 204
    assert (await http.get(f"/user-tasks/{key}")).json()["assignee"] is None

    done = await http.post(f"/user-tasks/{key}/completion", json={"variables": {"approved": True, "note": "fine"}})
    assert done.status_code == 204, done.text
    instance = (await http.get(f"/process-instances/{first}")).json()
    assert instance["state"] == "COMPLETED"
    assert server.engine.query.instance_variables(int(first)) == {
        "orderId": "o-1",
        "urgency": 7,
        "requester": "bob",
        "reviewApproved": True,
    }
    got = (await http.get(f"/user-tasks/{key}")).json()
    assert got["state"] == "COMPLETED" and got["completionDate"] is not None
    again = await http.post(f"/user-tasks/{key}/completion", json={})
    assert again.status_code == 404
    assert again.json()["title"] == "NOT_FOUND"
    assert again.json()["detail"] == (
        f"Command 'COMPLETE' rejected with code 'NOT_FOUND': Expected to complete user task with key '{key}', "
        "but no such user task was found"
    )
    assert _intents(server, key) == [
        "CREATING",
        "CREATED",
        "ASSIGNING",
        "ASSIGNED",
        "ASSIGNING",
        "ASSIGNED",
        "COMPLETING",
        "COMPLETED",
    ]
    completed = [r for r in server.engine.query.records(value_type="USER_TASK", intent="COMPLETED")][-1]["value"]
    assert completed["variables"] == {"approved": True, "note": "fine"} and completed["action"] == "complete"
    assert completed["candidateGroupsList"] == ["reviewers", "leads"] and completed["formKey"] == int(form_key)


async def test_user_task_is_canceled_with_its_process_instance(http: httpx.AsyncClient, server: RunningServer) -> None:
    """ "User tasks": a task whose element is terminated (here by "Cancel process instance") is CANCELING,
    then CANCELED; commands on it find no task (404)."""
    await deploy(http, "rest-review.bpmn", "rest-form.form")
    instance = await _create(http, "rest-review", {"orderId": "o-3", "urgency": 1, "requester": "bob"})
    [task] = await _tasks(http, processInstanceKey=instance)
    assert (await http.post(f"/process-instances/{instance}/cancellation")).status_code == 204
    assert (await http.get(f"/user-tasks/{task['userTaskKey']}")).json()["state"] == "CANCELED"
    assert _intents(server, task["userTaskKey"]) == ["CREATING", "CREATED", "CANCELING", "CANCELED"]
    gone = await http.post(f"/user-tasks/{task['userTaskKey']}/assignment", json={"assignee": "ann"})
    assert gone.status_code == 404


async def test_a_canceling_listener_job_is_activated_and_completed_over_rest_before_the_cancel_ends(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    """ "User task listeners" → Supported events (canceling) and Blocking behavior: cancelling the process
    instance makes the task CANCELING; its canceling listener's job (kind TASK_LISTENER, event CANCELING) is
    activated with ``POST /v2/jobs/activation``; a denying result is refused (400, Zeebe's rejection: only
    assigning, completing and updating listeners deny); once ``POST /v2/jobs/{key}/completion`` completed it,
    the task is CANCELED and the instance TERMINATED."""
    await deploy(http, "rest-farewell.bpmn")
    instance = await _create(http, "rest-farewell", {})
    [task] = await _tasks(http, processInstanceKey=instance)
    key = task["userTaskKey"]
    assert (await http.post(f"/process-instances/{instance}/cancellation")).status_code == 204
    assert (await http.get(f"/user-tasks/{key}")).json()["state"] == "CANCELING"
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "ACTIVE"
    [job] = await _activate(http, "rest-farewell")
    assert (job["kind"], job["listenerEventType"]) == ("TASK_LISTENER", "CANCELING")
    assert job["userTask"]["userTaskKey"] == key
    deny = await http.post(f"/jobs/{job['jobKey']}/completion", json={"result": {"denied": True}})
    assert deny.status_code == 400, deny.text
    assert "Denying result is not supported for 'CANCELING' task listener jobs" in deny.json()["detail"]
    assert (await http.post(f"/jobs/{job['jobKey']}/completion", json={})).status_code == 204
    assert (await http.get(f"/user-tasks/{key}")).json()["state"] == "CANCELED"
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "TERMINATED"
    assert _intents(server, key) == ["CREATING", "CREATED", "CANCELING", "CANCELED"]


async def test_task_listeners_correct_the_assignee_and_deny_a_completion(
    http: httpx.AsyncClient, server: RunningServer
) -> None:
    """ "User task listeners": the assigning listener of a task created with an assignee blocks the
    assignment until its job (kind TASK_LISTENER, event ASSIGNING, the task's data in ``userTask``) completes,
    and its ``corrections`` change the assignee; a completing listener that completes its job with
    ``denied`` leaves the task CREATED (COMPLETION_DENIED, with the reason) and the completion request gets
    409 INVALID_STATE with the reason in the detail (the problem detail Camunda gives:
    github.com/camunda/camunda/issues/28870, and #25419 for a command on a task whose listener still runs);
    the next completion, not denied, completes the task."""
    await deploy(http, "rest-guarded.bpmn")
    instance = await _create(http, "rest-guarded", {})
    [task] = await _tasks(http, processInstanceKey=instance)
    key = task["userTaskKey"]
    assert task["state"] == "ASSIGNING"
    [job] = await _activate(http, "rest-assign-guard")
    assert (job["kind"], job["listenerEventType"]) == ("TASK_LISTENER", "ASSIGNING")
    assert job["userTask"]["userTaskKey"] == key and job["userTask"]["assignee"] == "ann"
    assert job["userTask"]["changedAttributes"] == ["assignee"]
    corrected = {"result": {"type": "userTask", "corrections": {"assignee": "carl", "priority": 80}}}
    assert (await http.post(f"/jobs/{job['jobKey']}/completion", json=corrected)).status_code == 204
    got = (await http.get(f"/user-tasks/{key}")).json()
    assert (got["state"], got["assignee"], got["priority"]) == ("CREATED", "carl", 80)

    completion = asyncio.create_task(http.post(f"/user-tasks/{key}/completion", json={"variables": {"ok": 1}}))
    [guard] = await _activate(http, "rest-complete-guard")
    assert guard["listenerEventType"] == "COMPLETING"
    assert (await http.get(f"/user-tasks/{key}")).json()["state"] == "COMPLETING"
    busy = await http.post(f"/user-tasks/{key}/completion", json={})
    assert busy.status_code == 409
    assert busy.json()["detail"] == (
        f"Command 'COMPLETE' rejected with code 'INVALID_STATE': Expected to complete user task with key '{key}', "
        "but it is in state 'COMPLETING'"
    )
    deny = {"result": {"denied": True, "deniedReason": "four eyes needed"}}
    assert (await http.post(f"/jobs/{guard['jobKey']}/completion", json=deny)).status_code == 204
    denied = await completion
    assert denied.status_code == 409, denied.text
    assert denied.json()["title"] == "INVALID_STATE"
    assert denied.json()["detail"] == (
        f"Command 'COMPLETE' rejected with code 'INVALID_STATE': Completion of the User Task with key '{key}' "
        "was denied by Task Listener. Reason to deny: 'four eyes needed'"
    )
    assert (await http.get(f"/user-tasks/{key}")).json()["state"] == "CREATED"
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "ACTIVE"
    [denial] = list(server.engine.query.records(value_type="USER_TASK", intent="COMPLETION_DENIED"))
    assert denial["value"]["deniedReason"] == "four eyes needed"

    completion = asyncio.create_task(http.post(f"/user-tasks/{key}/completion", json={"variables": {"ok": 2}}))
    [guard] = await _activate(http, "rest-complete-guard")
    assert (await http.post(f"/jobs/{guard['jobKey']}/completion", json={})).status_code == 204
    assert (await completion).status_code == 204
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "COMPLETED"
    assert server.engine.query.instance_variables(int(instance)) == {"ok": 2}
    assert _intents(server, key) == [
        "CREATING",
        "CREATED",
        "ASSIGNING",
        "CORRECTED",
        "ASSIGNED",
        "COMPLETING",
        "COMPLETION_DENIED",
        "COMPLETING",
        "COMPLETED",
    ]


async def test_update_changes_only_what_the_changeset_names(http: httpx.AsyncClient) -> None:
    """ "Update user task": null or missing attributes keep their value, "" and [] reset one; a date that is
    not RFC 3339 and a request with nothing to change are 400 INVALID_ARGUMENT."""
    await deploy(http, "rest-review.bpmn", "rest-form.form")
    instance = await _create(http, "rest-review", {"orderId": "o-4", "urgency": 3, "requester": "bob"})
    [task] = await _tasks(http, processInstanceKey=instance)
    key = task["userTaskKey"]
    change = {"changeset": {"dueDate": "", "priority": 90, "candidateGroups": ["auditors"], "ignored": 1}}
    assert (await http.patch(f"/user-tasks/{key}", json=change)).status_code == 204
    got = (await http.get(f"/user-tasks/{key}")).json()
    assert (got["dueDate"], got["priority"], got["candidateGroups"]) == (None, 90, ["auditors"])
    assert got["candidateUsers"] == ["bob"] and got["followUpDate"] == "2026-12-20T08:00:00.000Z"
    bad_date = await http.patch(f"/user-tasks/{key}", json={"changeset": {"followUpDate": "tomorrow"}})
    assert bad_date.status_code == 400 and bad_date.json()["title"] == "INVALID_ARGUMENT"
    nothing = await http.patch(f"/user-tasks/{key}", json={"changeset": {}})
    assert nothing.status_code == 400 and "No update data provided" in nothing.json()["detail"]
    too_high = await http.patch(f"/user-tasks/{key}", json={"changeset": {"priority": 101}})
    assert too_high.status_code == 400
    assert (await http.get(f"/user-tasks/{key}")).json()["priority"] == 90  # nothing half-applied


async def test_bad_user_task_requests_get_camunda_problems(http: httpx.AsyncClient) -> None:
    """ "Problem detail": a key that is not a number is 400, one that names no task 404; an assignment
    without assignee is 400 "No assignee provided."; an unknown property 400 naming it. "Search user tasks":
    ``processInstanceVariables`` / ``localVariables`` filter on a variable's JSON value with the string
    filter operators, an unknown operator being 400."""
    assert (await http.get("/user-tasks/abc")).status_code == 400
    missing = await http.get("/user-tasks/2251799813685249")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    await deploy(http, "rest-review.bpmn", "rest-form.form")
    instance = await _create(http, "rest-review", {"orderId": "o-5", "urgency": 3, "requester": "bob"})
    [task] = await _tasks(http, processInstanceKey=instance)
    key = task["userTaskKey"]
    no_assignee = await http.post(f"/user-tasks/{key}/assignment", json={})
    assert no_assignee.status_code == 400 and no_assignee.json()["detail"] == "No assignee provided."
    unknown = await http.post(f"/user-tasks/{key}/completion", json={"variables": {}, "bogus": 1})
    assert unknown.status_code == 400 and "bogus" in unknown.json()["detail"]
    assert (await http.get(f"/user-tasks/{key}")).json()["state"] == "CREATED"
    bad_operator = {"filter": {"processInstanceVariables": [{"name": "orderId", "value": {"$near": "o"}}]}}
    refused = await http.post("/user-tasks/search", json=bad_operator)
    assert refused.status_code == 400 and "$near" in refused.json()["detail"]
    by_variable = {"filter": {"processInstanceVariables": [{"name": "orderId", "value": '"o-5"'}]}}
    found = (await http.post("/user-tasks/search", json=by_variable)).json()["items"]
    assert [t["userTaskKey"] for t in found] == [key]
    by_local = {"filter": {"localVariables": [{"name": "reviewedOrder", "value": {"$like": '"o-*'}}]}}
    assert [t["userTaskKey"] for t in (await http.post("/user-tasks/search", json=by_local)).json()["items"]] == [key]


async def test_completing_listener_job_carries_the_completion_variables(http: httpx.AsyncClient) -> None:
    """ "User task listeners" → "Use cases" (validating a completion: "completing with valid variables"): the
    ``completing`` listener's job is activated with the variables of the completion request over the
    variables visible from the task (they win on a name clash, and ``fetchVariable`` limits them too), as
    Zeebe's JobVariablesCollector merges the task's pending variables into TASK_LISTENER jobs. The
    ``assigning`` listener's job, started by no variables, sees the process variables only; after a denial
    the next completion's listener sees that completion's variables, not the denied one's."""
    await deploy(http, "rest-guarded.bpmn")
    instance = await _create(http, "rest-guarded", {"ok": 0, "note": "from the process"})
    [task] = await _tasks(http, processInstanceKey=instance)
    key = task["userTaskKey"]
    [assigning] = await _activate(http, "rest-assign-guard")
    assert assigning["variables"] == {"ok": 0, "note": "from the process"}
    assert (await http.post(f"/jobs/{assigning['jobKey']}/completion", json={})).status_code == 204

    completion = asyncio.create_task(
        http.post(f"/user-tasks/{key}/completion", json={"variables": {"ok": 1, "comment": "fine"}})
    )
    [guard] = await _activate(http, "rest-complete-guard")
    assert guard["variables"] == {"ok": 1, "note": "from the process", "comment": "fine"}
    deny = {"result": {"denied": True, "deniedReason": "not yet"}}
    assert (await http.post(f"/jobs/{guard['jobKey']}/completion", json=deny)).status_code == 204
    assert (await completion).status_code == 409

    completion = asyncio.create_task(http.post(f"/user-tasks/{key}/completion", json={"variables": {"ok": 2}}))
    body = {"type": "rest-complete-guard", "timeout": 30_000, "maxJobsToActivate": 1, "requestTimeout": 2_000}
    response = await http.post("/jobs/activation", json=body | {"fetchVariable": ["ok", "comment"]})
    [guard] = response.json()["jobs"]
    assert guard["variables"] == {"ok": 2}  # fetched names only, and the denied completion's "comment" is gone
    assert (await http.post(f"/jobs/{guard['jobKey']}/completion", json={})).status_code == 204
    assert (await completion).status_code == 204
