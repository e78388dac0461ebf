"""TIMER TRIGGER, entered by the Engine when a timer is due
(docs.camunda.io/docs/components/modeler/bpmn/timer-events/): a cycle schedules its next repetition;
a timer start event starts an instance, any other timer triggers its catch element."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.model.timers import Schedule, next_repetition


class TriggerTimer(CommandProcessor):
    kind = "timer"
    value_type = "TIMER"
    intent = "TRIGGER"

    def process(self, args: dict[str, Any]) -> None:
        timer_key = args["key"]
        state, subscriptions = self.state, self.b.subscriptions
        timer = state.timers.pop(timer_key)
        self.w.command("TIMER", "TRIGGER", timer_key, {"targetElementId": timer.element_id, "dueDate": timer.due})
        subscriptions.timer_event(timer, "TRIGGERED")
        owner = timer.element_instance
        repeat = timer.repetitions != 1
        next_plan = None
        if repeat:
            next_due = next_repetition(timer.interval, timer.due, self.w.now)
            next_plan = Schedule(next_due, timer.repetitions - 1 if timer.repetitions > 0 else -1, timer.interval)
        if owner is None:
            keys = state.start_timers.setdefault((timer.process.bpmn_process_id, timer.process.tenant_id), [])
            if timer.key in keys:
                keys.remove(timer.key)
            if next_plan is not None:
                keys.append(subscriptions.create_timer(timer.process, timer.catch, None, next_plan).key)
            self.b.lifecycle.start_instance(timer.process, [timer.catch], {})
            return
        if timer.key in owner.timer_keys:
            owner.timer_keys.remove(timer.key)
        if next_plan is not None and not timer.catch.interrupting:
            owner.timer_keys.append(subscriptions.create_timer(timer.process, timer.catch, owner, next_plan).key)
        self.b.events.trigger(owner, timer.catch, None)
