"""PROCESS_INSTANCE, SEQUENCE_FLOW_TAKEN and PROCESS_INSTANCE_CREATION: the element instances, their
lifecycle states, join tokens, temporary variables from the command's trigger, compensation, and where a
process instance started."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from procgov_engine.core.state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETED,
    COMPLETING,
    MI_BODY,
    TERMINATED,
    TERMINATING,
    ElementInstance,
    RetryStep,
    is_join,
)
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable
from procgov_engine.model.bpmn import Element


class ElementAppliers(Appliers):
    KEY_ONLY = frozenset(
        {
            ("PROCESS_INSTANCE", ACTIVATED),
            ("PROCESS_INSTANCE", COMPLETING),
            ("PROCESS_INSTANCE", TERMINATING),
            ("PROCESS_INSTANCE", COMPLETED),
            ("PROCESS_INSTANCE", TERMINATED),
        }
    )

    def appliers(self) -> AppliersTable:
        return {
            ("PROCESS_INSTANCE", ACTIVATING): self._element_activating,
            ("PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN"): self._flow_taken,
            ("PROCESS_INSTANCE", ACTIVATED): functools.partial(self._element_moved, ACTIVATED),
            ("PROCESS_INSTANCE", COMPLETING): functools.partial(self._element_moved, COMPLETING),
            ("PROCESS_INSTANCE", TERMINATING): self._element_terminating,
            ("PROCESS_INSTANCE", COMPLETED): functools.partial(self._element_left, COMPLETED),
            ("PROCESS_INSTANCE", TERMINATED): functools.partial(self._element_left, TERMINATED),
            ("PROCESS_INSTANCE_CREATION", "CREATED"): self._instance_created,
        }

    # -- PROCESS_INSTANCE ------------------------------------------------------------------------
    def _element_activating(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        element_type = value["bpmnElementType"]
        scope_key = value["flowScopeKey"]
        scope = state.instances[scope_key] if scope_key > 0 else None
        element = process.model.root if scope is None else process.model.elements[value["elementId"]]
        inst = ElementInstance(key, element, process, value["processInstanceKey"], scope, element_type)
        inst.record_value = value
        state.instances[key] = inst
        if scope is not None:
            scope.children[key] = inst
            self._trigger_variables(inst, scope)
            if scope.element_type == MI_BODY:  # an inner instance of a multi-instance body
                scope.mi_next += 1
                inst.loop_counter = scope.mi_next
            elif element.is_for_compensation and self.scratch.compensation_throw:
                inst.compensation_throw_key = self.scratch.compensation_throw  # a handler the throw event invoked
            if element_type == "EVENT_SUB_PROCESS" and _interrupting_start(element):
                scope.interrupted = True  # its other children were terminated: their tokens are gone
                scope.join_tokens.clear()
            elif is_join(element):
                tokens = scope.join_tokens.get(element.id)
                if tokens is not None:  # the join fired: one token of each flow that has one
                    for flow_id in list(tokens):
                        tokens[flow_id] -= 1
                        if tokens[flow_id] <= 0:
                            del tokens[flow_id]
                    if not tokens:
                        del scope.join_tokens[element.id]
            return
        inst.parent_process_instance_key = value["parentProcessInstanceKey"]
        inst.parent_element_instance_key = value["parentElementInstanceKey"]
        inst.tags = tuple(value.get("tags", ()))  # Camunda 8.8 (absent on untagged instances' records)
        call = state.instances.get(inst.parent_element_instance_key) if inst.parent_element_instance_key > 0 else None
        if call is not None:
            call.called_instance_key = key
        self.instance_started(inst)
        self._started_at(inst)

    def _trigger_variables(self, inst: ElementInstance, scope: ElementInstance) -> None:
        """A boundary event, event sub-process or event after an event-based gateway activated by the last
        trigger takes its variables; an event sub-process hands them to its start event."""
        scratch = self.scratch
        element = inst.element
        gateway, scratch.gateway_left = scratch.gateway_left, None
        if gateway is not None and gateway[0] == scope.key and any(f.source_id == gateway[1] for f in element.incoming):
            inst.triggered = True
        if element.element_type == "START_EVENT" and scope.element_type == "EVENT_SUB_PROCESS":
            inst.temp_variables, scope.temp_variables = scope.temp_variables, None
            return
        if element.element_type == "EVENT_SUB_PROCESS" and scope.event_trigger is not None:
            # an interrupting event sub-process that waited for the termination of the scope's children
            catch_id, variables = scope.event_trigger
            if any(c.id == catch_id for c in element.children):
                scope.event_trigger = None
                if scratch.trigger is not None and scratch.trigger[0] == catch_id:
                    scratch.trigger = None
                inst.temp_variables = dict(variables) if variables is not None else None
                return
        if scratch.signal is not None and _signal_triggered(inst, element):
            inst.temp_variables = dict(scratch.signal)
            return
        trigger = scratch.trigger
        if trigger is None:
            return
        catch_id, variables = trigger
        if element.id == catch_id or (
            element.element_type == "EVENT_SUB_PROCESS"
            and any(c.id == catch_id for c in element.children if c.element_type == "START_EVENT")
        ):
            scratch.trigger = None
            inst.temp_variables = dict(variables) if variables is not None else None

    def _flow_taken(self, key: int, value: dict[str, Any]) -> None:
        """A token for a joining gateway waits there (counted when the flow is taken; processing tells the
        tokens still on their way apart within the command)."""
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        flow = process.model.flows[value["elementId"]]
        target = process.model.elements[flow.target_id]
        if is_join(target):
            scope = state.instances[value["flowScopeKey"]]
            tokens = scope.join_tokens.setdefault(target.id, {})
            tokens[flow.id] = tokens.get(flow.id, 0) + 1

    def _element_moved(self, to: str, key: int, value: dict[str, Any]) -> None:
        scratch = self.scratch
        inst = self.state.instances[key]
        inst.state = to
        element = inst.element
        if (
            to == COMPLETING
            and scratch.trigger is not None
            and scratch.trigger[0] == element.id
            and element.element_type in ("INTERMEDIATE_CATCH_EVENT", "RECEIVE_TASK")
        ):
            # a catch event or receive task completes with the message that triggered it
            inst.temp_variables = scratch.trigger[1]
            scratch.trigger = None
        elif (
            to == COMPLETING
            and scratch.signal is not None
            and element.element_type == "INTERMEDIATE_CATCH_EVENT"
            and element.event_type == "SIGNAL"
        ):
            inst.temp_variables = dict(scratch.signal)
        if to == ACTIVATED and element.event_type == "COMPENSATION" and element.element_type != "BOUNDARY_EVENT":
            # a compensation throw or end event: it takes the handlers it invokes out of its scope
            target, chosen = compensation_choice(inst)
            target.compensable = [e for e in target.compensable or [] if e not in chosen]
            inst.compensation_pending = len(chosen)
            scratch.compensation_throw = key if chosen else 0

    def _element_terminating(self, key: int, value: dict[str, Any]) -> None:
        """TERMINATING: the interrupting event that terminates the instance (one of its boundary events) or
        its scope's children (an event sub-process of the scope) is remembered, so that the element it
        activates still gets it when the termination has to wait (canceling task listeners)."""
        inst = self.state.instances[key]
        inst.state = TERMINATING
        scope = inst.flow_scope
        if scope is not None and scope.element_type == MI_BODY:
            return  # the body's boundary events are the body's
        element = inst.element
        if element.boundary_events:
            trigger = self._interrupting_trigger(inst, element.boundary_events, subscribed=True)
            if trigger is not None:
                inst.event_trigger = trigger
                return
        if scope is not None and scope.element.event_sub_starts and scope.event_trigger is None:
            trigger = self._interrupting_trigger(scope, scope.element.event_sub_starts, subscribed=False)
            if trigger is not None:  # the event sub-process's activation will mark the same
                scope.event_trigger = trigger
                scope.interrupted = True
                scope.join_tokens.clear()

    def _interrupting_trigger(
        self, owner: ElementInstance, catches: Sequence[Element], *, subscribed: bool
    ) -> tuple[str, dict[str, Any] | None] | None:
        """The trigger of the command (a fired timer, a correlated message, a thrown error or escalation, a
        broadcast signal) if it is for one of the interrupting ``catches`` of ``owner``. A signal is told
        apart by ``owner``'s open subscriptions when ``subscribed`` (boundary events); an event
        sub-process's were closed (in this command) just before its scope's children are terminated."""
        scratch = self.scratch
        interrupting = [c for c in catches if c.interrupting]
        if not interrupting:
            return None
        trigger = scratch.trigger
        if trigger is not None and any(c.id == trigger[0] for c in interrupting):
            scratch.trigger = None  # taken: the activation of its catch gets it from the instance
            return trigger
        if scratch.signal is not None:
            signals = [c for c in interrupting if c.event_type == "SIGNAL"]
            ids = {c.id for c in signals}
            if signals and subscribed:
                subs = self.state.signal_subs.get(scratch.signal_name, {})
                for sub_key in owner.signal_keys:
                    sub = subs.get(sub_key)
                    if sub is not None and sub.catch.id in ids:
                        return sub.catch.id, dict(scratch.signal)
            elif scratch.signal_closed.get(owner.key) in ids:
                return scratch.signal_closed[owner.key], dict(scratch.signal)
        return None

    def _element_left(self, to: str, key: int, value: dict[str, Any]) -> None:
        state = self.state
        inst = state.instances.pop(key)
        inst.state = to
        if inst.event_trigger is not None and to == TERMINATED:
            self.scratch.trigger = inst.event_trigger  # for the boundary event it activates now
        scope = inst.flow_scope
        if scope is not None:
            scope.children.pop(key, None)
            element = inst.element
            if to == COMPLETED:
                if element.element_type == "EVENT_BASED_GATEWAY":
                    self.scratch.gateway_left = (scope.key, element.id)
                if element.element_type == "END_EVENT" and element.event_type == "TERMINATE":
                    scope.join_tokens.clear()  # a terminate end event ended everything else in its scope
                if scope.element_type == MI_BODY:
                    scope.mi_completed += 1
                if inst.compensable or element.compensation_handler is not None:
                    _remember_completion(inst, scope)
                if inst.compensation_throw_key:
                    throw = state.instances.get(inst.compensation_throw_key)
                    if throw is not None and throw.state == ACTIVATED:
                        throw.compensation_pending -= 1
        else:
            self.instance_ended(inst)
            if inst.state == COMPLETED and inst.parent_element_instance_key > 0:
                call = state.instances.get(inst.parent_element_instance_key)
                if call is not None and call.state == ACTIVATED:
                    call.called_instance_key = 0
                    call.temp_variables = dict(state.variables.values.get(key, {}))  # the call's outputs
        variables = state.variables
        variables.values.pop(key, None)
        variables.keys.pop(key, None)
        if inst.incident_key:
            state.incidents.pop(inst.incident_key, None)

    # -- a process instance's start and end: PROCESS_INSTANCE_CREATION, its start, message start keys ---
    def _instance_created(self, key: int, value: dict[str, Any]) -> None:
        """Start instructions: the elements an instance whose activation failed starts at once resolved."""
        incident = (
            self.state.incidents.get(self.state.instances[key].incident_key) if key in self.state.instances else None
        )
        instructions = [i["elementId"] for i in value["startInstructions"]]
        if incident is None or incident.retry is None or incident.retry.method != "activate_root" or not instructions:
            return
        root = incident.element_instance
        starts = [root.process.model.elements[e] for e in instructions]
        incident.retry = RetryStep("activate_root", (root, starts, None))

    def _started_at(self, root: ElementInstance) -> None:
        """The root's start: the start event that fired (timer, message, signal) or the none start event."""
        process = root.process
        start = self.scratch.start
        starts: list[Element] = []
        variables: dict[str, Any] | None = None
        if start is not None:
            element_id, signal_name, variables = start
            if element_id:
                self.scratch.start = None
                starts = [process.model.elements[element_id]]
            else:  # a signal start event of this process with the broadcast's name
                subs = self.state.signal_subs.get(signal_name, {})
                starts = [s.catch for s in subs.values() if s.owner is None and s.process is process][:1]
        if not starts:
            none_start = process.model.root.none_start
            starts, variables = ([none_start] if none_start is not None else []), None
        self.scratch.root_started = (root.key, starts, variables)

    def instance_started(self, root: ElementInstance) -> None:
        """A process instance's root is activating: if a message start event started it, its correlation
        key is taken (one instance per key at a time) until the instance ends."""
        starting, self.scratch.starting = self.scratch.starting, None
        if starting is not None and starting[1] and starting[0] == root.process.bpmn_process_id:
            self.state.message_start_keys[starting] = root.key

    def instance_ended(self, root: ElementInstance) -> None:
        keys = self.state.message_start_keys
        freed = []
        for start_key, instance_key in list(keys.items()):
            if instance_key == root.key:
                del keys[start_key]
                freed.append(start_key)
        self.scratch.freed_start_keys = freed  # processing may ask: the correlation keys free again


def _signal_triggered(inst: ElementInstance, element: Element) -> bool:
    """Whether a signal activates ``element`` (only ever by its trigger): a signal boundary event, an event
    sub-process with a signal start, a signal catch event after an event-based gateway."""
    if element.element_type == "BOUNDARY_EVENT" or inst.triggered:
        return element.event_type == "SIGNAL"
    if element.element_type == "EVENT_SUB_PROCESS":
        start = next((c for c in element.children if c.element_type == "START_EVENT"), None)
        return start is not None and start.event_type == "SIGNAL"
    return False


def _interrupting_start(event_sub_process: Element) -> bool:
    start = next((c for c in event_sub_process.children if c.element_type == "START_EVENT"), None)
    return start is not None and start.interrupting


def _remember_completion(inst: ElementInstance, scope: ElementInstance) -> None:
    """``inst`` completed in ``scope``: remember it (or what it remembered) for a later compensation
    (engine/core/behaviours/compensation.py has the rules)."""
    if scope.element_type == MI_BODY:
        return  # a multi-instance activity is compensated once, for its body
    element = inst.element
    if element.compensation_handler is not None and inst.element_type != "PROCESS":
        scope.compensable = [*(scope.compensable or []), (element, False)]
    if inst.compensable and element.element_type == "SUB_PROCESS":
        scope.compensable = [*(scope.compensable or []), *((activity, True) for activity, _ in inst.compensable)]
        inst.compensable = None


def compensation_choice(inst: ElementInstance) -> tuple[ElementInstance, list[tuple[Element, bool]]]:
    """A compensation throw/end event ``inst``: the scope instance to compensate in and the remembered
    activities whose handlers it invokes (all, or the one of its ``activityRef``)."""
    scope = inst.flow_scope
    assert scope is not None
    target = scope
    if scope.element_type == "EVENT_SUB_PROCESS" and scope.flow_scope is not None:
        target = scope.flow_scope
    ref = inst.element.compensate_activity_ref
    remembered = target.compensable or []
    return target, [e for e in remembered if ref is None or (e[0].id == ref and not e[1])]
