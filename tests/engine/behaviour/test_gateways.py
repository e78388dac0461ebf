"""Gateways: exclusive (conditions, default flow), inclusive (fork and join) and event-based.

Doc: "Exclusive gateways" https://docs.camunda.io/docs/components/modeler/bpmn/exclusive-gateways/,
"Inclusive gateways" https://docs.camunda.io/docs/components/modeler/bpmn/inclusive-gateways/,
"Event-based gateways" https://docs.camunda.io/docs/components/modeler/bpmn/event-based-gateways/.
(The no-match incident of an exclusive gateway is in ``test_incidents.py``.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from behaviour_helpers import Gateway, bpmn, settle
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON


@pytest.mark.parametrize(("amount", "end"), [(5000, "big"), (150, "big"), (50, "small")])
async def test_exclusive_gateway_takes_the_first_true_condition_else_the_default_flow(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, amount: int, end: str
) -> None:
    """Doc "Exclusive gateways" § Conditions: the conditions are evaluated in order and the first flow whose
    condition is true is taken (only one, even if later ones are true too); if none is true the default flow
    is taken.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/exclusive-gateways/"""
    await zeebe.deploy(bpmn("gateway-exclusive.bpmn"))
    created = await zeebe_client.run_process("bh-gateway-exclusive", {"amount": amount})

    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_completed()
    assert instance.snapshot().passed_elements & {"big", "huge", "small"} == {end}


async def test_inclusive_gateway_forks_every_true_flow_and_joins_only_those(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Inclusive gateways" § Diverging: every flow whose condition is true is taken; § Converging: the
    joining gateway waits for all incoming flows that were activated, not for the others.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/inclusive-gateways/"""
    await zeebe.deploy(bpmn("gateway-inclusive.bpmn"))
    both = await zeebe_client.run_process("bh-gateway-inclusive", {"needsA": True, "needsB": True})
    only_a = await zeebe_client.run_process("bh-gateway-inclusive", {"needsA": True, "needsB": False})

    jobs_a = {j.processInstanceKey: j for j in await gateway.activate("bh.a")}
    jobs_b = {j.processInstanceKey: j for j in await gateway.activate("bh.b")}
    assert set(jobs_a) == {both.process_instance_key, only_a.process_instance_key}
    assert set(jobs_b) == {both.process_instance_key}

    await gateway.complete(jobs_a[only_a.process_instance_key].key)
    await zeebe.instance(only_a.process_instance_key).wait_completed()

    await gateway.complete(jobs_a[both.process_instance_key].key)
    await settle()
    assert zeebe.instance(both.process_instance_key).snapshot().state == "ACTIVE"  # join waits for b
    await gateway.complete(jobs_b[both.process_instance_key].key)
    await zeebe.instance(both.process_instance_key).wait_completed()


async def test_inclusive_gateway_takes_the_default_flow_when_no_condition_is_true(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Inclusive gateways" § Diverging: if no condition is true, the default flow is taken.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/inclusive-gateways/"""
    await zeebe.deploy(bpmn("gateway-inclusive.bpmn"))
    created = await zeebe_client.run_process("bh-gateway-inclusive", {"needsA": False, "needsB": False})

    await zeebe.instance(created.process_instance_key).wait_completed()
    assert "none" in zeebe.instance(created.process_instance_key).snapshot().passed_elements


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_event_based_gateway_follows_the_first_event_message(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Event-based gateways": the gateway waits for the first of its events; the first one to occur
    decides the flow and the other events' subscriptions/timers are closed.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/event-based-gateways/"""
    await zeebe.deploy(bpmn("gateway-event.bpmn"))
    created = await zeebe_client.run_process("bh-gateway-event", {"requestId": "Q-1"})
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_element_active("race")

    await zeebe_client.publish_message("bh-answer", "Q-1", time_to_live_in_milliseconds=0)
    await instance.wait_completed()
    await zeebe.increase_time(timedelta(hours=2))
    await settle()

    assert instance.snapshot().passed_elements >= {"answer", "answered"}
    assert "unanswered" not in instance.snapshot().passed_elements


@pytest.mark.embedded_only(CLOCK_REASON)
async def test_event_based_gateway_follows_the_first_event_timer(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Event-based gateways": when the timer (PT1H) occurs first, its flow is taken; a message published
    afterwards is no longer correlated to the instance.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/event-based-gateways/"""
    await zeebe.deploy(bpmn("gateway-event.bpmn"))
    created = await zeebe_client.run_process("bh-gateway-event", {"requestId": "Q-2"})
    instance = zeebe.instance(created.process_instance_key)
    await instance.wait_element_active("race")

    await zeebe.increase_time(timedelta(hours=1, seconds=1))
    await instance.wait_completed()
    await zeebe_client.publish_message("bh-answer", "Q-2", time_to_live_in_milliseconds=0)
    await settle()

    assert "unanswered" in instance.snapshot().passed_elements
    assert "answered" not in instance.snapshot().passed_elements
