"""The audit report: one self-contained HTML page per instance, organised as an auditor reads it.

First the verdict: the instance's final state from the engine's records and the decision replay's
verdict. Then the BPMN diagram as the author drew it (inline SVG from the deployed model's BPMNDI) with
the path taken, then one section per step of the process (the activities at the process level; for
the rollout the nine steps of 000A) with who did what and when, the step's deadlines against the
actual times and its decisions with inputs, outputs, rule clause and version; then fines as tables,
the replay's findings, and the technical detail (jobs, incidents) last. Times are shown in one
configured zone (default Asia/Shanghai) with their UTC offset. No scripts, fonts or images are
fetched: the page can be archived and opened years later, offline, and prints on A4 landscape with
the whole diagram on the page (see the print stylesheet in the template).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from workers.audit.crosscheck import cross_check
from workers.audit.diagram import Diagram, DiagramError, Shape, parse_diagram, plane_elements
from workers.audit.history import ACTIVE, InstanceHistory
from workers.audit.replay import DecisionVerdict, ReplayReport
from workers.audit.report_model import SCOPES, ProcessModel, parse_model, readable
from workers.audit.report_view import (
    DEFAULT_TIMEZONE,
    ROLE_LABELS,
    STATE_LABELS,
    Clock,
    FinalState,
    decision_row,
    final_state,
    fine_tables,
    step_sections,
    zone,
)
from workers.audit.sla import Fine, SlaBreach, SlaPolicy, find_breaches, find_fines, format_duration

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class ShapeView:
    """A shape with what happened at it, ready to draw."""

    shape: Shape
    classes: str
    label_lines: tuple[str, ...]
    duration: str
    title: str

    @property
    def cx(self) -> float:
        return self.shape.x + self.shape.width / 2

    @property
    def cy(self) -> float:
        return self.shape.y + self.shape.height / 2

    @property
    def diamond(self) -> str:
        s = self.shape
        return f"{self.cx},{s.y} {s.x + s.width},{self.cy} {self.cx},{s.y + s.height} {s.x},{self.cy}"


@dataclass(frozen=True)
class EdgeView:
    element_id: str
    points: str
    classes: str
    name: str


def _wrap(text: str, width_px: float) -> tuple[str, ...]:
    """Break a label into lines that fit a shape (about 7px per character at 12px)."""
    per_line = max(6, int(width_px / 7))
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= per_line or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return tuple(lines[:4])


def _shape_views(diagram: Diagram, history: InstanceHistory, breaches: Sequence[SlaBreach]) -> list[ShapeView]:
    """Every shape of the plane; a collapsed sub-process counts as visited when anything in it ran."""
    breached = {b.element_id for b in breaches}
    with_incident = {i.element_id for i in history.incidents if not i.resolved}
    views = []
    # Containers first, boundary events last, so each is drawn on top of what it sits on.
    order = {"container": 0, "task": 1, "gateway": 1, "event": 2}
    for shape in sorted(diagram.shapes.values(), key=lambda s: order[s.category]):
        visits = history.visits_of(shape.element_id)
        classes = ["shape", shape.category, shape.kind]
        duration = ""
        title = readable(shape.name) or shape.element_id
        if visits:
            classes.append("visited")
            if any(v.state == ACTIVE for v in visits):
                classes.append("active")
            total = [v.duration_ms for v in visits]
            known = [d for d in total if d is not None]
            if shape.category == "task" and known:  # events and gateways take no time of their own
                duration = format_duration(sum(known))
                if len(visits) > 1:
                    duration += f" ×{len(visits)}"
            title += f": {len(visits)} visit(s), {duration or format_duration(visits[-1].duration_ms)}"
        if shape.element_id in breached:
            classes.append("breach")
        if shape.element_id in with_incident:
            classes.append("incident")
        views.append(
            ShapeView(shape=shape, classes=" ".join(classes), label_lines=_wrap(readable(shape.name), shape.width),
                      duration=duration, title=title)
        )
    return views


def _edge_views(diagram: Diagram, history: InstanceHistory) -> list[EdgeView]:
    taken = set(history.taken_flows)
    if not taken:
        # Sources that do not export SEQUENCE_FLOW_TAKEN: a flow whose both ends ran was taken.
        visited = {v.element_id for v in history.elements}
        taken = {e.element_id for e in diagram.edges.values() if e.source in visited and e.target in visited}
    return [
        EdgeView(
            element_id=edge.element_id,
            points=" ".join(f"{x},{y}" for x, y in edge.waypoints),
            classes="edge taken" if edge.element_id in taken else "edge",
            name=edge.name,
        )
        for edge in diagram.edges.values()
    ]


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class StepDiagram:
    """A step's picture: its own BPMNDI plane (a collapsed sub-process, drill-down as in Modeler) or,
    for an expanded sub-process, the shapes and flows of the process diagram inside it."""

    viewbox: str
    shapes: tuple[ShapeView, ...] = ()
    edges: tuple[EdgeView, ...] = ()


def _step_diagrams(xml: str | None, diagram: Diagram | None, history: InstanceHistory,
                   breaches: Sequence[SlaBreach], step_ids: Sequence[str]) -> dict[str, StepDiagram]:
    found: dict[str, StepDiagram] = {}
    for step_id in step_ids:
        plane = _plane(xml, step_id) if xml else None
        if plane is not None and plane.shapes:
            found[step_id] = StepDiagram(viewbox=_viewbox(plane.bounds()),
                                         shapes=tuple(_shape_views(plane, history, breaches)),
                                         edges=tuple(_edge_views(plane, history)))
            continue
        shape = diagram.shapes.get(step_id) if diagram else None
        if diagram is not None and shape is not None and shape.category == "container" and shape.width > 200:
            inside = Diagram(
                shapes={k: s for k, s in diagram.shapes.items() if _within(s.x, s.y, shape)
                        and _within(s.x + s.width, s.y + s.height, shape)},
                edges={k: e for k, e in diagram.edges.items() if all(_within(x, y, shape) for x, y in e.waypoints)})
            found[step_id] = StepDiagram(viewbox=_viewbox(inside.bounds(margin=12.0)),
                                         shapes=tuple(_shape_views(inside, history, breaches)),
                                         edges=tuple(_edge_views(inside, history)))
    return found


def _within(x: float, y: float, box: Shape, slack: float = 40.0) -> bool:
    """Inside a container's shape (with room for boundary events and labels on its border)."""
    return box.x - slack <= x <= box.x + box.width + slack and box.y - slack <= y <= box.y + box.height + slack


def _plane(xml: str, element_id: str) -> Diagram:
    try:
        return parse_diagram(xml, plane_of=element_id)
    except DiagramError:
        return Diagram()


def _viewbox(bounds: tuple[float, float, float, float]) -> str:
    return " ".join(f"{n:g}" for n in bounds)


def _breach_text(breach: SlaBreach, model: ProcessModel) -> str:
    """``took 6m, limit 5m`` / ``deadline 'Publication overdue' passed`` in the model's names."""
    if breach.reason.startswith("deadline timer "):
        name = readable(breach.reason.removeprefix("deadline timer ").removesuffix(" fired"))
        return f"逾期 the deadline “{name}” passed"
    return f"超时 {breach.reason}"


def instance_state(history: InstanceHistory, *, bpmn_xml: str | None = None,
                   timezone: str = DEFAULT_TIMEZONE) -> FinalState:
    """The instance's final state from its records, as the report states it (every form of the report
    the filed JSON, the HTML, the PDF and ``procgov reports get`` uses this one derivation)."""
    xml = bpmn_xml or history.bpmn_xml
    model = parse_model(xml, history.bpmn_process_id) if xml else ProcessModel(history.bpmn_process_id, "")
    return final_state(history, model, Clock(zone(timezone)))


def render_report(
    history: InstanceHistory,
    *,
    replay: ReplayReport | None = None,
    policy: SlaPolicy | None = None,
    bpmn_xml: str | None = None,
    source: str = "",
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """The report page as one HTML string. ``bpmn_xml`` overrides the model taken from the records;
    ``timezone`` (an IANA name) is the zone every time is shown in, with its offset."""
    policy = policy or SlaPolicy()
    clock = Clock(zone(timezone))
    xml = bpmn_xml or history.bpmn_xml
    planes = plane_elements(xml) if xml else []
    diagram: Diagram | None = None
    diagram_problem = ""
    if xml is None:
        diagram_problem = "The records carry no deployed BPMN resource for this process; pass the .bpmn file."
    else:
        try:
            diagram = parse_diagram(xml, history.bpmn_process_id if history.bpmn_process_id in planes else None)
        except DiagramError as exc:
            diagram_problem = str(exc)
    model = parse_model(xml, history.bpmn_process_id) if xml else ProcessModel(history.bpmn_process_id, "")
    # Deadlines drawn on a collapsed sub-process's own plane count too: every plane's shapes.
    shapes = {k: v for e in planes[1:] for k, v in _plane(xml, e).shapes.items()} if xml else {}
    breaches = find_breaches(history, policy, Diagram(shapes=shapes | diagram.shapes) if diagram else None)
    fines: list[Fine] = find_fines(history, policy)
    verdicts: list[DecisionVerdict] = [
        v for v in (replay.verdicts if replay else ()) if v.process_instance_key == history.process_instance_key
    ]
    cross_findings = cross_check(history, replay) if replay else []
    state = final_state(history, model, clock)
    sections = [replace(s, state="COMPLETING") if state.now == "COMPLETING" and s.state == ACTIVE else s
                for s in step_sections(history, model, clock, verdicts, (b.element_instance_key for b in breaches))]
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(
        h=history,
        title=readable(model.name) or history.bpmn_process_id,
        state=state,
        timezone=clock.name,
        source=source,
        diagram=diagram,
        diagram_problem=diagram_problem,
        viewbox=_viewbox(diagram.bounds()) if diagram else "",
        shapes=_shape_views(diagram, history, breaches) if diagram else [],
        edges=_edge_views(diagram, history) if diagram else [],
        sections=sections,
        step_diagrams=_step_diagrams(xml, diagram, history, breaches,
                                     [s.element_id for s in sections if s.element_id in model.elements
                                      and model.elements[s.element_id].kind in SCOPES]),
        breaches=[(model.label(b.element_id), _breach_text(b, model)) for b in breaches],
        fines=fine_tables(fines, clock),
        verdicts=verdicts,
        unplaced=[decision_row(v, model, clock) for v in verdicts if v.job_key not in {j.key for j in history.jobs}],
        replay=replay,
        passed=replay is not None and replay.ok and not cross_findings,
        chain_problems=replay.chain_problems if replay else (),
        cross_findings=cross_findings,
        model=model,
        final_variables=history.final_variables(),
        clock=clock,
        duration=format_duration,
        pretty=_pretty,
        roles=ROLE_LABELS,
        states=STATE_LABELS,
        generated_at=clock.at(int(datetime.now(UTC).timestamp() * 1000)),
    )


def write_report(path: str | Path, html: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
