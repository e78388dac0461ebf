"""procgov-sla-review and procgov-annual-sla-review on the embedded engine (gRPC) with the real slm
workers, a real SQLite KPI database and a real SMTP server; deadlines on the engine's clock
(which starts Thursday 2026-04-02 09:00 Shanghai: the March review is due on 15 and 25 April)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from slm_process_helpers import audit_filing, child_instances

from workers.slm.store import Rectification, rectifications

pytestmark = pytest.mark.timeout(120)

SALES = "销售部 Sales"
REVIEW = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery",
          "ownerDepartment": SALES, "reviewMonth": "2026-03"}
SELF_CHECK = {"selfCheckRuns": "412 orders", "selfCheckExecution": "2 violations, punished",
              "selfCheckDesignProblems": "receipt form lacks a field", "selfCheckViolations": "late-approval"}
FINDINGS = [
    {"department": SALES, "processId": "order-to-delivery", "problem": "late-approval", "kind": "violation",
     "directPerson": "wang.fang", "description": "approved after delivery"},
    {"department": SALES, "processId": "order-to-delivery", "problem": "skipped-credit-check", "kind": "violation",
     "directPerson": "he.lin"},
    {"department": SALES, "processId": "order-to-delivery", "problem": "receipt-form-field", "kind": "design-defect",
     "directPerson": "he.lin"},
    {"department": SALES, "processId": "order-to-delivery", "problem": "price-table", "kind": "design-defect",
     "directPerson": "he.lin", "changeFiled": True},
    {"department": SALES, "processId": "order-to-delivery", "problem": "wrong-form", "kind": "violation",
     "directPerson": "wang.fang"},
]


def passed_once(zeebe, key: int, element_id: str) -> bool:
    return [r["value"]["elementId"] for r in zeebe.records() if r["valueType"] == "PROCESS_INSTANCE"
            and r["intent"] == "ELEMENT_COMPLETED" and r["value"].get("processInstanceKey") == key
            ].count(element_id) == 1


def fines_by_clause(variables: dict) -> dict[str, str]:
    totals: dict[str, float] = {}
    for item in variables["penalties"]["lineItems"]:
        totals[item["clause"]] = totals.get(item["clause"], 0) + float(item["amountYuan"])
    return {clause: f"{amount:.2f}" for clause, amount in sorted(totals.items())}


async def test_monthly_review_with_findings_fines_kpis_and_report(zeebe, slm, slm_deps, mail):
    # last month's spot-check found "wrong-form": its rectification is verified in this month's check
    slm_deps.store.record_rectifications([Rectification("2026-02", SALES, "wrong-form", "order-to-delivery",
                                                        "used last year's order form", "open")])
    key = await slm.start("procgov-sla-review", REVIEW)
    await zeebe.instance(key).wait_element_active("submit-self-check")
    opened = zeebe.instance(key).variables()
    assert (opened["selfCheckDueDate"], opened["summaryDueDate"]) == ("2026-04-15", "2026-04-25")
    assert "complaint-first-resolution-rate" not in opened["indicators"]  # another process's indicator
    await slm.complete("submit-self-check", key, SELF_CHECK)  # on time, but KPIs and cross-dept records missing
    await zeebe.instance(key).wait_element_active("sign-summary")
    await zeebe.increase_time(timedelta(days=25))  # Monday 27 April: the summary is 2 days late
    await zeebe.instance(key).wait_element_passed("notify-summary-overdue")
    await slm.complete("sign-summary", key, {"summaryImprovements": "credit check training", "summarySigned": True})
    await slm.complete("record-spot-check", key, {"findings": FINDINGS})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()

    assert fines_by_clause(variables) == {
        "100104 §2.1.1": "20.00",  # 2 missing items × 10 to the process supervisor
        "100104 §2.1.2": "20.00",  # 2 days late × 10 to the department head
        "100104 §2.2.1": "35.00",  # skipped-credit-check; late-approval was found by the self-check: exempt
        "100104 §2.2.2": "35.00",  # receipt-form-field; price-table had a change filed
        "100104 §2.2.3": "80.00",  # wrong-form repeated after last month's rectification
    }
    assert variables["totalFinesYuan"] == "190.00"
    assert [e["caseId"] for e in variables["penalties"]["exemptions"]] == ["finding-1:销售部 Sales:late-approval"]
    assert variables["repeatedProblems"] == ["销售部 Sales:wrong-form"]
    verdicts = {v["indicator"]: v["verdict"] for v in variables["kpiResults"]}
    assert verdicts["order-fulfilment-cycle"] == "met" and verdicts["inventory-accuracy"] == "alert"
    assert variables["slaReview"] == {"month": "2026-03", "met": False, "missedIndicators": ["inventory-accuracy"],
                                      "totalFinesYuan": "190.00"}
    html = await asyncio.to_thread(Path(variables["reportPath"]).read_text, encoding="utf-8")
    assert "<svg" in html and "100104 §2.2.3" in html and "190.00" in html and "王芳" in html
    # rectification tracked into next month's check
    with slm_deps.store.engine.connect() as connection:
        rows = {(r.review_month, r.problem): r.status for r in connection.execute(sa.select(rectifications))}
    assert rows[("2026-02", "wrong-form")] == "repeated"
    assert rows[("2026-03", "skipped-credit-check")] == "open"
    assert {r for m in mail.messages if "overdue" in m.subject for r in m.recipients} == {"chen.jing@example.com"}
    fined = {r for m in mail.messages if "fines" in m.subject for r in m.recipients}
    assert fined == {"chen.jing@example.com", "wang.fang@example.com", "he.lin@example.com"}
    # the last task filed the audit record: every recorded decision (KPI checks, fines) replays the same
    filing = await asyncio.to_thread(audit_filing, variables)
    assert (filing["verdict"], filing["findings"]) == ("pass", []) and filing["decisions"] >= 2
    assert passed_once(zeebe, key, "file-audit-record")


async def test_100104_2_1_1_late_self_check_reminds_the_process_supervisor_without_a_daily_fine(zeebe, slm, mail):
    key = await slm.start("procgov-sla-review", REVIEW)
    await zeebe.instance(key).wait_element_active("submit-self-check")
    await zeebe.increase_time(timedelta(days=14))  # Thursday 16 April: the self-check is late
    await zeebe.instance(key).wait_element_passed("notify-self-check-overdue")
    await slm.complete("submit-self-check", key, {**SELF_CHECK, "selfCheckKpis": "cycle 2.8 d",
                                                  "selfCheckCrossDepartment": "warehouse hand-over ok"})
    await slm.complete("sign-summary", key, {"summaryImprovements": "none", "summarySigned": True})
    await slm.complete("record-spot-check", key, {"findings": []})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["totalFinesYuan"] == "0.00"
    assert [m.recipients for m in mail.messages if "overdue" in m.subject] == [("wang.fang@example.com",)]


async def test_the_monthly_timer_starts_a_company_wide_review_of_every_department(zeebe, slm, slm_deps):
    await zeebe.increase_time(datetime(2026, 12, 1, 1, 0, tzinfo=UTC) - zeebe.clock.now())
    keys: list[int] = []
    for _ in range(200):  # the timer start is processed by the engine right after the clock moved
        keys = child_instances(zeebe.records(), "procgov-sla-review")
        if keys:
            break
        await asyncio.sleep(0.05)
    (key,) = keys
    await zeebe.instance(key).wait_element_active("submit-self-check")
    variables = zeebe.instance(key).variables()
    assert variables["reviewMonth"] == "2026-11"
    assert {d["department"] for d in variables["departments"]} == set(slm_deps.directory.departments)
    assert len(variables["indicators"]) == len(slm_deps.indicators.rules.indicators)


async def test_annual_review_feeds_the_improvement_plan_and_a_change_request(zeebe, slm, slm_deps):
    slm_deps.store.record_kpi_results("2025-10", [{"indicator": "inventory-accuracy", "verdict": "alert",
                                                   "actual": "98.5", "target": "99", "unit": "%",
                                                   "owner_department": "仓储部 Warehouse"}])
    slm_deps.store.record_kpi_results("2025-11", [{"indicator": "inventory-accuracy", "verdict": "missed",
                                                   "actual": "98.9", "target": "99", "unit": "%",
                                                   "owner_department": "仓储部 Warehouse"},
                                                  {"indicator": "order-fulfilment-cycle", "verdict": "met",
                                                   "actual": "2.8", "target": "3", "unit": "days",
                                                   "owner_department": SALES}])
    key = await slm.start("procgov-annual-sla-review", {"reviewYear": 2025})
    job = await slm.complete("explain-missed-targets", key, {"reasons": [{
        "indicator": "inventory-accuracy", "reason": "stock counted weekly, not daily", "changeNeeded": True,
        "processId": "inventory-check", "processName": "库存核查 Inventory check", "currentVersion": "V1.3",
        "department": "仓储部 Warehouse", "departmentHead": "qian.wei", "requester": "liu.yang",
        "proposedChange": "daily cycle count of A items"}]})
    missed = job.variables["missedTargets"]  # what the owners saw in the task
    assert [(m["indicator"], m["months"]) for m in missed] == [("inventory-accuracy", ["2025-10", "2025-11"])]
    await zeebe.instance(key).wait_element_active("request-change")
    (child,) = child_instances(zeebe.records(), "procgov-change-request")
    await slm.complete("approve-change", child, {"approved": True})
    await slm.complete("publish-change", child, {})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["changeNeeded"] is True
    assert zeebe.instance(child).variables()["newVersion"] == "V1.4"
    # the called change request filed its own audit record (the annual review itself files none)
    assert (await asyncio.to_thread(audit_filing, zeebe.instance(child).variables()))["verdict"] == "pass"
    assert "auditFiling" not in variables
    plan = await asyncio.to_thread(Path(variables["improvementPlanPath"]).read_text, encoding="utf-8")
    assert "stock counted weekly" in plan
    assert slm_deps.store.filed_versions("inventory-check") == ["V1.4"]


async def test_annual_review_with_every_target_met_ends_without_a_plan(zeebe, slm):
    key = await slm.start("procgov-annual-sla-review", {"reviewYear": 2024})
    await zeebe.instance(key).wait_completed()
    await zeebe.instance(key).wait_element_passed("all-targets-met")
    assert zeebe.instance(key).variables()["anyMissed"] is False


async def test_cycle_time_indicators_are_measured_from_the_engine_record_log(zeebe, slm):
    change = {"processId": "order-to-delivery", "processName": "Order to delivery", "currentVersion": "V2.1",
              "origin": "self-check", "scope": "department", "department": SALES, "departmentHead": "chen.jing",
              "requester": "wang.fang", "problem": "p", "proposedChange": "c"}
    key = await slm.start("procgov-change-request", change)
    await slm.complete("approve-change", key, {"approved": True})
    await zeebe.instance(key).wait_element_active("publish-change")
    await zeebe.increase_time(timedelta(days=1))
    await slm.complete("publish-change", key, {})
    await zeebe.instance(key).wait_completed()
    review = await slm.start("procgov-sla-review", {**REVIEW, "reviewMonth": "2026-04",
                                                    "indicators": ["change-request-cycle", "change-publication-time"]})
    await slm.complete("submit-self-check", review, SELF_CHECK)
    await slm.complete("sign-summary", review, {"summaryImprovements": "none"})
    await slm.complete("record-spot-check", review, {"findings": []})
    await zeebe.instance(review).wait_completed()
    results = {v["indicator"]: v for v in zeebe.instance(review).variables()["kpiResults"]}
    assert results["change-publication-time"]["actual"] == "1.0000"  # the user task waited one engine day
    assert 1 <= float(results["change-request-cycle"]["actual"]) < 1.001
    assert {v["verdict"] for v in results.values()} == {"met"}


async def test_a_malformed_review_month_is_an_incident_naming_the_variable(zeebe, slm):
    key = await slm.start("procgov-sla-review", {**REVIEW, "reviewMonth": "2026-13"})
    # the incident names the variable and the value, so an operator knows what to fix
    await zeebe.instance(key).wait_incident("variable 'reviewMonth'")
    await zeebe.instance(key).wait_incident("(got '2026-13')")


async def test_annual_review_reasons_without_a_needed_change_end_with_the_plan_only(zeebe, slm, slm_deps):
    slm_deps.store.record_kpi_results("2025-06", [{"indicator": "process-exception-rate", "verdict": "missed",
                                                   "actual": "2.4", "target": "2", "unit": "%",
                                                   "owner_department": SALES}])
    key = await slm.start("procgov-annual-sla-review", {"reviewYear": 2025})
    await slm.complete("explain-missed-targets", key, {"reasons": [
        {"indicator": "process-exception-rate", "reason": "a one-off system outage in June"}]})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["changeNeeded"] is False and variables["changeRequests"] == []
    assert child_instances(zeebe.records(), "procgov-change-request") == []


async def test_self_check_reminders_stop_after_the_instance_s_overdue_reminders(zeebe, slm, mail):
    # the clock jumps two months while the self-check stays open: three reminders, not sixty
    key = await slm.start("procgov-sla-review", {**REVIEW, "overdueReminders": 3})
    await zeebe.instance(key).wait_element_active("submit-self-check")
    await zeebe.increase_time(timedelta(days=60))
    await zeebe.instance(key).wait_element_passed("notify-self-check-overdue")
    await slm.complete("submit-self-check", key, SELF_CHECK)
    await zeebe.instance(key).wait_element_active("sign-summary")
    jobs = [r for r in zeebe.records() if r.get("valueType") == "JOB" and r.get("intent") == "CREATED"
            and r["value"].get("type") == "slm.notify-overdue" and r["value"].get("processInstanceKey") == key
            and r["value"].get("elementId") == "notify-self-check-overdue"]
    assert len(jobs) == 3
