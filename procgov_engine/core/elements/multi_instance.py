"""The multi-instance body (docs.camunda.io/docs/components/modeler/bpmn/multi-instance/): one inner
instance of the element per item of the input collection, all at once or one after the other; the output
collection is gathered from the inner instances; a completion condition may end the body early.

The input collection is evaluated again whenever the body needs it after its activation (the next inner
instance of a sequential body, the completion condition's ``numberOfInstances``), as Zeebe does: the items
are not state. The counters (``mi_next``, ``mi_completed``, ``loop_counter``) are kept by the appliers of
the inner instances' ACTIVATING and COMPLETED events."""

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
        items = list(items)
        if mi.output_collection:
            self.vars.set_local(body, mi.output_collection, [None] * len(items))
        self.lifecycle.transition(body, ACTIVATED)
        if not items:
            self.lifecycle.complete(body)
            return
        count = 1 if mi.sequential else len(items)
        for _ in range(count):
            self._spawn_inner(body, items)

    def _items(self, body: ElementInstance) -> list[object]:
        mi = body.element.multi_instance
        assert mi is not None
        return list(self.expressions.eval(mi.input_collection, body, "ARRAY"))

    def _spawn_inner(self, body: ElementInstance, items: list[object]) -> None:
        mi = body.element.multi_instance
        assert mi is not None
        index = body.mi_next
        inner = self.lifecycle.new_instance(body.element, body)  # its applier counts it (mi_next, loop_counter)
        if mi.input_element:
            self.vars.set_local(inner, mi.input_element, items[index])
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
        assert mi is not None
        if body.state != ACTIVATED:
            return True
        items: list[object] = []
        if mi.completion_condition is not None or mi.sequential:
            try:
                items = self._items(body)
            except StepFailure as failure:
                self.lifecycle.raise_incident(body, failure, RetryStep("multi_instance_next", (body,)))
                return True
        total = len(items)
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
                if not body.children:  # else the last termination to end completes the body
                    self.lifecycle.complete(body)
                return True
        if mi.sequential and body.mi_next < total:
            self._spawn_inner(body, items)
        elif not body.children:
            self.lifecycle.complete(body)
        return True

    def next_inner(self, body: ElementInstance) -> None:
        """The retry of a failed completion condition: the next inner instance, or the body completes."""
        if body.state == ACTIVATED and not body.children:
            mi = body.element.multi_instance
            assert mi is not None
            items = self._items(body) if mi.sequential else []
            if mi.sequential and body.mi_next < len(items):
                self._spawn_inner(body, items)
            else:
                self.lifecycle.complete(body)
