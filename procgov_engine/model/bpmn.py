"""BPMN 2.0 XML (Zeebe 8 dialect) into an executable model.

Parsing is also validation: anything the engine cannot run (an element type, an event definition, a
missing zeebe extension) is refused here with :class:`ModelError`, naming the element id and what is
wrong, so that an unsupported model fails at DEPLOY time and never half-way through an instance.
FEEL expressions are compiled here too, so syntax errors are deploy-time errors as well.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from procgov_engine import safe_xml
from procgov_engine.model.expressions import Expression, ExpressionSyntaxError
from procgov_engine.model.timers import TimerFormatError, validate_static

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_B = "{" + BPMN_NS + "}"
_Z = "{" + ZEEBE_NS + "}"

USER_TASK_JOB_TYPE = "io.camunda.zeebe:userTask"
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ModelError(ValueError):
    """The model cannot be deployed; the message names the element and the problem."""


# Zeebe's BpmnElementType names, keyed by the XML tag.
_ELEMENT_TYPES = {
    "startEvent": "START_EVENT",
    "endEvent": "END_EVENT",
    "serviceTask": "SERVICE_TASK",
    "userTask": "USER_TASK",
    "sendTask": "SEND_TASK",
    "receiveTask": "RECEIVE_TASK",
    "scriptTask": "SCRIPT_TASK",
    "manualTask": "MANUAL_TASK",
    "businessRuleTask": "BUSINESS_RULE_TASK",
    "task": "TASK",
    "exclusiveGateway": "EXCLUSIVE_GATEWAY",
    "parallelGateway": "PARALLEL_GATEWAY",
    "inclusiveGateway": "INCLUSIVE_GATEWAY",
    "eventBasedGateway": "EVENT_BASED_GATEWAY",
    "subProcess": "SUB_PROCESS",
    "callActivity": "CALL_ACTIVITY",
    "boundaryEvent": "BOUNDARY_EVENT",
    "intermediateCatchEvent": "INTERMEDIATE_CATCH_EVENT",
    "intermediateThrowEvent": "INTERMEDIATE_THROW_EVENT",
}
_IGNORED_TAGS = {
    "sequenceFlow",
    "extensionElements",
    "documentation",
    "incoming",
    "outgoing",
    "laneSet",
    "textAnnotation",
    "association",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "group",
    "category",
    "ioSpecification",
    "property",
    "dataInputAssociation",
    "dataOutputAssociation",
    "multiInstanceLoopCharacteristics",  # a multi-instance sub-process's own marker, read by the activity
}
_EVENT_DEFINITIONS = {
    "timerEventDefinition": "TIMER",
    "messageEventDefinition": "MESSAGE",
    "errorEventDefinition": "ERROR",
    "signalEventDefinition": "SIGNAL",
    "escalationEventDefinition": "ESCALATION",
    "terminateEventDefinition": "TERMINATE",
    "compensateEventDefinition": "COMPENSATION",
    "linkEventDefinition": "LINK",
    "conditionalEventDefinition": "CONDITIONAL",
    "cancelEventDefinition": "CANCEL",
}
# Which event definitions each event kind supports (anything else is rejected at deploy time).
_SUPPORTED_EVENTS = {
    "START_EVENT": {"NONE", "MESSAGE", "TIMER", "SIGNAL"},
    "EVENT_SUB_START": {"MESSAGE", "TIMER", "ERROR", "SIGNAL", "ESCALATION"},
    "END_EVENT": {"NONE", "ERROR", "TERMINATE", "MESSAGE", "SIGNAL", "ESCALATION", "COMPENSATION"},
    "BOUNDARY_EVENT": {"TIMER", "MESSAGE", "ERROR", "ESCALATION", "SIGNAL", "COMPENSATION"},
    "INTERMEDIATE_CATCH_EVENT": {"TIMER", "MESSAGE", "SIGNAL", "LINK"},
    "INTERMEDIATE_THROW_EVENT": {"NONE", "SIGNAL", "ESCALATION", "MESSAGE", "LINK", "COMPENSATION"},
}
_KNOWN_EXTENSIONS = {
    "taskDefinition",
    "taskHeaders",
    "ioMapping",
    "calledElement",
    "calledDecision",
    "script",
    "subscription",
    "formDefinition",
    "assignmentDefinition",
    "loopCharacteristics",
    "properties",
    "versionTag",
    "userTask",
    "taskSchedule",
    "executionListeners",
    "taskListeners",
    "priorityDefinition",
}
JOB_TASKS = {"SERVICE_TASK", "USER_TASK", "SEND_TASK"}
ACTIVITIES = {
    "SERVICE_TASK",
    "USER_TASK",
    "SEND_TASK",
    "RECEIVE_TASK",
    "SCRIPT_TASK",
    "MANUAL_TASK",
    "BUSINESS_RULE_TASK",
    "TASK",
    "SUB_PROCESS",
    "CALL_ACTIVITY",
}


@dataclass(eq=False)
class SequenceFlow:
    id: str
    source_id: str
    target_id: str
    condition: Expression | None = None


@dataclass(frozen=True)
class Mapping:
    source: Expression
    target: str


@dataclass(frozen=True)
class TimerDef:
    kind: str  # "date" | "duration" | "cycle"
    expression: Expression


@dataclass(frozen=True)
class MessageDef:
    name: Expression
    correlation_key: Expression | None


@dataclass(frozen=True)
class ExecutionListener:
    """``zeebe:executionListener``: a job of ``job_type`` before (start) or after (end) the element."""

    event_type: str  # "start" | "end"
    job_type: Expression
    retries: Expression
    headers: dict[str, str]


TASK_LISTENER_EVENTS = ("creating", "assigning", "updating", "completing", "canceling")
# Camunda 8.7's names of two of them, still read by Zeebe 8.8
_LEGACY_TASK_LISTENER_EVENTS = {"assignment": "assigning", "complete": "completing"}


@dataclass(frozen=True)
class TaskListener:
    """``zeebe:taskListener``: a job of ``job_type`` that blocks the user task's transition of ``event_type``."""

    event_type: str  # one of TASK_LISTENER_EVENTS
    job_type: Expression
    retries: Expression


@dataclass(frozen=True)
class UserTaskDef:
    """A Camunda user task (``zeebe:userTask``): what the engine evaluates when the task is created.

    Candidate users and groups are lists: a static value is Zeebe's comma-separated list, a FEEL one must
    give a list of strings. Dates are ISO 8601 date-times with offset; priority is 0..100 (default 50)."""

    assignee: Expression | None = None
    candidate_groups: Expression | None = None
    candidate_users: Expression | None = None
    due_date: Expression | None = None
    follow_up_date: Expression | None = None
    priority: Expression | None = None
    form_id: str | None = None  # zeebe:formDefinition formId: a form deployed to the engine
    form_binding: str = "latest"  # latest | deployment | versionTag
    form_version_tag: str | None = None
    external_reference: Expression | None = None  # zeebe:formDefinition externalReference
    listeners: tuple[TaskListener, ...] = ()

    def listeners_of(self, event_type: str) -> tuple[TaskListener, ...]:
        return tuple(listener for listener in self.listeners if listener.event_type == event_type)


@dataclass(frozen=True)
class MultiInstance:
    sequential: bool
    input_collection: Expression
    input_element: str | None
    output_collection: str | None
    output_element: Expression | None
    completion_condition: Expression | None

    @functools.cached_property  # read per inner instance: the regex runs once per deployed element
    def output_element_variable(self) -> str | None:
        """The variable an ``outputElement`` expression reads when it is a plain variable name (``=verdict``).

        Zeebe creates it as a null local variable of each inner instance, so that a job's variable of that
        name stays in the inner instance and reaches the process only through the output collection
        (github.com/camunda/zeebe/pull/9947)."""
        element = self.output_element
        if element is None or not element.is_feel or not _VARIABLE_NAME.fullmatch(element.source):
            return None
        return element.source


@dataclass(eq=False)
class Element:
    """One flow element (or the process itself) with everything the processor needs to run it."""

    id: str
    element_type: str  # Zeebe's BpmnElementType
    name: str = ""
    event_type: str = "UNSPECIFIED"  # Zeebe's BpmnEventType
    parent: Element | None = None  # the containing process / sub-process
    incoming: list[SequenceFlow] = field(default_factory=list)
    outgoing: list[SequenceFlow] = field(default_factory=list)
    default_flow: str | None = None
    # zeebe extensions
    job_type: Expression | None = None
    job_retries: Expression | None = None
    headers: dict[str, str] = field(default_factory=dict)
    inputs: list[Mapping] = field(default_factory=list)
    outputs: list[Mapping] = field(default_factory=list)
    script: Expression | None = None
    result_variable: str | None = None
    decision_id: Expression | None = None
    called_process_id: Expression | None = None
    called_binding: str = "latest"  # zeebe:calledElement bindingType: latest | deployment | versionTag
    called_version_tag: str | None = None
    propagate_all_child: bool = True
    propagate_all_parent: bool = True
    multi_instance: MultiInstance | None = None
    user_task: UserTaskDef | None = None  # a Camunda user task (zeebe:userTask); job-based ones have job_type
    start_listeners: list[ExecutionListener] = field(default_factory=list)
    end_listeners: list[ExecutionListener] = field(default_factory=list)
    # events
    timer: TimerDef | None = None
    message: MessageDef | None = None
    signal_name: Expression | None = None
    error_code: str | None = None  # None on a catch event = catch all errors
    escalation_code: str | None = None  # None on a catch event = catch all escalations
    interrupting: bool = True
    # compensation (docs: compensation-events, compensation-handler)
    is_for_compensation: bool = False  # a compensation handler: never reached by a sequence flow
    compensation_handler: Element | None = None  # an activity with a compensation boundary event: its handler
    compensate_activity_ref: str | None = None  # a compensation throw/end event's activityRef
    link_name: str | None = None  # link throw/catch events: the link's name
    link_target: Element | None = None  # link throw event: the catch event of its scope with that name
    attached_to: Element | None = None
    boundary_events: list[Element] = field(default_factory=list)
    # containers (process, sub-process, event sub-process)
    children: list[Element] = field(default_factory=list)
    none_start: Element | None = None
    event_sub_starts: list[Element] = field(default_factory=list)  # start events of contained event sub-processes
    triggered_by_event: bool = False  # an event sub-process
    # event-based gateway: the catch events after it
    event_targets: list[Element] = field(default_factory=list)
    _attached_ref: str = ""

    @property
    def is_container(self) -> bool:
        return self.element_type in ("PROCESS", "SUB_PROCESS", "EVENT_SUB_PROCESS")


@dataclass(eq=False)
class Process:
    bpmn_process_id: str
    name: str
    root: Element
    elements: dict[str, Element]
    flows: dict[str, SequenceFlow]
    executable: bool = True
    version_tag: str = ""  # zeebe:versionTag of the process (for calledElement bindingType="versionTag")

    @property
    def start_events(self) -> list[Element]:
        return [c for c in self.root.children if c.element_type == "START_EVENT"]


def parse_bpmn(content: bytes | str, resource_name: str = "") -> list[Process]:
    """Parse a BPMN document into its executable processes (raises :class:`ModelError`)."""
    try:
        root = safe_xml.parse(content)
    except safe_xml.UnsafeXmlError as exc:
        raise ModelError(f"'{resource_name}': {exc}") from None
    except ET.ParseError as exc:
        raise ModelError(f"'{resource_name}': not well-formed XML: {exc}") from exc
    if root.tag != _B + "definitions":
        raise ModelError(f"'{resource_name}': expected a BPMN 'definitions' root element in namespace {BPMN_NS}")
    parser = _Parser(root, resource_name)
    processes = [parser.process(node) for node in root.findall(_B + "process")]
    executable = [p for p in processes if p.executable]
    if not executable:
        raise ModelError(f"'{resource_name}': Must contain at least one executable process")
    return executable


class _Parser:
    def __init__(self, definitions: ET.Element, resource_name: str) -> None:
        self.resource = resource_name
        self.errors: list[str] = []
        self.messages = {n.get("id"): n for n in definitions.findall(_B + "message")}
        self.error_defs = {n.get("id"): n for n in definitions.findall(_B + "error")}
        self.signals = {n.get("id"): n for n in definitions.findall(_B + "signal")}
        self.escalations = {n.get("id"): n for n in definitions.findall(_B + "escalation")}
        self.associations: list[tuple[str, str]] = []  # (sourceRef, targetRef): compensation boundary → handler

    # -- helpers ---------------------------------------------------------------------------------
    def fail(self, element_id: str, problem: str) -> None:
        self.errors.append(f"Element: {element_id}: {problem}")

    def expr(self, element_id: str, raw: str | None, what: str, *, feel_only: bool = False) -> Expression | None:
        if raw is None:
            return None
        try:
            return Expression(raw, feel_only=feel_only)
        except ExpressionSyntaxError as exc:
            self.fail(element_id, f"{what}: {exc}")
            return None

    # -- process ---------------------------------------------------------------------------------
    def process(self, node: ET.Element) -> Process:
        pid = node.get("id") or ""
        root = Element(id=pid, element_type="PROCESS", name=node.get("name") or "")
        elements: dict[str, Element] = {pid: root}
        flows: dict[str, SequenceFlow] = {}
        executable = node.get("isExecutable", "true").lower() == "true"
        self.container(node, root, elements, flows)
        self.link(elements, flows)
        if not pid:
            self.errors.append("a process has no id")
        ext = node.find(_B + "extensionElements")
        if ext is not None and ext.find(_Z + "executionListeners") is not None:
            self.fail(pid, "execution listeners on the process element are not supported by this engine")
        if self.errors:
            raise ModelError(f"'{self.resource}': " + "; ".join(self.errors))
        tag = ext.find(_Z + "versionTag") if ext is not None else None
        version_tag = (tag.get("value") or "").strip() if tag is not None else ""
        return Process(pid, root.name, root, elements, flows, executable, version_tag)

    def container(
        self, node: ET.Element, scope: Element, elements: dict[str, Element], flows: dict[str, SequenceFlow]
    ) -> None:
        for child in node:
            if not isinstance(child.tag, str) or not child.tag.startswith(_B):
                continue
            tag = child.tag[len(_B) :]
            cid = child.get("id") or ""
            if tag == "sequenceFlow":
                cond_node = child.find(_B + "conditionExpression")
                cond = None
                if cond_node is not None and (cond_node.text or "").strip():
                    text = (cond_node.text or "").strip()
                    if not text.startswith("="):
                        self.fail(cid, f"condition expression '{text}' must be a FEEL expression starting with '='")
                    cond = self.expr(cid, text, "condition expression")
                flow = SequenceFlow(cid, child.get("sourceRef") or "", child.get("targetRef") or "", cond)
                flows[cid] = flow
                continue
            if tag == "association":
                self.associations.append((child.get("sourceRef") or "", child.get("targetRef") or ""))
                continue
            if tag in _IGNORED_TAGS:
                continue
            if tag not in _ELEMENT_TYPES:
                self.fail(cid or tag, f"the element type '{tag}' is not supported by this engine")
                continue
            if cid in elements:
                self.fail(cid, "duplicate element id")
                continue
            element = Element(id=cid, element_type=_ELEMENT_TYPES[tag], name=child.get("name") or "", parent=scope)
            elements[cid] = element
            scope.children.append(element)
            self.element(child, element, elements, flows)

    def element(
        self, node: ET.Element, el: Element, elements: dict[str, Element], flows: dict[str, SequenceFlow]
    ) -> None:
        ext = node.find(_B + "extensionElements")
        el.default_flow = node.get("default")
        self.check_extensions(ext, el)
        if node.get("isForCompensation", "false").lower() == "true":
            el.is_for_compensation = True
        self.io_mappings(ext, el)
        etype = el.element_type
        if etype == "SUB_PROCESS":
            if node.get("triggeredByEvent", "false").lower() == "true":
                el.element_type = "EVENT_SUB_PROCESS"
                el.triggered_by_event = True
            self.container(node, el, elements, flows)
        if etype in JOB_TASKS or etype in ("SCRIPT_TASK", "BUSINESS_RULE_TASK"):
            self.task(node, ext, el)
        elif etype == "CALL_ACTIVITY":
            called = ext.find(_Z + "calledElement") if ext is not None else None
            if called is None or not called.get("processId"):
                self.fail(el.id, "Must have exactly one 'zeebe:calledElement' extension element with a processId")
            else:
                el.called_process_id = self.expr(el.id, called.get("processId"), "processId")
                el.propagate_all_child = called.get("propagateAllChildVariables", "true").lower() != "false"
                el.propagate_all_parent = called.get("propagateAllParentVariables", "true").lower() != "false"
                el.called_binding = called.get("bindingType") or "latest"
                el.called_version_tag = called.get("versionTag")
                if el.called_binding == "versionTag" and not el.called_version_tag:
                    self.fail(el.id, "'zeebe:calledElement' with bindingType 'versionTag' needs a versionTag")
        elif etype == "RECEIVE_TASK":
            el.event_type = "MESSAGE"
            self.message(node, ext, el, "RECEIVE_TASK")
        if etype in ACTIVITIES:
            self.loop(node, ext, el)
        elif node.find(_B + "multiInstanceLoopCharacteristics") is not None:
            self.fail(el.id, "multi-instance characteristics are only supported on activities")
        if etype in (
            "START_EVENT",
            "END_EVENT",
            "BOUNDARY_EVENT",
            "INTERMEDIATE_CATCH_EVENT",
            "INTERMEDIATE_THROW_EVENT",
        ):
            self.event(node, ext, el)
        if node.find(_B + "standardLoopCharacteristics") is not None:
            self.fail(el.id, "standard loop characteristics are not supported")
        self.execution_listeners(ext, el)

    def execution_listeners(self, ext: ET.Element | None, el: Element) -> None:
        """``zeebe:executionListeners`` (docs: concepts/execution-listeners), with Zeebe's limitations: no start
        listeners on start and boundary events, no end listeners on gateways and error end events, unique
        (eventType, type) pairs."""
        container = ext.find(_Z + "executionListeners") if ext is not None else None
        if container is None:
            return
        seen: set[tuple[str, str]] = set()
        for node in container.findall(_Z + "executionListener"):
            event_type = node.get("eventType") or ""
            job_type = (node.get("type") or "").strip()
            if event_type not in ("start", "end"):
                self.fail(el.id, f"execution listener eventType '{event_type}' must be 'start' or 'end'")
                continue
            if not job_type:
                self.fail(el.id, f"a {event_type} execution listener needs a job type")
                continue
            if (event_type, job_type) in seen:
                self.fail(el.id, f"duplicate {event_type} execution listener of type '{job_type}'")
                continue
            seen.add((event_type, job_type))
            etype = el.element_type
            if event_type == "start" and etype in ("START_EVENT", "BOUNDARY_EVENT"):
                self.fail(el.id, f"start execution listeners are not supported on {etype.lower().replace('_', ' ')}s")
                continue
            if event_type == "end" and (
                etype.endswith("_GATEWAY") or (etype == "END_EVENT" and el.event_type == "ERROR")
            ):
                what = "gateways" if etype.endswith("_GATEWAY") else "error end events"
                self.fail(el.id, f"end execution listeners are not supported on {what}")
                continue
            if el.multi_instance is not None:
                self.fail(el.id, "execution listeners on multi-instance activities are not supported by this engine")
                return
            listener_type = self.expr(el.id, job_type, "execution listener type")
            retries = self.expr(el.id, node.get("retries") or "3", "execution listener retries")
            if listener_type is None or retries is None:
                continue
            listener = ExecutionListener(event_type, listener_type, retries, _task_headers(node))
            (el.start_listeners if event_type == "start" else el.end_listeners).append(listener)

    def check_extensions(self, ext: ET.Element | None, el: Element) -> None:
        """Zeebe extensions this engine does not run are refused rather than silently ignored."""
        if ext is None:
            return
        for child in ext:
            if not isinstance(child.tag, str) or not child.tag.startswith(_Z):
                continue
            tag = child.tag[len(_Z) :]
            if tag not in _KNOWN_EXTENSIONS:
                self.fail(el.id, f"the extension element 'zeebe:{tag}' is not supported by this engine")
            binding = child.get("bindingType")
            if tag == "calledElement":
                if binding not in (None, "latest", "deployment", "versionTag"):
                    self.fail(
                        el.id,
                        f"'zeebe:calledElement' bindingType '{binding}' is not one of 'latest', 'deployment', "
                        "'versionTag'",
                    )
            elif tag == "formDefinition" and el.element_type == "USER_TASK" and ext.find(_Z + "userTask") is not None:
                if binding not in (None, "latest", "deployment", "versionTag"):
                    self.fail(
                        el.id,
                        f"'zeebe:formDefinition' bindingType '{binding}' is not one of 'latest', 'deployment', "
                        "'versionTag'",
                    )
            elif binding not in (None, "latest"):
                self.fail(el.id, f"'zeebe:{tag}' bindingType '{binding}' is not supported (only 'latest')")

    def task(self, node: ET.Element, ext: ET.Element | None, el: Element) -> None:
        task_def = ext.find(_Z + "taskDefinition") if ext is not None else None
        el.headers.update(_task_headers(ext))
        if el.element_type == "SCRIPT_TASK":
            script = ext.find(_Z + "script") if ext is not None else None
            if script is not None:
                el.script = self.expr(el.id, script.get("expression"), "script expression", feel_only=True)
                el.result_variable = script.get("resultVariable")
                if el.script is None or not el.result_variable:
                    self.fail(el.id, "'zeebe:script' needs both 'expression' and 'resultVariable'")
                return
        if el.element_type == "BUSINESS_RULE_TASK":
            called = ext.find(_Z + "calledDecision") if ext is not None else None
            if called is not None:
                el.decision_id = self.expr(el.id, called.get("decisionId"), "decisionId")
                el.result_variable = called.get("resultVariable")
                if el.decision_id is None or not el.result_variable:
                    self.fail(el.id, "'zeebe:calledDecision' needs both 'decisionId' and 'resultVariable'")
                return
        if el.element_type == "USER_TASK":
            self.user_task(ext, el)
            return
        self.task_definition(task_def, el)

    def task_definition(self, task_def: ET.Element | None, el: Element) -> None:
        if task_def is None or not (task_def.get("type") or "").strip():
            self.fail(el.id, "Must have exactly one 'zeebe:taskDefinition' extension element with a type")
            return
        el.job_type = self.expr(el.id, task_def.get("type"), "job type")
        el.job_retries = self.expr(el.id, task_def.get("retries") or "3", "job retries")

    def user_task(self, ext: ET.Element | None, el: Element) -> None:
        """A user task: a Camunda user task with ``zeebe:userTask`` (docs: components/modeler/bpmn/user-tasks,
        "Camunda user tasks"), else job-based, as Zeebe runs those: job type io.camunda.zeebe:userTask, form
        and assignment in the custom headers."""
        if ext is not None and ext.find(_Z + "userTask") is not None:
            self.camunda_user_task(ext, el)
            return
        if ext is not None and ext.find(_Z + "taskListeners") is not None:
            self.fail(
                el.id,
                "task listeners ('zeebe:taskListeners') are only supported on Camunda user tasks ('zeebe:userTask')",
            )
        el.job_type = Expression(USER_TASK_JOB_TYPE)
        el.job_retries = Expression("1")
        if ext is None:
            return
        form = ext.find(_Z + "formDefinition")
        if form is not None:
            if form.get("formKey"):
                el.headers["io.camunda.zeebe:formKey"] = form.get("formKey") or ""
            elif form.get("formId"):
                el.headers["io.camunda.zeebe:formKey"] = form.get("formId") or ""
        task_schedule = ext.find(_Z + "taskSchedule")
        if task_schedule is not None:
            for attr in ("dueDate", "followUpDate"):
                if task_schedule.get(attr):
                    el.headers[f"io.camunda.zeebe:{attr}"] = task_schedule.get(attr) or ""
        assignment = ext.find(_Z + "assignmentDefinition")
        if assignment is not None:
            for attr, header in (
                ("assignee", "io.camunda.zeebe:assignee"),
                ("candidateGroups", "io.camunda.zeebe:candidateGroups"),
                ("candidateUsers", "io.camunda.zeebe:candidateUsers"),
            ):
                value = assignment.get(attr)
                if value:
                    el.headers[header] = _list_header(value) if attr != "assignee" else value

    def camunda_user_task(self, ext: ET.Element, el: Element) -> None:
        """``zeebe:userTask`` with its assignment, schedule, priority, linked form and task listeners, each
        static or FEEL (``=``); static values Zeebe checks at deploy time are checked here too."""
        assignment = ext.find(_Z + "assignmentDefinition")
        schedule = ext.find(_Z + "taskSchedule")
        priority_node = ext.find(_Z + "priorityDefinition")

        def attr(node: ET.Element | None, name: str) -> Expression | None:
            raw = (node.get(name) or "").strip() if node is not None else ""
            return self.expr(el.id, raw, name) if raw else None

        priority = attr(priority_node, "priority")
        if priority is not None and not priority.is_feel:
            text = priority.source
            if not text.lstrip("-").isdigit() or not 0 <= int(text) <= 100:
                self.fail(el.id, f"the priority '{text}' must be an integer between 0 and 100")
        for name in ("dueDate", "followUpDate"):
            value = attr(schedule, name)
            if value is not None and not value.is_feel and not _is_date_time(value.source):
                self.fail(
                    el.id,
                    f"the {name} '{value.source}' must be an ISO 8601 date-time with offset "
                    "(e.g. 2026-12-02T12:00:00Z) or a FEEL expression",
                )
        form = ext.find(_Z + "formDefinition")
        form_id = form_binding = version_tag = None
        external = None
        if form is not None:
            if form.get("formKey"):
                self.fail(
                    el.id,
                    "'zeebe:formDefinition formKey' is for job-based user tasks; a Camunda user task "
                    "links a form with 'formId' or 'externalReference'",
                )
            form_id = (form.get("formId") or "").strip() or None
            external = attr(form, "externalReference")
            if form_id is not None and external is not None:
                self.fail(el.id, "'zeebe:formDefinition' takes either 'formId' or 'externalReference', not both")
            form_binding = form.get("bindingType") or "latest"
            version_tag = form.get("versionTag")
            if form_binding == "versionTag" and not version_tag:
                self.fail(el.id, "'zeebe:formDefinition' with bindingType 'versionTag' needs a versionTag")
        el.user_task = UserTaskDef(
            assignee=attr(assignment, "assignee"),
            candidate_groups=attr(assignment, "candidateGroups"),
            candidate_users=attr(assignment, "candidateUsers"),
            due_date=attr(schedule, "dueDate"),
            follow_up_date=attr(schedule, "followUpDate"),
            priority=priority,
            form_id=form_id,
            form_binding=form_binding or "latest",
            form_version_tag=version_tag,
            external_reference=external,
            listeners=self.task_listeners(ext, el),
        )

    def task_listeners(self, ext: ET.Element, el: Element) -> tuple[TaskListener, ...]:
        """``zeebe:taskListeners`` (docs: components/concepts/user-task-listeners): each with an eventType of
        Camunda 8.8 and a job type; they run in model order per event type."""
        container = ext.find(_Z + "taskListeners")
        if container is None:
            return ()
        found: list[TaskListener] = []
        for node in container.findall(_Z + "taskListener"):
            raw_event = node.get("eventType") or ""
            event_type = _LEGACY_TASK_LISTENER_EVENTS.get(raw_event, raw_event)
            job_type = (node.get("type") or "").strip()
            if event_type not in TASK_LISTENER_EVENTS:
                self.fail(
                    el.id,
                    f"task listener eventType '{raw_event}' must be one of "
                    f"{', '.join(repr(e) for e in TASK_LISTENER_EVENTS)}",
                )
                continue
            if not job_type:
                self.fail(el.id, f"a {event_type} task listener needs a job type")
                continue
            listener_type = self.expr(el.id, job_type, "task listener type")
            retries = self.expr(el.id, node.get("retries") or "3", "task listener retries")
            if listener_type is not None and retries is not None:
                found.append(TaskListener(event_type, listener_type, retries))
        return tuple(found)

    def io_mappings(self, ext: ET.Element | None, el: Element) -> None:
        io = ext.find(_Z + "ioMapping") if ext is not None else None
        if io is None:
            return
        for tag, target_list in (("input", el.inputs), ("output", el.outputs)):
            for mapping in io.findall(_Z + tag):
                source, target = mapping.get("source"), mapping.get("target")
                if not target:
                    self.fail(el.id, f"{tag} mapping without target")
                    continue
                expression = self.expr(el.id, source if source is not None else "=null", f"{tag} mapping '{target}'")
                if expression is not None:
                    target_list.append(Mapping(expression, target))

    def loop(self, node: ET.Element, ext: ET.Element | None, el: Element) -> None:
        mi = node.find(_B + "multiInstanceLoopCharacteristics")
        if mi is None:
            return
        mi_ext = mi.find(_B + "extensionElements")
        chars = mi_ext.find(_Z + "loopCharacteristics") if mi_ext is not None else None
        if chars is None or not chars.get("inputCollection"):
            self.fail(el.id, "multi-instance needs 'zeebe:loopCharacteristics' with an inputCollection")
            return
        collection = self.expr(el.id, chars.get("inputCollection"), "inputCollection", feel_only=True)
        output_element = self.expr(el.id, chars.get("outputElement"), "outputElement", feel_only=True)
        cond_node = mi.find(_B + "completionCondition")
        condition = None
        if cond_node is not None and (cond_node.text or "").strip():
            condition = self.expr(el.id, (cond_node.text or "").strip(), "completionCondition", feel_only=True)
        if collection is None:
            return
        if bool(chars.get("outputCollection")) != bool(chars.get("outputElement")):
            self.fail(el.id, "multi-instance needs both outputCollection and outputElement, or neither")
        el.multi_instance = MultiInstance(
            sequential=mi.get("isSequential", "false").lower() == "true",
            input_collection=collection,
            input_element=chars.get("inputElement") or None,
            output_collection=chars.get("outputCollection") or None,
            output_element=output_element,
            completion_condition=condition,
        )

    def event(self, node: ET.Element, ext: ET.Element | None, el: Element) -> None:
        definitions = [
            c
            for c in node
            if isinstance(c.tag, str) and c.tag.startswith(_B) and c.tag[len(_B) :] in _EVENT_DEFINITIONS
        ]
        if len(definitions) > 1:
            self.fail(el.id, "events with more than one event definition are not supported")
            return
        el.event_type = _EVENT_DEFINITIONS[definitions[0].tag[len(_B) :]] if definitions else "NONE"
        kind = el.element_type
        if kind == "START_EVENT" and el.parent is not None and el.parent.triggered_by_event:
            kind = "EVENT_SUB_START"
        if kind == "BOUNDARY_EVENT":
            el._attached_ref = node.get("attachedToRef") or ""  # read first: also named in other errors
        if el.event_type not in _SUPPORTED_EVENTS[kind]:
            what = kind.lower().replace("_", " ").replace("event sub start", "event sub-process start event")
            self.fail(el.id, f"{el.event_type.lower()} {what}s are not supported")
            return
        if (
            kind == "START_EVENT"
            and el.event_type != "NONE"
            and el.parent is not None
            and el.parent.element_type != "PROCESS"
        ):
            self.fail(el.id, "start events of embedded sub-processes must be none start events")
        if kind == "BOUNDARY_EVENT":
            el.interrupting = node.get("cancelActivity", "true").lower() != "false"
        if kind == "EVENT_SUB_START":
            el.interrupting = node.get("isInterrupting", "true").lower() != "false"
        definition = definitions[0] if definitions else None
        if definition is None:
            return
        if el.event_type == "TIMER":
            self.timer(definition, el)
        elif el.event_type == "MESSAGE":
            self.message(definition, ext, el, kind)
        elif el.event_type == "ERROR":
            self.error(definition, el, kind)
        elif el.event_type == "SIGNAL":
            ref = self.signals.get(definition.get("signalRef"))
            if ref is None or not ref.get("name"):
                self.fail(el.id, "Must reference a signal with a name")
            else:
                el.signal_name = self.expr(el.id, ref.get("name"), "signal name")
        elif el.event_type == "COMPENSATION":
            el.compensate_activity_ref = definition.get("activityRef") or None
            if el.compensate_activity_ref is not None and kind == "BOUNDARY_EVENT":
                self.fail(el.id, "a compensation boundary event must not have an activityRef")
        elif el.event_type == "LINK":
            el.link_name = (definition.get("name") or "").strip()
            if not el.link_name:
                self.fail(el.id, "a link event must have a link name (linkEventDefinition name)")
        elif el.event_type == "ESCALATION":
            ref_id = definition.get("escalationRef")
            ref = self.escalations.get(ref_id)
            code = ref.get("escalationCode") if ref is not None else None
            if kind in ("END_EVENT", "INTERMEDIATE_THROW_EVENT") and not code:
                self.fail(el.id, "Must reference an escalation with an escalationCode")
            el.escalation_code = code or None

    def timer(self, definition: ET.Element, el: Element) -> None:
        for tag, kind in (("timeDate", "date"), ("timeDuration", "duration"), ("timeCycle", "cycle")):
            node = definition.find(_B + tag)
            if node is not None and (node.text or "").strip():
                text = (node.text or "").strip()
                expression = self.expr(el.id, text, f"timer {tag}")
                if expression is None:
                    return
                if not expression.is_feel:
                    try:
                        validate_static(kind, text)
                    except TimerFormatError as exc:
                        self.fail(el.id, str(exc))
                        return
                if kind == "cycle" and el.element_type == "BOUNDARY_EVENT" and el.interrupting:
                    pass  # an interrupting cycle fires once, as in Zeebe
                if kind == "cycle" and el.element_type == "INTERMEDIATE_CATCH_EVENT":
                    self.fail(el.id, "intermediate timer catch events need a timeDate or timeDuration, not a timeCycle")
                el.timer = TimerDef(kind, expression)
                return
        self.fail(el.id, "Must have a timeDate, timeDuration or timeCycle")

    def message(self, definition: ET.Element, ext: ET.Element | None, el: Element, kind: str) -> None:
        if kind in ("END_EVENT", "INTERMEDIATE_THROW_EVENT"):
            # Zeebe runs message throw events as jobs (like a send task).
            task_def = ext.find(_Z + "taskDefinition") if ext is not None else None
            self.task_definition(task_def, el)
            el.headers.update(_task_headers(ext))
            return
        ref = self.messages.get(definition.get("messageRef"))
        if ref is None or not ref.get("name"):
            self.fail(el.id, "Must reference a message with a name")
            return
        name = self.expr(el.id, ref.get("name"), "message name")
        ref_ext = ref.find(_B + "extensionElements")
        sub = ref_ext.find(_Z + "subscription") if ref_ext is not None else None
        key_text = sub.get("correlationKey") if sub is not None else None
        correlation = self.expr(el.id, key_text, "correlationKey") if key_text else None
        if correlation is None and kind != "START_EVENT":
            self.fail(el.id, f"message '{ref.get('name')}' needs a 'zeebe:subscription' with a correlationKey")
            return
        if name is not None:
            el.message = MessageDef(name, correlation)

    def error(self, definition: ET.Element, el: Element, kind: str) -> None:
        ref_id = definition.get("errorRef")
        ref = self.error_defs.get(ref_id) if ref_id else None
        code = ref.get("errorCode") if ref is not None else None
        if kind == "END_EVENT" and not code:
            self.fail(el.id, "Must reference an error with an errorCode")
        el.error_code = code or None

    # -- linking ---------------------------------------------------------------------------------
    def link(self, elements: dict[str, Element], flows: dict[str, SequenceFlow]) -> None:
        for flow in flows.values():
            source, target = elements.get(flow.source_id), elements.get(flow.target_id)
            if source is None or target is None:
                self.fail(
                    flow.id,
                    f"sequence flow refers to unknown element '{flow.source_id if source is None else flow.target_id}'",
                )
                continue
            if source.parent is not target.parent:
                self.fail(flow.id, "sequence flow crosses a sub-process boundary")
                continue
            source.outgoing.append(flow)
            target.incoming.append(flow)
        for el in elements.values():
            if el.element_type == "BOUNDARY_EVENT":
                host = elements.get(el._attached_ref)
                if host is None or host.element_type not in ACTIVITIES or host.parent is not el.parent:
                    self.fail(el.id, f"boundary event must be attached to an activity, not '{el._attached_ref}'")
                else:
                    el.attached_to = host
                    host.boundary_events.append(el)
        self.compensation(elements)
        for el in elements.values():
            self.check_element(el, elements, flows)

    def compensation(self, elements: dict[str, Element]) -> None:
        """Link each compensation boundary event to its handler (through the association) and check the
        rules of docs "Compensation handler": the handler is an activity marked isForCompensation, in the
        scope of the compensated activity, without sequence flows; an activityRef names such an activity."""
        targets: dict[str, list[str]] = {}
        for source, target in self.associations:
            targets.setdefault(source, []).append(target)
        handled: set[str] = set()
        for el in elements.values():
            if el.element_type == "BOUNDARY_EVENT" and el.event_type == "COMPENSATION":
                handlers = [elements[t] for t in targets.get(el.id, []) if t in elements]
                handlers = [h for h in handlers if h.is_for_compensation]
                if len(handlers) != 1:
                    self.fail(
                        el.id,
                        "a compensation boundary event needs exactly one association to an activity with "
                        'isForCompensation="true"',
                    )
                    continue
                if el.outgoing:
                    self.fail(el.id, "a compensation boundary event must not have outgoing sequence flows")
                host = el.attached_to
                if host is not None:
                    host.compensation_handler = handlers[0]
                handled.add(handlers[0].id)
        for el in elements.values():
            if el.is_for_compensation:
                if el.element_type not in ACTIVITIES:
                    self.fail(el.id, "only activities can be compensation handlers (isForCompensation)")
                elif el.incoming or el.outgoing:
                    self.fail(el.id, "a compensation handler must not have incoming or outgoing sequence flows")
                elif el.boundary_events:
                    self.fail(el.id, "a compensation handler must not have boundary events")
                elif el.id not in handled:
                    self.fail(el.id, "a compensation handler must be associated with a compensation boundary event")
            ref = el.compensate_activity_ref
            if ref is not None and el.element_type != "BOUNDARY_EVENT":
                activity = elements.get(ref)
                scope = el.parent
                if scope is not None and scope.triggered_by_event:
                    scope = scope.parent  # an event sub-process compensates its outer scope
                if activity is None or activity.compensation_handler is None or activity.parent is not scope:
                    self.fail(
                        el.id,
                        f"activityRef '{ref}' must name an activity with a compensation boundary event in the "
                        "scope of the compensation event",
                    )

    def check_element(self, el: Element, elements: dict[str, Element], flows: dict[str, SequenceFlow]) -> None:
        etype = el.element_type
        if el.is_container:
            starts = [c for c in el.children if c.element_type == "START_EVENT"]
            none_starts = [c for c in starts if c.event_type == "NONE"]
            if etype == "PROCESS":
                if not starts:
                    self.fail(el.id, "Must have at least one start event")
                if len(none_starts) > 1:
                    self.fail(el.id, "Multiple none start events are not allowed in a process")
            elif etype == "SUB_PROCESS":
                if len(starts) != 1 or len(none_starts) != 1:
                    self.fail(el.id, "Must have exactly one none start event")
            elif etype == "EVENT_SUB_PROCESS":
                if len(starts) != 1 or starts[0].event_type == "NONE":
                    self.fail(el.id, "An event sub-process must have exactly one start event with an event definition")
                if el.incoming or el.outgoing:
                    self.fail(el.id, "An event sub-process must not have incoming or outgoing sequence flows")
            el.none_start = none_starts[0] if none_starts else None
            self.link_events(el)
            for child in el.children:
                if child.element_type == "EVENT_SUB_PROCESS":
                    el.event_sub_starts.extend(c for c in child.children if c.element_type == "START_EVENT")
        if etype == "BOUNDARY_EVENT":
            return
        if etype not in ("EXCLUSIVE_GATEWAY", "INCLUSIVE_GATEWAY"):
            for flow in el.outgoing:
                if flow.condition is not None:
                    self.fail(
                        flow.id, "conditional sequence flows are only supported out of exclusive and inclusive gateways"
                    )
        if etype == "EXCLUSIVE_GATEWAY" or etype == "INCLUSIVE_GATEWAY":
            if el.default_flow and el.default_flow not in {f.id for f in el.outgoing}:
                self.fail(el.id, f"default flow '{el.default_flow}' is not an outgoing sequence flow")
            if len(el.outgoing) > 1:
                for flow in el.outgoing:
                    if flow.id != el.default_flow and flow.condition is None:
                        self.fail(
                            flow.id, "a sequence flow out of a forking gateway needs a condition (or be the default)"
                        )
            if etype == "INCLUSIVE_GATEWAY" and len(el.incoming) > 1 and len(el.outgoing) > 1:
                self.fail(el.id, "an inclusive gateway that both joins and forks is not supported")
        if etype == "EVENT_BASED_GATEWAY":
            for flow in el.outgoing:
                target = elements[flow.target_id]
                if target.element_type != "INTERMEDIATE_CATCH_EVENT" and target.element_type != "RECEIVE_TASK":
                    self.fail(el.id, f"an event-based gateway must be followed by catch events, not '{target.id}'")
                elif target.element_type == "RECEIVE_TASK":
                    self.fail(el.id, "receive tasks after an event-based gateway are not supported")
                else:
                    el.event_targets.append(target)
            if len(el.event_targets) < 2:
                self.fail(el.id, "an event-based gateway needs at least two outgoing sequence flows")
        if etype == "START_EVENT" and el.incoming:
            self.fail(el.id, "start events must not have incoming sequence flows")
        if etype == "END_EVENT" and el.outgoing:
            self.fail(el.id, "end events must not have outgoing sequence flows")
        if etype == "RECEIVE_TASK":
            self.fail_if_no_message(el)

    def link_events(self, scope: Element) -> None:
        """Pair each link throw event with the catch event of the same name in the same scope (doc "Link
        events": a link jumps within one process level only; catch names are unique per scope)."""
        catches: dict[str, Element] = {}
        for child in scope.children:
            if child.element_type == "INTERMEDIATE_CATCH_EVENT" and child.link_name:
                if child.link_name in catches:
                    self.fail(child.id, f"Multiple intermediate catch link events with the name '{child.link_name}'")
                catches[child.link_name] = child
        for child in scope.children:
            if child.element_type == "INTERMEDIATE_THROW_EVENT" and child.link_name:
                child.link_target = catches.get(child.link_name)
                if child.link_target is None:
                    self.fail(
                        child.id,
                        f"Can't find a catch link event for the throw link event with the name '{child.link_name}' "
                        f"in the scope '{scope.id}'",
                    )
                elif child.outgoing:
                    self.fail(child.id, "a link throw event must not have outgoing sequence flows")

    def fail_if_no_message(self, el: Element) -> None:
        if el.message is None:
            self.fail(el.id, "a receive task must reference a message with a correlationKey")


def _task_headers(parent: ET.Element | None) -> dict[str, str]:
    """The ``zeebe:taskHeaders`` below ``parent`` (an extension element or an execution listener)."""
    node = parent.find(_Z + "taskHeaders") if parent is not None else None
    if node is None:
        return {}
    return {header.get("key") or "": header.get("value") or "" for header in node.findall(_Z + "header")}


_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}(\[[\w/+-]+\])?|\[[\w/+-]+\])"
)


def _is_date_time(text: str) -> bool:
    """A static due/follow-up date as Zeebe takes it: ISO 8601 date-time with an offset or zone id."""
    return _DATE_TIME.fullmatch(text) is not None


def _list_header(value: str) -> str:
    """Zeebe passes candidate groups/users as a JSON list text in the header."""
    text = value.strip()
    if text.startswith("="):
        return text
    return json.dumps([v.strip() for v in text.split(",") if v.strip()])
