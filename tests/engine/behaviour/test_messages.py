"""Message correlation: subscriptions by correlation key, buffering with a time to live, message ids,
message start events and message cardinality.

Doc: "Messages" https://docs.camunda.io/docs/components/concepts/messages/ (§ Message subscriptions,
§ Message buffering, § Message uniqueness, § Message cardinality) and "Message events"
https://docs.camunda.io/docs/components/modeler/bpmn/message-events/ (§ Message start events).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from behaviour_helpers import (
    Gateway,
    bpmn,
    element_events,
    eventually,
    expect_exactly,
    job_variables,
    process_instances_of,
    settle,
)
from pyzeebe import ZeebeClient
from pyzeebe.errors import MessageAlreadyExistsError

from procgov_engine.testing import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON, FRESH_ENGINE_REASON


async def test_message_correlates_by_name_and_key_and_merges_its_variables(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Messages" § Message subscriptions: a message is correlated to the instance whose subscription has
    the same message name and correlation key (``=requestId``, evaluated on entering the event); its variables
    are merged into that instance.
    Docs:
    https://docs.camunda.io/docs/components/concepts/messages/"""
    await zeebe.deploy(bpmn("message-catch.bpmn"))
    first = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-1"})
    second = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-2"})
    await zeebe.instance(second.process_instance_key).wait_element_active("approved")

    await zeebe_client.publish_message("bh-approved", "CR-2", {"approver": "质量管理部"}, 0)

    await zeebe.instance(second.process_instance_key).wait_completed()
    assert zeebe.instance(second.process_instance_key).variables() == {"requestId": "CR-2", "approver": "质量管理部"}
    await settle()
    assert zeebe.instance(first.process_instance_key).snapshot().active_elements == ["approved"]


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_message_published_before_the_subscription_is_correlated_within_its_ttl(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Messages" § Message buffering: a message with a time to live is buffered; a subscription opened
    while it is still alive correlates it.
    Docs:
    https://docs.camunda.io/docs/components/concepts/messages/"""
    await zeebe.deploy(bpmn("message-catch.bpmn"))
    await zeebe_client.publish_message(
        "bh-approved", "CR-3", {"approver": "owner"}, time_to_live_in_milliseconds=60_000
    )
    await zeebe.increase_time(timedelta(seconds=59))

    created = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-3"})

    await zeebe.instance(created.process_instance_key).wait_completed()
    assert zeebe.instance(created.process_instance_key).variables()["approver"] == "owner"


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_message_whose_ttl_expired_is_not_correlated(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
    """Doc "Messages" § Message buffering: after its time to live the message is removed and no longer
    correlated; with TTL 0 it is only correlated to subscriptions open at publication.
    Docs:
    https://docs.camunda.io/docs/components/concepts/messages/"""
    await zeebe.deploy(bpmn("message-catch.bpmn"))
    await zeebe_client.publish_message("bh-approved", "CR-4", time_to_live_in_milliseconds=10_000)
    await zeebe_client.publish_message("bh-approved", "CR-5", time_to_live_in_milliseconds=0)
    await zeebe.increase_time(timedelta(seconds=11))

    late = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-4"})
    unbuffered = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-5"})

    await settle()
    assert zeebe.instance(late.process_instance_key).snapshot().active_elements == ["approved"]
    assert zeebe.instance(unbuffered.process_instance_key).snapshot().active_elements == ["approved"]


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_message_id_is_unique_while_the_message_is_buffered(
    zeebe_client: ZeebeClient, zeebe: EmbeddedEngine
) -> None:
    """Doc "Messages" § Message uniqueness: a second message with the same id (same name and correlation key)
    is rejected while the first is buffered (ALREADY_EXISTS); after the first expires the id is free again.
    Docs:
    https://docs.camunda.io/docs/components/concepts/messages/"""
    await zeebe_client.publish_message("bh-approved", "CR-6", time_to_live_in_milliseconds=60_000, message_id="m-1")
    with pytest.raises(MessageAlreadyExistsError):
        await zeebe_client.publish_message("bh-approved", "CR-6", time_to_live_in_milliseconds=60_000, message_id="m-1")

    await zeebe.increase_time(timedelta(seconds=61))
    await zeebe_client.publish_message("bh-approved", "CR-6", time_to_live_in_milliseconds=60_000, message_id="m-1")


async def test_one_message_is_correlated_to_at_most_one_instance_of_a_process(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Messages" § Message cardinality: a message is correlated only once to a process (by BPMN process
    id); if several instances of it wait with the same key, only one of them gets the message.
    Docs:
    https://docs.camunda.io/docs/components/concepts/messages/"""
    await zeebe.deploy(bpmn("message-catch.bpmn"))
    a = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-7"})
    b = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-7"})
    for created in (a, b):
        await zeebe.instance(created.process_instance_key).wait_element_active("approved")

    await zeebe_client.publish_message("bh-approved", "CR-7", time_to_live_in_milliseconds=60_000)

    def completed() -> int:
        return sum(zeebe.instance(c.process_instance_key).snapshot().state == "COMPLETED" for c in (a, b))

    await expect_exactly("completed instance(s)", completed, 1)


@pytest.mark.record_log
async def test_message_start_event_creates_an_instance_with_the_message_variables(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Message events" § Message start events: publishing a message with the start event's name creates
    a new process instance; the message variables are its initial variables.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/message-events/"""
    await zeebe.deploy(bpmn("message-start.bpmn"))

    await zeebe_client.publish_message("bh-request-filed", "", {"requester": "采购部"}, time_to_live_in_milliseconds=0)

    job = await gateway.activate_one("bh.triage")
    assert job_variables(job) == {"requester": "采购部"}
    assert len(process_instances_of(zeebe, "bh-message-start")) == 1


@pytest.mark.record_log
async def test_message_start_creates_one_active_instance_per_correlation_key(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Message events" § Message start events (message correlation): while an instance started by a
    message with correlation key K is active, another message with K is not correlated and creates no
    instance; once that instance completes, a buffered message with K (TTL > 0) starts a new instance.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/message-events/"""
    await zeebe.deploy(bpmn("message-start.bpmn"))

    await zeebe_client.publish_message("bh-request-filed", "R-1", {"n": 1}, time_to_live_in_milliseconds=60_000)
    first = await gateway.activate_one("bh.triage")
    await zeebe_client.publish_message("bh-request-filed", "R-1", {"n": 2}, time_to_live_in_milliseconds=60_000)
    await zeebe_client.publish_message("bh-request-filed", "R-2", {"n": 3}, time_to_live_in_milliseconds=60_000)
    await expect_exactly("instances (R-1 first, R-2)", lambda: len(process_instances_of(zeebe, "bh-message-start")), 2)
    assert job_variables(first) == {"n": 1}

    await gateway.complete(first.key)
    await eventually(
        "the buffered R-1 message to start an instance",
        lambda: len(process_instances_of(zeebe, "bh-message-start")) == 3,
    )
    variables = sorted(job_variables(j)["n"] for j in await gateway.activate("bh.triage"))
    assert variables == [2, 3]


@pytest.mark.record_log
@pytest.mark.embedded_only(FRESH_ENGINE_REASON)
async def test_message_published_before_deployment_does_not_start_an_instance(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Message events" § Message start events: messages are not correlated to a start event if they were
    published before the process was deployed (even while still buffered).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/message-events/"""
    await zeebe_client.publish_message("bh-request-filed", "R-3", time_to_live_in_milliseconds=60_000)
    await zeebe.deploy(bpmn("message-start.bpmn"))
    await settle()
    assert process_instances_of(zeebe, "bh-message-start") == []


@pytest.mark.record_log
async def test_message_boundary_events_non_interrupting_then_interrupting(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Message events" § Message boundary events: a non-interrupting message boundary (``bh-nudge``)
    takes its flow each time a message is correlated while the task stays active; an interrupting one
    (``bh-withdraw-request``) terminates the task and takes its flow.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/message-events/"""
    await zeebe.deploy(bpmn("message-boundary.bpmn"))
    created = await zeebe_client.run_process("bh-message-boundary", {"requestId": "CR-12"})
    pik = created.process_instance_key
    job = await gateway.activate_one("bh.review")

    for count in (1, 2):
        await zeebe_client.publish_message("bh-nudge", "CR-12", time_to_live_in_milliseconds=0)
        await expect_exactly("nudges", lambda: len(element_events(zeebe, "nudged", "ELEMENT_COMPLETED", pik)), count)
    assert "review" in zeebe.instance(pik).snapshot().active_elements

    await zeebe_client.publish_message("bh-withdraw-request", "CR-12", time_to_live_in_milliseconds=0)

    await zeebe.instance(pik).wait_completed()
    assert "withdrawn" in zeebe.instance(pik).snapshot().passed_elements
    assert element_events(zeebe, "review", "ELEMENT_TERMINATED", pik)
    assert job.key not in {j.key for j in await gateway.activate("bh.review", wait=False)}


async def test_one_message_is_correlated_once_to_each_waiting_process(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Messages" § Message cardinality: the once-per-process rule is per BPMN process id; the same message
    is correlated to one waiting instance of every process that subscribes to it.
    Docs:
    https://docs.camunda.io/docs/components/concepts/messages/"""
    await zeebe.deploy(bpmn("message-catch.bpmn"), bpmn("message-catch-other.bpmn"))
    a = await zeebe_client.run_process("bh-message-catch", {"requestId": "CR-13"})
    b = await zeebe_client.run_process("bh-message-catch-other", {"requestId": "CR-13"})
    for created in (a, b):
        await zeebe.instance(created.process_instance_key).wait_element_active("approved")

    await zeebe_client.publish_message("bh-approved", "CR-13", {"ok": True}, time_to_live_in_milliseconds=0)

    for created in (a, b):
        await zeebe.instance(created.process_instance_key).wait_completed()
        assert zeebe.instance(created.process_instance_key).variables()["ok"] is True
