"""The process model as the audit report reads it: element names, nesting and what follows what.

The report is organised by the model's own structure: the activities directly inside the process are
its steps (for the rollout, the nine sub-processes of 000A), everything inside a step is reported in
that step's section. Names come from the model, never ids: an auditor reads "Validate the rollout
plan", not ``Step2_ValidatePlan``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from workers.audit.diagram import BPMN_NS

_B = f"{{{BPMN_NS}}}"
_ZEEBE = "{http://camunda.org/schema/zeebe/1.0}"
#: Activities a step section lists, one row per visit. Gateways, start and end events are routing.
ACTIVITIES = frozenset(
    {"task", "serviceTask", "userTask", "sendTask", "receiveTask", "scriptTask", "businessRuleTask",
     "manualTask", "callActivity"}
)
SCOPES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
STEPS = ACTIVITIES | SCOPES

#: Bilingual names of the element kinds the report shows.
KIND_LABELS = {
    "userTask": "人工任务 user task",
    "serviceTask": "自动任务 service task",
    "businessRuleTask": "规则任务 rule task",
    "sendTask": "发送任务 send task",
    "receiveTask": "接收任务 receive task",
    "scriptTask": "脚本任务 script task",
    "manualTask": "手工任务 manual task",
    "task": "任务 task",
    "callActivity": "调用流程 called process",
    "subProcess": "子流程 sub-process",
    "boundaryEvent": "边界事件 boundary event",
    "intermediateCatchEvent": "等待 wait",
    "activities": "流程活动 activities",
}

_IDENTIFIER = re.compile(r"\b[a-z]+[A-Z]\w*\b")  # a camelCase variable name, e.g. overdueReminders


def readable(name: str) -> str:
    """A model name without the parenthesised technical notes some labels carry for modellers.

    ``Publication overdue (daily, overdueReminders times)`` reads ``Publication overdue``: the note
    names a process variable, which means nothing to an auditor. Notes without one stay.
    """
    return re.sub(r"\s*\(([^()]*)\)", lambda m: "" if _IDENTIFIER.search(m.group(1)) else m.group(0), name).strip()


@dataclass(frozen=True)
class ModelElement:
    element_id: str
    kind: str  # the BPMN tag
    name: str
    parent: str  # the enclosing sub-process id; "" for the process level
    attached_to: str = ""
    event_kind: str = ""  # timerEventDefinition, errorEventDefinition, ...
    outgoing: tuple[str, ...] = ()  # ids of the flows' target elements
    job_type: str = ""

    @property
    def label(self) -> str:
        return readable(self.name) or self.element_id

    @property
    def kind_label(self) -> str:
        if self.kind == "boundaryEvent" and self.event_kind == "timerEventDefinition":
            return "期限 deadline"
        if self.kind == "intermediateCatchEvent" and self.event_kind == "timerEventDefinition":
            return "等待 wait"
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class ProcessModel:
    process_id: str
    name: str
    elements: dict[str, ModelElement] = field(default_factory=dict)

    def label(self, element_id: str) -> str:
        element = self.elements.get(element_id)
        return element.label if element else element_id

    def step_of(self, element_id: str) -> str:
        """The process-level element an element sits in (itself at the top level; "" if unknown)."""
        element = self.elements.get(element_id)
        seen: set[str] = set()
        while element is not None and element.parent and element.parent not in seen:
            seen.add(element.element_id)
            parent = self.elements.get(element.parent)
            if parent is None:
                break
            element = parent
        return element.element_id if element else ""

    def steps(self) -> list[ModelElement]:
        """The process's steps: the activities and sub-processes at the process level, in model order."""
        return [e for e in self.elements.values() if not e.parent and e.kind in STEPS]

    def ends_after(self, element_id: str) -> list[str]:
        """The names of the end events that follow ``element_id`` when nothing but end events follows.

        An end event inside a sub-process completes the sub-process, so the walk goes on from the
        sub-process's own outgoing flows. Anything else (a task, a gateway, an event that waits) means
        more can still happen: then the answer is empty.
        """
        ends: list[str] = []
        pending, seen = [element_id], set()
        while pending:
            current = self.elements.get(pending.pop())
            if current is None or current.element_id in seen:
                return []
            seen.add(current.element_id)
            if current.element_id != element_id and current.kind != "endEvent":
                return []
            following = self._following(current)
            if not following and current.kind == "endEvent":
                ends.append(current.label)
            pending.extend(following)
        return ends

    def _following(self, element: ModelElement) -> list[str]:
        """Targets of the element's flows, or (none) of its nearest enclosing scope's flows."""
        scope: ModelElement | None = element
        while scope is not None:
            if scope.outgoing:
                return list(scope.outgoing)
            scope = self.elements.get(scope.parent) if scope.parent else None
        return []


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _collect(scope: ET.Element, parent: str, into: dict[str, ModelElement]) -> None:
    outgoing: dict[str, list[str]] = {}
    for flow in scope.findall(f"{_B}sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
    for child in scope:
        if not child.tag.startswith(_B):
            continue
        kind = _local(child.tag)
        element_id = child.get("id", "")
        if kind in {"sequenceFlow", "laneSet", "extensionElements", "documentation", "textAnnotation", "association"}:
            continue
        definition = next((_local(c.tag) for c in child if _local(c.tag).endswith("EventDefinition")), "")
        task = child.find(f"{_B}extensionElements/{_ZEEBE}taskDefinition")
        into[element_id] = ModelElement(
            element_id=element_id, kind=kind, name=child.get("name", ""), parent=parent,
            attached_to=child.get("attachedToRef", ""), event_kind=definition,
            outgoing=tuple(outgoing.get(element_id, ())), job_type=task.get("type", "") if task is not None else "",
        )
        if kind in SCOPES:
            _collect(child, element_id, into)


def parse_model(bpmn_xml: str, process_id: str) -> ProcessModel:
    """The named process of a BPMN resource; an empty model if the XML is unusable (the report says so)."""
    try:
        root = ET.fromstring(bpmn_xml)
    except ET.ParseError:
        return ProcessModel(process_id=process_id, name="")
    process = next((p for p in root.iter(f"{_B}process") if p.get("id") == process_id), None)
    if process is None:
        return ProcessModel(process_id=process_id, name="")
    elements: dict[str, ModelElement] = {}
    _collect(process, "", elements)
    return ProcessModel(process_id=process_id, name=process.get("name", ""), elements=elements)
