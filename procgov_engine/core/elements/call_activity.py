"""Call activities (docs.camunda.io/docs/components/modeler/bpmn/call-activities/): start an instance
of the called process (binding types in engine/core/binding.py) and complete when it completes."""

from __future__ import annotations

from procgov_engine.core.behaviours.context import StepFailure
from procgov_engine.core.binding import CalledProcessNotFound, select_called_process
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance


class CallActivityBehaviour(ElementBehaviourBase):
    def activate(self, inst: ElementInstance) -> None:
        element = inst.element
        state = self.b.state
        assert element.called_process_id is not None
        process_id = self.expressions.eval(element.called_process_id, inst, "STRING")
        versions = state.processes_by_id.get((process_id, inst.process.tenant_id)) or []
        try:
            called = select_called_process(element, process_id, versions, inst.process, state.processes_by_deployment)
        except CalledProcessNotFound as exc:
            raise StepFailure("CALLED_ELEMENT_ERROR", str(exc)) from exc
        if called.model.root.none_start is None:
            raise StepFailure(
                "CALLED_ELEMENT_ERROR",
                f"Expected process with BPMN process id '{process_id}' to have a none start event, but not found.",
            )
        variables = self.vars.visible(inst) if element.propagate_all_parent else dict(self.vars.local(inst))
        self.lifecycle.transition(inst, ACTIVATED)
        # the child's activation links it to this instance (its applier sets called_instance_key)
        self.lifecycle.start_instance(called, [called.model.root.none_start], variables, parent=inst)

    def terminating(self, inst: ElementInstance) -> None:
        if inst.called_instance_key:
            child_root = self.b.state.instances.get(inst.called_instance_key)
            if child_root is not None:
                self.lifecycle.terminate(child_root)
