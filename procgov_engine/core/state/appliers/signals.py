"""SIGNAL, SIGNAL_SUBSCRIPTION and ESCALATION: signal subscriptions, and what a broadcast signal or a caught
escalation hands to the catches it triggers in the same command."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state import SignalSubscription
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class SignalAppliers(Appliers):
    def appliers(self) -> AppliersTable:
        return {
            ("SIGNAL", "BROADCASTED"): self._signal_broadcasted,
            ("SIGNAL_SUBSCRIPTION", "CREATED"): self._signal_created,
            ("SIGNAL_SUBSCRIPTION", "DELETED"): self._signal_deleted,
            ("ESCALATION", "ESCALATED"): self._escalated,
        }

    # -- SIGNAL, ESCALATION ----------------------------------------------------------------------
    def _signal_broadcasted(self, key: int, value: dict[str, Any]) -> None:
        self.scratch.start = ("", value["signalName"], value["variables"])
        self.scratch.signal = value["variables"]  # for every signal catch this broadcast triggers (no record each)
        self.scratch.signal_name = value["signalName"]

    def _escalated(self, key: int, value: dict[str, Any]) -> None:
        """An escalation caught by a boundary event or event sub-process (the catch the trigger activates)."""
        self.scratch.trigger = (value["catchElementId"], None)

    def _signal_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        owner_key = value["catchEventInstanceKey"]
        owner = state.instances[owner_key] if owner_key > 0 else None
        sub = SignalSubscription(
            key, value["signalName"], owner, self._element(process, value["catchEventId"]), process
        )
        state.signal_subs.setdefault(sub.name, {})[key] = sub
        if owner is not None:
            owner.signal_keys.append(key)

    def _signal_deleted(self, key: int, value: dict[str, Any]) -> None:
        subs = self.state.signal_subs.get(value["signalName"], {})
        sub = subs.pop(key, None)
        if sub is not None and sub.owner is not None and key in sub.owner.signal_keys:
            sub.owner.signal_keys.remove(key)
            catch = sub.catch
            in_sub_process = catch.parent is not None and catch.parent.triggered_by_event
            if (
                self.scratch.signal is not None
                and sub.name == self.scratch.signal_name
                and catch.interrupting
                and in_sub_process
            ):
                self.scratch.signal_closed[sub.owner.key] = catch.id  # for the children's TERMINATING
