"""Gateways (docs.camunda.io/docs/components/modeler/bpmn/gateways/): exclusive and inclusive gateways
choose their outgoing flows by condition (a default flow otherwise); parallel gateways pass through
(joins are counted by the lifecycle); an event-based gateway waits for the first of its events."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.behaviours.context import StepFailure
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance
from procgov_engine.model.bpmn import Element
from procgov_engine.model.expressions import ExpressionError


class ConditionalGatewayBehaviour(ElementBehaviourBase):
    """Exclusive (first true condition) and inclusive (every true condition) gateways."""

    def activate(self, inst: ElementInstance) -> None:
        inst.chosen_flows = self._choose_flows(inst)
        self.lifecycle.activated_and_complete(inst)

    def complete_outputs(self, inst: ElementInstance) -> bool:
        if inst.chosen_flows is None:  # not in the records: a gateway that waited across a restart chooses again
            inst.chosen_flows = self._choose_flows(inst)
        return super().complete_outputs(inst)

    def _choose_flows(self, inst: ElementInstance) -> list[str]:
        element = inst.element
        outgoing = element.outgoing
        if len(outgoing) == 1 and outgoing[0].condition is None:
            return [outgoing[0].id]
        context = self.vars.visible(inst)
        chosen: list[str] = []
        for flow in outgoing:
            if flow.id == element.default_flow or flow.condition is None:
                continue
            try:
                result = flow.condition.evaluate_typed(context, "BOOLEAN", self.b.ctx.feel_clock)
            except ExpressionError as exc:
                raise StepFailure("CONDITION_ERROR", str(exc)) from exc
            if result is True:
                chosen.append(flow.id)
                if element.element_type == "EXCLUSIVE_GATEWAY":
                    break
        if not chosen:
            if element.default_flow:
                return [element.default_flow]
            raise StepFailure(
                "CONDITION_ERROR",
                "Expected at least one condition to evaluate to true, or to have a default flow",
            )
        return chosen


class EventBasedGatewayBehaviour(ElementBehaviourBase):
    def activate(self, inst: ElementInstance) -> None:
        self.b.subscriptions.subscribe_all(inst, inst.element.event_targets)
        self.lifecycle.transition(inst, ACTIVATED)

    def leave(self, inst: ElementInstance, scope: ElementInstance | None) -> None:
        assert scope is not None
        self.lifecycle.check_scope(scope)  # the token went on to the triggered event, not along a flow

    def triggered(self, owner: ElementInstance, catch: Element, variables: dict[str, Any] | None) -> None:
        scope = owner.flow_scope
        assert scope is not None
        self.b.subscriptions.close(owner)
        owner.chosen_flows = []
        in_transit = self.b.ctx.in_transit  # the token moves on to the triggered event, not out of the scope
        in_transit[scope.key] = in_transit.get(scope.key, 0) + 1
        self.lifecycle.complete(owner)
        in_transit[scope.key] -= 1
        # its ACTIVATING applier marks it triggered (it follows the gateway that just completed)
        self.lifecycle.activate(catch, scope, temp_variables=variables)
