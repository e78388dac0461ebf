"""SIGNAL BROADCAST (docs.camunda.io/docs/components/concepts/signals/)."""

from __future__ import annotations

from typing import Any

from procgov_engine.api import DEFAULT_TENANT
from procgov_engine.core.processing.base import CommandProcessor


class BroadcastSignal(CommandProcessor):
    kind = "signal"
    value_type = "SIGNAL"
    intent = "BROADCAST"

    def process(self, args: dict[str, Any]) -> int:
        name, variables = args["name"], args["variables"]
        value = {"signalName": name, "variables": dict(variables), "tenantId": DEFAULT_TENANT}
        self.w.command("SIGNAL", "BROADCAST", -1, value)
        key = self.w.next_key()
        self.w.event("SIGNAL", "BROADCASTED", key, value)
        self.b.events.deliver_signal(name, dict(variables))
        return key
