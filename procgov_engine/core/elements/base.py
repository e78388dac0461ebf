"""The defaults every element behaviour starts from: no wait state of its own, output mappings and end
listeners when completing, leave along the outgoing sequence flows."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.behaviours.bpmn import BpmnBehaviours
from procgov_engine.core.state import ElementInstance
from procgov_engine.model.bpmn import Element


class ElementBehaviourBase:
    """Implements :class:`procgov_engine.core.behaviours.lifecycle.ElementBehaviour`; subclasses override the
    steps their element family does differently."""

    def __init__(self, behaviours: BpmnBehaviours) -> None:
        self.b = behaviours
        self.lifecycle = behaviours.lifecycle
        self.expressions = behaviours.expressions
        self.vars = behaviours.vars

    def activate(self, inst: ElementInstance) -> None:
        self.lifecycle.activated_and_complete(inst)

    def complete_outputs(self, inst: ElementInstance) -> bool:
        return self.lifecycle.apply_outputs_and_end_listeners(inst)

    def child_completing(self, scope: ElementInstance, child: ElementInstance) -> None:
        return None

    def completing(self, inst: ElementInstance) -> None:
        return None

    def child_completed(self, scope: ElementInstance, child: ElementInstance) -> bool:
        return False

    def leave(self, inst: ElementInstance, scope: ElementInstance | None) -> None:
        assert scope is not None
        self.lifecycle.leave_by_flows(inst, scope)

    def terminating(self, inst: ElementInstance) -> None:
        return None

    def terminated(self, inst: ElementInstance) -> None:
        return None

    def triggered(self, owner: ElementInstance, catch: Element, variables: dict[str, Any] | None) -> None:
        """The element's own subscription (a catch event, a receive task) triggered: it completes."""
        self.b.subscriptions.close(owner)
        owner.temp_variables = variables
        self.lifecycle.complete(owner)


class PassThrough(ElementBehaviourBase):
    """Elements without behaviour of their own: start and boundary events (the event already happened),
    manual and undefined tasks, parallel gateways (the join is counted by the lifecycle)."""
