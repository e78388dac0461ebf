"""Rollout durations on the embedded engine, over gRPC, with the real rollout workers: an override of a
duration the sources fix (000A step 4 pilot 3 / 6 months, 000A step 7 monthly follow-up) is refused with
an incident naming the rule, unless the demo clock mode (``PROCGOV_SCHEDULE__DEMO_MODE``) is on.

Camunda 8 docs, "Incidents" (components/concepts/incidents): a job whose retries reach 0 raises an incident
with the worker's error message; the operator corrects the variable and resolves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.testing.embedded import EmbeddedEngine
from tests.rollout.faults import wait_until
from tests.rollout.process import FORMS, ROLLOUT_BPMN, STAND_INS, passed, start, user_task_desk
from tests.rollout.scenario import OWNER, default_scripts, request_variables
from tests.rollout.servers import DATA, SmtpServer
from workers.rollout import RolloutDeps, build_router
from workers.rollout.notify import SmtpSettings
from workers.runtime import IdempotencyStore, open_engine

pytestmark = pytest.mark.timeout(120)

StartWorkers = Callable[..., Awaitable[None]]


@pytest.fixture
def start_workers(zeebe: EmbeddedEngine, run_workers: Any, smtp: SmtpServer, tmp_path: Path) -> StartWorkers:
    async def go(*, demo_mode: bool) -> None:
        await zeebe.deploy(ROLLOUT_BPMN, *FORMS, *STAND_INS)
        store_url = f"sqlite:///{tmp_path / 'workers.db'}"
        deps = RolloutDeps.from_files(
            org_directory=DATA / "org-directory.yaml", exams_dir=DATA / "exams", templates=DATA / "notifications.yaml",
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
