"""The token processor: element instance lifecycles, sequence flows, events, jobs and incidents.

Modelled on Zeebe's engine (docs.camunda.io/docs/components/zeebe/technical-concepts/internal-processing/):
every element instance moves through ACTIVATING → ACTIVATED → COMPLETING → COMPLETED (or TERMINATING →
TERMINATED), each step written as a PROCESS_INSTANCE event. Follow-up work (activating the target of
a taken sequence flow, broadcasting a thrown signal) is queued and drained in order before the command
returns, like Zeebe's follow-up commands on its log.

A step that fails on data (an expression, a missing called process) raises :class:`StepFailure`; the
step's element instance then gets an incident whose resolution re-runs exactly that step.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import json
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from engine.api import (
    DEFAULT_TENANT,
    ProcessInstanceCreated,
    Rejection,
    RejectionType,
)
from engine.core import compensation, listeners, user_tasks
from engine.core.binding import CalledProcessNotFound, select_called_process
from engine.core.records import RecordWriter
from engine.core.state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETED,
    COMPLETING,
    JOB_ACTIVATABLE,
    JOB_ACTIVATED,
    JOB_ERROR_THROWN,
    JOB_FAILED,
    MI_BODY,
    TERMINATED,
    TERMINATING,
    DeployedForm,
    DeployedProcess,
    ElementInstance,
    Incident,
    Job,
    Message,
    MessageSubscription,
    RetryStep,
    SignalSubscription,
    Timer,
)
from engine.core.variables import Variables
from engine.model.bpmn import Element, SequenceFlow
from engine.model.expressions import Expression, ExpressionError
from engine.model.timers import Schedule, TimerFormatError, next_repetition, schedule


class StepFailure(Exception):
    """A step of an element instance failed on data; becomes an incident of ``error_type``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def reject(kind: RejectionType, reason: str) -> Rejection:
    return Rejection(kind, reason)


class Processor:
    """All runtime state plus the rules that change it. Single-threaded; driven by the Engine."""

    def __init__(self, writer: RecordWriter) -> None:
        self.w = writer
        self.vars = Variables(writer)
        self.processes_by_key: dict[int, DeployedProcess] = {}
        self.processes_by_id: dict[tuple[str, str], list[DeployedProcess]] = {}
        # deployment key → the version of each process id in that deployment (calledElement bindingType)
        self.processes_by_deployment: dict[int, dict[str, DeployedProcess]] = {}
        self.instances: dict[int, ElementInstance] = {}
        self.jobs: dict[int, Job] = {}
        self.activatable: dict[str, dict[int, Job]] = {}
        self.timers: dict[int, Timer] = {}
        self.due: list[tuple[int, int, str, int]] = []
        self._due_seq = 0
        self.messages: dict[int, Message] = {}
        self.messages_by_corr: dict[tuple[str, str, str], dict[int, Message]] = {}
        self.subscriptions: dict[int, MessageSubscription] = {}
        self.subs_by_corr: dict[tuple[str, str, str], dict[int, MessageSubscription]] = {}
        self.message_starts: dict[tuple[str, str], list[tuple[DeployedProcess, Element]]] = {}
        self.message_start_keys: dict[tuple[str, str], int] = {}  # (bpmn id, correlation key) → instance
        self.signal_subs: dict[str, dict[int, SignalSubscription]] = {}
        self.start_timers: dict[tuple[str, str], list[int]] = {}
        self.incidents: dict[int, Incident] = {}
        self.queue: deque[Callable[[], None]] = deque()
        self.pending_inclusive: set[int] = set()
        self.reach_cache: dict[tuple[int, str, str], bool] = {}
        # hooks set by the Engine
        self.on_jobs_available: Callable[[str], None] = lambda job_type: None
        self.on_due_added: Callable[[int], None] = lambda due: None
        self.on_process_ended: Callable[[ElementInstance, dict[str, Any] | None], None] = lambda inst, v: None
        # supplied by the deploy module
        self.evaluate_called_decision: Callable[[str, dict[str, Any], ElementInstance], Any] | None = None
        # Camunda user tasks (engine/core/user_tasks.py); find_form is supplied by the deploy module, and the
        # engine hears through on_user_task_done when a command's transition ended (None) or was denied
        self.user_tasks: dict[int, user_tasks.UserTask] = {}
        self.user_task_of_instance: dict[int, int] = {}  # element instance key → user task key
        self.find_form: Callable[[str, str, str | None, DeployedProcess], DeployedForm | None] = (
            lambda form_id, binding, version_tag, process: None
        )
        self.on_user_task_done: Callable[[int, Rejection | None], None] = lambda key, rejection: None

    # ------------------------------------------------------------------------------------------
    # plumbing
    # ------------------------------------------------------------------------------------------
    def drain(self) -> None:
        while self.queue or self.pending_inclusive:
            while self.queue:
                self.queue.popleft()()
            if self.pending_inclusive:
                self._check_inclusive_joins()

    def add_due(self, due: int, kind: str, key: int) -> None:
        self._due_seq += 1
        heapq.heappush(self.due, (due, self._due_seq, kind, key))
        self.on_due_added(due)

    def next_due(self) -> int | None:
        while self.due:
            due, _, kind, key = self.due[0]
            if self._due_valid(due, kind, key):
                return due
            heapq.heappop(self.due)
        return None

    def pop_due(self, now: int) -> tuple[str, int] | None:
        while self.due and self.due[0][0] <= now:
            due, _, kind, key = heapq.heappop(self.due)
            if self._due_valid(due, kind, key):
                return kind, key
        return None

    def _due_valid(self, due: int, kind: str, key: int) -> bool:
        if kind == "timer":
            timer = self.timers.get(key)
            return timer is not None and timer.due == due
        if kind == "job_timeout":
            job = self.jobs.get(key)
            return job is not None and job.state == JOB_ACTIVATED and job.deadline == due
        if kind == "job_backoff":
            job = self.jobs.get(key)
            return job is not None and job.state == JOB_FAILED and job.recurring_time == due and job.retries > 0
        if kind == "message_expire":
            message = self.messages.get(key)
            return message is not None and message.deadline == due
        return False

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
        }

    def _transition(self, inst: ElementInstance, state: str) -> None:
        inst.state = state
        if self.w.replaying:
            self.w.position += 1
            return
        value = inst.record_value
        if value is None:
            value = inst.record_value = self.pi_value(inst)
        self.w.event("PROCESS_INSTANCE", state, inst.key, value, inst.process_instance_key)

    def _eval(
        self,
        expression: Expression,
        inst: ElementInstance,
        expected: str | None = None,
        error_type: str = "EXTRACT_VALUE_ERROR",
    ) -> Any:
        """Evaluate ``expression`` in ``inst``'s scope; a failure becomes a :class:`StepFailure` of
        ``error_type`` (Zeebe's incident type for the context: IO_MAPPING_ERROR for variable mappings,
        EXTRACT_VALUE_ERROR for other expressions)."""
        if not expression.is_feel:
            value = expression.static
            if expected == "NUMBER":
                try:
                    return int(value)
                except ValueError as exc:
                    raise StepFailure(error_type, f"Expected '{value}' to be a number") from exc
            return value
        context = self.vars.visible(inst)
        try:
            if expected is None:
                return expression.evaluate(context, self.feel_clock)
            return expression.evaluate_typed(context, expected, self.feel_clock)
        except ExpressionError as exc:
            raise StepFailure(error_type, str(exc)) from exc

    def feel_clock(self) -> dt.datetime:
        """FEEL's now(): the command's timestamp, so that replay evaluates exactly as the original run."""
        return dt.datetime.fromtimestamp(self.w.now / 1000, dt.UTC)

    # ------------------------------------------------------------------------------------------
    # process instances
    # ------------------------------------------------------------------------------------------
    def find_process(
        self, bpmn_process_id: str | None, key: int | None, version: int, tenant_id: str
    ) -> DeployedProcess:
        if key:
            process = self.processes_by_key.get(key)
            if process is None:
                raise reject(
                    RejectionType.NOT_FOUND, f"Expected to find process definition with key '{key}', but none found"
                )
            return process
        versions = self.processes_by_id.get((bpmn_process_id or "", tenant_id))
        if not versions:
            raise reject(
                RejectionType.NOT_FOUND,
                f"Expected to find process definition with process ID '{bpmn_process_id}', but none found",
            )
        if version is None or version < 0:
            return versions[-1]
        for process in versions:
            if process.version == version:
                return process
        raise reject(
            RejectionType.NOT_FOUND,
            f"Expected to find process definition with process ID '{bpmn_process_id}' and version '{version}', "
            "but none found",
        )

    def create_instance(
        self,
        *,
        bpmn_process_id: str | None,
        process_definition_key: int | None,
        version: int,
        variables: Mapping[str, Any],
        start_element_ids: Sequence[str],
        tenant_id: str,
    ) -> ProcessInstanceCreated:
        process = self.find_process(bpmn_process_id, process_definition_key, version, tenant_id)
        value = {
            "bpmnProcessId": process.bpmn_process_id,
            "version": process.version,
            "processDefinitionKey": process.key,
            "processInstanceKey": -1,
            "variables": dict(variables),
            "startInstructions": [{"elementId": e} for e in start_element_ids],
            "tenantId": process.tenant_id,
        }
        self.w.command("PROCESS_INSTANCE_CREATION", "CREATE", -1, value)
        starts: list[Element] = []
        if start_element_ids:
            for element_id in start_element_ids:
                element = process.model.elements.get(element_id)
                if element is None or element.element_type in ("PROCESS", "BOUNDARY_EVENT"):
                    self._reject_cmd(
                        "PROCESS_INSTANCE_CREATION",
                        "CREATE",
                        value,
                        RejectionType.INVALID_ARGUMENT,
                        f"Expected to create instance of process with start instructions but no element found with "
                        f"id '{element_id}'.",
                    )
                if element.parent is not process.model.root:
                    self._reject_cmd(
                        "PROCESS_INSTANCE_CREATION",
                        "CREATE",
                        value,
                        RejectionType.INVALID_ARGUMENT,
                        f"Expected to create instance of process with start instructions but the element with id "
                        f"'{element_id}' is inside a sub-process; only elements of the process scope are supported.",
                    )
                starts.append(element)
        else:
            none_start = process.model.root.none_start
            if none_start is None:
                self._reject_cmd(
                    "PROCESS_INSTANCE_CREATION",
                    "CREATE",
                    value,
                    RejectionType.INVALID_STATE,
                    "Expected to create instance of process with none start event, but there is no such event",
                )
            starts.append(none_start)
        root = self.start_instance(process, starts, variables)
        created = dict(value, processInstanceKey=root.key)
        self.w.event("PROCESS_INSTANCE_CREATION", "CREATED", root.key, created, root.key)
        return ProcessInstanceCreated(
            process.key, process.bpmn_process_id, process.version, root.key, process.tenant_id
        )

    def _reject_cmd(
        self, value_type: str, intent: str, value: dict[str, Any], kind: RejectionType, reason: str
    ) -> NoReturn:
        self.w.rejection(value_type, intent, -1, value, kind.value, reason)
        raise reject(kind, reason)

    def start_instance(
        self,
        process: DeployedProcess,
        starts: Sequence[Element],
        variables: Mapping[str, Any],
        *,
        start_variables: Mapping[str, Any] | None = None,
        parent: ElementInstance | None = None,
    ) -> ElementInstance:
        key = self.w.next_key()
        root = ElementInstance(
            key=key,
            element=process.model.root,
            process=process,
            process_instance_key=key,
            flow_scope=None,
            element_type="PROCESS",
        )
        if parent is not None:
            root.parent_process_instance_key = parent.process_instance_key
            root.parent_element_instance_key = parent.key
        self.instances[key] = root
        self.vars.set_all_local(root, variables)
        self._transition(root, ACTIVATING)
        self._activate_root(root, list(starts), start_variables)
        return root

    def _activate_root(
        self, root: ElementInstance, starts: list[Element], start_variables: Mapping[str, Any] | None
    ) -> None:
        try:
            self._subscribe_event_subprocesses(root)
        except StepFailure as failure:
            self._raise_incident(root, failure, RetryStep("_activate_root", (root, starts, start_variables)))
            return
        self._transition(root, ACTIVATED)
        for start in starts:
            root.active_flows += 1
            self.queue.append(self._arrival(root, root.epoch, start, start_variables))

    def cancel_instance(self, key: int) -> None:
        value = {"processInstanceKey": key}
        self.w.command("PROCESS_INSTANCE", "CANCEL", key, value, key)
        root = self.instances.get(key)
        if root is None or root.flow_scope is not None:
            self._reject_cmd(
                "PROCESS_INSTANCE",
                "CANCEL",
                value,
                RejectionType.NOT_FOUND,
                f"Expected to cancel a process instance with key '{key}', but no such process was found",
            )
        if root.parent_process_instance_key > 0:
            self._reject_cmd(
                "PROCESS_INSTANCE",
                "CANCEL",
                value,
                RejectionType.INVALID_STATE,
                f"Expected to cancel a process instance with key '{key}', but it is created by a parent process "
                f"instance. Cancel the root process instance '{root.parent_process_instance_key}' instead.",
            )
        self._terminate(root)

    # ------------------------------------------------------------------------------------------
    # sequence flows and activation
    # ------------------------------------------------------------------------------------------
    def _take_flow(self, scope: ElementInstance, flow: SequenceFlow, source: ElementInstance) -> None:
        process = source.process
        if not self.w.replaying:
            value = self.pi_value(source)
            value["elementId"] = flow.id
            value["bpmnElementType"] = "SEQUENCE_FLOW"
            value["bpmnEventType"] = "UNSPECIFIED"
            self.w.event(
                "PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN", self.w.next_key(), value, source.process_instance_key
            )
        else:
            self.w.next_key()
            self.w.position += 1
        target = process.model.elements[flow.target_id]
        scope.active_flows += 1
        self.queue.append(self._arrival(scope, scope.epoch, target, None, flow))

    def _arrival(
        self,
        scope: ElementInstance,
        epoch: int,
        target: Element,
        temp_variables: Mapping[str, Any] | None,
        flow: SequenceFlow | None = None,
    ) -> Callable[[], None]:
        def run() -> None:
            if scope.state != ACTIVATED or scope.epoch != epoch:
                return  # the scope was interrupted or ended: the token is gone
            scope.active_flows -= 1
            if (
                flow is not None
                and len(target.incoming) > 1
                and target.element_type in ("PARALLEL_GATEWAY", "INCLUSIVE_GATEWAY")
            ):
                tokens = scope.join_tokens.setdefault(target.id, {})
                tokens[flow.id] = tokens.get(flow.id, 0) + 1
                scope.active_flows += 1
                if target.element_type == "PARALLEL_GATEWAY":
                    if all(tokens.get(f.id, 0) > 0 for f in target.incoming):
                        self._consume_join(scope, target)
                        self._activate(target, scope)
                else:
                    self.pending_inclusive.add(scope.key)
                return
            self._activate(target, scope, temp_variables=temp_variables)

        return run

    def _consume_join(self, scope: ElementInstance, gateway: Element) -> None:
        tokens = scope.join_tokens[gateway.id]
        for flow_id in list(tokens):
            tokens[flow_id] -= 1
            scope.active_flows -= 1
            if tokens[flow_id] <= 0:
                del tokens[flow_id]
        if not tokens:
            del scope.join_tokens[gateway.id]

    def _check_inclusive_joins(self) -> None:
        """An inclusive join fires once no token still active in its scope can reach it."""
        scopes, self.pending_inclusive = self.pending_inclusive, set()
        for scope_key in scopes:
            scope = self.instances.get(scope_key)
            if scope is None or scope.state != ACTIVATED:
                continue
            for gateway_id in list(scope.join_tokens):
                gateway = scope.process.model.elements[gateway_id]
                if gateway.element_type != "INCLUSIVE_GATEWAY":
                    continue
                tokens = scope.join_tokens[gateway_id]
                complete = all(tokens.get(f.id, 0) > 0 for f in gateway.incoming)
                if not complete and any(self._can_reach(child.element, gateway) for child in scope.children.values()):
                    continue
                self._consume_join(scope, gateway)
                self._activate(gateway, scope)
            self.drain_queue_only()

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

    def _new_instance(
        self, element: Element, scope: ElementInstance, element_type: str | None = None
    ) -> ElementInstance:
        inst = ElementInstance(
            key=self.w.next_key(),
            element=element,
            process=scope.process,
            process_instance_key=scope.process_instance_key,
            flow_scope=scope,
            element_type=element_type or element.element_type,
        )
        scope.children[inst.key] = inst
        self.instances[inst.key] = inst
        return inst

    def _activate(
        self,
        element: Element,
        scope: ElementInstance,
        *,
        temp_variables: Mapping[str, Any] | None = None,
        triggered: bool = False,
    ) -> ElementInstance:
        element_type = MI_BODY if element.multi_instance is not None else None
        inst = self._new_instance(element, scope, element_type)
        if temp_variables is not None:
            inst.temp_variables = dict(temp_variables)
        inst.triggered = triggered
        self._transition(inst, ACTIVATING)
        self._run_activation(inst)
        return inst

    def _run_activation(self, inst: ElementInstance) -> None:
        try:
            self._activation_step(inst)
        except StepFailure as failure:
            self._raise_incident(inst, failure, RetryStep("_run_activation", (inst,)))

    def _activation_step(self, inst: ElementInstance) -> None:
        if inst.state != ACTIVATING:
            return
        element = inst.element
        if inst.element_type == MI_BODY:
            self._activate_mi_body(inst)
            return
        if inst.listener_index == 0:  # input mappings run once, before the start listeners
            for mapping in element.inputs:
                value = self._eval(mapping.source, inst, error_type="IO_MAPPING_ERROR")
                self._set_target(inst, mapping.target, value, local=True)
        if element.start_listeners and listeners.next_start_listener(self, inst):
            return  # the element stays ACTIVATING until its start listener jobs complete
        etype = element.element_type
        is_inner = inst.flow_scope is not None and inst.flow_scope.element_type == MI_BODY
        if element.boundary_events and not is_inner:
            self._subscribe_boundaries(inst)
        if element.user_task is not None:
            try:
                user_tasks.create(self, inst)  # ELEMENT_ACTIVATED once the task is CREATED
            except StepFailure:
                self._close_subscriptions(inst)
                raise
            return
        if element.job_type is not None and element.script is None and element.decision_id is None:
            self._create_job(inst)
            self._transition(inst, ACTIVATED)
            return
        if etype == "SCRIPT_TASK" and element.script is not None:
            value = self._eval(element.script, inst)
            inst.temp_variables = {element.result_variable or "": value}
            self._transition(inst, ACTIVATED)
            self._complete(inst)
            return
        if etype == "BUSINESS_RULE_TASK" and element.decision_id is not None:
            decision_id = self._eval(element.decision_id, inst, "STRING")
            if self.evaluate_called_decision is None:
                raise StepFailure("CALLED_DECISION_ERROR", "decision evaluation is not available")
            output = self.evaluate_called_decision(decision_id, self.vars.visible(inst), inst)
            inst.temp_variables = {element.result_variable or "": output}
            self._transition(inst, ACTIVATED)
            self._complete(inst)
            return
        if etype in ("SUB_PROCESS", "EVENT_SUB_PROCESS"):
            try:
                self._subscribe_event_subprocesses(inst)
            except StepFailure:
                self._close_subscriptions(inst)  # the boundary subscriptions opened above, too
                raise
            self._transition(inst, ACTIVATED)
            start = element.none_start
            temp = None
            if etype == "EVENT_SUB_PROCESS":
                start = next(c for c in element.children if c.element_type == "START_EVENT")
                temp, inst.temp_variables = inst.temp_variables, None
            assert start is not None
            inst.active_flows += 1
            self.queue.append(self._arrival(inst, inst.epoch, start, temp))
            return
        if etype == "CALL_ACTIVITY":
            self._activate_call(inst)
            return
        if etype in ("RECEIVE_TASK", "INTERMEDIATE_CATCH_EVENT"):
            if inst.triggered or element.event_type == "LINK":  # a link catch event is reached by its throw
                self._transition(inst, ACTIVATED)
                self._complete(inst)
                return
            try:
                self._subscribe_catch(inst, inst, element)
            except StepFailure:
                self._close_subscriptions(inst)
                raise
            self._transition(inst, ACTIVATED)
            return
        if etype == "EVENT_BASED_GATEWAY":
            self._subscribe_all(inst, element.event_targets)
            self._transition(inst, ACTIVATED)
            return
        if etype in ("EXCLUSIVE_GATEWAY", "INCLUSIVE_GATEWAY"):
            inst.chosen_flows = self._choose_flows(inst)
            self._transition(inst, ACTIVATED)
            self._complete(inst)
            return
        if etype in ("END_EVENT", "INTERMEDIATE_THROW_EVENT"):
            self._activate_throw_event(inst)
            return
        # pass-through elements: start/boundary events, manual tasks, undefined tasks, parallel gateways
        self._transition(inst, ACTIVATED)
        self._complete(inst)

    def _set_target(self, inst: ElementInstance, target: str, value: Any, *, local: bool) -> None:
        """Set an io-mapping target; a dotted target (``a.b``) merges into the object variable ``a``."""
        if "." in target:
            head, *path = target.split(".")
            current = self.vars.visible(inst).get(head)
            root_value = dict(current) if isinstance(current, dict) else {}
            node = root_value
            for part in path[:-1]:
                child = node.get(part)
                node[part] = dict(child) if isinstance(child, dict) else {}
                node = node[part]
            node[path[-1]] = value
            target, value = head, root_value
        if local:
            self.vars.set_local(inst, target, value)
        else:
            assert inst.flow_scope is not None
            self.vars.propagate(inst.flow_scope, {target: value})

    def _choose_flows(self, inst: ElementInstance) -> list[str]:
        element = inst.element
        outgoing = element.outgoing
        if len(outgoing) == 1 and outgoing[0].condition is None:
            return [outgoing[0].id]
        context = self.vars.visible(inst)
        chosen: list[str] = []
        for flow in outgoing:
            if flow.id == element.default_flow or flow.condition is None:
                continue
            try:
                result = flow.condition.evaluate_typed(context, "BOOLEAN", self.feel_clock)
            except ExpressionError as exc:
                raise StepFailure("CONDITION_ERROR", str(exc)) from exc
            if result is True:
                chosen.append(flow.id)
                if element.element_type == "EXCLUSIVE_GATEWAY":
                    break
        if not chosen:
            if element.default_flow:
                return [element.default_flow]
            raise StepFailure(
                "CONDITION_ERROR",
                "Expected at least one condition to evaluate to true, or to have a default flow",
            )
        return chosen

    # ------------------------------------------------------------------------------------------
    # completion and termination
    # ------------------------------------------------------------------------------------------
    def _complete(self, inst: ElementInstance) -> None:
        self._transition(inst, COMPLETING)
        self._run_completion(inst)

    def _run_completion(self, inst: ElementInstance) -> None:
        try:
            self._completion_step(inst)
        except StepFailure as failure:
            self._raise_incident(inst, failure, RetryStep("_run_completion", (inst,)))

    def _completion_step(self, inst: ElementInstance) -> None:
        if inst.state != COMPLETING:
            return
        element = inst.element
        scope = inst.flow_scope
        is_inner = scope is not None and scope.element_type == MI_BODY
        if inst.element_type == MI_BODY:
            mi = element.multi_instance
            assert mi is not None and scope is not None
            if mi.output_collection:
                self.vars.propagate(scope, {mi.output_collection: self.vars.local(inst).get(mi.output_collection)})
        elif inst.element_type != "PROCESS":
            if listeners.outputs_pending(inst):
                self._apply_outputs(inst)
            if element.end_listeners and listeners.next_end_listener(self, inst):
                return  # the element stays COMPLETING until its end listener jobs complete
        if is_inner:
            assert scope is not None
            mi = element.multi_instance
            assert mi is not None
            if mi.output_collection and mi.output_element is not None:
                value = self._eval(mi.output_element, inst)
                collection = list(self.vars.local(scope).get(mi.output_collection) or [])
                index = inst.loop_counter - 1
                while len(collection) <= index:
                    collection.append(None)
                collection[index] = value
                self.vars.set_local(scope, mi.output_collection, collection)
        self._close_subscriptions(inst)
        if scope is not None and (inst.compensable or element.compensation_handler is not None):
            compensation.remember_completion(inst, scope, is_inner=is_inner)
        if element.element_type == "END_EVENT" and element.event_type == "TERMINATE" and scope is not None:
            self._interrupt_scope(scope, spare=inst)
        self._transition(inst, COMPLETED)
        variables = self.vars.visible(inst) if inst.element_type == "PROCESS" else None
        self._remove(inst)
        if inst.element_type == "PROCESS":
            self._process_completed(inst, variables or {})
            return
        assert scope is not None
        if is_inner:
            self._inner_completed(scope, inst)
            return
        if element.is_for_compensation:
            compensation.handler_completed(self, inst)
        flows = inst.chosen_flows
        if flows is None:
            taken = element.outgoing
        else:
            by_id = {f.id: f for f in element.outgoing}
            taken = [by_id[f] for f in flows]
        if element.element_type == "EVENT_BASED_GATEWAY":
            taken = []
        for flow in taken:
            self._take_flow(scope, flow, inst)
        if not taken:
            self._check_scope(scope)

    def _apply_outputs(self, inst: ElementInstance) -> None:
        element = inst.element
        temp = inst.temp_variables
        if element.element_type == "CALL_ACTIVITY" and not element.propagate_all_child and not element.outputs:
            temp = None
        if element.outputs:
            if temp:
                self.vars.set_all_local(inst, temp)
            results = [(m.target, self._eval(m.source, inst, error_type="IO_MAPPING_ERROR")) for m in element.outputs]
            for target, value in results:
                self._set_target(inst, target, value, local=False)
        elif temp:
            self.vars.propagate(inst, temp)
        inst.temp_variables = None

    def _remove(self, inst: ElementInstance) -> None:
        if inst.flow_scope is not None:
            inst.flow_scope.children.pop(inst.key, None)
        self.instances.pop(inst.key, None)
        self.vars.drop(inst.key)
        if inst.incident_key:
            self.incidents.pop(inst.incident_key, None)

    def _interrupt_scope(self, scope: ElementInstance, spare: ElementInstance | None = None) -> None:
        """Terminate every child of ``scope`` (but ``spare``) and drop its tokens: queued arrivals of the
        old epoch are ignored."""
        for child in list(scope.children.values()):
            if child is not spare:
                self._terminate(child)
        scope.active_flows = 0
        scope.join_tokens.clear()
        scope.epoch += 1

    def _check_scope(self, scope: ElementInstance) -> None:
        if scope.state != ACTIVATED or scope.children or scope.active_flows:
            return
        if scope.element_type == MI_BODY:
            return
        self._complete(scope)

    def _terminate(self, inst: ElementInstance) -> None:
        if inst.state in (COMPLETED, TERMINATED, TERMINATING):
            return
        self._transition(inst, TERMINATING)
        for child in list(inst.children.values()):
            self._terminate(child)
        self._close_subscriptions(inst)
        if inst.job_key:
            self._cancel_job(inst.job_key)
        if inst.key in self.user_task_of_instance:
            user_tasks.cancel(self, inst)
        if inst.incident_key and inst.incident_key in self.incidents:
            self._resolve_incident_record(self.incidents.pop(inst.incident_key))
        if inst.called_instance_key:
            child_root = self.instances.get(inst.called_instance_key)
            if child_root is not None:
                self._terminate(child_root)
        inst.active_flows = 0
        inst.join_tokens.clear()
        inst.epoch += 1
        self._transition(inst, TERMINATED)
        self._remove(inst)
        if inst.element_type == "PROCESS":
            self._instance_ended(inst)
            self.on_process_ended(inst, None)

    # ------------------------------------------------------------------------------------------
    # process completion, call activities
    # ------------------------------------------------------------------------------------------
    def _process_completed(self, root: ElementInstance, variables: dict[str, Any]) -> None:
        self._instance_ended(root)
        self.on_process_ended(root, variables)
        if root.parent_element_instance_key > 0:
            call = self.instances.get(root.parent_element_instance_key)
            if call is not None and call.state == ACTIVATED:
                call.called_instance_key = 0
                call.temp_variables = variables
                self._complete(call)

    def _instance_ended(self, root: ElementInstance) -> None:
        for (bpmn_id, correlation), key in list(self.message_start_keys.items()):
            if key == root.key:
                del self.message_start_keys[(bpmn_id, correlation)]
                self.queue.append(functools.partial(self._retry_buffered_start, bpmn_id, correlation))

    def _activate_call(self, inst: ElementInstance) -> None:
        element = inst.element
        assert element.called_process_id is not None
        process_id = self._eval(element.called_process_id, inst, "STRING")
        versions = self.processes_by_id.get((process_id, inst.process.tenant_id)) or []
        try:
            called = select_called_process(element, process_id, versions, inst.process, self.processes_by_deployment)
        except CalledProcessNotFound as exc:
            raise StepFailure("CALLED_ELEMENT_ERROR", str(exc)) from exc
        if called.model.root.none_start is None:
            raise StepFailure(
                "CALLED_ELEMENT_ERROR",
                f"Expected process with BPMN process id '{process_id}' to have a none start event, but not found.",
            )
        variables = self.vars.visible(inst) if element.propagate_all_parent else dict(self.vars.local(inst))
        self._transition(inst, ACTIVATED)
        child = self.start_instance(called, [called.model.root.none_start], variables, parent=inst)
        inst.called_instance_key = child.key

    # ------------------------------------------------------------------------------------------
    # multi-instance (docs.camunda.io/docs/components/modeler/bpmn/multi-instance/)
    # ------------------------------------------------------------------------------------------
    def _activate_mi_body(self, body: ElementInstance) -> None:
        mi = body.element.multi_instance
        assert mi is not None
        items = self._eval(mi.input_collection, body, "ARRAY")
        if body.element.boundary_events:
            self._subscribe_boundaries(body)
        body.mi_items = list(items)
        if mi.output_collection:
            self.vars.set_local(body, mi.output_collection, [None] * len(body.mi_items))
        self._transition(body, ACTIVATED)
        if not body.mi_items:
            self._complete(body)
            return
        count = 1 if mi.sequential else len(body.mi_items)
        for _ in range(count):
            self._spawn_inner(body)

    def _spawn_inner(self, body: ElementInstance) -> None:
        mi = body.element.multi_instance
        assert mi is not None and body.mi_items is not None
        index = body.mi_next
        body.mi_next += 1
        inner = self._new_instance(body.element, body)
        inner.loop_counter = index + 1
        self._transition(inner, ACTIVATING)
        if mi.input_element:
            self.vars.set_local(inner, mi.input_element, body.mi_items[index])
        self.vars.set_local(inner, "loopCounter", index + 1)
        output_variable = mi.output_element_variable
        if output_variable is not None and output_variable != mi.input_element:
            self.vars.set_local(inner, output_variable, None)  # keeps a job's variable of that name local
        self._run_activation(inner)

    def _inner_completed(self, body: ElementInstance, inner: ElementInstance) -> None:
        mi = body.element.multi_instance
        assert mi is not None and body.mi_items is not None
        body.mi_completed += 1
        if body.state != ACTIVATED:
            return
        total = len(body.mi_items)
        if mi.completion_condition is not None:
            context = self.vars.visible(body)
            context.update(
                numberOfInstances=total,
                numberOfCompletedInstances=body.mi_completed,
                numberOfActiveInstances=len(body.children),
                numberOfTerminatedInstances=0,
                loopCounter=inner.loop_counter,
            )
            try:
                done = mi.completion_condition.evaluate_typed(context, "BOOLEAN", self.feel_clock)
            except ExpressionError as exc:
                self._raise_incident(
                    body, StepFailure("EXTRACT_VALUE_ERROR", str(exc)), RetryStep("_inner_retry", (body,))
                )
                return
            if done:
                for child in list(body.children.values()):
                    self._terminate(child)
                self._complete(body)
                return
        if mi.sequential and body.mi_next < total:
            self._spawn_inner(body)
        elif not body.children:
            self._complete(body)

    def _inner_retry(self, body: ElementInstance) -> None:
        if body.state == ACTIVATED and not body.children:
            mi = body.element.multi_instance
            assert mi is not None and body.mi_items is not None
            if mi.sequential and body.mi_next < len(body.mi_items):
                self._spawn_inner(body)
            else:
                self._complete(body)

    # ------------------------------------------------------------------------------------------
    # jobs (docs.camunda.io/docs/components/concepts/job-workers/)
    # ------------------------------------------------------------------------------------------
    def _create_job(self, inst: ElementInstance) -> None:
        element = inst.element
        assert element.job_type is not None and element.job_retries is not None
        job_type = self._eval(element.job_type, inst, "STRING")
        retries = self._eval(element.job_retries, inst, "NUMBER")
        headers = self._job_headers(inst)
        job = Job(
            key=self.w.next_key(),
            type=job_type,
            element_instance=inst,
            retries=int(retries),
            custom_headers=headers,
            tenant_id=inst.process.tenant_id,
        )
        self.jobs[job.key] = job
        inst.job_key = job.key
        self._job_event(job, "CREATED")
        self._make_activatable(job)

    def _job_headers(self, inst: ElementInstance) -> dict[str, str]:
        """The element's custom headers, its FEEL headers (``=...``) evaluated; the model's own dict when none is."""
        headers = inst.element.headers
        if any(v.startswith("=") for v in headers.values()):
            headers = {k: self._header_value(v, inst) if v.startswith("=") else v for k, v in headers.items()}
        return headers

    def _header_value(self, raw: str, inst: ElementInstance) -> str:
        value = self._eval(Expression(raw), inst)
        return value if isinstance(value, str) else json.dumps(value)

    def job_value(self, job: Job, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        inst = job.element_instance
        process = inst.process
        return {
            "type": job.type,
            "worker": job.worker,
            "retries": job.retries,
            "deadline": job.deadline,
            "errorMessage": job.error_message,
            "errorCode": job.error_code,
            "customHeaders": job.custom_headers,
            "variables": variables or {},
            "elementId": inst.element.id,
            "elementInstanceKey": inst.key,
            "processInstanceKey": inst.process_instance_key,
            "bpmnProcessId": process.bpmn_process_id,
            "processDefinitionKey": process.key,
            "processDefinitionVersion": process.version,
            "retryBackoff": job.retry_backoff,
            "recurringTime": job.recurring_time,
            "tenantId": job.tenant_id,
            "jobKind": job.kind,
            "jobListenerEventType": job.listener_event_type,
        }

    def _job_event(self, job: Job, intent: str, variables: dict[str, Any] | None = None) -> None:
        if self.w.replaying:
            self.w.position += 1
            return
        self.w.event("JOB", intent, job.key, self.job_value(job, variables), job.element_instance.process_instance_key)

    def _make_activatable(self, job: Job) -> None:
        job.state = JOB_ACTIVATABLE
        job.deadline = -1
        job.worker = ""
        self.activatable.setdefault(job.type, {})[job.key] = job
        self.on_jobs_available(job.type)

    def _leave_activatable(self, job: Job) -> None:
        bucket = self.activatable.get(job.type)
        if bucket is not None:
            bucket.pop(job.key, None)

    def _cancel_job(self, job_key: int) -> None:
        job = self.jobs.pop(job_key, None)
        if job is None:
            return
        self._leave_activatable(job)
        if job.incident_key and job.incident_key in self.incidents:
            self._resolve_incident_record(self.incidents.pop(job.incident_key))
        self._job_event(job, "CANCELED")

    def has_activatable(self, job_type: str) -> bool:
        return bool(self.activatable.get(job_type))

    def activate_jobs(
        self, job_type: str, worker: str, timeout_ms: int, max_jobs: int, tenant_ids: Sequence[str]
    ) -> list[Job]:
        value = {
            "type": job_type,
            "worker": worker,
            "timeout": timeout_ms,
            "maxJobsToActivate": max_jobs,
            "tenantIds": list(tenant_ids) or [DEFAULT_TENANT],
            "jobKeys": [],
            "jobs": [],
            "truncated": False,
        }
        self.w.command("JOB_BATCH", "ACTIVATE", -1, value)
        bucket = self.activatable.get(job_type)
        activated: list[Job] = []
        if bucket:
            tenants = set(tenant_ids) if tenant_ids else None
            # pick first, then take out of the bucket: no copy of a long backlog per activation
            for job in bucket.values():
                if len(activated) >= max_jobs:
                    break
                if tenants is None or job.tenant_id in tenants:
                    activated.append(job)
            for job in activated:
                del bucket[job.key]
                job.state = JOB_ACTIVATED
                job.worker = worker
                job.deadline = self.w.now + timeout_ms
                self.add_due(job.deadline, "job_timeout", job.key)
        if activated:
            key = self.w.next_key()
            if not self.w.replaying:
                value["jobKeys"] = [j.key for j in activated]
                value["jobs"] = [self.job_value(j) for j in activated]
            self.w.event("JOB_BATCH", "ACTIVATED", key, value)
        return activated

    def _job_for(self, job_key: int, intent: str, value: dict[str, Any], verb: str, states: Sequence[str]) -> Job:
        job = self.jobs.get(job_key)
        if job is None:
            self._reject_cmd(
                "JOB",
                intent,
                value,
                RejectionType.NOT_FOUND,
                f"Expected to {verb} job with key '{job_key}', but no such job was found",
            )
        if job.state not in states:
            wording = {
                JOB_FAILED: "it is marked as failed",
                JOB_ERROR_THROWN: "it is in an error state",
                JOB_ACTIVATABLE: "it is not activated",
            }.get(job.state, f"it is in state '{job.state}'")
            self._reject_cmd(
                "JOB",
                intent,
                value,
                RejectionType.INVALID_STATE,
                f"Expected to {verb} job with key '{job_key}', but {wording}",
            )
        return job

    def complete_job(self, job_key: int, variables: Mapping[str, Any], result: Mapping[str, Any] | None = None) -> None:
        value: dict[str, Any] = {"variables": dict(variables)}
        if result is not None:
            value["result"] = dict(result)
        self.w.command("JOB", "COMPLETE", job_key, value)
        job = self._job_for(job_key, "COMPLETE", value, "complete", (JOB_ACTIVATABLE, JOB_ACTIVATED))
        if result is not None or job.kind == user_tasks.TASK_LISTENER_JOB:
            user_tasks.check_job_completion(self, job, value, variables, result)
        self._leave_activatable(job)
        del self.jobs[job_key]
        self._job_event(job, "COMPLETED", value["variables"])  # the record is serialized at once: no copy
        if job.kind == user_tasks.TASK_LISTENER_JOB:
            user_tasks.listener_completed(self, job, result)
            return
        if job.kind == listeners.LISTENER_JOB:
            listeners.listener_completed(self, job, variables)
            return
        inst = job.element_instance
        inst.job_key = 0
        if inst.state == ACTIVATED:
            inst.temp_variables = dict(variables) if variables else None
            self._complete(inst)

    def fail_job(
        self, job_key: int, retries: int, error_message: str, backoff_ms: int, variables: Mapping[str, Any]
    ) -> None:
        value = {
            "retries": retries,
            "errorMessage": error_message,
            "retryBackoff": backoff_ms,
            "variables": dict(variables),
        }
        self.w.command("JOB", "FAIL", job_key, value)
        job = self._job_for(job_key, "FAIL", value, "fail", (JOB_ACTIVATABLE, JOB_ACTIVATED))
        self._leave_activatable(job)
        job.retries = retries
        job.error_message = error_message
        job.retry_backoff = backoff_ms
        job.state = JOB_FAILED
        inst = job.element_instance
        if variables:
            self.vars.set_all_local(inst, variables)
        if retries > 0 and backoff_ms > 0:
            job.recurring_time = self.w.now + backoff_ms
            self._job_event(job, "FAILED")
            self.add_due(job.recurring_time, "job_backoff", job.key)
        elif retries > 0:
            self._job_event(job, "FAILED")
            self._make_activatable(job)
        else:
            self._job_event(job, "FAILED")
            message = error_message or "No more retries left."
            self._job_incident(job, self._no_retries_incident(job), message)

    @staticmethod
    def _no_retries_incident(job: Job) -> str:
        if job.kind == user_tasks.TASK_LISTENER_JOB:
            return user_tasks.NO_RETRIES_INCIDENT
        return listeners.NO_RETRIES_INCIDENT if job.kind == listeners.LISTENER_JOB else "JOB_NO_RETRIES"

    def _job_incident(self, job: Job, error_type: str, message: str) -> None:
        incident = self._raise_incident(job.element_instance, StepFailure(error_type, message), None, job.key)
        job.incident_key = incident.key

    def job_timeout(self, job_key: int) -> None:
        job = self.jobs[job_key]
        self.w.command("JOB", "TIME_OUT", job_key, self.job_value(job))
        self._job_event(job, "TIMED_OUT")
        self._make_activatable(job)

    def job_backoff(self, job_key: int) -> None:
        job = self.jobs[job_key]
        self.w.command("JOB", "RECUR_AFTER_BACKOFF", job_key, self.job_value(job))
        self._job_event(job, "RECURRED_AFTER_BACKOFF")
        job.recurring_time = -1
        self._make_activatable(job)

    def update_job_retries(self, job_key: int, retries: int) -> None:
        value = {"retries": retries}
        self.w.command("JOB", "UPDATE_RETRIES", job_key, value)
        if retries < 1:
            self._reject_cmd(
                "JOB",
                "UPDATE_RETRIES",
                value,
                RejectionType.INVALID_ARGUMENT,
                f"Expected to update job retries with key '{job_key}' with a positive amount of retries, "
                f"but the amount given was '{retries}'",
            )
        job = self._job_for(
            job_key,
            "UPDATE_RETRIES",
            value,
            "update retries of",
            (JOB_ACTIVATABLE, JOB_ACTIVATED, JOB_FAILED, JOB_ERROR_THROWN),
        )
        job.retries = retries
        self._job_event(job, "RETRIES_UPDATED")

    def update_job_timeout(self, job_key: int, timeout_ms: int) -> None:
        value = {"timeout": timeout_ms}
        self.w.command("JOB", "UPDATE_TIMEOUT", job_key, value)
        job = self._job_for(job_key, "UPDATE_TIMEOUT", value, "update the timeout of", (JOB_ACTIVATED,))
        job.deadline = self.w.now + timeout_ms
        self._job_event(job, "TIMEOUT_UPDATED")
        self.add_due(job.deadline, "job_timeout", job.key)

    def throw_error(self, job_key: int, code: str, message: str, variables: Mapping[str, Any]) -> None:
        value = {"errorCode": code, "errorMessage": message, "variables": dict(variables)}
        self.w.command("JOB", "THROW_ERROR", job_key, value)
        job = self._job_for(job_key, "THROW_ERROR", value, "throw an error for", (JOB_ACTIVATABLE, JOB_ACTIVATED))
        if job.kind in (listeners.LISTENER_JOB, user_tasks.TASK_LISTENER_JOB):
            what = "an execution" if job.kind == listeners.LISTENER_JOB else "a task"
            self._reject_cmd(
                "JOB",
                "THROW_ERROR",
                value,
                RejectionType.INVALID_STATE,
                f"Expected to throw an error for job with key '{job_key}', but it is {what} listener job; "
                f"throwing a BPMN error from {what} listener job is not supported",
            )
        self._leave_activatable(job)
        job.error_code = code
        job.error_message = message
        job.state = JOB_ERROR_THROWN
        self._job_event(job, "ERROR_THROWN", dict(variables))
        inst = job.element_instance
        del self.jobs[job.key]
        inst.job_key = 0
        if self._throw_error(inst, code, dict(variables)):
            return
        self.jobs[job.key] = job
        inst.job_key = job.key
        reason = (
            f"Expected to throw an error event with the code '{code}' with message '{message}', but it was not "
            "caught. No error events are available in the scope."
        )
        self._job_incident(job, "UNHANDLED_ERROR_EVENT", reason)

    # ------------------------------------------------------------------------------------------
    # incidents (docs.camunda.io/docs/components/concepts/incidents/)
    # ------------------------------------------------------------------------------------------
    def _raise_incident(
        self, inst: ElementInstance, failure: StepFailure, retry: RetryStep | None, job_key: int = -1
    ) -> Incident:
        incident = Incident(self.w.next_key(), failure.error_type, failure.message, inst, job_key, retry)
        self.incidents[incident.key] = incident
        if job_key < 0:
            inst.incident_key = incident.key
        self._incident_event(incident, "CREATED")
        return incident

    def _incident_event(self, incident: Incident, intent: str) -> None:
        if self.w.replaying:
            self.w.position += 1
            return
        inst = incident.element_instance
        self.w.event("INCIDENT", intent, incident.key, self.incident_value(incident), inst.process_instance_key)

    def incident_value(self, incident: Incident) -> dict[str, Any]:
        inst = incident.element_instance
        return {
            "errorType": incident.error_type,
            "errorMessage": incident.error_message,
            "bpmnProcessId": inst.process.bpmn_process_id,
            "processDefinitionKey": inst.process.key,
            "processInstanceKey": inst.process_instance_key,
            "elementId": inst.element.id,
            "elementInstanceKey": inst.key,
            "jobKey": incident.job_key,
            "variableScopeKey": inst.key,
            "tenantId": inst.process.tenant_id,
        }

    def _resolve_incident_record(self, incident: Incident) -> None:
        self._incident_event(incident, "RESOLVED")
        if incident.element_instance.incident_key == incident.key:
            incident.element_instance.incident_key = 0

    def resolve_incident(self, incident_key: int) -> None:
        value = {"incidentKey": incident_key}
        self.w.command("INCIDENT", "RESOLVE", incident_key, value)
        incident = self.incidents.get(incident_key)
        if incident is None:
            self._reject_cmd(
                "INCIDENT",
                "RESOLVE",
                value,
                RejectionType.NOT_FOUND,
                f"Expected to resolve incident with key '{incident_key}', but no such incident was found",
            )
        del self.incidents[incident_key]
        self._resolve_incident_record(incident)
        if incident.job_key > 0:
            job = self.jobs.get(incident.job_key)
            if job is None:
                return
            job.incident_key = 0
            if job.retries > 0 or job.state == JOB_ERROR_THROWN:
                job.error_code = ""
                self._make_activatable(job)
            else:
                self._job_incident(job, self._no_retries_incident(job), job.error_message or "No more retries left.")
        elif incident.retry is not None:
            getattr(self, incident.retry.method)(*incident.retry.args)

    # ------------------------------------------------------------------------------------------
    # variables
    # ------------------------------------------------------------------------------------------
    def set_variables(self, element_instance_key: int, variables: Mapping[str, Any], local: bool) -> int:
        key = self.w.next_key()
        value = {
            "scopeKey": element_instance_key,
            "variables": dict(variables),
            "updateSemantics": "LOCAL" if local else "PROPAGATE",
        }
        self.w.command("VARIABLE_DOCUMENT", "UPDATE", -1, value)
        inst = self.instances.get(element_instance_key)
        if inst is None or not inst.is_active:
            self._reject_cmd(
                "VARIABLE_DOCUMENT",
                "UPDATE",
                value,
                RejectionType.NOT_FOUND,
                f"Expected to update variables for element with key '{element_instance_key}', but no such element "
                "was found",
            )
        self.w.event("VARIABLE_DOCUMENT", "UPDATED", key, value, inst.process_instance_key)
        if local:
            self.vars.set_all_local(inst, variables)
        else:
            self.vars.propagate(inst, variables)
        return key

    # ------------------------------------------------------------------------------------------
    # event subscriptions: timers, messages, signals
    # ------------------------------------------------------------------------------------------
    def _subscribe_boundaries(self, inst: ElementInstance) -> None:
        self._subscribe_all(inst, inst.element.boundary_events)

    def _subscribe_event_subprocesses(self, container: ElementInstance) -> None:
        self._subscribe_all(container, container.element.event_sub_starts)

    def _subscribe_all(self, owner: ElementInstance, catches: Sequence[Element]) -> None:
        """Open the subscriptions of ``catches`` for ``owner``; all or none (a failure closes what this
        activation step opened, so that the incident's retry starts clean)."""
        try:
            for catch in catches:
                if catch.event_type in ("TIMER", "MESSAGE", "SIGNAL"):
                    self._subscribe_catch(owner, owner, catch)
        except StepFailure:
            self._close_subscriptions(owner)
            raise

    def _subscribe_catch(self, owner: ElementInstance, scope: ElementInstance, catch: Element) -> None:
        """Open the subscription that lets ``catch`` trigger for ``owner`` (expressions see ``scope``)."""
        if catch.event_type == "TIMER":
            assert catch.timer is not None
            # FEEL durations, periods and date-times come back as their ISO 8601 text
            text = self._eval(catch.timer.expression, scope, "STRING")
            try:
                plan = schedule(catch.timer.kind, text, self.w.now)
            except TimerFormatError as exc:
                raise StepFailure("EXTRACT_VALUE_ERROR", str(exc)) from exc
            if catch.timer.kind == "cycle" and catch.interrupting and catch.element_type != "START_EVENT":
                plan = Schedule(plan.due, 1, plan.interval)
            timer = self._create_timer(owner.process, catch, owner, plan)
            owner.timer_keys.append(timer.key)
        elif catch.event_type == "MESSAGE":
            assert catch.message is not None and catch.message.correlation_key is not None
            name = self._eval(catch.message.name, scope, "STRING")
            correlation = self._eval(catch.message.correlation_key, scope, "STRING")
            sub = MessageSubscription(
                self.w.next_key(), name, correlation, owner, catch, catch.interrupting, owner.process.tenant_id
            )
            self.subscriptions[sub.key] = sub
            self.subs_by_corr.setdefault((name, correlation, sub.tenant_id), {})[sub.key] = sub
            owner.subscription_keys.append(sub.key)
            self._subscription_event(sub, "CREATED")
            self.queue.append(lambda: self._correlate_buffered(sub))
        elif catch.event_type == "SIGNAL":
            assert catch.signal_name is not None
            name = self._eval(catch.signal_name, scope, "STRING")
            signal = SignalSubscription(self.w.next_key(), name, owner, catch, owner.process)
            self.signal_subs.setdefault(name, {})[signal.key] = signal
            owner.signal_keys.append(signal.key)
            self._signal_sub_event(signal, "CREATED")

    def _close_subscriptions(self, inst: ElementInstance, only: Callable[[Element], bool] | None = None) -> None:
        if inst.timer_keys:
            keep = []
            for key in inst.timer_keys:
                timer = self.timers.get(key)
                if timer is None:
                    continue
                if only is not None and not only(timer.catch):
                    keep.append(key)
                    continue
                del self.timers[key]
                self._timer_event(timer, "CANCELED")
            inst.timer_keys = keep
        if inst.subscription_keys:
            keep = []
            for key in inst.subscription_keys:
                sub = self.subscriptions.get(key)
                if sub is None:
                    continue
                if only is not None and not only(sub.catch):
                    keep.append(key)
                    continue
                self._delete_subscription(sub)
            inst.subscription_keys = keep
        if inst.signal_keys:
            keep = []
            for key in inst.signal_keys:
                found = None
                for subs in self.signal_subs.values():
                    if key in subs:
                        found = subs[key]
                        break
                if found is None:
                    continue
                if only is not None and not only(found.catch):
                    keep.append(key)
                    continue
                del self.signal_subs[found.name][key]
                self._signal_sub_event(found, "DELETED")
            inst.signal_keys = keep

    def _delete_subscription(self, sub: MessageSubscription) -> None:
        self.subscriptions.pop(sub.key, None)
        bucket = self.subs_by_corr.get((sub.name, sub.correlation_key, sub.tenant_id))
        if bucket is not None:
            bucket.pop(sub.key, None)
            if not bucket:
                del self.subs_by_corr[(sub.name, sub.correlation_key, sub.tenant_id)]
        self._subscription_event(sub, "DELETED")

    def _subscription_event(
        self, sub: MessageSubscription, intent: str, variables: dict[str, Any] | None = None, message_key: int = -1
    ) -> None:
        if self.w.replaying:
            self.w.position += 2
            return
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

    def _signal_sub_event(self, sub: SignalSubscription, intent: str) -> None:
        if self.w.replaying:
            self.w.position += 1
            return
        value = {
            "signalName": sub.name,
            "processDefinitionKey": sub.process.key,
            "bpmnProcessId": sub.process.bpmn_process_id,
            "catchEventId": sub.catch.id,
            "catchEventInstanceKey": sub.owner.key if sub.owner else -1,
            "tenantId": sub.process.tenant_id,
        }
        self.w.event("SIGNAL_SUBSCRIPTION", intent, sub.key, value, sub.owner.process_instance_key if sub.owner else -1)

    def _create_timer(
        self, process: DeployedProcess, catch: Element, owner: ElementInstance | None, plan: Schedule
    ) -> Timer:
        timer = Timer(self.w.next_key(), plan.due, plan.repetitions, plan.interval, catch.id, process, owner, catch)
        self.timers[timer.key] = timer
        self._timer_event(timer, "CREATED")
        self.add_due(timer.due, "timer", timer.key)
        return timer

    def _timer_event(self, timer: Timer, intent: str) -> None:
        if self.w.replaying:
            self.w.position += 1
            return
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

    def trigger_timer(self, timer_key: int) -> None:
        timer = self.timers.pop(timer_key)
        self.w.command("TIMER", "TRIGGER", timer_key, {"targetElementId": timer.element_id, "dueDate": timer.due})
        self._timer_event(timer, "TRIGGERED")
        owner = timer.element_instance
        repeat = timer.repetitions != 1
        next_plan = None
        if repeat:
            next_due = next_repetition(timer.interval, timer.due, self.w.now)
            next_plan = Schedule(next_due, timer.repetitions - 1 if timer.repetitions > 0 else -1, timer.interval)
        if owner is None:
            keys = self.start_timers.setdefault((timer.process.bpmn_process_id, timer.process.tenant_id), [])
            if timer.key in keys:
                keys.remove(timer.key)
            if next_plan is not None:
                keys.append(self._create_timer(timer.process, timer.catch, None, next_plan).key)
            self.start_instance(timer.process, [timer.catch], {})
            return
        if timer.key in owner.timer_keys:
            owner.timer_keys.remove(timer.key)
        if next_plan is not None and not timer.catch.interrupting:
            owner.timer_keys.append(self._create_timer(timer.process, timer.catch, owner, next_plan).key)
        self._trigger(owner, timer.catch, None)

    def _trigger(self, owner: ElementInstance, catch: Element, variables: dict[str, Any] | None) -> None:
        """An event for ``catch`` happened for ``owner`` (its activity, container or itself)."""
        if owner.state != ACTIVATED:
            return
        if catch.element_type == "BOUNDARY_EVENT":
            scope = owner.flow_scope
            assert scope is not None
            if catch.interrupting:
                self._terminate(owner)  # termination never completes the scope; the boundary takes over
            self._activate(catch, scope, temp_variables=variables)
            return
        if catch.parent is not None and catch.parent.triggered_by_event:
            if owner.interrupted:
                return
            if catch.interrupting:
                owner.interrupted = True
                self._close_subscriptions(owner, only=lambda c: bool(c.parent and c.parent.triggered_by_event))
                self._interrupt_scope(owner)
            self._activate(catch.parent, owner, temp_variables=variables)
            return
        if owner.element_type == "EVENT_BASED_GATEWAY":
            scope = owner.flow_scope
            assert scope is not None
            self._close_subscriptions(owner)
            owner.chosen_flows = []
            scope.active_flows += 1  # the token moves on to the triggered event, not out of the scope
            self._complete(owner)
            scope.active_flows -= 1
            self._activate(catch, scope, temp_variables=variables, triggered=True)
            return
        # the catch event / receive task itself
        self._close_subscriptions(owner)
        owner.temp_variables = variables
        self._complete(owner)

    # -- messages (docs.camunda.io/docs/components/concepts/messages/) --------------------------
    def publish_message(
        self, name: str, correlation_key: str, ttl: int, message_id: str, variables: Mapping[str, Any], tenant_id: str
    ) -> int:
        value = {
            "name": name,
            "correlationKey": correlation_key,
            "timeToLive": ttl,
            "messageId": message_id,
            "variables": dict(variables),
            "deadline": self.w.now + ttl,
            "tenantId": tenant_id,
        }
        self.w.command("MESSAGE", "PUBLISH", -1, value)
        bucket = self.messages_by_corr.get((name, correlation_key, tenant_id), {})
        if message_id and any(m.message_id == message_id and m.deadline > self.w.now for m in bucket.values()):
            self._reject_cmd(
                "MESSAGE",
                "PUBLISH",
                value,
                RejectionType.ALREADY_EXISTS,
                f"Expected to publish a new message with id '{message_id}', but a message with that id was "
                "already published",
            )
        message = Message(
            self.w.next_key(), name, correlation_key, dict(variables), self.w.now + ttl, ttl, message_id, tenant_id
        )
        self.w.event("MESSAGE", "PUBLISHED", message.key, value)
        self._correlate_message(message)
        if ttl > 0:
            self.messages[message.key] = message
            self.messages_by_corr.setdefault((name, correlation_key, tenant_id), {})[message.key] = message
            self.add_due(message.deadline, "message_expire", message.key)
        else:
            self.w.event("MESSAGE", "EXPIRED", message.key, value)
        return message.key

    def _message_value(self, message: Message) -> dict[str, Any]:
        return {
            "name": message.name,
            "correlationKey": message.correlation_key,
            "timeToLive": message.time_to_live,
            "messageId": message.message_id,
            "variables": message.variables,
            "deadline": message.deadline,
            "tenantId": message.tenant_id,
        }

    def expire_message(self, message_key: int) -> None:
        message = self.messages.pop(message_key)
        self.w.command("MESSAGE", "EXPIRE", message_key, self._message_value(message))
        bucket = self.messages_by_corr.get((message.name, message.correlation_key, message.tenant_id))
        if bucket is not None:
            bucket.pop(message_key, None)
            if not bucket:
                del self.messages_by_corr[(message.name, message.correlation_key, message.tenant_id)]
        self.w.event("MESSAGE", "EXPIRED", message_key, self._message_value(message))

    def _correlate_message(self, message: Message) -> None:
        subs = self.subs_by_corr.get((message.name, message.correlation_key, message.tenant_id))
        if subs:
            for sub in list(subs.values()):
                if sub.key not in self.subscriptions:
                    continue
                bpmn_id = sub.owner.process.bpmn_process_id
                if bpmn_id in message.correlated_processes or sub.owner.state != ACTIVATED:
                    continue
                message.correlated_processes.add(bpmn_id)
                self._correlate(sub, message)
        for process, start in self.message_starts.get((message.name, message.tenant_id), []):
            self._message_start(process, start, message)

    def _message_start(self, process: DeployedProcess, start: Element, message: Message) -> None:
        bpmn_id = process.bpmn_process_id
        if bpmn_id in message.correlated_processes:
            return
        if message.correlation_key and (bpmn_id, message.correlation_key) in self.message_start_keys:
            return  # one instance per correlation key at a time; the message stays buffered
        message.correlated_processes.add(bpmn_id)
        if not self.w.replaying:
            value = dict(
                self._message_value(message),
                bpmnProcessId=bpmn_id,
                messageKey=message.key,
                startEventId=start.id,
                processDefinitionKey=process.key,
            )
            self.w.event("MESSAGE_START_EVENT_SUBSCRIPTION", "CORRELATED", message.key, value)
        else:
            self.w.position += 1
        root = self.start_instance(process, [start], {}, start_variables=message.variables)
        if message.correlation_key:
            self.message_start_keys[(bpmn_id, message.correlation_key)] = root.key

    def _retry_buffered_start(self, bpmn_id: str, correlation_key: str) -> None:
        for (name, corr, _tenant), bucket in list(self.messages_by_corr.items()):
            if corr != correlation_key:
                continue
            for message in list(bucket.values()):
                if message.deadline <= self.w.now:
                    continue
                for process, start in self.message_starts.get((name, message.tenant_id), []):
                    if process.bpmn_process_id == bpmn_id:
                        self._message_start(process, start, message)
                        if (bpmn_id, correlation_key) in self.message_start_keys:
                            return

    def _correlate(self, sub: MessageSubscription, message: Message) -> None:
        self._subscription_event(sub, "CORRELATED", message.variables, message.key)
        self._trigger(sub.owner, sub.catch, dict(message.variables))

    def _correlate_buffered(self, sub: MessageSubscription) -> None:
        if sub.key not in self.subscriptions or sub.owner.state != ACTIVATED:
            return
        bucket = self.messages_by_corr.get((sub.name, sub.correlation_key, sub.tenant_id))
        if not bucket:
            return
        bpmn_id = sub.owner.process.bpmn_process_id
        for message in list(bucket.values()):
            if message.deadline <= self.w.now or bpmn_id in message.correlated_processes:
                continue
            message.correlated_processes.add(bpmn_id)
            self._correlate(sub, message)
            return

    # -- signals (docs.camunda.io/docs/components/concepts/signals/) ----------------------------
    def broadcast_signal(self, name: str, variables: Mapping[str, Any], tenant_id: str = DEFAULT_TENANT) -> int:
        value = {"signalName": name, "variables": dict(variables), "tenantId": tenant_id}
        self.w.command("SIGNAL", "BROADCAST", -1, value)
        key = self.w.next_key()
        self.w.event("SIGNAL", "BROADCASTED", key, value)
        self._deliver_signal(name, dict(variables))
        return key

    def _deliver_signal(self, name: str, variables: dict[str, Any]) -> None:
        for sub in list(self.signal_subs.get(name, {}).values()):
            if sub.key not in self.signal_subs.get(name, {}):
                continue
            if sub.owner is None:
                self.start_instance(sub.process, [sub.catch], {}, start_variables=variables)
            elif sub.owner.state == ACTIVATED:
                self._trigger(sub.owner, sub.catch, dict(variables))

    # -- throw events, errors, escalations --------------------------------------------------------
    def _activate_throw_event(self, inst: ElementInstance) -> None:
        element = inst.element
        event = element.event_type
        if event == "SIGNAL":
            assert element.signal_name is not None
            name = self._eval(element.signal_name, inst, "STRING")
            self._transition(inst, ACTIVATED)
            if not self.w.replaying:
                self.w.event(
                    "SIGNAL",
                    "BROADCASTED",
                    self.w.next_key(),
                    {"signalName": name, "variables": {}, "tenantId": inst.process.tenant_id},
                )
            else:
                self.w.next_key()
                self.w.position += 1
            self._deliver_signal(name, {})
            if inst.state == ACTIVATED:
                self._complete(inst)
            return
        if event == "ERROR":
            # thrown while ACTIVATING (as Zeebe does), so that resolving an unhandled-error incident
            # re-runs the activation and throws again
            code = element.error_code or ""
            if not self._throw_error(inst, code, {}):
                raise StepFailure(
                    "UNHANDLED_ERROR_EVENT",
                    f"Expected to throw an error event with the code '{code}', but it was not caught. "
                    "No error events are available in the scope.",
                )
            return
        if event == "COMPENSATION":
            compensation.throw(self, inst)
            return
        if event == "LINK" and element.link_target is not None:
            # the token jumps to the catch event of the same name (docs: link-events), as if along a flow
            scope = inst.flow_scope
            assert scope is not None
            self._transition(inst, ACTIVATED)
            scope.active_flows += 1
            self.queue.append(self._arrival(scope, scope.epoch, element.link_target, None))
            self._complete(inst)
            return
        if event == "ESCALATION":
            self._transition(inst, ACTIVATED)
            self._throw_escalation(inst, element.escalation_code or "")
            if inst.state == ACTIVATED:
                self._complete(inst)
            return
        self._transition(inst, ACTIVATED)
        self._complete(inst)

    def _catch_candidates(self, inst: ElementInstance, event_type: str, code: str) -> Element | None:
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
                inst = self.instances.get(inst.parent_element_instance_key)
            else:
                inst = inst.flow_scope
        return None

    def _throw_error(self, source: ElementInstance, code: str, variables: dict[str, Any]) -> bool:
        found = self._catch_path(source, "ERROR", code)
        if found is None:
            return False
        owner, catch = found
        if not self.w.replaying:
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
        else:
            self.w.next_key()
            self.w.position += 1
        self._trigger(owner, catch, variables or None)
        return True

    def _throw_escalation(self, source: ElementInstance, code: str) -> None:
        found = self._catch_path(source.flow_scope or source, "ESCALATION", code)
        if not self.w.replaying:
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
        else:
            self.w.next_key()
            self.w.position += 1
        if found is not None:
            self._trigger(found[0], found[1], None)
