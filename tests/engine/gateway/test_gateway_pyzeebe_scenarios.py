"""The scenarios of pyzeebe's own integration suite (tests/integration at pyzeebe 4.7.0, written for a
real Zeebe), through pyzeebe's public API against the engine, with resources of our own.

pyzeebe's suite deploys a BPMN and a DMN once, runs a ``ZeebeWorker`` for the whole package and then
checks: topology, health check, run_process (and an unknown process), run_process_with_result,
publish_message starting an instance by a message start event, cancel_process_instance,
evaluate_decision by id (string, context and number outputs), by key, and an unknown decision. Its
``deploy_dmn`` fixture takes ``deployments[0].decision_key``: that only works because Zeebe's gateway
lists decisions before decision requirements (``ResponseMapper``). The real suite was also run against
``procgov engine`` (see the i10 closing note in the issue); this module keeps its coverage in ours.

Camunda docs: "Zeebe API (gRPC)" (https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/),
"Messages" → "Message start events" (https://docs.camunda.io/docs/components/concepts/messages/).
"""

# No ``from __future__ import annotations`` here: pyzeebe finds a task's ``job: Job`` parameter by its
# evaluated annotation.
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import pytest_asyncio
from pyzeebe import Job, ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.errors import DecisionNotFoundError, ProcessDefinitionNotFoundError
from pyzeebe.grpc_internals.types import DeployResourceResponse

from procgov_engine.testing import EmbeddedEngine

RESOURCES = Path(__file__).parent / "resources"


class Runs:
    """What the worker saw: process instance key → the job's variables."""

    def __init__(self) -> None:
        self.by_instance: dict[int, dict[str, Any]] = {}
        self.changed = asyncio.Event()

    def add(self, job: Job) -> None:
        self.by_instance[job.process_instance_key] = dict(job.variables)
        self.changed.set()

    async def wait_for(self, seen: Any, timeout_s: float = 10.0) -> None:
        async def until() -> None:
            while not seen():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout_s)


@pytest_asyncio.fixture
async def runs(zeebe: EmbeddedEngine) -> AsyncIterator[Runs]:
    """A pyzeebe worker for ``gw-echo`` on its own channel, running while the test runs."""
    seen = Runs()
    channel = create_insecure_channel(grpc_address=zeebe.address)
    worker = ZeebeWorker(channel, poll_retry_delay=0)

    async def on_error(exc: Exception, job: Job, controller: Any) -> None:
        await controller.set_error_status(f"Failed to run task {job.type}. Reason: {exc}")

    @worker.task("gw-echo", on_error)
    async def echo(text: str, fail: bool, job: Job) -> dict[str, Any]:
        seen.add(job)
        if fail:
            raise RuntimeError("asked to fail")
        return {"echoed": text + "-" + str(uuid4())}

    task = asyncio.create_task(worker.work())
    try:
        yield seen
    finally:
        await worker.stop()
        await asyncio.wait_for(task, 10)
        await channel.close()


@pytest_asyncio.fixture
async def deployed(zeebe_client: ZeebeClient) -> int:
    """Deploys the process and the DMN; returns the decision key the way pyzeebe's fixture reads it."""
    await zeebe_client.deploy_resource(RESOURCES / "client-scenarios.bpmn")
    response = await zeebe_client.deploy_resource(RESOURCES / "code-names.dmn")
    first = response.deployments[0]
    assert isinstance(first, DeployResourceResponse.DecisionMetadata)
    return first.decision_key


def _variables() -> dict[str, Any]:
    return {"text": str(uuid4()), "fail": False}


async def test_topology_reports_a_single_node_cluster(zeebe_client: ZeebeClient) -> None:
    topology = await zeebe_client.topology()
    assert topology.cluster_size == 1


async def test_health_check_is_serving(zeebe_client: ZeebeClient) -> None:
    health = await zeebe_client.healthcheck()
    assert health.status == health.ServingStatus.SERVING


async def test_run_process_reaches_the_worker(zeebe_client: ZeebeClient, deployed: int, runs: Runs) -> None:
    created = await zeebe_client.run_process("gw-echo", _variables())
    await runs.wait_for(lambda: created.process_instance_key in runs.by_instance)


async def test_unknown_process_is_process_definition_not_found(zeebe_client: ZeebeClient, deployed: int) -> None:
    with pytest.raises(ProcessDefinitionNotFoundError):
        await zeebe_client.run_process(str(uuid4()))


async def test_run_process_with_result_returns_the_output(zeebe_client: ZeebeClient, deployed: int, runs: Runs) -> None:
    variables = _variables()
    result = await zeebe_client.run_process_with_result("gw-echo", variables, timeout=60_000)
    assert result.variables["echoed"].startswith(variables["text"])


async def test_published_message_starts_an_instance(zeebe_client: ZeebeClient, deployed: int, runs: Runs) -> None:
    variables = _variables()
    await zeebe_client.publish_message("echo-requested", correlation_key="", variables=variables)
    await runs.wait_for(lambda: variables in runs.by_instance.values())


async def test_cancel_process_instance(zeebe_client: ZeebeClient, deployed: int) -> None:
    created = await zeebe_client.run_process("gw-echo", _variables())
    await zeebe_client.cancel_process_instance(created.process_instance_key)


@pytest.mark.parametrize(("code", "output"), [("a", "Alpha"), ("b", {"phonetic": "Bravo"}), ("c", 3)])
async def test_evaluate_decision_by_id(zeebe_client: ZeebeClient, deployed: int, code: str, output: Any) -> None:
    response = await zeebe_client.evaluate_decision(None, "gw-code-name", {"code": code})
    assert response.decision_output == output
    assert response.evaluated_decisions[0].decision_output == output
    assert response.evaluated_decisions[0].matched_rules[0].evaluated_outputs[0].output_value == output


async def test_evaluate_decision_by_key(zeebe_client: ZeebeClient, deployed: int) -> None:
    response = await zeebe_client.evaluate_decision(deployed, None, {"code": "a"})
    assert response.decision_output == "Alpha"


async def test_unknown_decision_is_decision_not_found(zeebe_client: ZeebeClient, deployed: int) -> None:
    with pytest.raises(DecisionNotFoundError):
        await zeebe_client.evaluate_decision(1, str(uuid4()))
