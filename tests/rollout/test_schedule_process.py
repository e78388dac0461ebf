"""Rollout durations on the embedded engine, over gRPC, with the real rollout workers: an override of a
duration the sources fix (000A step 4 pilot 3 / 6 months, 000A step 7 monthly follow-up) is refused with
an incident naming the rule, unless the demo clock mode (``PROCGOV_SCHEDULE__DEMO_MODE``) is on.

Camunda 8 docs, "Incidents" (components/concepts/incidents): a job whose retries reach 0 raises an incident
with the worker's error message; the operator corrects the variable and resolves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from procgov_engine.testing.embedded import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON
from tests.rollout.faults import wait_until
from tests.rollout.process import FORMS, ROLLOUT_BPMN, STAND_INS, passed, start, user_task_desk, wait_activated
from tests.rollout.scenario import CHINA, OWNER, default_scripts, request_variables, today
from tests.rollout.servers import DATA, SmtpServer, WebhookSink, webhooks_for
from workers.rollout import RolloutDeps, build_router
from workers.rollout.management import month_after
from workers.rollout.notify import SmtpSettings
from workers.rollout.schedule import months_after
from workers.runtime import IdempotencyStore, open_engine

pytestmark = pytest.mark.timeout(120)

StartWorkers = Callable[..., Awaitable[None]]


@pytest.fixture
def start_workers(zeebe: EmbeddedEngine, run_workers: Any, smtp: SmtpServer, webhooks: WebhookSink,
                  tmp_path: Path) -> StartWorkers:
    async def go(*, demo_mode: bool) -> None:
        await zeebe.deploy(ROLLOUT_BPMN, *FORMS, *STAND_INS)
        store_url = f"sqlite:///{tmp_path / 'workers.db'}"
        deps = RolloutDeps.from_files(
            org_directory=DATA / "org-directory.yaml", exams_dir=DATA / "exams", templates=DATA / "notifications.yaml",
            webhooks=webhooks_for(webhooks),
            smtp=SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5),
            store=IdempotencyStore(open_engine(store_url)), demo_mode=demo_mode)
        await run_workers(build_router(deps), store_url=store_url)

    return go


def incidents(zeebe: EmbeddedEngine, key: int) -> list[tuple[str, str]]:
    return [(str(r["value"].get("elementId")), str(r["value"].get("errorMessage"))) for r in zeebe.records()
            if r["valueType"] == "INCIDENT" and r["intent"] == "CREATED"
            and r["value"].get("processInstanceKey") == key]


PILOT = {"owner": OWNER}  # Step4_DefineScope is answered by the default script


@pytest.mark.parametrize(("size", "duration"), [("small", "PT5S"), ("large", "P3M")])
async def test_000a_step4_a_pilot_duration_outside_the_rule_is_refused(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, size: str, duration: str) -> None:
    """000A step 4: 3 months small, 6 months large; PT5S (a rollout in minutes) and a 3-month pilot in a
    large company stop at the pilot plan with an incident that names the rule and the demo setting."""
    await start_workers(demo_mode=False)
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        key = await start(zeebe, request_variables(**PILOT, companySize=size, pilotDuration=duration),
                          start_at=["Step4_Pilot"])
        await wait_until(lambda: bool(incidents(zeebe, key)), 30, "the pilot plan's incident")
    [(element, message)] = incidents(zeebe, key)
    assert element == "Step4_PlanPilot"
    assert f"000A step 4: pilotDuration '{duration}' is outside the pilot duration for a {size} company" in message
    assert "PROCGOV_SCHEDULE__DEMO_MODE" in message
    assert "pilot" not in zeebe.instance(key).variables() and passed(zeebe, key, "Step4_PlanPilot") == 0


async def test_000a_step4_demo_clock_mode_accepts_a_pilot_of_five_seconds(
        zeebe: EmbeddedEngine, start_workers: StartWorkers) -> None:
    await start_workers(demo_mode=True)
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        key = await start(zeebe, request_variables(**PILOT, companySize="small", pilotDuration="PT5S"),
                          start_at=["Step4_Pilot"])
        instance = zeebe.instance(key)
        await instance.wait_element_active("Step4_PilotElapsed")
        pilot = instance.variables()["pilot"]
        assert pilot["duration"] == "PT5S" and "demo clock mode" in pilot["durationRule"]
        await zeebe.increase_time(timedelta(seconds=6))
        await instance.wait_element_passed("Step4_PilotElapsed")
    assert incidents(zeebe, key) == []


async def test_000a_step7_a_review_interval_other_than_monthly_is_refused(
        zeebe: EmbeddedEngine, start_workers: StartWorkers) -> None:
    """000A step 7: the follow-up is monthly; reviewInterval=PT5S stops at the review plan."""
    await start_workers(demo_mode=False)
    key = await start(zeebe, request_variables(owner=OWNER, cutover={"date": "2026-04-28"}, reviewInterval="PT5S"),
                      start_at=["Step7_DailyManagement"])
    await wait_until(lambda: bool(incidents(zeebe, key)), 30, "the review plan's incident")
    [(element, message)] = incidents(zeebe, key)
    assert element == "Step7_PlanReviews" and "000A step 7: reviewInterval 'PT5S' is not monthly" in message
    assert passed(zeebe, key, "Month_SlaReview") == 0


def activated_at(zeebe: EmbeddedEngine, key: int, element_id: str) -> datetime:
    """When the engine activated ``element_id`` (its ELEMENT_ACTIVATED record, on the engine's clock)."""
    [ms] = [r["timestamp"] for r in zeebe.records() if r["valueType"] == "PROCESS_INSTANCE"
            and r["intent"] == "ELEMENT_ACTIVATED" and r["value"].get("processInstanceKey") == key
            and r["value"].get("elementId") == element_id]
    return datetime.fromtimestamp(ms / 1000, tz=CHINA)


async def move_clock_to(zeebe: EmbeddedEngine, moment: datetime) -> None:
    await zeebe.increase_time(moment - zeebe.clock.now())


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_000a_step8_re_optimisation_starts_six_months_after_the_cutover_on_the_engine_s_clock(
        zeebe: EmbeddedEngine, start_workers: StartWorkers) -> None:
    """000A step 8 "半年后再优化" (re-optimise after 6 months). A cutover on the 28th: the six monthly
    reviews (000A step 7) end on the 1st after the sixth month, 5 months and a few days later; step 8
    waits until 6 months after the moment the engine reached the cutover (``cutoverReachedAt``, its
    now() as the cutover timer fired). Timers follow the controlled clock: Camunda 8 docs, "Timer
    events" (components/modeler/bpmn/timer-events): a timeDate timer fires at that date-time."""
    await start_workers(demo_mode=False)
    soon = today(zeebe) + timedelta(days=2)
    cutover_day = soon.replace(day=28) if soon.day <= 28 else month_after(soon, 1).replace(day=28)
    scripts = default_scripts(zeebe) | {
        "Step6_SetCutover": lambda task: {"cutoverDate": cutover_day.isoformat(), "stagedRollout": False}}
    variables = request_variables(owner=OWNER, pilotEvaluation={"success": True}, issuance={
        "documentNumber": "PG-2026-017", "issuedOn": today(zeebe).isoformat(), "version": "V2.0"})
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, variables, start_at=["Step6_FullRollout"])
        instance = zeebe.instance(key)
        await instance.wait_element_active("Step6_CutoverReached")
        await move_clock_to(zeebe, datetime.combine(cutover_day, datetime.min.time(), CHINA) + timedelta(hours=9))
        await instance.wait_element_passed("Step7_PlanReviews")
        plan = instance.variables()
        reached = datetime.fromisoformat(plan["cutoverReachedAt"])
        assert reached.astimezone(CHINA).date() == cutover_day
        assert reached >= datetime.fromisoformat(plan["cutover"]["at"])
        reoptimise_at = datetime.fromisoformat(plan["reoptimiseAt"])
        assert reoptimise_at == months_after(reached, 6)
        assert reoptimise_at.astimezone(CHINA).date() == month_after(cutover_day, 6).replace(day=28)
        for month, review in enumerate(plan["reviews"], start=1):  # each month closes on the 1st of the next
            await wait_activated(zeebe, key, "Month_Elapsed", month)
            await move_clock_to(zeebe, datetime.fromisoformat(review["opensAt"]) + timedelta(minutes=1))
        await instance.wait_element_active("Step8_SixMonths")
        last_review = datetime.fromisoformat(plan["reviews"][-1]["opensAt"])
        assert last_review.date() == month_after(cutover_day, 6) and reoptimise_at - last_review > timedelta(days=26)
        assert passed(zeebe, key, "Month_SlaReview") == 6 and passed(zeebe, key, "Step8_SixMonths") == 0
        await move_clock_to(zeebe, reoptimise_at - timedelta(minutes=1))
        await asyncio.sleep(0.3)
        assert passed(zeebe, key, "Step8_SixMonths") == 0  # one minute short of six months: still waiting
        await move_clock_to(zeebe, reoptimise_at + timedelta(minutes=1))
        await wait_activated(zeebe, key, "Step8_Prepare")
    assert desk.unexpected == []
    started = activated_at(zeebe, key, "Step8_Prepare")
    assert started >= months_after(reached, 6) and started.date() >= date(
        month_after(cutover_day, 6).year, month_after(cutover_day, 6).month, 28)
    assert incidents(zeebe, key) == []
