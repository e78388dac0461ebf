"""The process element: the root instance of a process instance (activated by
``ElementLifecycle.start_instance``); when it ends, a calling call activity continues."""

from __future__ import annotations

from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance


class ProcessBehaviour(ElementBehaviourBase):
    def complete_outputs(self, inst: ElementInstance) -> bool:
        return False  # a process has no output mappings or listeners

    def completing(self, inst: ElementInstance) -> None:
        inst.temp_variables = self.vars.visible(inst)  # taken before the scopes' variables are dropped

    def leave(self, inst: ElementInstance, scope: ElementInstance | None) -> None:
        variables = inst.temp_variables or {}
        inst.temp_variables = None
        self.b.events.instance_ended(inst)
        self.b.ctx.hooks.on_process_ended(inst, variables)
        if inst.parent_element_instance_key > 0:
            call = self.b.state.instances.get(inst.parent_element_instance_key)
            if call is not None and call.state == ACTIVATED:
                call.called_instance_key = 0
                call.temp_variables = variables
                self.lifecycle.complete(call)

    def terminated(self, inst: ElementInstance) -> None:
        self.b.events.instance_ended(inst)
        self.b.ctx.hooks.on_process_ended(inst, None)
