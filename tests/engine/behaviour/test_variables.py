"""Variable scopes and propagation, as Zeebe documents them.

Doc: "Variables" https://docs.camunda.io/docs/components/concepts/variables/ (sections "Variable scopes",
"Variable propagation", "Local variables", "Input/output variable mappings") and the gateway API's
SetVariables RPC https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#setvariables-rpc.
Models: ``bpmn/var-scopes.bpmn`` (a sub-process with input mappings around one service task) and
``bpmn/var-mappings.bpmn`` (a service task with input and output mappings).
"""

from __future__ import annotations

from typing import Any

import pytest
from behaviour_helpers import Gateway, bpmn, element_instance_key, job_variables, scope_variables
from pyzeebe import ZeebeClient, ZeebeWorker

from procgov_engine.testing import EmbeddedEngine, running_worker


@pytest.mark.record_log
async def test_job_variables_update_the_nearest_local_variable_and_create_the_rest_in_the_root(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Variables" § Variable propagation: merged variables propagate from the activity's scope upwards;
    propagation stops at a scope that has a variable of that name (its value is updated there); a variable no
    scope has is created in the root scope.
    Docs:
    https://docs.camunda.io/docs/components/concepts/variables/"""
    await zeebe.deploy(bpmn("var-scopes.bpmn"))
    created = await zeebe_client.run_process("bh-var-scopes", {"amount": 70})
    pik = created.process_instance_key

    job = await gateway.activate_one("bh.work")
    await gateway.complete(job.key, {"note": "final", "result": 42})
    await zeebe.instance(pik).wait_completed()

    assert zeebe.instance(pik).variables() == {"amount": 70, "result": 42}  # no "note": it stayed in "sub"
    sub = element_instance_key(zeebe, pik, "sub")
    assert scope_variables(zeebe, sub) == {"note": "final", "subAmount": 70}


async def test_input_mappings_create_local_variables_that_the_job_sees(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc "Variables" § Input/output variable mappings: input mappings create new local variables in the
    element's scope; § Variable scopes: an element sees the variables of its own and all higher scopes.
    Docs:
    https://docs.camunda.io/docs/components/concepts/variables/"""
    await zeebe.deploy(bpmn("var-scopes.bpmn"))
    created = await zeebe_client.run_process("bh-var-scopes", {"amount": 70})

    job = await gateway.activate_one("bh.work")

    assert job_variables(job) == {"amount": 70, "note": "draft", "subAmount": 70}
    assert zeebe.instance(created.process_instance_key).variables() == {"amount": 70}


@pytest.mark.record_log
async def test_set_variables_local_stays_in_the_scope_and_non_local_propagates(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, gateway: Gateway
) -> None:
    """Doc gateway API § SetVariables RPC, field ``local``: if true the variables are merged strictly into the
    given scope and not propagated; if false they are propagated to upper scopes (an existing variable is
    updated where it lives, like job completion variables).
    Docs:
    https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/"""
    await zeebe.deploy(bpmn("var-scopes.bpmn"))
    created = await zeebe_client.run_process("bh-var-scopes", {"amount": 5, "owner": "质量管理部"})
    pik = created.process_instance_key
    await zeebe.instance(pik).wait_element_active("work")
    sub = element_instance_key(zeebe, pik, "sub")

    await gateway.set_variables(sub, {"owner": "采购部", "flag": 1}, local=True)
    assert scope_variables(zeebe, sub) == {"note": "draft", "subAmount": 5, "owner": "采购部", "flag": 1}
    assert zeebe.instance(pik).variables() == {"amount": 5, "owner": "质量管理部"}

    await gateway.set_variables(sub, {"note": "revised", "amount": 9, "fresh": True}, local=False)
    assert scope_variables(zeebe, sub)["note"] == "revised"  # existed in "sub": updated there
    assert zeebe.instance(pik).variables() == {"amount": 9, "owner": "质量管理部", "fresh": True}


async def test_output_mappings_decide_what_reaches_the_process(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, worker: ZeebeWorker
) -> None:
    """Doc "Variables" § Output mappings: with output mappings defined, the job's variables become local
    variables of the element and only the output mappings' targets are merged into the process instance.
    Docs:
    https://docs.camunda.io/docs/components/concepts/variables/"""
    await zeebe.deploy(bpmn("var-mappings.bpmn"))
    seen: list[Any] = []

    @worker.task(task_type="bh.price")  # type: ignore[arg-type]  # pyzeebe generics defeat mypy inference
    async def price(total: int) -> dict[str, Any]:
        seen.append(total)
        return {"status": "priced", "extra": "not mapped"}

    async with running_worker(worker):
        created = await zeebe_client.run_process("bh-var-mappings", {"order": {"total": 21}})
        await zeebe.instance(created.process_instance_key).wait_completed()

    assert seen == [21]
    assert zeebe.instance(created.process_instance_key).variables() == {
        "order": {"total": 21},
        "doubled": 42,
        "priceStatus": "priced",
    }
