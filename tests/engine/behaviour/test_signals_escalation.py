"""Signals (broadcast to every waiting catch event and signal start event) and escalations.

Doc: "Signal events" https://docs.camunda.io/docs/components/modeler/bpmn/signal-events/ (a broadcast signal
triggers all signal catch events and signal start events with that name) and "Escalation events"
https://docs.camunda.io/docs/components/modeler/bpmn/escalation-events/ (a non-interrupting escalation boundary
lets the activity continue; an escalation that no catch event catches does not create an incident, the
process just continues).
"""

from __future__ import annotations

import pytest
from behaviour_helpers import Gateway, bpmn, element_events, eventually, process_instances_of
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine


@pytest.mark.record_log
async def test_broadcast_signal_triggers_all_catch_events_and_signal_start_events(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Signal events" § Signal start events / § Intermediate signal catch events: one broadcast reaches
    every instance waiting at a catch event for that signal and starts a new instance of every process with a
    signal start event of that name; the signal's variables go to the started instance.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/signal-events/"""
    await zeebe.deploy(bpmn("signal-catch.bpmn"), bpmn("signal-start.bpmn"))
    waiting = [await zeebe_client.run_process("bh-signal-catch") for _ in range(2)]
    for created in waiting:
        await zeebe.instance(created.process_instance_key).wait_element_active("frozen")

    await zeebe_client.broadcast_signal("bh-freeze", {"reason": "audit"})

    for created in waiting:
        await zeebe.instance(created.process_instance_key).wait_completed()
    await eventually("one signal-started instance", lambda: len(process_instances_of(zeebe, "bh-signal-start")) == 1)
    [started] = process_instances_of(zeebe, "bh-signal-start")
    await zeebe.instance(started).wait_completed()
    assert zeebe.instance(started).variables() == {"reason": "audit"}


@pytest.mark.record_log
async def test_escalation_non_interrupting_is_caught_and_uncaught_one_does_not_stop_the_process(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Escalation events" § Catching escalations: the non-interrupting boundary (code ``LATE``) is
    triggered and the sub-process keeps running; § Unhandled escalations: ``NOBODY_LISTENS`` is not caught,
    which raises no incident, the throw event just completes.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/escalation-events/"""
    await zeebe.deploy(bpmn("escalation.bpmn"))
    created = await zeebe_client.run_process("bh-escalation")
    pik = created.process_instance_key

    job = await gateway.activate_one("bh.finish")
    assert element_events(zeebe, "notified", "ELEMENT_COMPLETED", pik)
    assert element_events(zeebe, "raise-unknown", "ELEMENT_COMPLETED", pik)
    assert zeebe.instance(pik).snapshot().incidents == []

    await gateway.complete(job.key)
    await zeebe.instance(pik).wait_completed()
    assert "end" in zeebe.instance(pik).snapshot().passed_elements
