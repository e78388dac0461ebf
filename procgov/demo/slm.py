"""Demo: two process change requests (one on time, one late) and a monthly SLA review with findings.

Runs on the demo's engine clock: the late change request moves it past the planning office's deadline
(100104 §2.3.4: 2 working days), so the fines and reminders come from the engine's own timers. The
review loads one month of sample business data (``data/slm/kpi-sample.yaml``) into the KPI database
the slm workers read (``PROCGOV_SLM_KPI_URL``), then runs the month with spot-check findings.

``ORDER = 10``: the engine clock only moves forward and later scenarios (the rollout) jump it by months;
this one runs first, near today. Its change requests are department-level (working days): the business
calendar answers for any year (official data, the override file, or the estimate beyond them), and the
facts show which source each due date rests on.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from procgov.demo.runner import PLANNING_OFFICE, DemoContext, ScenarioResult
from workers.slm.business_calendar import DEFAULT_TIMEZONE, DayCount, local_date
from workers.slm.deadlines import previous_month
from workers.slm.deps import DEFAULT_DATA_DIR, SlmSettings
from workers.slm.kpi_sample import load_sample

NAME = "slm"
ORDER = 10  # before the rollout moves the engine clock by months (see the module docstring)

SALES = "销售部 Sales"
CHANGE = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
          "origin": "self-check", "scope": "department", "department": SALES, "departmentHead": "chen.jing",
          "requester": "wang.fang", "problem": "order receipt form lacks the delivery address",
          "proposedChange": "add the delivery address to the receipt form"}
FINDINGS = [
    {"department": SALES, "processId": "order-to-delivery", "problem": "late-approval", "kind": "violation",
     "directPerson": "wang.fang", "description": "found and punished by the self-check"},
    {"department": SALES, "processId": "order-to-delivery", "problem": "skipped-credit-check", "kind": "violation",
     "directPerson": "he.lin", "description": "credit check skipped on a new customer"},
    {"department": SALES, "processId": "order-to-delivery", "problem": "receipt-form-field", "kind": "design-defect",
     "directPerson": "he.lin", "description": "the form has no field for the delivery address"},
]


def _audit(variables: dict[str, Any]) -> str:
    """The verdict ``audit.file-history`` filed as the model's last task (replayed decisions all match: pass)."""
    return str(variables.get("auditFiling", {}).get("verdict", "not filed"))


def _fines(variables: dict[str, Any]) -> str:
    items = variables.get("penalties", {}).get("lineItems", [])
    detail = ", ".join(f"{i['clause']} {i['person']} {i['amountYuan']}" for i in items)
    return f"{variables.get('totalFinesYuan', '?')} yuan" + (f" ({detail})" if detail else "")


async def _change(ctx: DemoContext, label: str, scope: str, days_late: int, version: str) -> ScenarioResult:
    """One change request on ``version``; ``days_late`` > 0 publishes that many days (of the rule's kind)
    after the due day. Each change is raised on the version the previous one published: the process
    registry refuses a second change on a version that is no longer current (100104 §2.3)."""
    key = await ctx.start("procgov-change-request", {**CHANGE, "scope": scope, "currentVersion": version})
    await ctx.complete_user_task("approve-change", {"approved": True}, instance_key=key)
    if scope == "cross-department":
        await ctx.complete_user_task("discuss-change", {"discussionMinutes": "Sales and Warehouse agree"},
                                     instance_key=key, assignee=PLANNING_OFFICE)
    await ctx.zeebe.instance(key).wait_element_active("publish-change")
    due = ctx.zeebe.instance(key).variables()["publishDueDate"]
    if days_late:
        # move the engine's clock to 10:00 on the n-th (working) day after the due day: the daily timer
        # reminds the rule supervisor and the department head, and the fine counts the days late
        count = DayCount.WORKING if scope == "department" else DayCount.CALENDAR
        publish_on = SlmSettings().business_calendar().add_days(date.fromisoformat(due), days_late, count).value
        moment = datetime.combine(publish_on, time(10), tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
        await ctx.zeebe.increase_time(moment - ctx.zeebe.clock.now())
        await ctx.zeebe.instance(key).wait_element_passed("notify-publication-overdue")
    await ctx.complete_user_task("publish-change", {"changeEffect": "no more returned orders"}, instance_key=key,
                                 assignee=PLANNING_OFFICE)
    await ctx.zeebe.instance(key).wait_completed()
    variables = ctx.zeebe.instance(key).variables()
    fined = variables.get("totalFinesYuan") != "0.00"
    filed = _audit(variables) == "pass"
    ok = variables.get("changeOutcome") == "published" and fined == bool(days_late) and filed
    return ScenarioResult(label, key, "COMPLETED", ok, facts={
        "scope": scope, "new version": str(variables.get("newVersion")),
        "publication due": f"{due} (calendar: {variables.get('publishDueCalendar')})",
        "published": str(variables.get("doneDate")), "fines": _fines(variables), "audit": _audit(variables)},
        detail="" if ok else ("fines do not match the deadline" if filed else "the audit record did not pass"))


async def _review(ctx: DemoContext) -> ScenarioResult:
    month = previous_month(local_date(ctx.zeebe.clock.now()))
    await asyncio.to_thread(load_sample, SlmSettings().kpi_url, month, DEFAULT_DATA_DIR / "kpi-sample.yaml")
    key = await ctx.start("procgov-sla-review", {"processId": "order-to-delivery", "ownerDepartment": SALES,
                                                 "processName": CHANGE["processName"], "reviewMonth": month})
    await ctx.complete_user_task("submit-self-check", {
        "selfCheckRuns": "412 orders", "selfCheckExecution": "1 violation, punished",
        "selfCheckDesignProblems": "receipt form lacks a field", "selfCheckViolations": "late-approval"},
        instance_key=key)
    await ctx.complete_user_task("sign-summary", {"summaryImprovements": "credit check training",
                                                  "summarySigned": True}, instance_key=key)
    await ctx.complete_user_task("record-spot-check", {"findings": FINDINGS}, instance_key=key,
                                 assignee=PLANNING_OFFICE)
    await ctx.zeebe.instance(key).wait_completed()
    variables = ctx.zeebe.instance(key).variables()
    review = variables.get("slaReview", {})
    ok = (bool(review) and review.get("totalFinesYuan") == variables.get("totalFinesYuan")
          and _audit(variables) == "pass")
    return ScenarioResult("slm: monthly SLA review with findings", key, "COMPLETED", ok, facts={
        "month": month, "indicators met": str(review.get("met")),
        "missed": ", ".join(review.get("missedIndicators", [])) or "none", "fines": _fines(variables),
        "report": str(variables.get("reportPath")), "audit": _audit(variables)},
        detail="" if ok else "the review's totals or its audit record do not match")


async def run(ctx: DemoContext) -> list[ScenarioResult]:
    return [await _change(ctx, "slm: change request published on time", "department", 0, "V2.1"),
            await _change(ctx, "slm: change request published late (100104 §2.3.4)", "department", 2, "V2.2"),
            await _review(ctx)]
