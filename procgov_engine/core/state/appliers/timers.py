"""TIMER: timers (of element instances and timer start events) and their due dates; a fired timer is the
command's trigger."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state import Timer
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class TimerAppliers(Appliers):
    KEY_ONLY = frozenset(
        {
            ("TIMER", "CANCELED"),
        }
    )

    def appliers(self) -> AppliersTable:
        return {
            ("TIMER", "CREATED"): self._timer_created,
            ("TIMER", "TRIGGERED"): self._timer_triggered,
            ("TIMER", "CANCELED"): self._timer_removed,
        }

    # -- TIMER -----------------------------------------------------------------------------------
    def _timer_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        owner_key = value["elementInstanceKey"]
        owner = state.instances[owner_key] if owner_key > 0 else None
        element_id = value["targetElementId"]
        catch = self._element(process, element_id)
        timer = Timer(key, value["dueDate"], value["repetitions"], element_id, process, owner, catch)
        state.timers[key] = timer
        if owner is None:
            state.start_timers.setdefault((process.bpmn_process_id, process.tenant_id), []).append(key)
        else:
            owner.timer_keys.append(key)
        self.add_due(timer.due, "timer", key)

    def _timer_triggered(self, key: int, value: dict[str, Any]) -> None:
        self.scratch.trigger = (value["targetElementId"], None)
        if value["elementInstanceKey"] < 0:  # a timer start event: the next instance starts there
            self.scratch.start = (value["targetElementId"], "", None)
        self._timer_removed(key, value)

    def _timer_removed(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        timer = state.timers.pop(key, None)
        if timer is None:
            return
        owner = timer.element_instance
        keys = (
            owner.timer_keys
            if owner is not None
            else state.start_timers.get((timer.process.bpmn_process_id, timer.process.tenant_id), [])
        )
        if key in keys:
            keys.remove(key)
