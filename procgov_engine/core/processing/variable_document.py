"""VARIABLE_DOCUMENT UPDATE: SetVariables
(docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/#setvariables-rpc)."""

from __future__ import annotations

from typing import Any

from procgov_engine.api import RejectionType
from procgov_engine.core.processing.base import CommandProcessor


class UpdateVariableDocument(CommandProcessor):
    kind = "set_variables"
    value_type = "VARIABLE_DOCUMENT"
    intent = "UPDATE"

    def process(self, args: dict[str, Any]) -> int:
        element_instance_key, variables, local = args["key"], args["variables"], args["local"]
        value = {
            "scopeKey": element_instance_key,
            "variables": dict(variables),
            "updateSemantics": "LOCAL" if local else "PROPAGATE",
        }
        self.w.command("VARIABLE_DOCUMENT", "UPDATE", -1, value)
        inst = self.state.instances.get(element_instance_key)
        if inst is None or not inst.is_active:
            self.ctx.reject_command(
                "VARIABLE_DOCUMENT",
                "UPDATE",
                value,
                RejectionType.NOT_FOUND,
                f"Expected to update variables for element with key '{element_instance_key}', but no such element "
                "was found",
            )
        # the key after the checks: a rejection takes none (keys go on from the log's largest on open)
        key = self.w.next_key()
        self.w.event("VARIABLE_DOCUMENT", "UPDATED", key, value, inst.process_instance_key)
        if local:
            self.b.vars.set_all_local(inst, variables)
        else:
            self.b.vars.propagate(inst, variables)
        return key
