"""Business rule tasks calling DMN and script tasks with FEEL.

Doc: "Business rule tasks" https://docs.camunda.io/docs/components/modeler/bpmn/business-rule-tasks/
(§ Defining a called decision: the decision is evaluated and its result is stored in ``resultVariable``) and
"Script tasks" https://docs.camunda.io/docs/components/modeler/bpmn/script-tasks/ (§ Defining a FEEL expression:
the expression's result is stored in ``resultVariable``).
"""

from __future__ import annotations

import pytest
from behaviour_helpers import bpmn
from pyzeebe import ZeebeClient

from procgov_engine.testing import EmbeddedEngine
from procgov_engine.testing.external import FRESH_ENGINE_REASON


@pytest.mark.parametrize(("score", "grade"), [(95, "distinction"), (85, "pass"), (80, "pass"), (79, "fail")])
async def test_business_rule_task_stores_the_decision_result(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient, score: int, grade: str
) -> None:
    """Doc "Business rule tasks" § Defining a called decision: the DMN decision ``bh-exam-grade`` (FIRST hit
    policy, single output) is evaluated with the instance's variables; its output is set as ``grade``.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/business-rule-tasks/"""
    await zeebe.deploy(bpmn("exam-grade.dmn"), bpmn("business-rule.bpmn"))
    result = await zeebe_client.run_process_with_result("bh-business-rule", {"score": score}, timeout=5_000)
    assert result.variables == {"score": score, "grade": grade}


@pytest.mark.embedded_only(FRESH_ENGINE_REASON)
async def test_business_rule_task_for_an_undeployed_decision_raises_an_incident(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Business rule tasks" / "Incidents": if the called decision cannot be found or evaluated, an
    incident is created (CALLED_DECISION_ERROR) on the business rule task.
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/business-rule-tasks/
    https://docs.camunda.io/docs/components/concepts/incidents/"""
    await zeebe.deploy(bpmn("business-rule.bpmn"))
    created = await zeebe_client.run_process("bh-business-rule", {"score": 90})

    incident = await zeebe.instance(created.process_instance_key).wait_incident()
    assert (incident.error_type, incident.element_id) == ("CALLED_DECISION_ERROR", "grade")


async def test_script_task_evaluates_feel_into_the_result_variable(
    zeebe: EmbeddedEngine, zeebe_client: ZeebeClient
) -> None:
    """Doc "Script tasks" § Defining a FEEL expression: the expression is evaluated and its result stored in
    ``resultVariable`` (here ``fineYuan``, a FEEL ``for``/``sum`` over the instance's variables).
    Docs:
    https://docs.camunda.io/docs/components/modeler/bpmn/script-tasks/"""
    await zeebe.deploy(bpmn("script.bpmn"))
    result = await zeebe_client.run_process_with_result(
        "bh-script", {"lateDays": [1, 2, 3], "ratePerDay": 50}, timeout=5_000
    )
    assert result.variables["fineYuan"] == 300
