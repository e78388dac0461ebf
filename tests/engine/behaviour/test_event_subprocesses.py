"""Event sub-processes: non-interrupting message start and interrupting timer start.

Doc: "Event subprocesses" https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/
(§ Interrupting vs. non-interrupting: a non-interrupting event sub-process can be triggered many times while
the enclosing scope stays active; an interrupting one terminates all active elements of its scope and the
scope completes when the event sub-process completes).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from behaviour_helpers import Gateway, bpmn, element_events, expect_exactly, settle
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON


@pytest.mark.record_log
async def test_non_interrupting_message_event_sub_process_runs_each_time_without_stopping_the_work(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Event subprocesses" § non-interrupting: each correlated message starts the event sub-process;
    the task keeps running, and its job can still be completed.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/"""
    await zeebe.deploy(bpmn("event-subprocesses.bpmn"))
    created = await zeebe_client.run_process("bh-event-subprocesses", {"requestId": "CR-9"})
    pik = created.process_instance_key
    job = await gateway.activate_one("bh.work")

    for count, note in enumerate(("first", "second"), 1):
        await zeebe_client.publish_message("bh-info", "CR-9", {"note": note}, time_to_live_in_milliseconds=0)
        await expect_exactly("noted", lambda: len(element_events(zeebe, "noted", "ELEMENT_COMPLETED", pik)), count)

    assert "work" in zeebe.instance(pik).snapshot().active_elements
    await gateway.complete(job.key)
    await zeebe.instance(pik).wait_completed()
    assert "end" in zeebe.instance(pik).snapshot().passed_elements


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_interrupting_timer_event_sub_process_terminates_the_work(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Event subprocesses" § interrupting: when the timer (PT2H) fires, the active task is terminated
    and the instance completes through the event sub-process.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/"""
    await zeebe.deploy(bpmn("event-subprocesses.bpmn"))
    created = await zeebe_client.run_process("bh-event-subprocesses", {"requestId": "CR-10"})
    pik = created.process_instance_key
    await gateway.activate_one("bh.work")

    await zeebe.increase_time(timedelta(hours=2, seconds=1))

    await zeebe.instance(pik).wait_completed()
    assert element_events(zeebe, "work", "ELEMENT_TERMINATED", pik)
    assert "timed-out" in zeebe.instance(pik).snapshot().passed_elements
    assert "end" not in zeebe.instance(pik).snapshot().passed_elements


@pytest.mark.embedded_only(CLOCK_REASON)
@pytest.mark.record_log
async def test_non_interrupting_timer_cycle_and_interrupting_message_event_sub_processes(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Event subprocesses" § interrupting vs. non-interrupting (with "Timer events" § Time cycle): the
    non-interrupting timer event sub-process (``R2/PT1H``) runs twice while the task stays active; the
    interrupting message event sub-process then terminates the task and ends the instance.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/
    https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/"""
    await zeebe.deploy(bpmn("event-subprocesses-2.bpmn"))
    created = await zeebe_client.run_process("bh-event-subprocesses-2", {"requestId": "CR-11"})
    pik = created.process_instance_key
    job = await gateway.activate_one("bh.work")

    for _ in range(3):
        await zeebe.increase_time(timedelta(hours=1))
        await settle()
    await expect_exactly("reminders", lambda: len(element_events(zeebe, "reminded", "ELEMENT_COMPLETED", pik)), 2)
    assert "work" in zeebe.instance(pik).snapshot().active_elements

    await zeebe_client.publish_message("bh-withdraw", "CR-11", time_to_live_in_milliseconds=0)

    await zeebe.instance(pik).wait_completed()
    assert "withdrawn" in zeebe.instance(pik).snapshot().passed_elements
    assert element_events(zeebe, "work", "ELEMENT_TERMINATED", pik)
    assert job.key not in {j.key for j in await gateway.activate("bh.work", wait=False)}
