"""Embedded and event sub-processes (docs.camunda.io/docs/components/modeler/bpmn/embedded-subprocesses/,
.../event-subprocesses/): a scope that opens the subscriptions of its event sub-processes and starts at
its none start event (an event sub-process at its triggered start event, with the event's variables)."""

from __future__ import annotations

from procgov_engine.core.behaviours.context import StepFailure
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance


class SubProcessBehaviour(ElementBehaviourBase):
    def activate(self, inst: ElementInstance) -> None:
        subscriptions = self.b.subscriptions
        try:
            subscriptions.subscribe_event_subprocesses(inst)
        except StepFailure:
            subscriptions.close(inst)  # the boundary subscriptions opened above, too
            raise
        self.lifecycle.transition(inst, ACTIVATED)
        element = inst.element
        start = element.none_start
        temp = None
        if inst.element_type == "EVENT_SUB_PROCESS":
            start = next(c for c in element.children if c.element_type == "START_EVENT")
            temp, inst.temp_variables = inst.temp_variables, None
        assert start is not None
        self.lifecycle.enter(inst, start, temp)
