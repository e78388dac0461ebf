"""``procgov-rollout`` on the embedded engine, over gRPC, with the real rollout workers, a real SMTP
server and a real webhook endpoint. Timers move with the engine's controlled clock.

The monthly SLA review and the change request are stand-ins here (``tests/rollout/bpmn/``): their
user task is completed with the outputs the contract names (docs/contracts.md).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov_engine.testing.embedded import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON
from tests.rollout.conftest import PERFECT_ANSWERS
from tests.rollout.process import (
    FORMS,
    ROLLOUT_BPMN,
    STAND_INS,
    UserTask,
    passed,
    start,
    user_task_desk,
    wait_activated,
)
from tests.rollout.scenario import FAILING, OWNER, answers_of, default_scripts, request_variables, today
from tests.rollout.servers import DATA, SmtpServer, WebhookSink, webhooks_for
from workers.audit import AuditDeps, AuditSettings
from workers.audit import build_router as build_audit_router
from workers.rollout import DECISIONS, RolloutDeps, build_router
from workers.rollout.management import month_after
from workers.rollout.notify import SmtpSettings
from workers.runtime import DecisionLog, IdempotencyStore, open_engine
from workers.runtime.settings import WorkerSettings

StartWorkers = Callable[[], Awaitable[None]]

# the audit workers and the assertions read the engine's record log (zeebe.data_dir, zeebe.records())
pytestmark = pytest.mark.record_log


@pytest.fixture
def start_workers(zeebe: EmbeddedEngine, run_workers: Any, smtp: SmtpServer, webhooks: WebhookSink,
                  tmp_path: Path) -> StartWorkers:
    async def go() -> None:
        await zeebe.deploy(ROLLOUT_BPMN, *FORMS, *STAND_INS)
        store_url = f"sqlite:///{tmp_path / 'workers.db'}"
        # audit.file-history files the history before "Rollout closed": the audit group runs too, with
        # the rollout's decisions to replay (what procgov.groups gives it in a deployment).
        audit = AuditDeps.from_settings(
            WorkerSettings(_env_file=None, store_url=store_url),  # type: ignore[call-arg]
            AuditSettings(_env_file=None, data_dir=zeebe.data_dir,  # type: ignore[call-arg]
                          archive_dir=tmp_path / "audit"),
            registry={decision.name: decision for decision in DECISIONS})
        deps = RolloutDeps.from_files(
            org_directory=DATA / "org-directory.yaml", webhooks=webhooks_for(webhooks),
            exams_dir=DATA / "exams", templates=DATA / "notifications.yaml",
            smtp=SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5),
            store=IdempotencyStore(open_engine(store_url)))
        await run_workers(build_router(deps), build_audit_router(audit), store_url=store_url)

    return go


async def test_exams_with_a_retake_an_escalation_and_a_malformed_sheet(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    """000A step 3: announce to all; each employee sits the closed-book exam; retakes; escalation."""
    await start_workers()
    attempts: dict[str, int] = {}
    seen: list[tuple[str | None, str, int]] = []

    def exam(task: UserTask) -> dict[str, Any]:
        employee = task.variables["employee"]
        attempts[employee] = attempts.get(employee, 0) + 1
        seen.append((task.assignee, employee, task.variables["attempt"]))
        if employee == "wang.fang" and attempts[employee] == 1:
            return answers_of(task, FAILING)  # fails, then passes the retake
        if employee == "liu.yang":
            return answers_of(task, FAILING)  # fails all three attempts → escalated to the owner
        if employee == "anna.schmidt" and attempts[employee] == 1:
            return answers_of(task, {**PERFECT_ANSWERS, "u1": "Z"})  # malformed: not an option
        return answers_of(task, PERFECT_ANSWERS)

    scripts = default_scripts(zeebe) | {"Exam_Take": exam}
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, request_variables(owner=OWNER), start_at=["Step3_Training"])
        await zeebe.instance(key).wait_element_passed("Step3_Training")
    assert desk.unexpected == []
    results = {r["employee"]: r for r in zeebe.instance(key).variables()["examResults"]}
    assert {e: (r["passed"], r["attempt"], r["score"]) for e, r in results.items()} == {
        "chen.jing": (True, 1, 100.0), "wang.fang": (True, 2, 100.0), "liu.yang": (False, 3, 40.0),
        "anna.schmidt": (True, 1, 100.0)}
    assert results["liu.yang"]["topicScores"]["responsibilities"]["score"] == 0
    assert attempts == {"chen.jing": 1, "wang.fang": 2, "liu.yang": 3, "anna.schmidt": 2}  # the bad sheet again
    assert all(assignee == employee for assignee, employee, _ in seen)  # each sits their own exam
    assert sorted((e, a) for _, e, a in seen if e in ("liu.yang", "anna.schmidt")) == [
        ("anna.schmidt", 1), ("anna.schmidt", 1), ("liu.yang", 1), ("liu.yang", 2), ("liu.yang", 3)]
    assert passed(zeebe, key, "Exam_InviteRetake") == 3 and passed(zeebe, key, "Exam_Escalate") == 1
    assert passed(zeebe, key, "Exam_SheetInvalid") == 1
    # what actually arrived: the announcement to all four, two retake invitations to liu.yang, one to
    # wang.fang, and the escalation to the owner
    subjects = [(str(m["To"]).split("<")[1].rstrip(">"), str(m["Subject"])) for m in smtp.sink.messages]
    assert sum("新流程推行通知" in s or "is coming" in s for _, s in subjects) == 4
    assert sorted(a for a, s in subjects if "请补考" in s) == [
        "liu.yang@example.com", "liu.yang@example.com", "wang.fang@example.com"]
    [escalation] = [m for m in smtp.sink.messages if "均未通过" in str(m["Subject"])]
    assert "li.ming@example.com" in str(escalation["To"]) and "刘洋" in escalation.get_content()
    assert any("刘洋" in p["markdown"]["content"] for p in webhooks.to("/wecom/order-rollout"))


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_full_rollout_all_nine_steps_in_order(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer, tmp_path: Path) -> None:
    """The happy path from the request to the lock-ins, with the six monthly reviews and version n+1."""
    await start_workers()
    async with user_task_desk(zeebe, default_scripts(zeebe)) as desk:
        key = await start(zeebe, request_variables())
        instance = zeebe.instance(key)
        await instance.wait_element_active("Step4_PilotElapsed")
        await zeebe.increase_time(timedelta(days=93))  # 000A step 4: small company → 3 months
        await instance.wait_element_active("Step6_CutoverReached")
        await zeebe.increase_time(timedelta(days=11))
        for month in range(1, 7):  # 000A steps 7-8: six monthly reviews, then version n+1
            await wait_activated(zeebe, key, "Month_Elapsed", month)
            await zeebe.increase_time(timedelta(days=31))
        await instance.wait_completed()
    assert desk.unexpected == []
    variables = instance.variables()
    steps = [f"Step{n}_{name}" for n, name in enumerate(
        ["Owner", "Plan", "Training", "Pilot", "Issuance", "FullRollout", "DailyManagement", "Reoptimise",
         "LockIn"], start=1)]
    assert all(passed(zeebe, key, step) == 1 for step in steps)
    assert variables["owner"]["id"] == "li.ming" and variables["ownerCheck"]["eligible"]
    assert variables["pilot"]["duration"] == "P3M" and variables["pilotEvaluation"]["success"]
    assert variables["cutover"]["shares"] == [100] and variables["readiness"]["ready"]
    assert len(variables["monthlyReviews"]) == 6 and variables["processVersion"] == "V2.1"
    assert variables["lockInCheck"]["complete"] and variables["changeOutcome"] == "published"
    assert passed(zeebe, key, "Month_ChangeRequest") == 0 and passed(zeebe, key, "Step8_ChangeRequest") == 1
    subjects = [str(m["Subject"]) for m in smtp.sink.messages]
    assert any("您已被任命为" in s for s in subjects) and any("推行完成" in s for s in subjects)
    assert sum("正式发文" in s or "[Issued]" in s for s in subjects) == 4
    # the last task files the audit record: the history and the replayed decisions, all matching
    assert passed(zeebe, key, "FileAuditRecord") == 1
    filing = variables["auditFiling"]
    assert filing["verdict"] == "pass" and filing["findings"] == [] and filing["decisions"] >= 6
    filed = await asyncio.to_thread(lambda: [Path(filing[f]).is_file() for f in ("historyFile", "reportFile")])
    assert filed == [True, True]
    completed = [r["value"]["elementId"] for r in zeebe.records() if r["valueType"] == "PROCESS_INSTANCE"
                 and r["intent"] == "ELEMENT_COMPLETED" and r["value"].get("processInstanceKey") == key]
    assert completed[-3:] == ["FileAuditRecord", "RolloutClosed", "procgov-rollout"]
    # the registry: the rollout ran and ended with the process in force, nothing left running
    shown = registry_show(tmp_path, "order-fulfilment")
    assert (shown["owner"], shown["state"], shown["rollout_instance"]) == ("li.ming", "in force", None)
    assert passed(zeebe, key, "Step1_RegisterRollout") == 1 and passed(zeebe, key, "Step9_EndRollout") == 1
    history = CliRunner().invoke(cli, ["processes", "history", "order-fulfilment", "--json",
                                       "--store", f"sqlite:///{tmp_path / 'workers.db'}"])
    events = [(e["kind"], e["detail"].get("state")) for e in json.loads(history.output)["events"]]
    assert events == [("registered", "draft"), ("rollout-started", None), ("state", "pilot"), ("state", "issued"),
                      ("rollout-ended", None)]


def registry_show(tmp_path: Path, process_id: str) -> dict[str, Any]:
    """``procgov processes show`` on the workers' store the rollout workers use."""
    result = CliRunner().invoke(cli, ["processes", "show", process_id, "--json",
                                      "--store", f"sqlite:///{tmp_path / 'workers.db'}"])
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.output)
    return shown


async def test_000A_one_rollout_per_process_a_second_one_is_refused_with_an_incident(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, tmp_path: Path) -> None:
    """rollout.register-rollout (after the owner check) registers the rollout in the process registry; a
    second rollout of the same process while the first runs stops at an incident naming the running one
    (an incident: Camunda 8 docs, "Incidents" — the job failed with no retries left, resolved by hand)."""
    await start_workers()
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        first = await start(zeebe, request_variables())
        await zeebe.instance(first).wait_element_passed("Step1_Owner")
        shown = registry_show(tmp_path, "order-fulfilment")
        assert (shown["rollout_instance"], shown["owner"], shown["state"], shown["current_version"]) == (
            str(first), "li.ming", "draft", "V2.0")
        second = await start(zeebe, request_variables())
        incident = await zeebe.instance(second).wait_incident("refused")
    assert incident.error_message == (
        f"000A: rollout {second} of order-fulfilment refused: rollout {first} of the same process is still "
        "running (one rollout per process at a time)")
    assert passed(zeebe, second, "Step1_NotifyOwner") == 0  # the second rollout did not go on
    assert registry_show(tmp_path, "order-fulfilment")["rollout_instance"] == str(first)
    history = CliRunner().invoke(cli, ["processes", "history", "order-fulfilment", "--json",
                                       "--store", f"sqlite:///{tmp_path / 'workers.db'}"])
    events = [(e["kind"], e["instance"]) for e in json.loads(history.output)["events"]]
    assert events == [("registered", None), ("rollout-started", str(first)), ("rollout-refused", str(second))]


async def test_an_ineligible_owner_is_renominated_and_an_invalid_plan_sent_back(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer) -> None:
    """000A step 1 (senior executive only, BPMN error handled) and step 2 (goal ≥ 50 %)."""
    await start_workers()
    plans = iter([
        {"team": "chen.jing\nsun.qiang\nzhao.lei", "weeks": [{"week": 1, "activities": "training"}],
         "goal": {"metric": "cycle days", "baseline": 6, "target": 5, "direction": "lower-is-better"}},
        {"team": "chen.jing\nsun.qiang\nzhao.lei", "weeks": [{"week": 1, "activities": "training"}],
         "goal": {"metric": "cycle days", "baseline": 6, "target": 3, "direction": "lower-is-better"}},
    ])
    seen_reasons: list[Any] = []

    def make_plan(task: UserTask) -> dict[str, Any]:
        seen_reasons.append(task.variables.get("planCheck"))
        return {"rolloutPlan": next(plans)}

    renominated: list[Any] = []

    def renominate(task: UserTask) -> dict[str, Any]:
        renominated.append((task.assignee, task.variables["ownerCheck"]))
        return {"ownerNomineeId": "li.ming"}

    scripts = default_scripts(zeebe) | {"Step2_MakePlan": make_plan, "Step1_Renominate": renominate}
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, request_variables(ownerNomineeId="wang.fang"))  # an order clerk
        await zeebe.instance(key).wait_element_passed("Step2_Plan")
    assert desk.unexpected == []
    [(assignee, check)] = renominated
    assert assignee == "zhao.lei"  # the sponsor nominates again
    assert not check["eligible"] and "must be a senior executive" in check["reasons"][0]
    assert passed(zeebe, key, "Step1_NotEligible") == 1 and passed(zeebe, key, "Step1_CheckOwner") == 1
    assert zeebe.instance(key).variables()["owner"]["id"] == "li.ming"
    assert seen_reasons[0] is None and "by at least 50 %, planned 16.7 %" in seen_reasons[1]["reasons"][0]
    assert passed(zeebe, key, "Step2_PlanInvalid") == 1
    assert [str(m["To"]) for m in smtp.sink.messages if "流程owner" in str(m["Subject"])] == [
        "李明 <li.ming@example.com>"]


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_a_failed_pilot_means_no_full_rollout_until_the_reworked_pilot_succeeds(
        zeebe: EmbeddedEngine, start_workers: StartWorkers) -> None:
    """000A step 4: a large company pilots 6 months; failure → rework and extend; success → step 5."""
    await start_workers()
    reports = iter([
        {"kpis": [{"name": "cycle days", "target": 3, "actual": 4.2, "direction": "lower-is-better"}],
         "trainedPeople": "chen.jing", "templates": "checklist", "lessons": "too early"},
        {"kpis": [{"name": "cycle days", "target": 3, "actual": 2.9, "direction": "lower-is-better"}],
         "trainedPeople": "chen.jing", "templates": "checklist", "lessons": "train first"},
    ])
    scripts = default_scripts(zeebe) | {"Step4_ReportPilot": lambda task: {"pilotReport": next(reports)}}
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, request_variables(owner=OWNER, companySize="large"), start_at=["Step4_Pilot"])
        instance = zeebe.instance(key)
        await instance.wait_element_active("Step4_PilotElapsed")
        assert instance.variables()["pilot"]["duration"] == "P6M"
        await zeebe.increase_time(timedelta(days=93))
        await instance.wait_element_active("Step4_PilotElapsed")  # 3 months are not enough in a large company
        assert passed(zeebe, key, "Step4_PilotElapsed") == 0
        await zeebe.increase_time(timedelta(days=92))
        await wait_activated(zeebe, key, "Step4_PilotElapsed", 2)  # failed → reworked, piloted 6 months again
        assert instance.variables()["pilot"]["duration"] == "P6M"
        assert passed(zeebe, key, "Step5_Issuance") == 0  # no full rollout without local success
        await zeebe.increase_time(timedelta(days=185))
        await instance.wait_element_passed("Step4_Pilot")
    assert desk.unexpected == []
    assert next(out for _, out in desk.completed("Step4_Rework"))["pilotDuration"] == "P6M"
    variables = instance.variables()
    assert variables["pilotEvaluation"]["success"] and variables["pilot"]["scopeKind"] == "departments"
    assert passed(zeebe, key, "Step4_EvaluatePilot") == 2


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_readiness_not_met_postpones_the_cutover_then_a_staged_rollout(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer) -> None:
    """000A step 6: readiness gate at the cutover date; not ready → postpone; staged 50 % → 100 %."""
    await start_workers()
    readiness = iter([
        {"pilotAdequate": True, "publicityAdequate": False, "resourcesReady": True, "fullRolloutFeasible": True},
        {"pilotAdequate": True, "publicityAdequate": True, "resourcesReady": True, "fullRolloutFeasible": True},
    ])
    day0 = today(zeebe)
    scripts = default_scripts(zeebe) | {
        "Step6_SetCutover": lambda task: {"cutoverDate": (day0 + timedelta(days=10)).isoformat(),
                                          "stagedRollout": True},
        "Step6_ConfirmReadiness": lambda task: {"readinessReport": next(readiness)},
        "Step6_Postpone": lambda task: {"cutoverDate": (day0 + timedelta(days=20)).isoformat()},
    }
    variables = request_variables(owner=OWNER, pilotEvaluation={"success": True}, issuance={
        "documentNumber": "PG-2026-017", "issuedOn": day0.isoformat(), "version": "V2.0"})
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, variables, start_at=["Step6_FullRollout"])
        instance = zeebe.instance(key)
        await instance.wait_element_active("Step6_CutoverReached")
        await zeebe.increase_time(timedelta(days=5))
        assert passed(zeebe, key, "Step6_CutoverReached") == 0  # not before the cutover date
        await zeebe.increase_time(timedelta(days=6))
        await wait_activated(zeebe, key, "Step6_CutoverReached", 2)  # postponed: waiting for the new date
        assert instance.variables()["readiness"]["unmet"] == ["publicityAdequate"]
        await zeebe.increase_time(timedelta(days=10))
        await instance.wait_element_passed("Step6_FullRollout")
    assert desk.unexpected == []
    assert [passed(zeebe, key, e) for e in ("Step6_GoLive50", "Step6_ConfirmStage", "Step6_GoLive100")] == [1, 1, 1]
    assert instance.variables()["cutover"]["shares"] == [50, 100]
    subjects = [str(m["Subject"]) for m in smtp.sink.messages]
    assert sum("切换日延期" in s or "cutover postponed" in s for s in subjects) == 4
    assert sum("推行 50%" in s or "at 50 %" in s for s in subjects) == 4
    assert sum("推行 100%" in s or "at 100 %" in s for s in subjects) == 4
    postponed = next(m for m in smtp.sink.messages if "切换日延期" in str(m["Subject"]))
    assert "publicityAdequate" in postponed.get_content()


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_monthly_problems_go_to_a_change_request_and_version_n_plus_1_closes_the_rollout(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer) -> None:
    """000A steps 7-9: monthly reviews (a missed month → change request), re-optimisation after six
    months (a returned request is revised), then the three lock-ins (incomplete → confirmed again)."""
    await start_workers()
    outcomes = iter([("V2.1", "published"), ("V2.1", "returned"), ("V3.0", "published")])
    lock_ins = iter([
        {"behaviour": {"done": True, "evidence": "spot checks"}, "performance": {"done": False}},
        {"behaviour": {"done": True, "evidence": "spot checks"}, "performance": {"done": True, "evidence": "bonus"},
         "it": {"done": True, "evidence": "ERP"}},
    ])
    reviewed: list[str] = []

    def review(task: UserTask) -> dict[str, Any]:
        month = task.variables["reviewMonth"]
        reviewed.append(month)
        met = len(reviewed) != 2  # the second month misses its targets
        return {"slaReview": {"month": month, "met": met, "missedIndicators": [] if met else ["order-cycle"],
                              "totalFinesYuan": "0" if met else "40"}}

    def change(task: UserTask) -> dict[str, Any]:
        version, outcome = next(outcomes)
        return {"newVersion": version, "changeOutcome": outcome}

    scripts = default_scripts(zeebe) | {
        "StandIn_SlaReview": review, "StandIn_ChangeRequest": change,
        "Step9_Confirm": lambda task: {"lockIns": next(lock_ins)}}
    day0 = today(zeebe)
    variables = request_variables(owner=OWNER, cutover={"date": day0.isoformat()})
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, variables, start_at=["Step7_DailyManagement"])
        instance = zeebe.instance(key)
        for month in range(1, 7):
            await wait_activated(zeebe, key, "Month_Elapsed", month)
            assert passed(zeebe, key, "Month_SlaReview") == month - 1  # nothing before the month is over
            await zeebe.increase_time(timedelta(days=31))
        await instance.wait_completed()
    assert desk.unexpected == []
    first = day0.replace(day=1)
    assert reviewed == [month_after(first, n).strftime("%Y-%m") for n in range(6)]  # from the cutover month
    assert passed(zeebe, key, "Month_ChangeRequest") == 1  # the one month with problems
    assert passed(zeebe, key, "Step8_ChangeRequest") == 2 and passed(zeebe, key, "Step8_Prepare") == 2
    assert passed(zeebe, key, "Step9_Confirm") == 2
    final = instance.variables()
    assert final["processVersion"] == "V3.0" and final["lockInCheck"]["complete"]
    assert [r["met"] for r in final["monthlyReviews"]] == [True, False, True, True, True, True]
    [(change_task, _)] = desk.completed("StandIn_ChangeRequest")[:1]
    assert change_task.variables == {  # exactly the contract's inputs (docs/contracts.md)
        "processId": "order-fulfilment", "processName": "订单履约流程 Order fulfilment", "currentVersion": "V2.0",
        "origin": "self-check", "scope": "cross-department", "department": "营销中心 Marketing",
        "departmentHead": "li.ming", "requester": "li.ming", "problem": "order receipt over 30 min in the north region",
        "proposedChange": "check completeness at receipt"}
    sla_inputs = desk.completed("StandIn_SlaReview")[0][0].variables
    assert sla_inputs == {"processId": "order-fulfilment", "processName": "订单履约流程 Order fulfilment",
                          "ownerDepartment": "营销中心 Marketing", "reviewMonth": reviewed[0]}
    assert any("推行完成" in str(m["Subject"]) for m in smtp.sink.messages)


async def _announce_until_no_retries_left(zeebe: EmbeddedEngine, key: int, timeout_s: float = 20.0) -> None:
    """Move the clock past each back-off only after the announcement's previous attempt failed, so no
    jump lands while a worker holds the job (the desk completes Step5_Issue by polling, in its own time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s

    def failures() -> list[int]:
        return [r["value"]["retries"] for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "FAILED"
                and r["value"]["elementId"] == "Step5_Announce" and r["value"]["processInstanceKey"] == key]

    seen = 0
    while not (found := failures()) or found[-1] > 0:
        if len(found) > seen:
            seen = len(found)
            await zeebe.increase_time(timedelta(minutes=10))
        assert loop.time() < deadline, f"announcement attempts so far: {found}"
        await asyncio.sleep(0.05)


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_a_mail_server_outage_is_retried_with_back_off_then_an_incident_names_the_server(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    """rollout.notify: SMTP down → FailJob with back-off (5 retries) → an incident saying which server and why;
    chat messages went out once, and are not sent again by the retries."""
    await start_workers()
    smtp.stop()
    key = await start(zeebe, request_variables(owner=OWNER), start_at=["Step5_Issuance"])
    instance = zeebe.instance(key)
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        await _announce_until_no_retries_left(zeebe, key)  # the back-off runs on the engine's clock
        incident = await instance.wait_incident()
    assert f"SMTP server 127.0.0.1:{smtp.sink.port} unreachable" in incident.error_message
    assert "wang.fang via email" in incident.error_message
    failures = [r for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "FAILED"
                and r["value"]["elementId"] == "Step5_Announce"]
    assert [f["value"]["retries"] for f in failures] == [4, 3, 2, 1, 0]
    assert len(webhooks.posts) == 4  # one chat message per employee, whatever the retries
    # started at step 5 (a modification): not the process's registered rollout, so no state was set
    assert instance.variables()["registryState"] == {
        "state": "issued", "applied": False,
        "reason": f"order-fulfilment: instance {key} is not its running rollout"}


async def test_decisions_are_recorded_and_replay_to_the_same_outputs(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, tmp_path: Path) -> None:
    """Owner eligibility, plan validation and grading are recorded with their rule version; evaluating the
    recorded inputs against the recorded rule text gives the recorded outputs (what audit does)."""
    await start_workers()
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        key = await start(zeebe, request_variables(ownerNomineeId="chen.jing"))  # a manager: refused first
        await zeebe.instance(key).wait_element_passed("Step3_Training")
    log = DecisionLog(open_engine(f"sqlite:///{tmp_path / 'workers.db'}"))
    records = list(log.iter_records(key))
    assert [r.decision for r in records] == (["rollout.owner-eligibility"] * 2 + ["rollout.plan-validation"]
                                             + ["rollout.exam-grade"] * 4)
    registry = {d.name: d for d in DECISIONS}
    for record in records:
        decision = registry[record.decision]
        rules = decision.parse_rules(log.rule_text(record.rule_version))
        replayed = decision.evaluate(decision.input_model.model_validate(record.inputs), rules)
        assert replayed.model_dump(mode="json", by_alias=True) == record.outputs
    assert records[0].outputs["ownerCheck"]["eligible"] is False and records[1].outputs["owner"]["id"] == "li.ming"
    paper = zeebe.instance(key).variables()["examPaper"]  # what the process holds: the paper, never the key
    assert all(q["answer"] is None for q in paper["questions"]) and "30 分钟" not in json.dumps(paper)


async def test_bad_configuration_ends_in_incidents_that_name_the_variable(
        zeebe: EmbeddedEngine, start_workers: StartWorkers) -> None:
    """An unknown exam and an impossible company size stop the instance with a precise incident."""
    await start_workers()
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        unknown_exam = await start(zeebe, request_variables(owner=OWNER, examId="nope"), start_at=["Step3_Training"])
        incident = await zeebe.instance(unknown_exam).wait_incident()
        assert incident.element_id == "Step3_PreparePaper"
        assert "examId 'nope' is not in the exam catalogue (known: order-fulfilment-v2)" in incident.error_message
        retries = [r["value"]["retries"] for r in zeebe.records() if r["valueType"] == "JOB"
                   and r["intent"] == "FAILED" and r["value"]["elementId"] == "Step3_PreparePaper"]
        assert retries == [0]  # a PermanentError: an incident on the first attempt, no retries
        medium = await start(zeebe, request_variables(owner=OWNER, companySize="medium"), start_at=["Step4_Pilot"])
        incident = await zeebe.instance(medium).wait_incident()
    assert incident.element_id == "Step4_PlanPilot"
    assert "variable 'companySize'" in incident.error_message and "'small' or 'large'" in incident.error_message


async def test_a_webhook_answering_400_is_an_incident_at_once_naming_the_status_and_body(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, webhooks: WebhookSink) -> None:
    """A client error (wrong key, bad payload) does not fix itself: no retries, an incident that says which
    webhook answered what."""
    await start_workers()
    webhooks.replies["/feishu/warehouse"] = [(400, {"code": 19001, "msg": "param invalid: incoming webhook "
                                                                             "access token invalid"})]
    key = await start(zeebe, request_variables(owner=OWNER), start_at=["Step5_Issuance"])
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        incident = await zeebe.instance(key).wait_incident()
    assert incident.element_id == "Step5_Announce"
    assert "liu.yang via chat:warehouse-feishu" in incident.error_message
    assert re.search(r"feishu webhook http://127\.0\.0\.1:\d+/feishu/warehouse refused the message with HTTP 400",
                     incident.error_message), incident.error_message
    assert "incoming webhook access token invalid" in incident.error_message
    failures = [r["value"]["retries"] for r in zeebe.records() if r["valueType"] == "JOB"
                and r["intent"] == "FAILED" and r["value"]["elementId"] == "Step5_Announce"]
    assert failures == [0]  # the first failure is the incident: no retry


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_a_webhook_answering_503_is_retried_with_back_off_then_an_incident(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    """A server error may pass: FailJob with growing back-off on the engine's clock (5 retries), then an
    incident naming the webhook and its answer; mail went out once, whatever the retries."""
    await start_workers()
    webhooks.replies["/slack/pmo"] = [(503, {"ok": False, "error": "service unavailable"})] * 10
    key = await start(zeebe, request_variables(owner=OWNER), start_at=["Step5_Issuance"])
    instance = zeebe.instance(key)
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        await _announce_until_no_retries_left(zeebe, key)  # the back-off runs on the engine's clock
        incident = await instance.wait_incident()
    assert re.search(r"slack webhook http://127\.0\.0\.1:\d+/slack/pmo answered HTTP 503", incident.error_message)
    assert "service unavailable" in incident.error_message
    assert "anna.schmidt via chat:pmo-slack" in incident.error_message
    failures = [r["value"] for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "FAILED"
                and r["value"]["elementId"] == "Step5_Announce"]
    assert [f["retries"] for f in failures] == [4, 3, 2, 1, 0]
    backoffs = [f["retryBackoff"] for f in failures]
    assert backoffs[:4] == sorted(backoffs[:4]) and backoffs[0] > 0 and backoffs[3] > backoffs[0]  # exponential
    assert len(webhooks.to("/slack/pmo")) == 0 and len(smtp.sink.messages) == 4  # mail once, chat never
