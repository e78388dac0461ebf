"""Variable scopes: one per element instance, chained through the flow scopes up to the process instance.

Propagation follows docs.camunda.io/docs/components/concepts/variables/#variable-propagation: a
variable set without ``local`` is written to the closest scope (starting at the given one) that already
has a variable of that name, otherwise to the process instance (root) scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.records import RecordWriter, dumps
from engine.core.state import ElementInstance


class Variables:
    def __init__(self, writer: RecordWriter) -> None:
        self.w = writer
        self.values: dict[int, dict[str, Any]] = {}
        self.keys: dict[int, dict[str, int]] = {}

    def local(self, scope: ElementInstance) -> dict[str, Any]:
        return self.values.get(scope.key, {})

    def set_local(self, scope: ElementInstance, name: str, value: Any) -> None:
        values = self.values.get(scope.key)
        if values is None:
            values = self.values[scope.key] = {}
            self.keys[scope.key] = {}
        keys = self.keys[scope.key]
        existing = keys.get(name)
        if existing is not None:
            if values[name] == value and type(values[name]) is type(value):
                return
            key, intent = existing, "UPDATED"
        else:
            key, intent = self.w.next_key(), "CREATED"
            keys[name] = key
        values[name] = value
        if self.w.replaying:
            self.w.position += 1
            return
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
