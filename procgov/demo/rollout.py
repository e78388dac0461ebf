"""Demo: one nine-step rollout (000A) end to end, on the demo's engine clock.

The sample request (``data/rollout/rollout-request.yaml``) appoints the VP Marketing as owner of the
new order-fulfilment process. The demo plays every person: the owner plans, the four affected
employees sit the closed-book exam (the first sheet handed in fails, so one employee retakes), the
pilot runs its 3 months (small company), the new process is issued, the cutover is staged 50 % →
100 %, six monthly SLA reviews run (the real ``procgov-sla-review``, its people played here too), the
owner re-optimises to version n+1 through a real change request, and the three lock-ins close it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta, timezone
from typing import Any

import yaml

from procgov.demo.runner import PLANNING_OFFICE, DemoContext, ScenarioResult
from workers.runtime.bundled import bundled

NAME = "rollout"

DATA = bundled("data", "rollout")
CHINA = timezone(timedelta(hours=8))
PERFECT = {"u1": "B", "u2": "30", "u3": True, "d1": ["A", "C"], "d2": False, "r1": "B", "r2": "2%"}
FAILING = {**PERFECT, "r1": "A", "r2": "5%", "d1": ["B"]}
# What the people of the called processes answer (procgov-sla-review, procgov-change-request).
CHILD_TASKS: dict[str, dict[str, Any]] = {
    "submit-self-check": {"selfCheckRuns": "412 orders", "selfCheckExecution": "no violations",
                          "selfCheckDesignProblems": "none", "selfCheckViolations": ""},
    "sign-summary": {"summaryImprovements": "keep the completeness check at receipt", "summarySigned": True},
    "record-spot-check": {"findings": []},
    "submit-change-plan": {"problem": "six months of experience with V2.0",
                           "proposedChange": "templates revised, scheduling moved earlier"},
    "approve-change": {"approved": True},
    "discuss-change": {"discussionMinutes": "the departments concerned agree"},
    "publish-change": {"changeEffect": "order cycle down to 2.5 days"},
}
# the planning office's candidate-group tasks, claimed by it (the user task guard: nobody fined by them)
CLAIMED_BY = dict.fromkeys(("record-spot-check", "discuss-change", "publish-change"), PLANNING_OFFICE)


def _sheet(answers: dict[str, Any]) -> dict[str, Any]:
    """The answer sheet as the exam form submits it: every answer typed into a text field."""

    def typed(answer: Any) -> str:
        if isinstance(answer, bool):
            return "true" if answer else "false"
        return ",".join(answer) if isinstance(answer, list) else str(answer)

    return {"answers": [{"questionId": k, "answer": typed(v)} for k, v in answers.items()]}


def _query(ctx: DemoContext, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Read the engine's record log (read-only, as audit does) without parsing every record."""
    uri = f"file:{(ctx.data_dir / 'engine' / 'records.db').resolve()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return db.execute(sql, args).fetchall()


def _children(ctx: DemoContext, key: int, process_id: str) -> list[int]:
    """Instances of ``process_id`` called by ``key``, oldest first."""
    rows = _query(ctx, "SELECT DISTINCT process_instance_key FROM records WHERE value_type = 'PROCESS_INSTANCE' "
                       "AND intent = 'ELEMENT_ACTIVATED' AND json_extract(json, '$.value.bpmnElementType') = 'PROCESS' "
                       "AND json_extract(json, '$.value.parentProcessInstanceKey') = ? "
                       "AND json_extract(json, '$.value.bpmnProcessId') = ? ORDER BY position", key, process_id)
    return [int(row[0]) for row in rows]


def _count(ctx: DemoContext, key: int, element_id: str, intent: str = "ELEMENT_COMPLETED") -> int:
    rows = _query(ctx, "SELECT COUNT(*) FROM records WHERE value_type = 'PROCESS_INSTANCE' AND intent = ? "
                       "AND process_instance_key = ? AND json_extract(json, '$.value.elementId') = ?",
                  intent, key, element_id)
    return int(rows[0][0])


async def _until(check: Any, what: str, timeout_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise TimeoutError(f"rollout demo: {what} did not happen within {timeout_s:.0f} s")
        await asyncio.sleep(0.25)


async def _play_child(ctx: DemoContext, key: int, process_id: str, seen: int) -> int:
    """Wait for the (seen+1)-th call of ``process_id`` and play its people until it completes."""
    await _until(lambda: len(_children(ctx, key, process_id)) > seen, f"call of {process_id}")
    child = _children(ctx, key, process_id)[seen]
    instance = ctx.zeebe.instance(child)
    played: dict[str, int] = {}
    while not instance.snapshot().completed:
        due = [e for e in CHILD_TASKS if _count(ctx, child, e, "ELEMENT_ACTIVATED") > played.get(e, 0)]
        if due:
            await ctx.complete_user_task(due[0], CHILD_TASKS[due[0]], instance_key=child,
                                         assignee=CLAIMED_BY.get(due[0]))
            played[due[0]] = played.get(due[0], 0) + 1
            continue
        incidents = _query(ctx, "SELECT json_extract(json, '$.value.errorMessage') FROM records WHERE "
                                "value_type = 'INCIDENT' AND intent = 'CREATED' AND process_instance_key = ?", child)
        if incidents:
            raise RuntimeError(f"{process_id} {child}: incident: {incidents[-1][0]}")
        await asyncio.sleep(0.25)
    return child


async def run(ctx: DemoContext) -> list[ScenarioResult]:
    request = yaml.safe_load((DATA / "rollout-request.yaml").read_text(encoding="utf-8"))
    key = await ctx.start("procgov-rollout", request)
    instance = ctx.zeebe.instance(key)

    # steps 1-2: the owner check runs by itself; the owner plans by week
    await ctx.complete_user_task("Step2_MakePlan", {"rolloutPlan": {
        "team": "chen.jing\nsun.qiang\nzhao.lei",
        "goal": {"metric": "order fulfilment cycle (days)", "baseline": 6, "target": 2.8,
                 "direction": "lower-is-better"},
        "weeks": [{"week": 1, "activities": "kick-off\ntraining"}, {"week": 2, "activities": "exam"},
                  {"week": 3, "activities": "pilot starts in East China"}]}}, instance_key=key)
    # step 3: four closed-book exams; the first sheet handed in fails, its author retakes
    for sheet in (FAILING, PERFECT, PERFECT, PERFECT, PERFECT):
        await ctx.complete_user_task("Exam_Take", _sheet(sheet), instance_key=key)
    # step 4: a 3-month pilot (small company) on the engine's clock
    await ctx.complete_user_task("Step4_DefineScope", {"pilotScope": {
        "kind": "market", "description": "East China sales region"}}, instance_key=key)
    await instance.wait_element_active("Step4_PilotElapsed")
    await ctx.zeebe.increase_time(timedelta(days=93))  # 000A step 4: small company → 3 months
    await ctx.complete_user_task("Step4_ReportPilot", {"pilotReport": {
        "kpis": [{"name": "order fulfilment cycle (days)", "target": 3, "actual": 2.8,
                  "direction": "lower-is-better"}],
        "trainedPeople": "chen.jing\nwang.fang", "templates": "order completeness checklist",
        "lessons": "train the warehouse before go-live"}}, instance_key=key)
    # step 5: issuance; step 6: cutover in a week, staged 50 % → 100 %
    issued_on = ctx.zeebe.clock.now().astimezone(CHINA).date()
    await ctx.complete_user_task("Step5_Issue", {"issuance": {
        "documentNumber": "PG-2026-003", "issuedOn": issued_on.isoformat(), "version": "V2.0"}}, instance_key=key)
    await ctx.complete_user_task("Step6_SetCutover", {
        "cutoverDate": (issued_on + timedelta(days=7)).isoformat(), "stagedRollout": True}, instance_key=key)
    await instance.wait_element_active("Step6_CutoverReached")
    await ctx.zeebe.increase_time(timedelta(days=8))
    await ctx.complete_user_task("Step6_ConfirmReadiness", {"readinessReport": {
        "pilotAdequate": True, "publicityAdequate": True, "resourcesReady": True, "fullRolloutFeasible": True}},
        instance_key=key)
    await ctx.complete_user_task("Step6_ConfirmStage", {"stageStable": True}, instance_key=key)
    # step 7: six monthly SLA reviews (real procgov-sla-review); a month with problems → change request
    changes = 0
    for month in range(6):
        await _until(lambda m=month: _count(ctx, key, "Month_Elapsed", "ELEMENT_ACTIVATED") > m, "review month")
        await ctx.zeebe.increase_time(timedelta(days=31))
        await _play_child(ctx, key, "procgov-sla-review", month)
        await _until(lambda m=month: _count(ctx, key, "Month_Problems") > m, "review outcome")
        if _count(ctx, key, "Month_DescribeChange", "ELEMENT_ACTIVATED") > changes:
            await ctx.complete_user_task("Month_DescribeChange", {
                "problem": "the monthly review missed its targets", "proposedChange": "see the review report"},
                instance_key=key)
            await _play_child(ctx, key, "procgov-change-request", changes)
            changes += 1
    # step 8: version n+1 through a change request; step 9: the three lock-ins
    await ctx.complete_user_task("Step8_Prepare", {
        "problem": "six months of experience with V2.0",
        "proposedChange": "templates revised, production scheduling moved earlier"}, instance_key=key)
    await _play_child(ctx, key, "procgov-change-request", changes)
    await ctx.complete_user_task("Step9_Confirm", {"lockIns": {
        "behaviour": {"done": True, "evidence": "spot checks clean for three months"},
        "performance": {"done": True, "evidence": "order cycle in the sales bonus"},
        "it": {"done": True, "evidence": "ERP enforces the completeness check"}}}, instance_key=key)
    await instance.wait_completed()

    variables = instance.variables()
    results = variables.get("examResults", [])
    retaken = [r["employee"] for r in results if r["attempt"] > 1]
    filing = variables.get("auditFiling", {})  # "File the audit record" (audit.file-history) ran last
    ok = (variables.get("lockInCheck", {}).get("complete") is True and len(results) == 4
          and all(r["passed"] for r in results) and variables.get("changeOutcome") == "published"
          and filing.get("verdict") == "pass")
    return [ScenarioResult("rollout: nine steps, staged cutover, version n+1", key, "COMPLETED", ok, facts={
        "owner": variables.get("owner", {}).get("name", "?"),
        "exam": f"4 passed, retake by {', '.join(retaken) or 'nobody'}",
        "pilot": variables.get("pilot", {}).get("duration", "?"),
        "cutover": f"{variables.get('cutover', {}).get('date')} staged {variables.get('cutover', {}).get('shares')}",
        "reviews": f"{len(variables.get('monthlyReviews', []))} months, {changes} change request(s)",
        "version": str(variables.get("processVersion")),
        "mails": str(len(ctx.mail.messages)),
        "audit": f"{filing.get('verdict', 'not filed')}, {filing.get('decisions', 0)} decisions replayed",
    }, detail="" if ok else "the rollout did not close with everyone passed, version n+1 published and its "
                            "audit record filed with a pass")]
