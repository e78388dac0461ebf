"""The process element: the root instance of a process instance (activated by
``ElementLifecycle.start_instance``); when it ends, a calling call activity continues."""

from __future__ import annotations

from procgov_engine.core.behaviours.bpmn import BpmnBehaviours
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance


class ProcessBehaviour(ElementBehaviourBase):
    def __init__(self, behaviours: BpmnBehaviours) -> None:
        super().__init__(behaviours)
        # root key → the message start correlation keys it held, taken before its COMPLETED / TERMINATED
        # event frees them
        self._freed: dict[int, list[tuple[str, str]]] = {}

    def complete_outputs(self, inst: ElementInstance) -> bool:
        return False  # a process has no output mappings or listeners

    def completing(self, inst: ElementInstance) -> None:
        inst.temp_variables = self.vars.visible(inst)  # taken before the scopes' variables are dropped
        self._freed[inst.key] = self.b.events.start_keys_of(inst)

    def terminating(self, inst: ElementInstance) -> None:
        self._freed[inst.key] = self.b.events.start_keys_of(inst)

    def leave(self, inst: ElementInstance, scope: ElementInstance | None) -> None:
        variables = inst.temp_variables or {}
        inst.temp_variables = None
        self.b.events.instance_ended(self._freed.pop(inst.key, []))
        self.b.ctx.hooks.on_process_ended(inst, variables)
        if inst.parent_element_instance_key > 0:
            call = self.b.state.instances.get(inst.parent_element_instance_key)
            if call is not None and call.state == ACTIVATED:  # the COMPLETED applier unlinked the child
                call.temp_variables = variables
                self.lifecycle.complete(call)

    def terminated(self, inst: ElementInstance) -> None:
        freed = self._freed.pop(inst.key, None)
        if freed is None:  # its termination waited across a restart: what the TERMINATED applier freed
            freed = list(self.b.ctx.appliers.freed_start_keys)
        self.b.events.instance_ended(freed)
        self.b.ctx.hooks.on_process_ended(inst, None)
