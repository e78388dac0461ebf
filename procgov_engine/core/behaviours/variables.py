"""Variable scopes: one per element instance, chained through the flow scopes up to the process instance.

Propagation follows docs.camunda.io/docs/components/concepts/variables/#variable-propagation: a
variable set without ``local`` is written to the closest scope (starting at the given one) that already
has a variable of that name, otherwise to the process instance (root) scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure
from procgov_engine.core.records import RecordWriter, dumps
from procgov_engine.core.state import ElementInstance, VariableState
from procgov_engine.model.expressions import Expression, ExpressionError


class Variables:
    """Reads and writes the variables of :class:`VariableState`, writing VARIABLE records."""

    def __init__(self, writer: RecordWriter, state: VariableState) -> None:
        self.w = writer
        # the state's dicts are restored in place (EngineState.restore_runtime): these stay valid
        self.values = state.values
        self.keys = state.keys

    def local(self, scope: ElementInstance) -> dict[str, Any]:
        return self.values.get(scope.key, {})

    def set_local(self, scope: ElementInstance, name: str, value: Any) -> None:
        """Write a VARIABLE event unless the scope holds that value already; its applier sets it."""
        keys = self.keys.get(scope.key)
        existing = keys.get(name) if keys is not None else None
        if existing is not None:
            current = self.values[scope.key][name]
            if current == value and type(current) is type(value):
                return
            key, intent = existing, "UPDATED"
        else:
            key, intent = self.w.next_key(), "CREATED"
        process = scope.process
        self.w.event(
            "VARIABLE",
            intent,
            key,
            {
                "name": name,
                "value": dumps(value),
                "scopeKey": scope.key,
                "processInstanceKey": scope.process_instance_key,
                "processDefinitionKey": process.key,
                "bpmnProcessId": process.bpmn_process_id,
                "tenantId": process.tenant_id,
            },
            scope.process_instance_key,
        )

    def set_all_local(self, scope: ElementInstance, document: Mapping[str, Any]) -> None:
        for name, value in document.items():
            self.set_local(scope, name, value)

    def propagate(self, start: ElementInstance, document: Mapping[str, Any]) -> None:
        """Merge ``document`` starting at ``start``: each variable goes to the closest scope that has it,
        else to the root scope of the process instance."""
        for name, value in document.items():
            scope: ElementInstance | None = start
            target = None
            while scope is not None:
                values = self.values.get(scope.key)
                if values is not None and name in values:
                    target = scope
                    break
                if scope.flow_scope is None:
                    target = scope
                scope = scope.flow_scope
            if target is not None:
                self.set_local(target, name, value)

    def visible(self, scope: ElementInstance) -> dict[str, Any]:
        """All variables visible from ``scope`` (inner scopes shadow outer ones)."""
        chain: list[dict[str, Any]] = []
        current: ElementInstance | None = scope
        while current is not None:
            values = self.values.get(current.key)
            if values:
                chain.append(values)
            current = current.flow_scope
        if len(chain) == 1:
            return dict(chain[0])
        result: dict[str, Any] = {}
        for values in reversed(chain):
            result.update(values)
        return result

    def drop(self, scope_key: int) -> None:
        self.values.pop(scope_key, None)
        self.keys.pop(scope_key, None)


class Expressions:
    """Evaluates an element's expressions in its variable scope."""

    def __init__(self, ctx: ProcessingContext, variables: Variables) -> None:
        self.feel_clock = ctx.feel_clock
        self.vars = variables

    def eval(
        self,
        expression: Expression,
        inst: ElementInstance,
        expected: str | None = None,
        error_type: str = "EXTRACT_VALUE_ERROR",
    ) -> Any:
        """Evaluate ``expression`` in ``inst``'s scope; a failure becomes a :class:`StepFailure` of
        ``error_type`` (Zeebe's incident type for the context: IO_MAPPING_ERROR for variable mappings,
        EXTRACT_VALUE_ERROR for other expressions)."""
        if not expression.is_feel:
            value = expression.static
            if expected == "NUMBER":
                try:
                    return int(value)
                except ValueError as exc:
                    raise StepFailure(error_type, f"Expected '{value}' to be a number") from exc
            return value
        context = self.vars.visible(inst)
        try:
            if expected is None:
                return expression.evaluate(context, self.feel_clock)
            return expression.evaluate_typed(context, expected, self.feel_clock)
        except ExpressionError as exc:
            raise StepFailure(error_type, str(exc)) from exc


class VariableMappings:
    """Input and output mappings (docs.camunda.io/docs/components/concepts/variables/#inputoutput-variable-mappings)."""

    def __init__(self, variables: Variables, expressions: Expressions) -> None:
        self.vars = variables
        self.expressions = expressions

    def apply_inputs(self, inst: ElementInstance) -> None:
        for mapping in inst.element.inputs:
            value = self.expressions.eval(mapping.source, inst, error_type="IO_MAPPING_ERROR")
            self.set_target(inst, mapping.target, value, local=True)

    def apply_outputs(self, inst: ElementInstance) -> None:
        """Output mappings (or, without any, the element's result variables) into the parent scope."""
        element = inst.element
        temp = inst.temp_variables
        if element.element_type == "CALL_ACTIVITY" and not element.propagate_all_child and not element.outputs:
            temp = None
        if element.outputs:
            if temp:
                self.vars.set_all_local(inst, temp)
            results = [
                (m.target, self.expressions.eval(m.source, inst, error_type="IO_MAPPING_ERROR"))
                for m in element.outputs
            ]
            for target, value in results:
                self.set_target(inst, target, value, local=False)
        elif temp:
            self.vars.propagate(inst, temp)
        inst.temp_variables = None

    def set_target(self, inst: ElementInstance, target: str, value: Any, *, local: bool) -> None:
        """Set an io-mapping target; a dotted target (``a.b``) merges into the object variable ``a``."""
        if "." in target:
            head, *path = target.split(".")
            current = self.vars.visible(inst).get(head)
            root_value = dict(current) if isinstance(current, dict) else {}
            node = root_value
            for part in path[:-1]:
                child = node.get(part)
                node[part] = dict(child) if isinstance(child, dict) else {}
                node = node[part]
            node[path[-1]] = value
            target, value = head, root_value
        if local:
            self.vars.set_local(inst, target, value)
        else:
            assert inst.flow_scope is not None
            self.vars.propagate(inst.flow_scope, {target: value})
