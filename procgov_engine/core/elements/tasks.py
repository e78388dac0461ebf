"""Tasks: job workers (service, send and job-based user tasks, and any element with a
``zeebe:taskDefinition``; docs.camunda.io/docs/components/modeler/bpmn/service-tasks/), script tasks
with a FEEL expression (.../script-tasks/) and business rule tasks with a called decision
(.../business-rule-tasks/)."""

from __future__ import annotations

from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance


class JobWorkerBehaviour(ElementBehaviourBase):
    """Creates the element's job and waits for CompleteJob (or FailJob, ThrowError)."""

    def activate(self, inst: ElementInstance) -> None:
        self.b.jobs.create_for_element(inst)
        self.lifecycle.transition(inst, ACTIVATED)


class ScriptTaskBehaviour(ElementBehaviourBase):
    def activate(self, inst: ElementInstance) -> None:
        element = inst.element
        if element.script is not None:
            value = self.expressions.eval(element.script, inst)
            inst.temp_variables = {element.result_variable or "": value}
        self.lifecycle.activated_and_complete(inst)


class BusinessRuleTaskBehaviour(ElementBehaviourBase):
    def activate(self, inst: ElementInstance) -> None:
        element = inst.element
        if element.decision_id is not None:
            decision_id = self.expressions.eval(element.decision_id, inst, "STRING")
            output = self.b.decisions.evaluate_called(decision_id, self.vars.visible(inst), inst)
            inst.temp_variables = {element.result_variable or "": output}
        self.lifecycle.activated_and_complete(inst)
