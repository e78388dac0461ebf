"""Events (docs.camunda.io/docs/components/modeler/bpmn/events/): start and boundary events pass
through (their event already happened); intermediate catch events and receive tasks wait on their
subscription; throw and end events signal, throw errors and escalations, compensate, jump along links,
and a terminate end event ends its scope."""

from __future__ import annotations

from procgov_engine.core.behaviours.context import StepFailure
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, MI_BODY, ElementInstance


class CatchEventBehaviour(ElementBehaviourBase):
    """Intermediate catch events and receive tasks."""

    def activate(self, inst: ElementInstance) -> None:
        element = inst.element
        if inst.triggered or element.event_type == "LINK":  # a link catch event is reached by its throw
            self.lifecycle.activated_and_complete(inst)
            return
        subscriptions = self.b.subscriptions
        try:
            subscriptions.subscribe_catch(inst, inst, element)
        except StepFailure:
            subscriptions.close(inst)
            raise
        self.lifecycle.transition(inst, ACTIVATED)


class ThrowEventBehaviour(ElementBehaviourBase):
    """Intermediate throw events and end events."""

    def activate(self, inst: ElementInstance) -> None:
        element = inst.element
        event = element.event_type
        lifecycle = self.lifecycle
        w = self.b.w
        if event == "SIGNAL":
            assert element.signal_name is not None
            name = self.expressions.eval(element.signal_name, inst, "STRING")
            lifecycle.transition(inst, ACTIVATED)
            w.event(
                "SIGNAL",
                "BROADCASTED",
                w.next_key(),
                {"signalName": name, "variables": {}, "tenantId": inst.process.tenant_id},
            )
            self.b.events.deliver_signal(name, {})
            if inst.state == ACTIVATED:
                lifecycle.complete(inst)
            return
        if event == "ERROR":
            # thrown while ACTIVATING (as Zeebe does), so that resolving an unhandled-error incident
            # re-runs the activation and throws again
            code = element.error_code or ""
            if not self.b.events.throw_error(inst, code, {}):
                raise StepFailure(
                    "UNHANDLED_ERROR_EVENT",
                    f"Expected to throw an error event with the code '{code}', but it was not caught. "
                    "No error events are available in the scope.",
                )
            return
        if event == "COMPENSATION":
            self._compensate(inst)
            return
        if event == "LINK" and element.link_target is not None:
            # the token jumps to the catch event of the same name (docs: link-events), as if along a flow
            scope = inst.flow_scope
            assert scope is not None
            lifecycle.transition(inst, ACTIVATED)
            lifecycle.enter(scope, element.link_target, None)
            lifecycle.complete(inst)
            return
        if event == "ESCALATION":
            lifecycle.transition(inst, ACTIVATED)
            self.b.events.throw_escalation(inst, element.escalation_code or "")
            if inst.state == ACTIVATED:
                lifecycle.complete(inst)
            return
        lifecycle.activated_and_complete(inst)

    def _compensate(self, inst: ElementInstance) -> None:
        """Invoke the compensation handlers of the scope (engine/core/behaviours/compensation.py), all at
        once; the event stays ACTIVATED until they have completed."""
        lifecycle = self.lifecycle
        target, handlers = self.b.compensation.take_handlers(inst)
        lifecycle.transition(inst, ACTIVATED)
        if not handlers:
            lifecycle.complete(inst)
            return
        for handler in handlers:
            # the link to the throw event is set before activation: a handler without a wait state (a script,
            # a manual task) completes within its activation
            # (its ACTIVATING applier links it to this throw event)
            handler_inst = lifecycle.new_instance(
                handler, target, MI_BODY if handler.multi_instance is not None else None
            )
            lifecycle.run_activation(handler_inst)

    def completing(self, inst: ElementInstance) -> None:
        element = inst.element
        if element.element_type == "END_EVENT" and element.event_type == "TERMINATE" and inst.flow_scope is not None:
            self.lifecycle.interrupt_scope(inst.flow_scope, spare=inst)
