"""Terminate end events in a sub-process and at the process level.

Doc: "Terminate events" https://docs.camunda.io/docs/components/modeler/bpmn/terminate-events/ (§ Inside a
subprocess: the terminate end event terminates all element instances of the sub-process, then the sub-process
completes and the flow continues; § On the process scope: all element instances are terminated, after which
the process instance completes).
"""

from __future__ import annotations

import pytest
from behaviour_helpers import Gateway, bpmn, element_events
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine


@pytest.mark.record_log
async def test_terminate_end_event_in_a_sub_process_then_in_the_process(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Terminate events": in the sub-process the terminate end event cancels the concurrent task
    ``sub-slow`` and the sub-process completes (the flow continues); at the process scope it cancels ``slow``
    and the instance completes (not terminated).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/terminate-events/"""
    await zeebe.deploy(bpmn("terminate.bpmn"))
    created = await zeebe_client.run_process("bh-terminate")
    pik = created.process_instance_key
    instance = zeebe.instance(pik)

    await instance.wait_element_passed("sub")
    assert element_events(zeebe, "sub-slow", "ELEMENT_TERMINATED", pik)
    assert "sub-end" not in instance.snapshot().passed_elements

    slow = await gateway.activate_one("bh.slow")
    await gateway.complete((await gateway.activate_one("bh.quick")).key)

    await instance.wait_completed()
    assert instance.snapshot().state == "COMPLETED"
    assert element_events(zeebe, "slow", "ELEMENT_TERMINATED", pik)
    assert "end" not in instance.snapshot().passed_elements
    assert slow.key not in {j.key for j in await gateway.activate("bh.slow", wait=False)}
