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
        timer = state.timers[timer_key]
        self.w.command("TIMER", "TRIGGER", timer_key, {"targetElementId": timer.element_id, "dueDate": timer.due})
        subscriptions.timer_event(timer, "TRIGGERED")  # its applier removes the timer
        owner = timer.element_instance
        next_plan = None
        if timer.repetitions != 1:
            interval = subscriptions.timer_interval(timer)
            if interval:
                next_due = next_repetition(interval, timer.due, self.w.now)
                next_plan = Schedule(next_due, timer.repetitions - 1 if timer.repetitions > 0 else -1, interval)
        if owner is None:
            if next_plan is not None:
                subscriptions.create_timer(timer.process, timer.catch, None, next_plan)
            self.b.lifecycle.start_instance(timer.process, [timer.catch], {})
            return
        if next_plan is not None and not timer.catch.interrupting:
            subscriptions.create_timer(timer.process, timer.catch, owner, next_plan)
        self.b.events.trigger(owner, timer.catch, None)
