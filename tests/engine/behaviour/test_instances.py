"""Process instance creation (start instructions, with result and its timeout) and cancellation.

Doc: "Process instance creation" https://docs.camunda.io/docs/components/concepts/process-instance-creation/
(§ Commands / create and await results: the command waits for completion and returns the variables, failing
after the request timeout; § Start instructions: the instance starts at the given elements instead of the
none start event) and the gateway API § CancelProcessInstance
https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#cancelprocessinstance-rpc.
"""

from __future__ import annotations

from typing import Any

import pytest
from behaviour_helpers import Gateway, bpmn, element_events, job_variables, process_instances_of
from pyzeebe import ZeebeClient, ZeebeWorker
from pyzeebe.errors import ProcessInstanceNotFoundError, ProcessTimeoutError

from procgov_engine.testing import EmbeddedEngine, running_worker


@pytest.mark.record_log
async def test_start_instructions_start_the_instance_at_the_given_element(
    zeebe: EmbeddedEngine, gateway: Gateway
) -> None:
    """Doc "Process instance creation" § Start instructions: the instance is created at the given element
    (``second``); the elements before it (``first``) are not activated.
    Docs:
    https://docs.camunda.io/docs/components/concepts/process-instance-creation/"""
    await zeebe.deploy(bpmn("two-tasks.bpmn"))
    pik = await gateway.create_at("bh-two-tasks", ["second"], {"ticket": "T-1"})

    job = await gateway.activate_one("bh.second")
    assert job_variables(job) == {"ticket": "T-1"}
    assert await gateway.activate("bh.first", wait=False) == []
    await gateway.complete(job.key)
    await zeebe.instance(pik).wait_completed()
    assert element_events(zeebe, "first", "ELEMENT_ACTIVATED", pik) == []
    assert element_events(zeebe, "start", "ELEMENT_ACTIVATED", pik) == []


async def test_create_with_result_returns_the_variables_at_completion(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker
) -> None:
    """Doc "Process instance creation" § Create and await results: the response comes when the instance
    completes and carries its variables (all, or only ``fetchVariables``).
    Docs:
    https://docs.camunda.io/docs/components/concepts/process-instance-creation/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))

    @worker.task(task_type="bh.work")  # type: ignore[arg-type]  # pyzeebe generics defeat mypy inference
    async def work(owner: str) -> dict[str, Any]:
        return {"approvedBy": owner}

    async with running_worker(worker):
        result = await zeebe_client.run_process_with_result("bh-one-task", {"owner": "质量管理部"}, timeout=5_000)
        fetched = await zeebe_client.run_process_with_result(
            "bh-one-task", {"owner": "采购部"}, timeout=5_000, variables_to_fetch=["approvedBy"]
        )

    assert result.variables == {"owner": "质量管理部", "approvedBy": "质量管理部"}
    assert fetched.variables == {"approvedBy": "采购部"}


@pytest.mark.record_log
async def test_create_with_result_times_out_but_the_instance_keeps_running(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Process instance creation" § Create and await results: if the instance does not complete within
    the request timeout the command fails (DEADLINE_EXCEEDED; pyzeebe: ProcessTimeoutError), but the instance
    was created and keeps running.
    Docs:
    https://docs.camunda.io/docs/components/concepts/process-instance-creation/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))

    with pytest.raises(ProcessTimeoutError):
        await zeebe_client.run_process_with_result("bh-one-task", {"owner": "x"}, timeout=300)

    [pik] = process_instances_of(zeebe, "bh-one-task")
    await zeebe.instance(pik).wait_element_active("work")


@pytest.mark.record_log
async def test_cancel_terminates_the_instance_and_a_second_cancel_is_not_found(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc gateway API § CancelProcessInstance RPC: cancelling terminates the instance and all its active
    elements; for an instance that is no longer active the command is rejected with NOT_FOUND.
    Docs:
    https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/"""
    await zeebe.deploy(bpmn("one-task.bpmn"))
    created = await zeebe_client.run_process("bh-one-task")
    await gateway.activate_one("bh.work")

    await zeebe_client.cancel_process_instance(created.process_instance_key)
    await zeebe.instance(created.process_instance_key).wait_terminated()
    assert element_events(zeebe, "work", "ELEMENT_TERMINATED", created.process_instance_key)

    with pytest.raises(ProcessInstanceNotFoundError):
        await zeebe_client.cancel_process_instance(created.process_instance_key)
