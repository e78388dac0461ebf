"""``procgov deploy | start | publish | tasks`` against the embedded engine (gRPC; ``tasks`` over REST).

The commands run their own event loop (``asyncio.run``), so they are invoked in a thread while the
engine keeps serving in the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from procgov.cli import app
from procgov.commands.deploy import BPMNLINT
from tests.conftest import skip_or_fail
from tests.runtime.handlers import BPMN, greet_router
from tests.runtime.otlp_receiver import otlp_receiver
from tests.user_tasks import rest_api

ROOT = Path(__file__).resolve().parents[2]


async def procgov(*args: str, env: dict[str, str] | None = None) -> Result:
    clean = {"PROCGOV_OTLP_ENDPOINT": None, "ZEEBE_ADDRESS": None, "COLUMNS": "200", **(env or {})}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=clean)


async def test_deploy_prints_what_was_deployed(zeebe: Any) -> None:
    result = await procgov("deploy", str(BPMN / "greet.bpmn"), str(BPMN / "grade.bpmn"), "--gateway", zeebe.address)
    assert result.exit_code == 0, result.output
    assert "process   runtime-greet v1" in result.stdout
    assert "process   runtime-grade v1" in result.stdout
    again = await procgov("deploy", str(BPMN / "greet.bpmn"), "--no-lint", "--gateway", zeebe.address)
    assert again.exit_code == 0
    assert "runtime-greet v" in again.stdout


@pytest.mark.node
async def test_deploy_refuses_a_model_that_fails_bpmnlint(zeebe: Any, tmp_path: Path) -> None:
    if shutil.which("node") is None or not BPMNLINT.exists():
        skip_or_fail("node and tools/node_modules (bpmnlint) are needed")
    broken = tmp_path / "broken.bpmn"
    broken.write_text((ROOT / "tests" / "bpmn" / "samples" / "invalid-sample.bpmn").read_text())
    result = await procgov("deploy", str(broken), "--gateway", zeebe.address)
    assert result.exit_code == 1
    assert "bpmnlint found problems" in result.stderr
    assert zeebe.records() == [] or all(r["valueType"] != "DEPLOYMENT" for r in zeebe.records())


async def test_deploy_with_nothing_to_deploy(tmp_path: Path) -> None:
    result = await procgov("deploy", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == "procgov: nothing to deploy (no .bpmn, .dmn or .form files)"


async def test_an_unreachable_gateway_is_one_line_and_exit_1() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await procgov("start", "runtime-greet", "--gateway", f"127.0.0.1:{port}")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"procgov: gateway 127.0.0.1:{port} unreachable (UNAVAILABLE)")


async def test_start_passes_variables_and_the_trace_into_every_job(zeebe: Any, run_workers: Any) -> None:
    await zeebe.deploy(BPMN / "greet.bpmn")
    with otlp_receiver() as (endpoint, receiver):
        await run_workers(greet_router(), otlp_endpoint=endpoint)
        result = await procgov(
            "start",
            "runtime-greet",
            "--var",
            "ownerName=王芳",
            "--var",
            "department=IT",
            "--gateway",
            zeebe.address,
            env={"PROCGOV_OTLP_ENDPOINT": endpoint},
        )
        assert result.exit_code == 0, result.output
        # Workers running in this process log to stdout too; the command's own output is its JSON line.
        started = next(json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"process'))
        instance = zeebe.instance(started["processInstanceKey"])
        await instance.wait_completed()
        variables = instance.variables()
        assert variables["greeting"] == "你好 王芳 (IT)"
        assert variables["traceparent"] == started["traceparent"]
        trace_id = started["traceparent"].split("-")[1]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not any(s.name == "runtime-test.greet process" for s in receiver.snapshot()):
            assert loop.time() < deadline, "the job span never reached the collector"
            await asyncio.sleep(0.1)
        spans = {s.name: s for s in receiver.snapshot()}
    job_span = spans["runtime-test.greet process"]
    start_span = spans["start runtime-greet"]
    assert job_span.trace_id == start_span.trace_id == trace_id
    assert job_span.parent_span_id == start_span.span_id
    assert job_span.attributes["zeebe.process_instance.key"] == started["processInstanceKey"]
    assert job_span.attributes["zeebe.element_id"] == "greet"


async def test_var_values_are_json_and_a_json_file_supplies_the_rest(zeebe: Any, tmp_path: Path) -> None:
    await zeebe.deploy(BPMN / "approval.bpmn")
    payload = tmp_path / "vars.json"
    payload.write_text(json.dumps({"requestId": "CR-7", "pilot": {"department": "IT"}}), encoding="utf-8")
    result = await procgov(
        "start",
        "runtime-approval",
        "--json",
        str(payload),
        "--var",
        "attempt=2",
        "--var",
        "note=not json",
        "--gateway",
        zeebe.address,
    )
    assert result.exit_code == 0, result.output
    key = json.loads(result.stdout)["processInstanceKey"]
    await zeebe.instance(key).wait_element_active("approved")
    variables = zeebe.instance(key).variables()
    assert variables["pilot"] == {"department": "IT"}
    assert variables["attempt"] == 2
    assert variables["note"] == "not json"

    published = await procgov(
        "publish",
        "runtime-test.approved",
        "--key",
        "CR-7",
        "--var",
        "approvedBy=李伟",
        "--ttl",
        "1m",
        "--gateway",
        zeebe.address,
    )
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout)["messageKey"] > 0
    await zeebe.instance(key).wait_completed()
    assert zeebe.instance(key).variables()["approvedBy"] == "李伟"


async def test_user_tasks_are_listed_shown_assigned_and_completed_over_rest(zeebe: Any) -> None:
    # Camunda 8.8 REST API, "User task": search, get form, variables, assignment, completion.
    await zeebe.deploy(BPMN / "signoff.bpmn", BPMN / "signoff.form")
    started = await procgov("start", "runtime-signoff", "--var", 'document="SOP-100104"', "--gateway", zeebe.address)
    key = json.loads(started.stdout)["processInstanceKey"]
    await zeebe.instance(key).wait_element_active("review")
    async with rest_api(zeebe) as url:
        rest = ["--rest-url", url]
        listed = await procgov("tasks", "list", "--json", *rest)
        assert listed.exit_code == 0, listed.output
        (task,) = json.loads(listed.stdout)  # plain JSON: a list of Camunda's UserTaskResult objects
        assert task["processInstanceKey"] == str(key) and task["elementId"] == "review"
        assert task["assignee"] == "wang.fang" and task["candidateGroups"] == ["process-owners"]
        task_key = task["userTaskKey"]

        # A search locks nothing: the next listing shows the task again, its key whole in 40 columns.
        table = await procgov("tasks", "list", *rest, env={"COLUMNS": "40"})
        assert table.exit_code == 0, table.output
        assert task_key in table.stdout.split() and "1 user task(s) open" in table.stdout
        for option, count in ((["--assignee", "li.wei"], 0), (["--group", "process-owners"], 1),
                              (["--process", "runtime-signoff"], 1), (["--process", "procgov-rollout"], 0),
                              (["--state", "completed"], 0), (["--state", "all"], 1)):
            found = await procgov("tasks", "list", "--json", *option, *rest)
            assert len(json.loads(found.stdout)) == count, (option, found.output)

        shown = await procgov("tasks", "show", task_key, *rest)
        assert shown.exit_code == 0, shown.output
        assert "form runtime-signoff-form:" in shown.stdout
        assert 'document (textfield, read-only) Document = "SOP-100104"' in shown.stdout
        assert 'verdict (select, required) Verdict options: "approve", "reject" = (not set)' in shown.stdout

        refused = await procgov("tasks", "complete", task_key, "--var", "bogus=1", "--var", "score=11",
                                "--var", "verdict=maybe", "--var", "dueDate=2099-01-01", *rest)
        assert refused.exit_code == 2, refused.output
        for problem in ("bogus: not a field of the form", "dueDate: not a field of the form", "score: at most 10",
                        'verdict: "maybe" not among the options "approve", "reject"'):
            assert problem in refused.stderr, refused.stderr
        missing = await procgov("tasks", "complete", task_key, *rest)
        assert missing.exit_code == 2 and "verdict: required" in missing.stderr

        assert (await procgov("tasks", "unassign", task_key, *rest)).exit_code == 0
        assigned = await procgov("tasks", "assign", task_key, "li.wei", *rest)
        assert assigned.exit_code == 0, assigned.output
        mine = await procgov("tasks", "list", "--json", "--assignee", "li.wei", *rest)
        assert [t["userTaskKey"] for t in json.loads(mine.stdout)] == [task_key]

        done = await procgov("tasks", "complete", task_key, "--var", "verdict=approve", "--var", "score=8", *rest)
        assert done.exit_code == 0, done.output
        await zeebe.instance(key).wait_completed()
        variables = zeebe.instance(key).variables()
        assert variables["verdict"] == "approve" and variables["score"] == 8 and variables["document"] == "SOP-100104"
        again = await procgov("tasks", "complete", task_key, "--var", "verdict=approve", *rest)
        assert again.exit_code == 1 and f"user task {task_key}" in again.stderr


async def test_tasks_name_an_unreachable_rest_api_and_a_bad_key() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listed = await procgov("tasks", "list", "--rest-url", f"http://127.0.0.1:{port}")
    assert listed.exit_code == 1
    assert f"cannot reach http://127.0.0.1:{port}" in listed.stderr and "PROCGOV_REST_URL" in listed.stderr
    bad = await procgov("tasks", "show", "22517-99", "--rest-url", f"http://127.0.0.1:{port}")
    assert bad.exit_code == 2 and "not a user task key" in bad.stderr
    wrong = await procgov("tasks", "list", "--rest-url", "127.0.0.1:8080")
    assert wrong.exit_code == 2 and "expected an http(s) URL" in wrong.stderr, wrong.stderr




async def test_a_task_without_a_linked_form_is_shown_and_completed_unchecked(zeebe: Any) -> None:
    # An external form reference (Camunda docs, "User tasks", "User task forms"): the REST API answers
    # 204 for its form, so there is nothing to check the variables against, and the command says so.
    await zeebe.deploy(BPMN / "review.bpmn")
    started = await procgov("start", "runtime-review", "--var", 'document="SOP-7"', "--gateway", zeebe.address)
    key = json.loads(started.stdout)["processInstanceKey"]
    await zeebe.instance(key).wait_element_active("review")
    async with rest_api(zeebe) as url:
        (task,) = json.loads((await procgov("tasks", "list", "--json", "--rest-url", url)).stdout)
        shown = await procgov("tasks", "show", task["userTaskKey"], "--rest-url", url)
        assert shown.exit_code == 0 and "no linked form" in shown.stdout, shown.output
        done = await procgov("tasks", "complete", task["userTaskKey"], "--var", "approved=true", "--rest-url", url)
        assert done.exit_code == 0 and "no linked form: variables not checked" in done.stdout, done.output
    await zeebe.instance(key).wait_completed()
    assert zeebe.instance(key).variables()["approved"] is True
