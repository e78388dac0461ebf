"""Multi-instance activities: parallel and sequential, input/output collections, loopCounter and the
completion condition.

Doc: "Multi-instance" https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/ (§ Sequential vs.
parallel, § Defining the collection to iterate over, § Collecting the output, § Completion condition,
§ Variable mappings: ``loopCounter`` and the ``numberOf...Instances`` variables).
"""

from __future__ import annotations

import pytest
from behaviour_helpers import Gateway, bpmn, element_events, job_variables, settle
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine


async def test_parallel_instances_get_element_and_loop_counter_and_output_is_ordered_by_index(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Multi-instance": parallel instances are all created when the body activates; each gets the
    ``inputElement`` and a local ``loopCounter`` (1-based index); § Collecting the output: the output
    collection holds the elements in the order of the input collection, not in completion order.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""
    await zeebe.deploy(bpmn("mi-parallel.bpmn"))
    reviewers = ["owner", "pilot", "quality-office"]
    created = await zeebe_client.run_process("bh-mi-parallel", {"reviewers": reviewers})

    jobs = await gateway.activate("bh.review")
    assert len(jobs) == 3  # all at once
    by_reviewer = {job_variables(j)["reviewer"]: j for j in jobs}
    assert {job_variables(j)["loopCounter"] for j in jobs} == {1, 2, 3}
    assert all(job_variables(by_reviewer[r])["loopCounter"] == i for i, r in enumerate(reviewers, 1))

    for reviewer in reversed(reviewers):  # complete in reverse order
        await gateway.complete(by_reviewer[reviewer].key, {"verdict": f"{reviewer}: ok"})

    await zeebe.instance(created.process_instance_key).wait_completed()
    assert zeebe.instance(created.process_instance_key).variables()["verdicts"] == [
        "owner: ok",
        "pilot: ok",
        "quality-office: ok",
    ]


async def test_output_element_variable_stays_local_to_each_inner_instance(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Variables" § Variable propagation (propagation stops at a scope that has the variable) applied to
    "Multi-instance" § Collecting the output: Zeebe creates the output element variable (``verdict``, from
    ``outputElement="=verdict"``) as a null local variable of each inner instance, so a job's ``verdict`` is
    kept there and only reaches the process through the output collection (Zeebe engine change
    https://github.com/camunda/zeebe/pull/9947: "the output element ... needs to be nil initialized, to make
    sure that the variable exists at the local scope").
    Docs:
    https://docs.camunda.io/docs/components/concepts/variables/
    https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""
    await zeebe.deploy(bpmn("mi-parallel.bpmn"))
    created = await zeebe_client.run_process("bh-mi-parallel", {"reviewers": ["owner", "pilot"]})
    for job in await gateway.activate("bh.review"):
        await gateway.complete(job.key, {"verdict": job_variables(job)["reviewer"]})

    await zeebe.instance(created.process_instance_key).wait_completed()
    assert zeebe.instance(created.process_instance_key).variables() == {
        "reviewers": ["owner", "pilot"],
        "verdicts": ["owner", "pilot"],
    }


async def test_sequential_instances_run_one_at_a_time_in_collection_order(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Multi-instance" § Sequential vs. parallel: a sequential multi-instance runs one instance at a time;
    the next one is created when the previous completes, for the next element of the input collection.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""
    await zeebe.deploy(bpmn("mi-sequential.bpmn"))
    created = await zeebe_client.run_process("bh-mi-sequential", {"signers": ["owner", "head", "director"]})

    seen = []
    for _ in range(3):
        jobs = await gateway.activate("bh.sign")
        assert len(jobs) == 1
        seen.append((job_variables(jobs[0])["signer"], job_variables(jobs[0])["loopCounter"]))
        await gateway.complete(jobs[0].key)

    await zeebe.instance(created.process_instance_key).wait_completed()
    assert seen == [("owner", 1), ("head", 2), ("director", 3)]
    assert zeebe.instance(created.process_instance_key).variables()["signatures"] == [
        "owner:1",
        "head:2",
        "director:3",
    ]


@pytest.mark.record_log
async def test_completion_condition_completes_the_body_and_terminates_the_remaining_instances(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Multi-instance" § Completion condition: evaluated each time an instance completes; when true
    (``=numberOfCompletedInstances >= 2``) the remaining instances are terminated and the body completes.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""
    await zeebe.deploy(bpmn("mi-completion.bpmn"))
    created = await zeebe_client.run_process("bh-mi-completion", {"voters": ["a", "b", "c", "d"]})
    pik = created.process_instance_key
    jobs = await gateway.activate("bh.vote")
    assert len(jobs) == 4

    await gateway.complete(jobs[0].key)
    await settle()
    assert zeebe.instance(pik).snapshot().state == "ACTIVE"
    await gateway.complete(jobs[1].key)

    await zeebe.instance(pik).wait_completed()
    inner_terminated = [
        e
        for e in element_events(zeebe, "vote", "ELEMENT_TERMINATED", pik)
        if e["value"]["bpmnElementType"] != "MULTI_INSTANCE_BODY"
    ]
    assert len(inner_terminated) == 2
    assert await gateway.activate("bh.vote", wait=False) == []


async def test_empty_input_collection_completes_the_body_immediately(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Multi-instance" § Defining the collection to iterate over: if the collection is empty, the
    multi-instance body is completed immediately (no instances, empty output collection).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""
    await zeebe.deploy(bpmn("mi-parallel.bpmn"))
    created = await zeebe_client.run_process("bh-mi-parallel", {"reviewers": []})

    await zeebe.instance(created.process_instance_key).wait_completed()
    assert zeebe.instance(created.process_instance_key).variables()["verdicts"] == []
    assert await gateway.activate("bh.review", wait=False) == []


async def test_input_collection_that_is_not_a_list_raises_an_incident(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Multi-instance" § Defining the collection to iterate over: the inputCollection must evaluate to
    an array; otherwise an incident is created (EXTRACT_VALUE_ERROR).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""
    await zeebe.deploy(bpmn("mi-parallel.bpmn"))
    created = await zeebe_client.run_process("bh-mi-parallel", {"reviewers": "owner"})

    incident = await zeebe.instance(created.process_instance_key).wait_incident()
    assert (incident.error_type, incident.element_id) == ("EXTRACT_VALUE_ERROR", "review")
