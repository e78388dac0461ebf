"""VARIABLE: the variables of every scope (``CREATED``, ``UPDATED``)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


def _json_value(text: str) -> Any:
    """A VARIABLE record's value (JSON text; beyond 64-bit integers only the standard library reads)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class VariableAppliers(Appliers):
    def appliers(self) -> AppliersTable:
        return {
            ("VARIABLE", "CREATED"): self._variable,
            ("VARIABLE", "UPDATED"): self._variable,
        }

    def _variable(self, key: int, value: dict[str, Any]) -> None:
        variables = self.state.variables
        scope = value["scopeKey"]
        values = variables.values.get(scope)
        if values is None:
            values = variables.values[scope] = {}
            variables.keys[scope] = {}
        name = value["name"]
        values[name] = _json_value(value["value"])
        variables.keys[scope][name] = key
