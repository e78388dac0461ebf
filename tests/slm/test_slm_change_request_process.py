"""procgov-change-request on the embedded engine (gRPC) with the real slm workers: every path, deadlines
driven by the engine's clock (the clock starts Thursday 2026-04-02 09:00 Shanghai, before Qingming)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from slm_process_helpers import audit_filing

from procgov.tasklist import TasklistError
from workers.runtime.decisions import RuleSet
from workers.slm.penalties import PENALTY_CALCULATION, PenaltyInput

pytestmark = pytest.mark.timeout(120)

REQUEST = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
           "origin": "self-check", "scope": "department", "department": "销售部 Sales", "departmentHead": "chen.jing",
           "requester": "wang.fang", "problem": "order receipt form lacks the delivery address",
           "proposedChange": "add the delivery address to the receipt form"}


def line_items(variables: dict[str, Any]) -> dict[str, str]:
    return {f"{i['clause']} {i['role']}:{i['person']}": i["amountYuan"] for i in variables["penalties"]["lineItems"]}


async def approve_and_publish(slm, key: int, *, discuss: bool = False) -> None:
    await slm.complete("approve-change", key, {"approved": True, "approvalComment": "ok"})
    if discuss:
        await slm.complete("discuss-change", key, {"discussionMinutes": "heads of Sales and Warehouse agree"})
    await slm.complete("publish-change", key, {"changeEffect": "no more returned orders"})


async def test_100104_2_3_1_self_check_change_on_time_is_published_filed_and_logged(zeebe, slm, slm_deps, mail):
    key = await slm.start("procgov-change-request", REQUEST)
    await approve_and_publish(slm, key)
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert (variables["changeOutcome"], variables["newVersion"]) == ("published", "V2.2")
    assert variables["totalFinesYuan"] == "0.00" and variables["penalties"]["lineItems"] == []
    assert slm_deps.store.filed_versions("order-to-delivery") == ["V2.2"]
    (entry,) = slm_deps.store.optimisation_entries("order-to-delivery")
    assert entry["background"] == REQUEST["problem"] and entry["measures"] == REQUEST["proposedChange"]
    assert entry["effect"] == "no more returned orders"  # the publication form's expected effect
    assert mail.messages == []  # nobody late, nobody fined
    filing = await asyncio.to_thread(audit_filing, variables)  # the last task filed the audit record
    assert (filing["verdict"], filing["findings"], filing["decisions"]) == ("pass", [], 1)  # the fine calculation


async def test_100104_2_3_4_department_change_published_third_working_day_after_qingming_is_one_day_late(
    zeebe, slm, mail, tmp_path
):
    key = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", key, {"approved": True})
    await zeebe.instance(key).wait_element_active("publish-change")
    variables = zeebe.instance(key).variables()
    assert variables["publishDueDate"] == "2026-04-07"  # 2 working days: Fri 3rd, (Sat-Mon Qingming), Tue 7th
    assert variables["publishDueCalendar"] == "official"  # chinese-calendar's data for 2026
    await zeebe.increase_time(timedelta(days=6))  # Wednesday 8 April, the 3rd working day
    await zeebe.instance(key).wait_element_passed("notify-publication-overdue")
    await slm.complete("publish-change", key, {})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert line_items(variables) == {"100104 §2.3.4 rule_supervisor:sun.qiang": "20.00",
                                     "100104 §2.3.4 department_head:chen.jing": "10.00"}
    assert {i["quantity"] for i in variables["penalties"]["lineItems"]} == {1}
    assert {i["calendarSource"] for i in variables["penalties"]["lineItems"]} == {"official"}
    assert variables["totalFinesYuan"] == "30.00"
    reminded = {r for m in mail.messages if "overdue" in m.subject for r in m.recipients}
    assert reminded == {"sun.qiang@example.com", "chen.jing@example.com"}
    fined = {r for m in mail.messages if "fines" in m.subject for r in m.recipients}
    assert fined == {"sun.qiang@example.com", "chen.jing@example.com"}
    # the decision was recorded with the rule table's version and replays to the same money
    store = sa.create_engine(f"sqlite:///{tmp_path / 'workers.db'}")
    with store.connect() as connection:
        row = connection.execute(sa.text(
            "SELECT rule_version, inputs, outputs FROM decision_records WHERE decision = 'slm.penalty-calculation' "
            "AND process_instance_key = :key"), {"key": key}).one()
        text = connection.execute(sa.text("SELECT text FROM rule_snapshots WHERE version = :v"),
                                  {"v": row.rule_version}).scalar_one()
    store.dispose()
    replay = PENALTY_CALCULATION.evaluate(PenaltyInput.model_validate(json.loads(row.inputs)),
                                          RuleSet.from_text(PENALTY_CALCULATION, text).rules)
    assert replay.model_dump(mode="json", by_alias=True) == json.loads(row.outputs)
    assert json.loads(row.outputs)["penalties"]["ruleDigest"] == row.rule_version
    # ... and audit, filing the record as the last task, replayed it to the same verdict
    filing = await asyncio.to_thread(audit_filing, variables)
    assert (filing["verdict"], filing["findings"], filing["decisions"]) == ("pass", [], 1)
    completed = [r["value"]["elementId"] for r in zeebe.records() if r["valueType"] == "PROCESS_INSTANCE"
                 and r["intent"] == "ELEMENT_COMPLETED" and r["value"].get("processInstanceKey") == key]
    assert completed[-4:] == ["file-audit-record", "outcome-gateway", "change-published", "procgov-change-request"]


async def test_100104_2_3_4_a_publication_cannot_move_its_own_due_date_or_fines(zeebe, slm, mail):
    """Issue #12: completing publish-change with publishDueDate=<later> once turned a late fine into 0.
    On bpmn/procgov-change-request.bpmn as shipped, the user task guard (its completing listener) denies
    that completion: REST 409, the reason naming each protected field and its rule (Camunda docs, "User
    task listeners", "Deny a state transition": the task stays CREATED). The honest completion after it
    goes through, and the fine is what the rules give for one working day late (20 + 10 yuan)."""
    key = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", key, {"approved": True})
    await zeebe.instance(key).wait_element_active("publish-change")
    await zeebe.increase_time(timedelta(days=6))  # Wednesday 8 April: one working day late
    tampered = {"changeEffect": "fewer returns", "publishDueDate": "2026-04-30",
                "publishDueAt": "2026-04-30T23:59:59+08:00", "penaltyCases": [], "totalFinesYuan": "0.00",
                "approved": False, "owner": {"id": "sun.qiang"}}
    with pytest.raises(TasklistError) as denied:
        await slm.complete("publish-change", key, tampered)
    assert denied.value.status == 409
    assert "denied by Task Listener" in str(denied.value)
    assert "field 'publishDueDate' is protected (100104 §2.3.4" in str(denied.value)
    assert "field 'totalFinesYuan' is protected" in str(denied.value)
    task = await slm.task("publish-change", key)  # still open, for the planning office to do honestly
    assert task.task["state"] == "CREATED"
    await slm.complete("publish-change", key, {"changeEffect": "fewer returns"})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["publishDueDate"] == "2026-04-07" and variables["totalFinesYuan"] == "30.00"
    assert variables["changeEffect"] == "fewer returns" and variables["approved"] is True and "owner" not in variables
    records = [r for r in zeebe.records()
               if r["valueType"] == "USER_TASK" and r["value"].get("elementId") == "publish-change"]
    attempt, honest = [r for r in records if r["intent"] == "COMPLETING"]
    assert attempt["value"]["variables"]["publishDueDate"] == "2026-04-30"  # the attempt is on record
    assert "publishDueDate" not in honest["value"]["variables"]
    assert [r["intent"] for r in records].count("COMPLETION_DENIED") == 1


async def test_100104_2_3_4_cross_department_change_within_a_week_is_on_time(zeebe, slm, mail):
    key = await slm.start("procgov-change-request", {**REQUEST, "scope": "cross-department"})
    await slm.complete("approve-change", key, {"approved": True})
    await slm.complete("discuss-change", key, {"discussionMinutes": "agreed"})
    await zeebe.increase_time(timedelta(days=6, hours=12))  # Thursday 9 April 21:30, within the week
    await slm.complete("publish-change", key, {})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["publishDueDate"] == "2026-04-09"
    assert (variables["totalFinesYuan"], variables["newVersion"]) == ("0.00", "V2.2")
    assert mail.messages == []


async def test_100104_2_3_2_change_plan_3_days_late_costs_the_department_head_60_yuan(zeebe, slm, mail):
    key = await slm.start("procgov-change-request", {**REQUEST, "origin": "inspection"})
    await zeebe.instance(key).wait_element_active("submit-change-plan")
    assert zeebe.instance(key).variables()["planDueDate"] == "2026-04-09"  # one week after the inspection
    await zeebe.increase_time(timedelta(days=10))  # Sunday 12 April: 3 calendar days late
    await zeebe.instance(key).wait_element_passed("notify-change-plan-overdue")
    await slm.complete("submit-change-plan", key, {"proposedChange": REQUEST["proposedChange"]})
    await approve_and_publish(slm, key)
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert line_items(variables) == {"100104 §2.3.2 department_head:chen.jing": "60.00"}
    assert Decimal(variables["totalFinesYuan"]) == Decimal(60)
    reminders = [m for m in mail.messages if "overdue" in m.subject]
    assert {r for m in reminders for r in m.recipients} == {"chen.jing@example.com"}
    assert len(reminders) == 3  # the deadline and every day after it: 9, 10 and 11 April at midnight
    assert "3 calendar day(s) late on 2026-04-12" in reminders[-1].body and "60 yuan so far" in reminders[-1].body


def overdue_jobs(zeebe, key: int) -> int:
    return sum(1 for r in zeebe.records() if r.get("valueType") == "JOB" and r.get("intent") == "CREATED"
               and r["value"].get("type") == "slm.notify-overdue" and r["value"].get("processInstanceKey") == key)


async def test_overdue_reminders_stop_after_their_count_but_the_fine_keeps_accruing(zeebe, slm, mail):
    # 100104 §2.3.2 names no number of reminders: PROCGOV_SLM_OVERDUE_REMINDERS (default 7) or the
    # instance's overdueReminders; the late fine counts the days late, whatever the reminders did
    # two processes: two change requests on one process's V2.1 cannot both publish V2.2 (the registry)
    default = await slm.start("procgov-change-request", {**REQUEST, "origin": "inspection", "processName": "A",
                                                         "processId": "process-a"})
    capped = await slm.start("procgov-change-request", {**REQUEST, "origin": "inspection", "processName": "B",
                                                        "processId": "process-b", "overdueReminders": 2})
    for key in (default, capped):
        await zeebe.instance(key).wait_element_active("submit-change-plan")
    assert zeebe.instance(default).variables()["overdueReminders"] == 7
    assert zeebe.instance(default).variables()["planDueCalendar"] == "none"  # calendar days: no holiday data
    await zeebe.increase_time(timedelta(days=60))  # Monday 1 June: 53 calendar days after the due 9 April
    for key in (default, capped):
        await zeebe.instance(key).wait_element_passed("notify-change-plan-overdue")
        await slm.complete("submit-change-plan", key, {"proposedChange": REQUEST["proposedChange"]})
        await approve_and_publish(slm, key)
        await zeebe.instance(key).wait_completed()
    assert (overdue_jobs(zeebe, default), overdue_jobs(zeebe, capped)) == (7, 2)
    reminders = [m for m in mail.messages if "overdue" in m.subject]
    assert sorted(m.body.split(" for ")[1][0] for m in reminders) == ["A"] * 7 + ["B"] * 2
    for key in (default, capped):
        assert line_items(zeebe.instance(key).variables()) == {"100104 §2.3.2 department_head:chen.jing": "1060.00"}


async def test_100104_2_3_3_incomplete_form_is_returned_to_the_requester(zeebe, slm, mail):
    key = await slm.start("procgov-change-request", {**REQUEST, "problem": "", "scope": "company"})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["changeOutcome"] == "returned"
    assert variables["missingFields"] == ["problem: missing",
                                          "scope: must be one of department, cross-department, got 'company'"]
    (message,) = mail.messages
    assert message.recipients == ("wang.fang@example.com",) and "§2.3.3" in message.body


async def test_change_rejected_by_the_department_head(zeebe, slm, mail):
    key = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", key, {"approved": False, "approvalComment": "not now"})
    await zeebe.instance(key).wait_completed()
    assert zeebe.instance(key).variables()["changeOutcome"] == "rejected"
    assert [m.recipients for m in mail.messages] == [("wang.fang@example.com",)]


async def test_a_person_without_an_address_is_listed_not_dropped(zeebe, slm, mail):
    key = await slm.start("procgov-change-request", {**REQUEST, "requester": "guest.user"})
    await slm.complete("approve-change", key, {"approved": False})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert (variables["changeOutcome"], variables["unnotified"]) == ("rejected", ["guest.user"])
    assert mail.messages == []


async def late_plan(zeebe, slm, request: dict[str, Any]) -> int:
    """An inspection's change plan submitted on Sunday 12 April, 3 calendar days after its 9 April deadline."""
    key = await slm.start("procgov-change-request", {**REQUEST, "origin": "inspection", **request})
    await zeebe.instance(key).wait_element_active("submit-change-plan")
    await zeebe.increase_time(timedelta(days=10))
    await zeebe.instance(key).wait_element_passed("notify-change-plan-overdue")
    await slm.complete("submit-change-plan", key, {"proposedChange": REQUEST["proposedChange"]})
    return key


async def test_100104_2_3_2_late_change_plan_is_fined_when_the_form_is_then_returned_as_incomplete(zeebe, slm, mail):
    key = await late_plan(zeebe, slm, {"problem": ""})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["changeOutcome"] == "returned"
    assert line_items(variables) == {"100104 §2.3.2 department_head:chen.jing": "60.00"}
    assert "returned" in zeebe.instance(key).snapshot().passed_elements  # its own end event, after the fines
    fined = [m for m in mail.messages if m.subject.startswith("[procgov] fines")]
    assert [m.recipients for m in fined] == [("chen.jing@example.com",)] and "Total: 60.00 yuan" in fined[0].body


async def test_100104_2_3_2_late_change_plan_is_fined_when_the_change_is_rejected(zeebe, slm, mail):
    key = await late_plan(zeebe, slm, {})
    await slm.complete("approve-change", key, {"approved": False, "approvalComment": "not now"})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["changeOutcome"] == "rejected"
    assert line_items(variables) == {"100104 §2.3.2 department_head:chen.jing": "60.00"}
    assert "newVersion" not in variables  # nothing was filed


async def test_100104_2_3_a_missing_approval_decision_is_refused_and_asked_again_never_approved(zeebe, slm, mail):
    key = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", key, {"approvalComment": "looks fine"})  # no `approved`
    await zeebe.instance(key).wait_element_passed("refuse-approval")
    variables = zeebe.instance(key).variables()
    assert "needs an explicit decision" in variables["approvalRefusal"] and variables["approved"] is None
    (refusal,) = mail.messages
    assert refusal.recipients == ("chen.jing@example.com",) and "approved = true or false" in refusal.body
    await slm.complete("approve-change", key, {"approved": "yes"})  # not a boolean: refused again
    await slm.complete("approve-change", key, {"approved": False})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["changeOutcome"] == "rejected" and "newVersion" not in variables
    assert len([m for m in mail.messages if "approval refused" in m.subject]) == 2
