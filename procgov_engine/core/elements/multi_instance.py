"""The multi-instance body (docs.camunda.io/docs/components/modeler/bpmn/multi-instance/): one inner
instance of the element per item of the input collection, all at once or one after the other; the output
collection is gathered from the inner instances; a completion condition may end the body early."""

from __future__ import annotations

from procgov_engine.core.behaviours.context import StepFailure
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ACTIVATED, ElementInstance, RetryStep
from procgov_engine.model.expressions import ExpressionError


class MultiInstanceBodyBehaviour(ElementBehaviourBase):
    def activate(self, body: ElementInstance) -> None:
        mi = body.element.multi_instance
        assert mi is not None
        items = self.expressions.eval(mi.input_collection, body, "ARRAY")
        if body.element.boundary_events:
            self.b.subscriptions.subscribe_boundaries(body)
        body.mi_items = list(items)
        if mi.output_collection:
            self.vars.set_local(body, mi.output_collection, [None] * len(body.mi_items))
        self.lifecycle.transition(body, ACTIVATED)
        if not body.mi_items:
            self.lifecycle.complete(body)
            return
        count = 1 if mi.sequential else len(body.mi_items)
        for _ in range(count):
            self._spawn_inner(body)

    def _spawn_inner(self, body: ElementInstance) -> None:
        mi = body.element.multi_instance
        assert mi is not None and body.mi_items is not None
        index = body.mi_next
        body.mi_next += 1
        inner = self.lifecycle.new_instance(body.element, body)
        inner.loop_counter = index + 1
        if mi.input_element:
            self.vars.set_local(inner, mi.input_element, body.mi_items[index])
        self.vars.set_local(inner, "loopCounter", index + 1)
        output_variable = mi.output_element_variable
        if output_variable is not None and output_variable != mi.input_element:
            self.vars.set_local(inner, output_variable, None)  # keeps a job's variable of that name local
        self.lifecycle.run_activation(inner)

    def complete_outputs(self, body: ElementInstance) -> bool:
        mi = body.element.multi_instance
        scope = body.flow_scope
        assert mi is not None and scope is not None
        if mi.output_collection:
            self.vars.propagate(scope, {mi.output_collection: self.vars.local(body).get(mi.output_collection)})
        return False

    def child_completing(self, body: ElementInstance, inner: ElementInstance) -> None:
        mi = body.element.multi_instance
        assert mi is not None
        if mi.output_collection and mi.output_element is not None:
            value = self.expressions.eval(mi.output_element, inner)
            collection = list(self.vars.local(body).get(mi.output_collection) or [])
            index = inner.loop_counter - 1
            while len(collection) <= index:
                collection.append(None)
            collection[index] = value
            self.vars.set_local(body, mi.output_collection, collection)

    def child_completed(self, body: ElementInstance, inner: ElementInstance) -> bool:
        mi = body.element.multi_instance
        assert mi is not None and body.mi_items is not None
        body.mi_completed += 1
        if body.state != ACTIVATED:
            return True
        total = len(body.mi_items)
        if mi.completion_condition is not None:
            context = self.vars.visible(body)
            context.update(
                numberOfInstances=total,
                numberOfCompletedInstances=body.mi_completed,
                numberOfActiveInstances=len(body.children),
                numberOfTerminatedInstances=0,
                loopCounter=inner.loop_counter,
            )
            try:
                done = mi.completion_condition.evaluate_typed(context, "BOOLEAN", self.b.ctx.feel_clock)
            except ExpressionError as exc:
                self.lifecycle.raise_incident(
                    body, StepFailure("EXTRACT_VALUE_ERROR", str(exc)), RetryStep("multi_instance_next", (body,))
                )
                return True
            if done:
                for child in list(body.children.values()):
                    self.lifecycle.terminate(child)
                self.lifecycle.complete(body)
                return True
        if mi.sequential and body.mi_next < total:
            self._spawn_inner(body)
        elif not body.children:
            self.lifecycle.complete(body)
        return True

    def next_inner(self, body: ElementInstance) -> None:
        """The retry of a failed completion condition: the next inner instance, or the body completes."""
        if body.state == ACTIVATED and not body.children:
            mi = body.element.multi_instance
            assert mi is not None and body.mi_items is not None
            if mi.sequential and body.mi_next < len(body.mi_items):
                self._spawn_inner(body)
            else:
                self.lifecycle.complete(body)
