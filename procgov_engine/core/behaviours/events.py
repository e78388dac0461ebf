"""Event triggers: what happens when a subscription's event arrives (boundary events, event
sub-processes, an element's own subscriptions), errors and escalations thrown up the scopes
(docs.camunda.io/docs/components/modeler/bpmn/error-events/, .../escalation-events/), signals delivered
(docs.camunda.io/docs/components/concepts/signals/) and messages correlated to start events
(docs.camunda.io/docs/components/concepts/messages/).
"""

from __future__ import annotations

import functools
from typing import Any

from procgov_engine.core.behaviours.context import ProcessingContext
from procgov_engine.core.behaviours.lifecycle import ElementLifecycle, ElementLookup
from procgov_engine.core.behaviours.subscriptions import EventSubscriptions
from procgov_engine.core.state import ACTIVATED, MI_BODY, TERMINATING, DeployedProcess, ElementInstance, Message
from procgov_engine.model.bpmn import Element


class EventTriggers:
    def __init__(
        self,
        ctx: ProcessingContext,
        elements: ElementLookup,
        lifecycle: ElementLifecycle,
        subscriptions: EventSubscriptions,
    ) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.state = ctx.state
        self.elements = elements
        self.lifecycle = lifecycle
        self.subscriptions = subscriptions

    def trigger(self, owner: ElementInstance, catch: Element, variables: dict[str, Any] | None) -> None:
        """An event for ``catch`` happened for ``owner`` (its activity, container or itself)."""
        if owner.state != ACTIVATED:
            return
        lifecycle = self.lifecycle
        if catch.element_type == "BOUNDARY_EVENT":
            scope = owner.flow_scope
            assert scope is not None
            if catch.interrupting:
                lifecycle.terminate(owner)  # termination never completes the scope; the boundary takes over
                pending = owner.event_trigger
                if owner.state == TERMINATING and pending is not None and pending[0] == catch.id:
                    return  # the termination waits (canceling task listeners): it activates the boundary event
            lifecycle.activate(catch, scope, temp_variables=variables)
            return
        if catch.parent is not None and catch.parent.triggered_by_event:
            if owner.interrupted:
                return
            if catch.interrupting:  # the event sub-process's ACTIVATING applier marks the scope interrupted
                self.subscriptions.close(owner, only=lambda c: bool(c.parent and c.parent.triggered_by_event))
                lifecycle.interrupt_scope(owner)
                if owner.children and owner.event_trigger is not None and owner.event_trigger[0] == catch.id:
                    return  # a child's termination waits: the last one to end activates the event sub-process
            lifecycle.activate(catch.parent, owner, temp_variables=variables)
            return
        self.elements.for_instance(owner).triggered(owner, catch, variables)

    # -- errors and escalations ----------------------------------------------------------------
    @staticmethod
    def _catch_candidates(inst: ElementInstance, event_type: str, code: str) -> Element | None:
        """The catch event for ``code`` at ``inst``'s level: event sub-processes of a container first,
        then boundary events; an exact code beats a catch-all (docs: error-events#catching-errors)."""
        attr = "error_code" if event_type == "ERROR" else "escalation_code"
        candidates: list[Element] = []
        element = inst.element
        if element.is_container and inst.element_type != MI_BODY:
            candidates.extend(s for s in element.event_sub_starts if s.event_type == event_type)
        is_inner = inst.flow_scope is not None and inst.flow_scope.element_type == MI_BODY
        if not is_inner:
            candidates.extend(b for b in element.boundary_events if b.event_type == event_type)
        exact = next((c for c in candidates if getattr(c, attr) == code), None)
        if exact is not None:
            return exact
        return next((c for c in candidates if getattr(c, attr) is None), None)

    def _catch_path(
        self, source: ElementInstance, event_type: str, code: str
    ) -> tuple[ElementInstance, Element] | None:
        inst: ElementInstance | None = source
        while inst is not None:
            catch = self._catch_candidates(inst, event_type, code)
            if catch is not None and catch.element_type != "BOUNDARY_EVENT" and inst.interrupted:
                catch = None
            if catch is not None:
                return inst, catch
            if inst.flow_scope is None and inst.parent_element_instance_key > 0:
                inst = self.state.instances.get(inst.parent_element_instance_key)
            else:
                inst = inst.flow_scope
        return None

    def throw_error(self, source: ElementInstance, code: str, variables: dict[str, Any]) -> bool:
        """Throw a BPMN error from ``source``; False if nothing catches it (the caller raises the incident)."""
        found = self._catch_path(source, "ERROR", code)
        if found is None:
            return False
        owner, catch = found
        self.w.event(
            "ERROR",
            "CREATED",
            self.w.next_key(),
            {
                "errorCode": code,
                "elementId": source.element.id,
                "catchElementId": catch.id,
                "processInstanceKey": source.process_instance_key,
                "tenantId": source.process.tenant_id,
            },
            source.process_instance_key,
        )
        self.trigger(owner, catch, variables or None)
        return True

    def throw_escalation(self, source: ElementInstance, code: str) -> None:
        found = self._catch_path(source.flow_scope or source, "ESCALATION", code)
        self.w.event(
            "ESCALATION",
            "ESCALATED" if found else "NOT_ESCALATED",
            self.w.next_key(),
            {
                "escalationCode": code,
                "throwElementId": source.element.id,
                "catchElementId": found[1].id if found else "",
                "processInstanceKey": source.process_instance_key,
                "tenantId": source.process.tenant_id,
            },
            source.process_instance_key,
        )
        if found is not None:
            self.trigger(found[0], found[1], None)

    # -- signals -------------------------------------------------------------------------------
    def deliver_signal(self, name: str, variables: dict[str, Any]) -> None:
        signal_subs = self.state.signal_subs
        for sub in list(signal_subs.get(name, {}).values()):
            if sub.key not in signal_subs.get(name, {}):
                continue
            if sub.owner is None:
                self.lifecycle.start_instance(sub.process, [sub.catch], {}, start_variables=variables)
            elif sub.owner.state == ACTIVATED:
                self.trigger(sub.owner, sub.catch, dict(variables))

    # -- messages ------------------------------------------------------------------------------
    @staticmethod
    def message_value(message: Message) -> dict[str, Any]:
        return {
            "name": message.name,
            "correlationKey": message.correlation_key,
            "timeToLive": message.time_to_live,
            "messageId": message.message_id,
            "variables": message.variables,
            "deadline": message.deadline,
            "tenantId": message.tenant_id,
        }

    def correlate_message(self, message: Message) -> None:
        """A published message: to every matching subscription (once per process) and message start event."""
        state = self.state
        subs = state.subs_by_corr.get((message.name, message.correlation_key, message.tenant_id))
        if subs:
            for sub in list(subs.values()):
                if sub.key not in state.subscriptions:
                    continue
                bpmn_id = sub.owner.process.bpmn_process_id
                if bpmn_id in message.correlated_processes or sub.owner.state != ACTIVATED:
                    continue
                self.subscriptions.correlate(sub, message)  # its applier marks the message correlated
        for process, start in state.message_starts.get((message.name, message.tenant_id), []):
            self._message_start(process, start, message)

    def _message_start(self, process: DeployedProcess, start: Element, message: Message) -> None:
        bpmn_id = process.bpmn_process_id
        if bpmn_id in message.correlated_processes:
            return
        if message.correlation_key and (bpmn_id, message.correlation_key) in self.state.message_start_keys:
            return  # one instance per correlation key at a time; the message stays buffered
        value = dict(
            self.message_value(message),
            bpmnProcessId=bpmn_id,
            messageKey=message.key,
            startEventId=start.id,
            processDefinitionKey=process.key,
        )
        # its applier marks the message correlated; the root's activation takes the correlation key
        self.w.event("MESSAGE_START_EVENT_SUBSCRIPTION", "CORRELATED", message.key, value)
        self.lifecycle.start_instance(process, [start], {}, start_variables=message.variables)

    def start_keys_of(self, root: ElementInstance) -> list[tuple[str, str]]:
        """The message start correlation keys ``root`` holds (freed by the appliers when it ends)."""
        return [start for start, key in self.state.message_start_keys.items() if key == root.key]

    def instance_ended(self, freed: list[tuple[str, str]]) -> None:
        """A process instance ended: a message start event's correlation key is free again, so a message
        buffered for it may start the next instance."""
        for bpmn_id, correlation in freed:
            self.ctx.queue.append(functools.partial(self._retry_buffered_start, bpmn_id, correlation))

    def _retry_buffered_start(self, bpmn_id: str, correlation_key: str) -> None:
        state = self.state
        for (name, corr, _tenant), bucket in list(state.messages_by_corr.items()):
            if corr != correlation_key:
                continue
            for message in list(bucket.values()):
                if message.deadline <= self.w.now:
                    continue
                for process, start in state.message_starts.get((name, message.tenant_id), []):
                    if process.bpmn_process_id == bpmn_id:
                        self._message_start(process, start, message)
                        if (bpmn_id, correlation_key) in state.message_start_keys:
                            return
