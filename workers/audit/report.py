"""The audit report: one self-contained HTML page per instance.

It shows the BPMN diagram as the author drew it (inline SVG from the deployed model's BPMNDI), with
the path the instance took highlighted, each step's duration written under it, SLA breaches and
incidents marked, and below it the timeline, jobs, incidents, timers and messages, fines, and the
decision table with each decision's replay verdict. No scripts, fonts or images are fetched: the page
can be archived and opened years later, offline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from workers.audit.crosscheck import cross_check
from workers.audit.diagram import Diagram, DiagramError, Shape, parse_diagram
from workers.audit.history import ACTIVE, InstanceHistory
from workers.audit.replay import DecisionVerdict, ReplayReport
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


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _shape_views(diagram: Diagram, history: InstanceHistory, breaches: Sequence[SlaBreach]) -> list[ShapeView]:
    breached = {b.element_id for b in breaches}
    with_incident = {i.element_id for i in history.incidents if not i.resolved}
    views = []
    # Containers first, boundary events last, so each is drawn on top of what it sits on.
    order = {"container": 0, "task": 1, "gateway": 1, "event": 2}
    for shape in sorted(diagram.shapes.values(), key=lambda s: order[s.category]):
        visits = history.visits_of(shape.element_id)
        classes = ["shape", shape.category, shape.kind]
        duration = ""
        title = f"{shape.name or shape.element_id} ({shape.kind})"
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
            title += f": {len(visits)} visit(s), {duration or 'running'}"
        if shape.element_id in breached:
            classes.append("breach")
        if shape.element_id in with_incident:
            classes.append("incident")
        views.append(
            ShapeView(shape=shape, classes=" ".join(classes), label_lines=_wrap(shape.name, shape.width),
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


def render_report(
    history: InstanceHistory,
    *,
    replay: ReplayReport | None = None,
    policy: SlaPolicy | None = None,
    bpmn_xml: str | None = None,
    source: str = "",
) -> str:
    """The report page as one HTML string. ``bpmn_xml`` overrides the model taken from the records."""
    policy = policy or SlaPolicy()
    xml = bpmn_xml or history.bpmn_xml
    diagram: Diagram | None = None
    diagram_problem = ""
    if xml is None:
        diagram_problem = "The records carry no deployed BPMN resource for this process; pass the .bpmn file."
    else:
        try:
            diagram = parse_diagram(xml)
        except DiagramError as exc:
            diagram_problem = str(exc)
    breaches = find_breaches(history, policy, diagram)
    fines: list[Fine] = find_fines(history, policy)
    verdicts: list[DecisionVerdict] = [
        v for v in (replay.verdicts if replay else ()) if v.process_instance_key == history.process_instance_key
    ]
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(
        h=history,
        source=source,
        diagram=diagram,
        diagram_problem=diagram_problem,
        viewbox=" ".join(f"{n:g}" for n in diagram.bounds()) if diagram else "",
        shapes=_shape_views(diagram, history, breaches) if diagram else [],
        edges=_edge_views(diagram, history) if diagram else [],
        breaches=breaches,
        fines=fines,
        verdicts=verdicts,
        replay=replay,
        chain_problems=replay.chain_problems if replay else (),
        cross_findings=cross_check(history, replay) if replay else [],
        final_variables=history.final_variables(),
        iso=_iso,
        duration=format_duration,
        pretty=_pretty,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def write_report(path: str | Path, html: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
