"""Timer events on the controlled clock: duration, date and cycle; start, intermediate and boundary.

Doc: "Timer events" https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/ (§ Timer start events,
§ Intermediate timer catch events, § Timer boundary events, § Timers: Time date / Time duration / Time cycle;
the timer value may be a FEEL expression, evaluated when the event is entered).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from behaviour_helpers import Gateway, bpmn, element_events, eventually, expect_exactly, process_instances_of, settle
from pyzeebe import ZeebeClient

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.testing import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_intermediate_timers_with_feel_duration_and_feel_date(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Timer events" § Intermediate timer catch events with § Time duration and § Time date given as FEEL
    expressions (``=duration(coolOff)``, ``=date and time(cutoverAt)``): the event waits for the duration from
    its activation, then until the date.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    await zeebe.deploy(bpmn("timer-intermediate.bpmn"))
    cutover = zeebe.clock.now() + timedelta(days=1)
    created = await zeebe_client.run_process(
        "bh-timer-intermediate", {"coolOff": "PT2H", "cutoverAt": cutover.isoformat()}
    )
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_element_active("cool-off")

    await zeebe.increase_time(timedelta(hours=1, minutes=59))
    await settle()
    assert "cool-off" in instance.snapshot().active_elements
    await zeebe.increase_time(timedelta(minutes=2))
    await instance.wait_element_active("until-cutover")

    await zeebe.increase_time(timedelta(hours=21, minutes=58))  # 1 min before the cutover date
    await settle()
    assert "until-cutover" in instance.snapshot().active_elements
    await zeebe.increase_time(timedelta(minutes=2))
    await instance.wait_completed()


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_timer_start_event_cycle_r3_creates_exactly_three_instances(zeebe: EmbeddedEngine) -> None:
    """Doc "Timer events" § Timer start events and § Time cycle: ``R3/PT1H`` creates a new process instance
    every hour, three times; no more instances after the repetitions are used up.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    await zeebe.deploy(bpmn("timer-start-cycle.bpmn"))
    await settle()
    assert process_instances_of(zeebe, "bh-timer-start-cycle") == []

    for hour in (1, 2, 3):
        await zeebe.increase_time(timedelta(hours=1))
        await _until_instances(zeebe, hour)
    await zeebe.increase_time(timedelta(hours=5))
    await settle()
    keys = process_instances_of(zeebe, "bh-timer-start-cycle")
    assert len(keys) == 3
    for key in keys:
        await zeebe.instance(key).wait_completed()


async def _until_instances(zeebe: EmbeddedEngine, count: int) -> None:
    await eventually(
        f"{count} instance(s) of bh-timer-start-cycle",
        lambda: len(process_instances_of(zeebe, "bh-timer-start-cycle")) == count,
    )


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_non_interrupting_cycle_boundary_fires_three_times_then_interrupting_one_ends_the_task(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Timer events" § Timer boundary events: a non-interrupting timer with a cycle (``R3/PT10M``) fires
    repeatedly while the activity stays active; an interrupting timer (``PT1H``) terminates the activity and
    takes its own outgoing flow.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    await zeebe.deploy(bpmn("timer-boundary.bpmn"))
    created = await zeebe_client.run_process("bh-timer-boundary")
    pik = created.process_instance_key
    instance = zeebe.instance(pik)
    job = await gateway.activate_one("bh.review")

    for _ in range(5):  # 50 minutes: only three repetitions exist
        await zeebe.increase_time(timedelta(minutes=10))
        await settle()
    await expect_exactly("reminders", lambda: len(element_events(zeebe, "reminded", "ELEMENT_COMPLETED", pik)), 3)
    assert "review" in instance.snapshot().active_elements

    await zeebe.increase_time(timedelta(minutes=10))
    await instance.wait_completed()
    assert element_events(zeebe, "review", "ELEMENT_TERMINATED", pik)
    assert "escalated" in instance.snapshot().passed_elements
    assert "done" not in instance.snapshot().passed_elements
    assert job.key not in {j.key for j in await gateway.activate("bh.review", wait=False)}


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_activity_completed_in_time_cancels_its_boundary_timers(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Timer events" § Timer boundary events: the timers belong to the activity; once it completes,
    they are cancelled and never fire.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    await zeebe.deploy(bpmn("timer-boundary.bpmn"))
    created = await zeebe_client.run_process("bh-timer-boundary")
    pik = created.process_instance_key
    job = await gateway.activate_one("bh.review")

    await zeebe.increase_time(timedelta(minutes=15))
    await gateway.complete(job.key)
    await zeebe.instance(pik).wait_completed()
    await zeebe.increase_time(timedelta(hours=2))
    await settle()

    await expect_exactly("reminder", lambda: len(element_events(zeebe, "reminded", "ELEMENT_COMPLETED", pik)), 1)
    assert element_events(zeebe, "escalated", "ELEMENT_COMPLETED", pik) == []
    assert "done" in zeebe.instance(pik).snapshot().passed_elements


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_timer_start_event_with_a_cron_expression_fires_at_each_matching_time(zeebe: EmbeddedEngine) -> None:
    """Doc "Timer events" § Time cycle: instead of an ISO 8601 repeating interval, a cycle can be a cron
    expression (``0 0 9 * * *``: every day at 09:00); a timer start event creates an instance at each match.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    await zeebe.deploy(bpmn("timer-start-cron.bpmn"))
    now = zeebe.clock.now()
    next_nine = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if next_nine <= now:
        next_nine += timedelta(days=1)

    await zeebe.increase_time(next_nine - now - timedelta(seconds=1))
    await settle()
    assert process_instances_of(zeebe, "bh-timer-start-cron") == []
    await zeebe.increase_time(timedelta(seconds=2))
    await eventually("the 09:00 instance", lambda: len(process_instances_of(zeebe, "bh-timer-start-cron")) == 1)
    await zeebe.increase_time(timedelta(days=1))
    await eventually("the next day's instance", lambda: len(process_instances_of(zeebe, "bh-timer-start-cron")) == 2)


async def test_intermediate_timer_with_a_cycle_is_rejected_at_deploy_time(zeebe: EmbeddedEngine) -> None:
    """Doc "Timer events" § Intermediate timer catch events: an intermediate timer must have a time duration or
    a time date (a cycle is only for start and boundary events); the deployment is rejected, naming the element.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    with pytest.raises(Rejection) as rejected:
        await zeebe.deploy(bpmn("invalid/intermediate-timer-cycle.bpmn"))
    assert rejected.value.type == RejectionType.INVALID_ARGUMENT
    assert "repeat" in rejected.value.reason
