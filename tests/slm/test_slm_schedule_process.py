"""The monthly cycle follows the calendar month (000A step 7, 100104 §2.1.1 / §2.1.2), on the embedded
engine over gRPC with the real rollout and slm workers and the real ``procgov-sla-review``: each review
opens on the 1st of the month after the one it reviews, so its deadlines (15th, 25th) are still ahead;
and a review the system opens late moves its deadlines, so nobody is fined for time the system consumed.

The engine's clock starts Thursday 2 April 2026, 09:00 Shanghai (tests/slm/conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slm_process_helpers import REPO, child_instances

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.process import start as start_rollout
from tests.rollout.scenario import OWNER, request_variables
from workers.rollout import RolloutDeps
from workers.rollout import build_router as build_rollout_router
from workers.rollout.notify import SmtpSettings
from workers.runtime import IdempotencyStore, open_engine

pytestmark = pytest.mark.timeout(120)

SALES = "销售部 Sales"
COMPLETE_SELF_CHECK = {"selfCheckRuns": "412 orders", "selfCheckKpis": "cycle 2.8 d", "selfCheckExecution": "clean",
                       "selfCheckDesignProblems": "none", "selfCheckCrossDepartment": "warehouse hand-over ok"}
ROLLOUT_DATA = REPO / "data" / "rollout"


async def move_clock_to(zeebe: EmbeddedEngine, when: datetime) -> None:
    await zeebe.increase_time(when - zeebe.clock.now())


async def first_child(zeebe: EmbeddedEngine, process_id: str) -> int:
    for _ in range(200):
        keys = child_instances(zeebe.records(), process_id)
        if keys:
            return keys[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {process_id} instance started")


async def sign_off_on_time(slm: Any, key: int) -> None:
    await slm.complete("submit-self-check", key, COMPLETE_SELF_CHECK)
    await slm.complete("sign-summary", key, {"summaryImprovements": "none", "summarySigned": True})
    await slm.complete("record-spot-check", key, {"findings": []})


async def test_000a_step7_100104_2_1_a_cutover_on_28_april_opens_the_review_on_1_may_due_15_and_25_may(
        zeebe: EmbeddedEngine, slm: Any, run_workers: Any, mail: Any, tmp_path: Any) -> None:
    await zeebe.deploy(REPO / "bpmn" / "procgov-rollout.bpmn", *sorted((REPO / "bpmn").glob("rollout-*.form")))
    store_url = f"sqlite:///{tmp_path / 'rollout.db'}"
    await run_workers(build_rollout_router(RolloutDeps.from_files(
        org_directory=ROLLOUT_DATA / "org-directory.yaml", exams_dir=ROLLOUT_DATA / "exams",
        templates=ROLLOUT_DATA / "notifications.yaml",
        smtp=SmtpSettings(host=mail.host, port=mail.port, timeout_s=5),
        store=IdempotencyStore(open_engine(store_url)))), store_url=store_url)
    await move_clock_to(zeebe, datetime(2026, 4, 28, 1, 0, tzinfo=UTC))  # Tuesday 28 April, 09:00 Shanghai
    owner = {**OWNER, "department": SALES}
    key = await start_rollout(zeebe, request_variables(
        owner=owner, cutover={"date": "2026-04-28", "at": "2026-04-28T09:00:00+08:00"}),
        start_at=["Step7_DailyManagement"])
    rollout = zeebe.instance(key)
    await rollout.wait_element_active("Month_Elapsed")
    assert [r["opensAt"] for r in rollout.variables()["reviews"]][:2] == [
        "2026-05-01T00:00:00+08:00", "2026-06-01T00:00:00+08:00"]
    await move_clock_to(zeebe, datetime(2026, 4, 30, 15, 59, tzinfo=UTC))  # 30 April 23:59: April not over
    await asyncio.sleep(0.3)
    assert child_instances(zeebe.records(), "procgov-sla-review") == []
    await move_clock_to(zeebe, datetime(2026, 5, 1, 1, 0, tzinfo=UTC))  # 1 May, 09:00
    review = await first_child(zeebe, "procgov-sla-review")
    await zeebe.instance(review).wait_element_active("submit-self-check")
    opened = zeebe.instance(review).variables()
    assert opened["reviewMonth"] == "2026-04" and opened["reviewOpenedOn"] == "2026-05-01"
    assert (opened["selfCheckDueDate"], opened["summaryDueDate"]) == ("2026-05-15", "2026-05-25")
    assert date.fromisoformat(opened["reviewOpenedOn"]) < date(2026, 5, 15)  # opened before its own deadlines
    await sign_off_on_time(slm, review)
    await zeebe.instance(review).wait_completed()
    variables = zeebe.instance(review).variables()
    assert variables["totalFinesYuan"] == "0.00"  # nobody fined for April
    assert variables["slaReview"]["month"] == "2026-04" and variables["slaReview"]["totalFinesYuan"] == "0.00"


async def test_100104_2_1_2_a_review_the_system_opens_late_moves_its_deadlines(zeebe: EmbeddedEngine, slm: Any) -> None:
    """The March review opened on 28 April, after its 15 and 25 April deadlines: the self-check gets the
    minimum window (PROCGOV_SLM_REVIEW_MIN_WINDOW_DAYS, 7 days: 5 May) and the summary the rule's 10 days
    after it (15 May). Signed on 12 May it is on time; counted from 25 April it would be 17 days × 10 yuan."""
    await move_clock_to(zeebe, datetime(2026, 4, 28, 1, 0, tzinfo=UTC))
    key = await slm.start("procgov-sla-review", {"processId": "order-to-delivery", "ownerDepartment": SALES,
                                                 "reviewMonth": "2026-03"})
    await zeebe.instance(key).wait_element_active("submit-self-check")
    opened = zeebe.instance(key).variables()
    assert opened["reviewOpenedOn"] == "2026-04-28"
    assert (opened["selfCheckDueDate"], opened["summaryDueDate"]) == ("2026-05-05", "2026-05-15")
    await slm.complete("submit-self-check", key, COMPLETE_SELF_CHECK)
    await zeebe.instance(key).wait_element_active("sign-summary")
    await zeebe.increase_time(timedelta(days=14))  # Tuesday 12 May
    await slm.complete("sign-summary", key, {"summaryImprovements": "none", "summarySigned": True})
    await slm.complete("record-spot-check", key, {"findings": []})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert variables["totalFinesYuan"] == "0.00"
    [late] = [c for c in variables["penaltyCases"] if c["rule"] == "summary-late"]
    assert (late["dueDate"], late["doneDate"], late["daysLate"]) == ("2026-05-15", "2026-05-12", 0)


async def test_100104_2_1_2_a_review_opened_in_time_keeps_the_rule_dates_and_fines_lateness(
        zeebe: EmbeddedEngine, slm: Any) -> None:
    """Opened 2 April for March (within the 7-day window): due 15 and 25 April as the rule gives; signed on
    Monday 27 April the summary is 2 calendar days late: 20 yuan to the department head."""
    key = await slm.start("procgov-sla-review", {"processId": "order-to-delivery", "ownerDepartment": SALES,
                                                 "reviewMonth": "2026-03"})
    await zeebe.instance(key).wait_element_active("submit-self-check")
    opened = zeebe.instance(key).variables()
    assert (opened["selfCheckDueDate"], opened["summaryDueDate"]) == ("2026-04-15", "2026-04-25")
    await slm.complete("submit-self-check", key, COMPLETE_SELF_CHECK)
    await zeebe.instance(key).wait_element_active("sign-summary")
    await zeebe.increase_time(timedelta(days=25))
    await slm.complete("sign-summary", key, {"summaryImprovements": "none", "summarySigned": True})
    await slm.complete("record-spot-check", key, {"findings": []})
    await zeebe.instance(key).wait_completed()
    assert zeebe.instance(key).variables()["totalFinesYuan"] == "20.00"
