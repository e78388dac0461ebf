"""Element lifecycles (docs.camunda.io/docs/components/zeebe/technical-concepts/internal-processing/):
every element instance moves through ACTIVATING → ACTIVATED → COMPLETING → COMPLETED (or TERMINATING →
TERMINATED), each step written as a PROCESS_INSTANCE event; sequence flows, joins and scopes.

The steps common to every element (input/output mappings, execution listeners, boundary subscriptions,
job workers, incidents) are here; what differs per element family is asked of its
:class:`ElementBehaviour`, found through the injected :class:`ElementLookup` (the registry of
engine/core/elements). A step that fails on data raises :class:`StepFailure`; the element instance then
gets an incident whose resolution re-runs exactly that step (:class:`RetryStep` names it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from procgov_engine.core.behaviours.compensation import Compensation
from procgov_engine.core.behaviours.context import ProcessingContext, StepFailure, instance_tags
from procgov_engine.core.behaviours.incidents import Incidents
from procgov_engine.core.behaviours.jobs import Jobs
from procgov_engine.core.behaviours.listeners import ExecutionListeners
from procgov_engine.core.behaviours.subscriptions import EventSubscriptions
from procgov_engine.core.behaviours.variables import Expressions, VariableMappings, Variables
from procgov_engine.core.state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETED,
    COMPLETING,
    MI_BODY,
    TERMINATED,
    TERMINATING,
    DeployedProcess,
    ElementInstance,
    RetryStep,
    is_join,
)
from procgov_engine.model.bpmn import Element, SequenceFlow


class ElementBehaviour(Protocol):
    """What an element family does at each step of its lifecycle (engine/core/elements/base.py has the
    defaults)."""

    def activate(self, inst: ElementInstance) -> None:
        """ACTIVATING, after input mappings, start listeners and boundary subscriptions."""

    def complete_outputs(self, inst: ElementInstance) -> bool:
        """COMPLETING: output mappings and end listeners; True while the element must wait."""

    def child_completing(self, scope: ElementInstance, child: ElementInstance) -> None:
        """A child of this scope instance is completing (its subscriptions still open)."""

    def completing(self, inst: ElementInstance) -> None:
        """COMPLETING, just before COMPLETED."""

    def child_completed(self, scope: ElementInstance, child: ElementInstance) -> bool:
        """A child of this scope instance completed; True if the scope took over (the child does not leave)."""

    def leave(self, inst: ElementInstance, scope: ElementInstance | None) -> None:
        """COMPLETED and removed: take the outgoing flows (or end the process instance)."""

    def terminating(self, inst: ElementInstance) -> None:
        """TERMINATING, after its children, subscriptions, job and incident are gone."""

    def terminated(self, inst: ElementInstance) -> None:
        """TERMINATED and removed."""

    def triggered(self, owner: ElementInstance, catch: Element, variables: dict[str, Any] | None) -> None:
        """One of the element's own event subscriptions (not a boundary or event sub-process) triggered."""


class ElementLookup(Protocol):
    def for_instance(self, inst: ElementInstance) -> ElementBehaviour: ...


class ElementLifecycle:
    def __init__(
        self,
        ctx: ProcessingContext,
        elements: ElementLookup,
        variables: Variables,
        expressions: Expressions,
        mappings: VariableMappings,
        subscriptions: EventSubscriptions,
        jobs: Jobs,
        incidents: Incidents,
        listeners: ExecutionListeners,
        compensation: Compensation,
    ) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.state = ctx.state
        self.instances = ctx.state.instances
        self.queue = ctx.queue
        self.elements = elements
        self.vars = variables
        self.expressions = expressions
        self.mappings = mappings
        self.subscriptions = subscriptions
        self.jobs = jobs
        self.incidents = incidents
        self.listeners = listeners
        self.compensation = compensation
        self.reach_cache: dict[tuple[int, str, str], bool] = {}

    # -- records -------------------------------------------------------------------------------
    def pi_value(self, inst: ElementInstance) -> dict[str, Any]:
        process = inst.process
        root = self.instances.get(inst.process_instance_key)
        return {
            "bpmnProcessId": process.bpmn_process_id,
            "version": process.version,
            "processDefinitionKey": process.key,
            "processInstanceKey": inst.process_instance_key,
            "elementId": inst.element.id,
            "flowScopeKey": inst.flow_scope.key if inst.flow_scope is not None else -1,
            "bpmnElementType": inst.element_type,
            "bpmnEventType": inst.element.event_type,
            "parentProcessInstanceKey": root.parent_process_instance_key if root else -1,
            "parentElementInstanceKey": root.parent_element_instance_key if root else -1,
            "tenantId": process.tenant_id,
            **instance_tags(inst),
        }

    def transition(self, inst: ElementInstance, state: str) -> None:
        """Write the PROCESS_INSTANCE event ``state`` of ``inst`` (its applier moves the instance there; on
        COMPLETED and TERMINATED it removes the instance with its variables)."""
        value = inst.record_value
        if value is None:
            value = inst.record_value = self.pi_value(inst)
        self.w.event("PROCESS_INSTANCE", state, inst.key, value, inst.process_instance_key)

    def raise_incident(self, inst: ElementInstance, failure: StepFailure, retry: RetryStep | None) -> None:
        self.incidents.raise_incident(inst, failure, retry)

    # -- process instances ---------------------------------------------------------------------
    def start_instance(
        self,
        process: DeployedProcess,
        starts: Sequence[Element],
        variables: Mapping[str, Any],
        *,
        start_variables: Mapping[str, Any] | None = None,
        parent: ElementInstance | None = None,
        tags: Sequence[str] = (),
    ) -> ElementInstance:
        key = self.w.next_key()
        root = ElementInstance(
            key=key,
            element=process.model.root,
            process=process,
            process_instance_key=key,
            flow_scope=None,
            element_type="PROCESS",
            tags=tuple(tags),
        )
        if parent is not None:
            root.parent_process_instance_key = parent.process_instance_key
            root.parent_element_instance_key = parent.key
        self.vars.set_all_local(root, variables)  # before the root's ACTIVATING, as Zeebe writes them
        value = self.pi_value(root)
        value["parentProcessInstanceKey"] = root.parent_process_instance_key
        value["parentElementInstanceKey"] = root.parent_element_instance_key
        self.w.event("PROCESS_INSTANCE", ACTIVATING, key, value, key)  # its applier creates the instance
        root = self.instances[key]
        self.activate_root(root, list(starts), start_variables)
        return root

    def activate_root(
        self, root: ElementInstance, starts: list[Element], start_variables: Mapping[str, Any] | None
    ) -> None:
        try:
            self.subscriptions.subscribe_event_subprocesses(root)
        except StepFailure as failure:
            self.raise_incident(root, failure, RetryStep("activate_root", (root, starts, start_variables)))
            return
        self.transition(root, ACTIVATED)
        for start in starts:
            self.enter(root, start, start_variables)

    # -- tokens --------------------------------------------------------------------------------
    def enter(self, scope: ElementInstance, target: Element, temp_variables: Mapping[str, Any] | None) -> None:
        """Queue a token's arrival at ``target`` in ``scope`` (not along a sequence flow)."""
        ctx = self.ctx
        ctx.in_transit[scope.key] = ctx.in_transit.get(scope.key, 0) + 1
        self.queue.append(self._arrival(scope, ctx.epochs.get(scope.key, 0), target, temp_variables))

    def take_flow(self, scope: ElementInstance, flow: SequenceFlow, source: ElementInstance) -> None:
        """SEQUENCE_FLOW_TAKEN (its applier counts the token of a joining gateway), then the arrival."""
        process = source.process
        value = self.pi_value(source)
        value["elementId"] = flow.id
        value["bpmnElementType"] = "SEQUENCE_FLOW"
        value["bpmnEventType"] = "UNSPECIFIED"
        self.w.event("PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN", self.w.next_key(), value, source.process_instance_key)
        target = process.model.elements[flow.target_id]
        ctx = self.ctx
        ctx.in_transit[scope.key] = ctx.in_transit.get(scope.key, 0) + 1
        if is_join(target):
            arriving = (scope.key, target.id, flow.id)
            ctx.arriving[arriving] = ctx.arriving.get(arriving, 0) + 1
        self.queue.append(self._arrival(scope, ctx.epochs.get(scope.key, 0), target, None, flow))

    def _arrival(
        self,
        scope: ElementInstance,
        epoch: int,
        target: Element,
        temp_variables: Mapping[str, Any] | None,
        flow: SequenceFlow | None = None,
    ) -> Callable[[], None]:
        ctx = self.ctx

        def run() -> None:
            if scope.state != ACTIVATED or ctx.epochs.get(scope.key, 0) != epoch:
                return  # the scope was interrupted or ended: the token is gone
            ctx.in_transit[scope.key] -= 1
            if flow is not None and is_join(target):
                ctx.arriving[(scope.key, target.id, flow.id)] -= 1
                if target.element_type == "PARALLEL_GATEWAY":
                    if all(self._arrived(scope, target, f.id) > 0 for f in target.incoming):
                        self.activate(target, scope)  # the ACTIVATING applier consumes one token per flow
                else:
                    ctx.pending_inclusive.add(scope.key)
                return
            self.activate(target, scope, temp_variables=temp_variables)

        return run

    def _arrived(self, scope: ElementInstance, gateway: Element, flow_id: str) -> int:
        """Tokens of ``flow_id`` at the joining ``gateway``: counted when the flow was taken, less those
        still on their way (their arrival is queued)."""
        taken = scope.join_tokens.get(gateway.id, {}).get(flow_id, 0)
        return taken - self.ctx.arriving.get((scope.key, gateway.id, flow_id), 0)

    def check_inclusive_joins(self) -> None:
        """An inclusive join fires once no token still active in its scope can reach it."""
        scopes, self.ctx.pending_inclusive = self.ctx.pending_inclusive, set()
        for scope_key in scopes:
            scope = self.instances.get(scope_key)
            if scope is None or scope.state != ACTIVATED:
                continue
            for gateway_id in list(scope.join_tokens):
                gateway = scope.process.model.elements[gateway_id]
                if gateway.element_type != "INCLUSIVE_GATEWAY":
                    continue
                complete = all(self._arrived(scope, gateway, f.id) > 0 for f in gateway.incoming)
                if not complete and any(self._can_reach(child.element, gateway) for child in scope.children.values()):
                    continue
                self.activate(gateway, scope)  # the ACTIVATING applier consumes the tokens
            self.drain_queue_only()

    def drain(self) -> None:
        """Run the follow-up work of the current command until none is left."""
        queue, ctx = self.queue, self.ctx
        while queue or ctx.pending_inclusive:
            while queue:
                queue.popleft()()
            if ctx.pending_inclusive:
                self.check_inclusive_joins()
        ctx.end_command()

    def drain_queue_only(self) -> None:
        while self.queue:
            self.queue.popleft()()

    def _can_reach(self, source: Element, target: Element) -> bool:
        cache_key = (id(source.parent), source.id, target.id)
        cached = self.reach_cache.get(cache_key)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = [source]
        found = False
        while stack:
            element = stack.pop()
            if element.id in seen:
                continue
            seen.add(element.id)
            for boundary in element.boundary_events:
                stack.append(boundary)
            if element.link_target is not None:
                stack.append(element.link_target)
            for flow in element.outgoing:
                if flow.target_id == target.id:
                    found = True
                    break
                parent = element.parent
                assert parent is not None
                stack.extend(c for c in parent.children if c.id == flow.target_id)
            if found:
                break
        self.reach_cache[cache_key] = found
        return found

    # -- activation ----------------------------------------------------------------------------
    def new_instance(
        self, element: Element, scope: ElementInstance, element_type: str | None = None
    ) -> ElementInstance:
        """Write the ELEMENT_ACTIVATING of a new instance of ``element`` in ``scope``; its applier creates it."""
        key = self.w.next_key()
        root = self.instances.get(scope.process_instance_key)
        process = scope.process
        value = {
            "bpmnProcessId": process.bpmn_process_id,
            "version": process.version,
            "processDefinitionKey": process.key,
            "processInstanceKey": scope.process_instance_key,
            "elementId": element.id,
            "flowScopeKey": scope.key,
            "bpmnElementType": element_type or element.element_type,
            "bpmnEventType": element.event_type,
            "parentProcessInstanceKey": root.parent_process_instance_key if root else -1,
            "parentElementInstanceKey": root.parent_element_instance_key if root else -1,
            "tenantId": process.tenant_id,
            **instance_tags(root),
        }
        self.w.event("PROCESS_INSTANCE", ACTIVATING, key, value, scope.process_instance_key)
        return self.instances[key]

    def activate(
        self,
        element: Element,
        scope: ElementInstance,
        *,
        temp_variables: Mapping[str, Any] | None = None,
    ) -> ElementInstance:
        element_type = MI_BODY if element.multi_instance is not None else None
        inst = self.new_instance(element, scope, element_type)
        # what the applier derived from the trigger's events (for the fold), set here by what processing knows
        inst.temp_variables = dict(temp_variables) if temp_variables is not None else None
        self.run_activation(inst)
        return inst

    def run_activation(self, inst: ElementInstance) -> None:
        try:
            self._activation_step(inst)
        except StepFailure as failure:
            self.raise_incident(inst, failure, RetryStep("run_activation", (inst,)))

    def _activation_step(self, inst: ElementInstance) -> None:
        if inst.state != ACTIVATING:
            return
        behaviour = self.elements.for_instance(inst)
        if inst.element_type != MI_BODY:  # the body maps no variables and runs no listeners: its inner instances do
            element = inst.element
            if inst.listener_index == 0:  # input mappings run once, before the start listeners
                self.mappings.apply_inputs(inst)
            if element.start_listeners and self.listeners.next_start(inst):
                return  # the element stays ACTIVATING until its start listener jobs complete
            is_inner = inst.flow_scope is not None and inst.flow_scope.element_type == MI_BODY
            if element.boundary_events and not is_inner:
                self.subscriptions.subscribe_boundaries(inst)
        behaviour.activate(inst)

    def activated_and_complete(self, inst: ElementInstance) -> None:
        """An element without a wait state: ACTIVATED, then straight on to completing."""
        self.transition(inst, ACTIVATED)
        self.complete(inst)

    # -- completion ----------------------------------------------------------------------------
    def complete(self, inst: ElementInstance) -> None:
        self.transition(inst, COMPLETING)
        self.run_completion(inst)

    def run_completion(self, inst: ElementInstance) -> None:
        try:
            self._completion_step(inst)
        except StepFailure as failure:
            self.raise_incident(inst, failure, RetryStep("run_completion", (inst,)))

    def apply_outputs_and_end_listeners(self, inst: ElementInstance) -> bool:
        """The default completing work of an element; True while its end listener jobs run."""
        if self.listeners.outputs_pending(inst):
            self.mappings.apply_outputs(inst)
        return bool(inst.element.end_listeners) and self.listeners.next_end(inst)

    def _completion_step(self, inst: ElementInstance) -> None:
        if inst.state != COMPLETING:
            return
        scope = inst.flow_scope
        behaviour = self.elements.for_instance(inst)
        if behaviour.complete_outputs(inst):
            return  # the element stays COMPLETING until its end listener jobs complete
        scope_behaviour = self.elements.for_instance(scope) if scope is not None else None
        if scope_behaviour is not None:
            assert scope is not None
            scope_behaviour.child_completing(scope, inst)
        self.subscriptions.close(inst)
        behaviour.completing(inst)  # the COMPLETED applier remembers a compensable activity
        self.transition(inst, COMPLETED)
        if scope_behaviour is not None:
            assert scope is not None
            if scope_behaviour.child_completed(scope, inst):
                return
        behaviour.leave(inst, scope)

    def leave_by_flows(self, inst: ElementInstance, scope: ElementInstance) -> None:
        """The default way out of a completed element: its chosen (or all) outgoing sequence flows; the
        scope completes when none is taken and nothing else is active in it."""
        element = inst.element
        if element.is_for_compensation:
            throw_inst = self.compensation.handler_completed(inst)
            if throw_inst is not None:
                self.complete(throw_inst)
        flows = inst.chosen_flows
        if flows is None:
            taken = element.outgoing
        else:
            by_id = {f.id: f for f in element.outgoing}
            taken = [by_id[f] for f in flows]
        for flow in taken:
            self.take_flow(scope, flow, inst)
        if not taken:
            self.check_scope(scope)

    def check_scope(self, scope: ElementInstance) -> None:
        if scope.state != ACTIVATED or scope.children or self.ctx.in_transit.get(scope.key) or scope.join_tokens:
            return
        if scope.element_type == MI_BODY:
            return
        self.complete(scope)

    # -- termination ---------------------------------------------------------------------------
    def interrupt_scope(self, scope: ElementInstance, spare: ElementInstance | None = None) -> None:
        """Terminate every child of ``scope`` (but ``spare``) and drop its tokens: queued arrivals of the
        old epoch are ignored."""
        for child in list(scope.children.values()):
            if child is not spare:
                self.terminate(child)
        self.ctx.interrupt(scope.key)  # the tokens the appliers counted go with the next event (see is_join)

    def terminate(self, inst: ElementInstance) -> None:
        """TERMINATING, its children terminated, its subscriptions, job and incident gone; then TERMINATED,
        unless the termination has to wait: for children still terminating, a called process instance still
        terminating, or a user task's canceling listeners (Camunda docs, "User task listeners"). The
        termination then goes on in :meth:`continue_termination` once what it waited for has ended."""
        if inst.state in (COMPLETED, TERMINATED, TERMINATING):
            return
        self.transition(inst, TERMINATING)
        for child in list(inst.children.values()):
            self.terminate(child)
        self.subscriptions.close(inst)
        if inst.job_key:
            self.jobs.cancel(inst.job_key)
        self.incidents.resolve_of(inst)
        behaviour = self.elements.for_instance(inst)
        behaviour.terminating(inst)
        if self.termination_waits(inst):
            return
        self._terminated(inst, behaviour)

    def termination_waits(self, inst: ElementInstance) -> bool:
        """Whether the TERMINATING ``inst`` still waits (all of it state: the appliers keep it)."""
        if inst.children:
            return True
        if inst.called_instance_key and inst.called_instance_key in self.instances:
            return True
        return inst.key in self.state.user_task_of_instance  # CANCELING: its canceling listeners run

    def _terminated(self, inst: ElementInstance, behaviour: ElementBehaviour) -> None:
        self.ctx.interrupt(inst.key)
        self.transition(inst, TERMINATED)
        behaviour.terminated(inst)

    def continue_termination(self, inst: ElementInstance) -> None:
        """What the termination of ``inst`` waited for has ended (Zeebe's CONTINUE_TERMINATING_ELEMENT):
        TERMINATED, then what the termination was for: the interrupting boundary event it triggered, the
        termination of its scope (up to a cancelled process instance and a terminated call activity), the
        interrupting event sub-process of its scope, the completion of its scope (a terminate end event, a
        multi-instance body's completion condition)."""
        if inst.state != TERMINATING or self.termination_waits(inst):
            return
        trigger = inst.event_trigger
        scope = inst.flow_scope
        self._terminated(inst, self.elements.for_instance(inst))
        if scope is None:
            call_key = inst.parent_element_instance_key
            call = self.instances.get(call_key) if call_key > 0 else None
            if call is not None:
                self.continue_termination(call)
            return
        if scope.state == TERMINATING:
            self.continue_termination(scope)
            return
        if scope.state != ACTIVATED:
            return
        if trigger is not None and not scope.interrupted:
            catch = next((b for b in inst.element.boundary_events if b.id == trigger[0]), None)
            if catch is not None:
                self.activate(catch, scope, temp_variables=trigger[1])
                return
        if scope.event_trigger is not None:
            if not scope.children:
                catch_id, variables = scope.event_trigger
                start = scope.process.model.elements[catch_id]
                assert start.parent is not None
                self.activate(start.parent, scope, temp_variables=variables)
            return
        if scope.element_type == MI_BODY:
            if not scope.children:
                self.complete(scope)  # its completion condition was met
            return
        self.check_scope(scope)
