"""The diagram a BPMN file carries (BPMNDI): shapes and edges with their coordinates.

The report draws the model exactly as its author laid it out in the modeler, from the deployed
resource itself, so the picture an auditor sees is the model that ran (not a re-layout).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

TASKS = frozenset(
    {"task", "serviceTask", "userTask", "sendTask", "receiveTask", "scriptTask", "businessRuleTask",
     "manualTask", "callActivity"}
)
CONTAINERS = frozenset({"subProcess", "adHocSubProcess", "transaction", "participant", "lane"})
EVENTS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)


class DiagramError(ValueError):
    """The BPMN has no usable diagram (not XML, or no BPMNDI shapes); the message says which."""


@dataclass(frozen=True)
class Shape:
    element_id: str
    kind: str  # the BPMN tag: serviceTask, exclusiveGateway, startEvent, ...
    name: str
    x: float
    y: float
    width: float
    height: float
    attached_to: str = ""  # boundary events: the activity they sit on
    event_kind: str = ""  # timerEventDefinition, messageEventDefinition, errorEventDefinition, ...

    @property
    def category(self) -> str:
        """How to draw it: task, event, gateway or container."""
        if self.kind in EVENTS:
            return "event"
        if self.kind.endswith("Gateway"):
            return "gateway"
        if self.kind in CONTAINERS:
            return "container"
        return "task"


@dataclass(frozen=True)
class Edge:
    element_id: str
    name: str
    source: str
    target: str
    waypoints: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Diagram:
    shapes: dict[str, Shape] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)

    def bounds(self, margin: float = 20.0) -> tuple[float, float, float, float]:
        """``(min_x, min_y, width, height)`` covering every shape and waypoint, plus a margin."""
        xs: list[float] = []
        ys: list[float] = []
        for s in self.shapes.values():
            xs += [s.x, s.x + s.width]
            ys += [s.y, s.y + s.height + 30]  # room for labels and durations below shapes
        for e in self.edges.values():
            xs += [p[0] for p in e.waypoints]
            ys += [p[1] for p in e.waypoints]
        if not xs:
            return (0.0, 0.0, 100.0, 100.0)
        return (min(xs) - margin, min(ys) - margin, max(xs) - min(xs) + 2 * margin, max(ys) - min(ys) + 2 * margin)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def plane_elements(bpmn_xml: str) -> list[str]:
    """The elements the resource's BPMNDI planes draw, in order (the process, then collapsed sub-processes)."""
    try:
        root = ET.fromstring(bpmn_xml)
    except ET.ParseError:
        return []
    return [p.get("bpmnElement", "") for p in root.iter(f"{{{BPMNDI_NS}}}BPMNPlane")]


def parse_diagram(bpmn_xml: str, plane_of: str | None = None) -> Diagram:
    """Shapes and edges of the first BPMNDI plane (or of the plane drawing ``plane_of``, e.g. a
    collapsed sub-process's own plane), joined with their model elements."""
    try:
        root = ET.fromstring(bpmn_xml)
    except ET.ParseError as exc:
        raise DiagramError(f"the BPMN resource is not well-formed XML: {exc}") from exc
    elements: dict[str, ET.Element] = {}
    for element in root.iter():
        element_id = element.get("id")
        if element_id and element.tag.startswith(f"{{{BPMN_NS}}}"):
            elements[element_id] = element
    planes = list(root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"))
    plane = next((p for p in planes if plane_of is None or p.get("bpmnElement") == plane_of), None)
    if plane is None:
        if plane_of is None:
            raise DiagramError("the BPMN resource has no diagram (no BPMNDI shapes): open and save it in a modeler")
        raise DiagramError(f"the BPMN resource has no diagram plane for {plane_of}")
    shapes: dict[str, Shape] = {}
    edges: dict[str, Edge] = {}
    for di_shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        ref = di_shape.get("bpmnElement", "")
        bounds = di_shape.find(f"{{{DC_NS}}}Bounds")
        model = elements.get(ref)
        if bounds is None or model is None:
            continue
        definition = next((_local(c.tag) for c in model if _local(c.tag).endswith("EventDefinition")), "")
        shapes[ref] = Shape(
            element_id=ref,
            kind=_local(model.tag),
            name=model.get("name", ""),
            x=float(bounds.get("x", 0)),
            y=float(bounds.get("y", 0)),
            width=float(bounds.get("width", 0)),
            height=float(bounds.get("height", 0)),
            attached_to=model.get("attachedToRef", ""),
            event_kind=definition,
        )
    for di_edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        ref = di_edge.get("bpmnElement", "")
        model = elements.get(ref)
        points = tuple(
            (float(p.get("x", 0)), float(p.get("y", 0))) for p in di_edge.findall(f"{{{DI_NS}}}waypoint")
        )
        if model is None or len(points) < 2:
            continue
        edges[ref] = Edge(
            element_id=ref,
            name=model.get("name", ""),
            source=model.get("sourceRef", ""),
            target=model.get("targetRef", ""),
            waypoints=points,
        )
    if not shapes:
        raise DiagramError("the BPMN resource has no diagram (no BPMNDI shapes): open and save it in a modeler")
    return Diagram(shapes=shapes, edges=edges)
