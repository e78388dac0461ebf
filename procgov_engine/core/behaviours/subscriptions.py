"""Event subscriptions of element instances: timers, message subscriptions and signal subscriptions
(opened for catch events, boundary events, event sub-process starts and event-based gateways; closed
when their owner leaves), with their TIMER, (PROCESS_)MESSAGE_SUBSCRIPTION and SIGNAL_SUBSCRIPTION records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure
from procgov_engine.core.behaviours.due import DueDates
from procgov_engine.core.behaviours.variables import Expressions
from procgov_engine.core.state import (
    ACTIVATED,
    DeployedProcess,
    ElementInstance,
    Message,
    MessageSubscription,
    SignalSubscription,
    Timer,
)
from procgov_engine.model.bpmn import Element
from procgov_engine.model.expressions import ExpressionError
from procgov_engine.model.timers import Schedule, TimerFormatError, schedule


class EventSubscriptions:
    def __init__(self, ctx: ProcessingContext, expressions: Expressions, due: DueDates) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.state = ctx.state
        self.expressions = expressions
        self.due = due

    # -- opening -------------------------------------------------------------------------------
    def subscribe_boundaries(self, inst: ElementInstance) -> None:
        self.subscribe_all(inst, inst.element.boundary_events)

    def subscribe_event_subprocesses(self, container: ElementInstance) -> None:
        self.subscribe_all(container, container.element.event_sub_starts)

    def subscribe_all(self, owner: ElementInstance, catches: Sequence[Element]) -> None:
        """Open the subscriptions of ``catches`` for ``owner``; all or none (a failure closes what this
        activation step opened, so that the incident's retry starts clean)."""
        try:
            for catch in catches:
                if catch.event_type in ("TIMER", "MESSAGE", "SIGNAL"):
                    self.subscribe_catch(owner, owner, catch)
        except StepFailure:
            self.close(owner)
            raise

    def subscribe_catch(self, owner: ElementInstance, scope: ElementInstance, catch: Element) -> None:
        """Open the subscription that lets ``catch`` trigger for ``owner`` (expressions see ``scope``)."""
        state = self.state
        if catch.event_type == "TIMER":
            assert catch.timer is not None
            # FEEL durations, periods and date-times come back as their ISO 8601 text
            text = self.expressions.eval(catch.timer.expression, scope, "STRING")
            try:
                plan = schedule(catch.timer.kind, text, self.w.now)
            except TimerFormatError as exc:
                raise StepFailure("EXTRACT_VALUE_ERROR", str(exc)) from exc
            if catch.timer.kind == "cycle" and catch.interrupting and catch.element_type != "START_EVENT":
                plan = Schedule(plan.due, 1, plan.interval)
            self.create_timer(owner.process, catch, owner, plan)
        elif catch.event_type == "MESSAGE":
            assert catch.message is not None and catch.message.correlation_key is not None
            name = self.expressions.eval(catch.message.name, scope, "STRING")
            correlation = self.expressions.eval(catch.message.correlation_key, scope, "STRING")
            sub = MessageSubscription(
                self.w.next_key(), name, correlation, owner, catch, catch.interrupting, owner.process.tenant_id
            )
            self.subscription_event(sub, "CREATED")
            created = state.subscriptions[sub.key]
            self.ctx.queue.append(lambda: self.correlate_buffered(created))
        elif catch.event_type == "SIGNAL":
            assert catch.signal_name is not None
            name = self.expressions.eval(catch.signal_name, scope, "STRING")
            self.signal_event(SignalSubscription(self.w.next_key(), name, owner, catch, owner.process), "CREATED")

    def create_timer(
        self, process: DeployedProcess, catch: Element, owner: ElementInstance | None, plan: Schedule
    ) -> Timer:
        timer = Timer(self.w.next_key(), plan.due, plan.repetitions, catch.id, process, owner, catch)
        self.timer_event(timer, "CREATED")  # its applier adds the timer, to its owner and to the due dates
        return self.state.timers[timer.key]

    def timer_interval(self, timer: Timer) -> str:
        """The interval of a cycle timer that fired, from its definition evaluated again now (as Zeebe
        reschedules a cycle): the TIMER record carries no interval. "" if it cannot be evaluated."""
        definition = timer.catch.timer
        assert definition is not None
        owner = timer.element_instance
        try:
            if owner is None:
                text = str(definition.expression.evaluate({}, self.ctx.feel_clock))
            else:
                text = self.expressions.eval(definition.expression, owner, "STRING")
            return schedule(definition.kind, text, self.w.now).interval
        except (StepFailure, TimerFormatError, ExpressionError):
            return ""

    # -- closing -------------------------------------------------------------------------------
    def close(self, inst: ElementInstance, only: Callable[[Element], bool] | None = None) -> None:
        """Close ``inst``'s subscriptions (those whose catch element ``only`` accepts, if given); the appliers
        of the CANCELED / DELETED events take them out of the state and of ``inst``'s key lists."""
        state = self.state
        for key in list(inst.timer_keys):
            timer = state.timers.get(key)
            if timer is not None and (only is None or only(timer.catch)):
                self.timer_event(timer, "CANCELED")
        for key in list(inst.subscription_keys):
            sub = state.subscriptions.get(key)
            if sub is not None and (only is None or only(sub.catch)):
                self.delete_subscription(sub)
        for key in list(inst.signal_keys):
            found = None
            for subs in state.signal_subs.values():
                if key in subs:
                    found = subs[key]
                    break
            if found is not None and (only is None or only(found.catch)):
                self.signal_event(found, "DELETED")

    def delete_subscription(self, sub: MessageSubscription) -> None:
        self.subscription_event(sub, "DELETED")

    # -- correlation (docs.camunda.io/docs/components/concepts/messages/) ------------------------
    def correlate(self, sub: MessageSubscription, message: Message) -> None:
        self.subscription_event(sub, "CORRELATED", message.variables, message.key)
        self.ctx.trigger(sub.owner, sub.catch, dict(message.variables))

    def correlate_buffered(self, sub: MessageSubscription) -> None:
        """A new subscription takes the oldest buffered message it matches, if any."""
        state = self.state
        if sub.key not in state.subscriptions or sub.owner.state != ACTIVATED:
            return
        bucket = state.messages_by_corr.get((sub.name, sub.correlation_key, sub.tenant_id))
        if not bucket:
            return
        bpmn_id = sub.owner.process.bpmn_process_id
        for message in list(bucket.values()):
            if message.deadline <= self.w.now or bpmn_id in message.correlated_processes:
                continue
            self.correlate(sub, message)  # the applier marks the message correlated for the process
            return

    # -- records -------------------------------------------------------------------------------
    def subscription_event(
        self, sub: MessageSubscription, intent: str, variables: dict[str, Any] | None = None, message_key: int = -1
    ) -> None:
        owner = sub.owner
        value = {
            "processInstanceKey": owner.process_instance_key,
            "elementInstanceKey": owner.key,
            "bpmnProcessId": owner.process.bpmn_process_id,
            "processDefinitionKey": owner.process.key,
            "messageName": sub.name,
            "correlationKey": sub.correlation_key,
            "elementId": sub.catch.id,
            "interrupting": sub.interrupting,
            "messageKey": message_key,
            "variables": variables or {},
            "tenantId": sub.tenant_id,
        }
        self.w.event("PROCESS_MESSAGE_SUBSCRIPTION", intent, sub.key, value, owner.process_instance_key)
        self.w.event("MESSAGE_SUBSCRIPTION", intent, sub.key, value, owner.process_instance_key)

    def signal_event(self, sub: SignalSubscription, intent: str) -> None:
        value = {
            "signalName": sub.name,
            "processDefinitionKey": sub.process.key,
            "bpmnProcessId": sub.process.bpmn_process_id,
            "catchEventId": sub.catch.id,
            "catchEventInstanceKey": sub.owner.key if sub.owner else -1,
            "tenantId": sub.process.tenant_id,
        }
        self.w.event("SIGNAL_SUBSCRIPTION", intent, sub.key, value, sub.owner.process_instance_key if sub.owner else -1)

    def timer_event(self, timer: Timer, intent: str) -> None:
        owner = timer.element_instance
        value = {
            "elementInstanceKey": owner.key if owner else -1,
            "processInstanceKey": owner.process_instance_key if owner else -1,
            "dueDate": timer.due,
            "targetElementId": timer.element_id,
            "repetitions": timer.repetitions,
            "processDefinitionKey": timer.process.key,
            "tenantId": timer.process.tenant_id,
        }
        self.w.event("TIMER", intent, timer.key, value, owner.process_instance_key if owner else -1)
