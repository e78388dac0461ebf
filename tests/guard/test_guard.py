"""The user task guard (``audit.guard-user-task``) on the engine, over real gRPC/REST (issue #12.1).

A test model of our own (``resources/guard-summary.bpmn``): the planning office publishes a summary with a
form; the task's assigning and completing listeners are the guard's type. Its rule table
(``resources/guard-rules.yaml``) follows 100104 §2.3.4: the planning office publishes; the lateness fines
the rule supervisor and the department head, so neither may complete it; ``publishDueDate`` and
``penaltyCases`` are computed by the system.

Camunda docs, "User task listeners" (components/concepts/user-task-listeners): "Blocking behavior" (the
transition waits for the listener job), "Deny a state transition" (the task goes back to CREATED, the
command is rejected; Zeebe writes COMPLETION_DENIED / ASSIGNMENT_DENIED with the deniedReason); the
REST problem for a denied completion is 409 INVALID_STATE with Zeebe's rejection text (camunda/camunda
issue #27124's wording, as tests/engine/rest/test_rest_user_tasks.py pins it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from procgov.cli import app as procgov_app
from procgov_engine.server import RunningServer
from workers.audit.guard import GUARD_JOB_TYPE, GuardSettings, guard_running
from workers.audit.guard_rules import load_rules
from workers.audit.guarded_writes import user_task_findings
from workers.audit.router import AuditSettings
from workers.audit.sources import SqliteLogSource
from workers.runtime.settings import load_settings
from workers.runtime.stores.db import create_store_engine, migrate

RESOURCES = Path(__file__).parent / "resources"
RULES = RESOURCES / "guard-rules.yaml"
HONEST = {"summaryImprovements": "check completeness at receipt", "summarySigned": True, "findings": {"count": 2}}
START = {"departmentHead": "lin.na", "publishDueDate": "2026-12-10", "processName": "Order handling"}


class GuardRun:
    """The guard worker running against the server (``guard_running``), stoppable and restartable."""

    def __init__(self, server: RunningServer, data_dir: Path, back_off_ms: int = 300) -> None:
        assert server.rest is not None
        self.settings = load_settings(rest_url=server.rest.address, worker_name="guard-test",
                                      retry={"base_ms": back_off_ms, "max_ms": back_off_ms, "budget_ms": 0})
        self.data_dir = data_dir
        self._running: contextlib.AbstractAsyncContextManager[Any] | None = None

    async def start(self, data_dir: Path | None = None) -> None:
        guard = GuardSettings(rules=RULES, directory=RESOURCES / "directory.yaml", poll_ms=500)
        audit = AuditSettings(data_dir=data_dir or self.data_dir)
        self._running = guard_running(self.settings, guard, audit)
        await self._running.__aenter__()

    async def stop(self) -> None:
        if self._running is not None:
            await self._running.__aexit__(None, None, None)
        self._running = None


@pytest.fixture
async def guard(server: RunningServer, tmp_path: Path) -> AsyncIterator[GuardRun]:
    run = GuardRun(server, tmp_path / "engine")
    await run.start()
    try:
        yield run
    finally:
        await run.stop()


async def _deploy(http: httpx.AsyncClient, model: str | None = None) -> None:
    bpmn = model if model is not None else (RESOURCES / "guard-summary.bpmn").read_text(encoding="utf-8")
    files = [("resources", ("guard-summary.bpmn", bpmn.encode(), "application/octet-stream")),
             ("resources", ("guard-summary.form", (RESOURCES / "guard-summary.form").read_bytes(),
                            "application/octet-stream"))]
    response = await http.post("/deployments", files=files)
    assert response.status_code == 200, response.text


async def _start(http: httpx.AsyncClient) -> tuple[str, str]:
    """A new instance and its user task's key."""
    created = await http.post("/process-instances", json={"processDefinitionId": "guard-summary", "variables": START})
    assert created.status_code == 200, created.text
    instance = str(created.json()["processInstanceKey"])
    for _ in range(100):
        found = (await http.post("/user-tasks/search", json={"filter": {"processInstanceKey": instance}})).json()
        if found["items"]:
            return instance, str(found["items"][0]["userTaskKey"])
        await asyncio.sleep(0.05)
    raise AssertionError("the user task was not created")


async def _assign(http: httpx.AsyncClient, key: str, person: str) -> httpx.Response:
    return await http.post(f"/user-tasks/{key}/assignment", json={"assignee": person})


async def _complete(http: httpx.AsyncClient, key: str, variables: dict[str, Any]) -> httpx.Response:
    return await http.post(f"/user-tasks/{key}/completion", json={"variables": variables})


async def _state(http: httpx.AsyncClient, key: str) -> str:
    return str((await http.get(f"/user-tasks/{key}")).json()["state"])


def _denied_reason(response: httpx.Response, key: str, what: str = "Completion") -> str:
    assert response.status_code == 409, response.text
    assert response.json()["title"] == "INVALID_STATE"
    detail = str(response.json()["detail"])
    prefix = (f"Command '{'COMPLETE' if what == 'Completion' else 'ASSIGN'}' rejected with code 'INVALID_STATE': "
              f"{what} of the User Task with key '{key}' was denied by Task Listener. Reason to deny: '")
    assert detail.startswith(prefix), detail
    return detail[len(prefix):-1]


async def test_honest_completion_passes(http: httpx.AsyncClient, server: RunningServer, guard: GuardRun) -> None:
    """100104 §2.3.4: a planning office member (not fined by it) is assigned and completes with the form's
    fields only; the guard lets both transitions through and the instance completes."""
    await _deploy(http)
    instance, key = await _start(http)
    assert (await _assign(http, key, "zhou.hua")).status_code == 204
    assert (await _complete(http, key, HONEST)).status_code == 204
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "COMPLETED"
    variables = server.engine.query.instance_variables(int(instance))
    assert variables["summarySigned"] is True and variables["publishDueDate"] == START["publishDueDate"]
    jobs = [r for r in server.engine.query.records(value_type="JOB", intent="COMPLETED")
            if r["value"]["type"] == GUARD_JOB_TYPE]
    assert [j["value"]["jobListenerEventType"] for j in jobs] == ["ASSIGNING", "COMPLETING"]
    assert all(not j["value"].get("result", {}).get("denied") for j in jobs)


async def test_protected_and_unknown_fields_are_denied_naming_each(
    http: httpx.AsyncClient, server: RunningServer, guard: GuardRun
) -> None:
    """100104 §2.3.4 (the publication deadline and its fines are the system's) and issue #12.1 (a task takes
    only its form's fields): a completion carrying ``publishDueDate``, ``penaltyCases``, an unknown field
    and an unknown sub-field of a form group is denied with a reason naming each; the task stays CREATED,
    the instance's due date is untouched; the engine keeps COMPLETION_DENIED with the reason."""
    await _deploy(http)
    instance, key = await _start(http)
    assert (await _assign(http, key, "zhou.hua")).status_code == 204
    bent = {**HONEST, "publishDueDate": "2027-03-01", "penaltyCases": [], "bonusYuan": 90,
            "findings": {"count": 0, "waived": True}}
    reason = _denied_reason(await _complete(http, key, bent), key)
    assert reason.startswith("procgov guard (guard-test/1): ")
    for named in ("field 'bonusYuan' is not a field of the task's form 'guard-summary-form'",
                  "field 'findings.waived' is not a field of the task's form 'guard-summary-form'",
                  "field 'penaltyCases' is not a field", "field 'publishDueDate' is not a field",
                  "field 'penaltyCases' is protected (100104 §2.3.4",
                  "field 'publishDueDate' is protected (100104 §2.3.4"):
        assert named in reason, reason
    assert "summarySigned" not in reason and "summaryImprovements" not in reason
    assert await _state(http, key) == "CREATED"
    assert server.engine.query.instance_variables(int(instance))["publishDueDate"] == START["publishDueDate"]
    [denial] = list(server.engine.query.records(value_type="USER_TASK", intent="COMPLETION_DENIED"))
    assert denial["value"]["deniedReason"] == reason
    assert (await _complete(http, key, HONEST)).status_code == 204  # the honest retry passes


async def test_assignment_to_the_fined_or_to_an_outsider_is_denied(
    http: httpx.AsyncClient, guard: GuardRun
) -> None:
    """100104 §2.3.4 (who publishes: the planning office) and segregation (the rule supervisor is fined by
    the publication's lateness, so he may not take the task): both assignments are denied, each naming
    the person and the clause; the task stays unassigned."""
    await _deploy(http)
    _, key = await _start(http)
    reason = _denied_reason(await _assign(http, key, "sun.qiang"), key, "Assignment")
    assert "'sun.qiang' may not be assigned this task: its outcome fines 'sun.qiang' (100104 §2.3.4)" in reason
    reason = _denied_reason(await _assign(http, key, "chen.jing"), key, "Assignment")
    assert ("'chen.jing' may not be assigned this task (100104 §2.3.4: role planning-office; that is lin.na, "
            "sun.qiang, zhou.hua)") in reason
    task = (await http.get(f"/user-tasks/{key}")).json()
    assert (task["state"], task.get("assignee")) == ("CREATED", None)


async def test_completion_by_the_person_the_task_fines_is_denied(
    http: httpx.AsyncClient, server: RunningServer, guard: GuardRun
) -> None:
    """Segregation, 100104 §2.3.4: the department head named by the instance (``departmentHead``, here a
    planning office member) is fined 10 yuan a day by the publication's lateness, so even an honest
    completion by her is denied; so is one by nobody (the completer must be known: claim it first).
    The model has only the completing listener, so the assignment itself goes through."""
    model = (RESOURCES / "guard-summary.bpmn").read_text(encoding="utf-8")
    model = model.replace('<zeebe:taskListener eventType="assigning" type="audit.guard-user-task" retries="3" />', "")
    await _deploy(http, model)
    instance, key = await _start(http)
    reason = _denied_reason(await _complete(http, key, HONEST), key)
    assert "the task is not assigned: claim it first" in reason
    assert (await _assign(http, key, "lin.na")).status_code == 204
    reason = _denied_reason(await _complete(http, key, HONEST), key)
    assert reason == ("procgov guard (guard-test/1): 'lin.na' may not complete this task: its outcome fines "
                      "'lin.na' (100104 §2.3.4)")
    assert await _state(http, key) == "CREATED"
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "ACTIVE"


async def test_guard_down_holds_the_completion_and_a_failing_source_backs_off(
    http: httpx.AsyncClient, server: RunningServer, guard: GuardRun, tmp_path: Path
) -> None:
    """"Blocking behavior": while no guard answers, the completion waits (the task is COMPLETING, nothing
    is completed unguarded). A guard that cannot read the engine's records fails the listener job with a
    back-off (FailJob, retries spent one at a time, never an allow); once the records are readable the
    retried job is answered and the completion goes through."""
    await _deploy(http)
    instance, key = await _start(http)
    assert (await _assign(http, key, "zhou.hua")).status_code == 204
    await guard.stop()
    completion = asyncio.create_task(_complete(http, key, HONEST))
    await asyncio.sleep(1.5)
    assert not completion.done()
    assert await _state(http, key) == "COMPLETING"
    assert not list(server.engine.query.records(value_type="USER_TASK", intent="COMPLETED"))

    guard.settings = guard.settings.model_copy(update={"retry": type(guard.settings.retry)(
        base_ms=2_000, max_ms=2_000, budget_ms=0)})  # the next attempt comes after the good guard is back
    await guard.start(data_dir=tmp_path / "no-engine-here")
    for _ in range(100):
        failed = [r for r in server.engine.query.records(value_type="JOB", intent="FAILED")
                  if r["value"]["type"] == GUARD_JOB_TYPE]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert failed, "the guard did not fail the listener job"
    assert failed[0]["value"]["retries"] == 2 and failed[0]["value"]["retryBackoff"] == 2_000
    assert "cannot read the engine's records to guard user task" in failed[0]["value"]["errorMessage"]
    assert not completion.done() and await _state(http, key) == "COMPLETING"

    await guard.stop()
    await guard.start()
    response = await asyncio.wait_for(completion, 20)
    assert response.status_code == 204
    assert (await http.get(f"/process-instances/{instance}")).json()["state"] == "COMPLETED"


async def test_replay_reports_the_denied_attempt(
    http: httpx.AsyncClient, server: RunningServer, guard: GuardRun, tmp_path: Path
) -> None:
    """Issue #12 item 5 (denied or protected writes are findings): after a denied completion,
    ``procgov audit replay --all --data DIR`` exits non-zero naming the instance, the task, the person and
    the fields of the attempt; the findings function also reports a protected variable an unguarded
    completion wrote into the instance, but not one the task's output mappings kept inside the task."""
    await _deploy(http)
    instance, key = await _start(http)
    assert (await _assign(http, key, "zhou.hua")).status_code == 204
    _denied_reason(await _complete(http, key, {**HONEST, "publishDueDate": "2027-03-01"}), key)
    assert (await _complete(http, key, HONEST)).status_code == 204

    source = SqliteLogSource(tmp_path / "engine")
    protected = {p.name: p.rule for p in load_rules(RULES).protected}
    [finding] = user_task_findings(source.instance_records(int(instance)), protected)
    text = str(finding)
    assert text.startswith(f"instance {instance}: issue #12.1 user task guard: user task publish-summary ({key}): "
                           "completion by 'zhou.hua' denied (fields findings, publishDueDate, summaryImprovements, "
                           "summarySigned; protected publishDueDate): procgov guard (guard-test/1): "), text

    # an unguarded completion writing penaltyCases that reached the instance (no output mappings), and one
    # whose write the output mappings kept in the task (no finding: nothing changed)
    records = [r for r in source.instance_records(int(instance))
               if not (r.value_type == "USER_TASK" and r.intent == "COMPLETION_DENIED")]
    done = next(r for r in records if r.value_type == "USER_TASK" and r.intent == "COMPLETED")

    def forged(reach_the_instance: bool) -> list[Any]:
        out = []
        for r in records:
            fields = {s: getattr(r, s) for s in r.__slots__}
            if r is done:
                fields["value"] = {**r.value, "variables": {**r.value["variables"], "penaltyCases": []}}
            elif (r.value_type == "VARIABLE" and r.position > done.position and r.value["name"] == "summarySigned"):
                scope = r.value["scopeKey"] if reach_the_instance else done.value["elementInstanceKey"]
                fields["value"] = {**r.value, "name": "penaltyCases", "value": "[]", "scopeKey": scope}
            out.append(type(r)(**fields))
        return out

    [protected_write] = user_task_findings(forged(True), protected)
    assert str(protected_write) == (f"instance {instance}: 100104 §2.3.4: user task publish-summary ({key}): "
                                    "completed by 'zhou.hua' writing the protected variable 'penaltyCases' "
                                    "(computed by the system, never written by a person)")
    assert user_task_findings(forged(False), protected) == []

    store = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(store)  # an empty decision store: the findings come from the engine's log alone
    store.dispose()
    env = {"PROCGOV_AUDIT_GUARD__RULES": str(RULES), "COLUMNS": "220"}
    result = CliRunner(env=env).invoke(procgov_app, ["audit", "replay", "--all", "--data", str(tmp_path / "engine"),
                                                     "--store", f"sqlite:///{tmp_path / 'store.db'}"])
    assert result.exit_code != 0, result.output
    assert f"user tasks: instance {instance}: issue #12.1 user task guard: user task publish-summary ({key})" \
        in result.output, result.output
    assert json.dumps("publishDueDate")[1:-1] in result.output


async def test_procgov_guard_command_runs_until_sigterm(
    http: httpx.AsyncClient, server: RunningServer, tmp_path: Path
) -> None:
    """``procgov guard`` as a process: settings from the environment (PROCGOV_REST_URL, the audit record
    source, the rule table), ``/readyz`` once the REST API answers, a protected write denied (100104 §2.3.4),
    an honest completion allowed, and a clean exit on SIGTERM."""
    import os
    import re
    import signal
    import subprocess

    assert server.rest is not None
    env = {**os.environ, "PROCGOV_REST_URL": server.rest.address, "PROCGOV_AUDIT_DATA_DIR": str(tmp_path / "engine"),
           "PROCGOV_AUDIT_GUARD__RULES": str(RULES),
           "PROCGOV_AUDIT_GUARD__DIRECTORY": str(RESOURCES / "directory.yaml"),
           "PROCGOV_AUDIT_GUARD__POLL_MS": "500", "PROCGOV_HEALTH_PORT": "0", "PROCGOV_HEALTH_HOST": "127.0.0.1"}
    procgov = Path(sys.executable).parent / "procgov"
    process = subprocess.Popen([str(procgov), "guard"], env=env, stderr=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        assert process.stderr is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stderr.readline), 30)
        while "guard started" not in line:
            line = await asyncio.wait_for(asyncio.to_thread(process.stderr.readline), 30)
        port = re.search(r'health_port"?[=:] ?(\d+)', line)
        assert port, line
        async with httpx.AsyncClient() as probe:
            ready = await probe.get(f"http://127.0.0.1:{port.group(1)}/readyz")
        assert ready.status_code == 200, ready.text
        await _deploy(http)
        _, key = await _start(http)
        assert (await _assign(http, key, "zhou.hua")).status_code == 204
        reason = _denied_reason(await _complete(http, key, {**HONEST, "penaltyCases": []}), key)
        assert "field 'penaltyCases' is protected (100104 §2.3.4" in reason
        assert (await _complete(http, key, HONEST)).status_code == 204
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
