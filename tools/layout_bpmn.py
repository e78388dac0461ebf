"""Lay out the diagrams (BPMNDI) of the models in bpmn/ from their semantic graph, as a person would in Modeler.

Why a tool: the models are edited as text, and a hand-kept DI drifts (labels on shapes, one 10,000 px strip).
This computes the DI from the process graph and rewrites ONLY the ``<bpmndi:BPMNDiagram>`` elements; every
byte before them (the executable part) is kept as it is, and the tool refuses to write when the semantic
element tree of its output differs from its input's.

The drawing follows Camunda Modeler's conventions:

- standard shape sizes: tasks 100 x 80 (wider only where the name needs it), events 36 x 36, gateways 50 x 50;
- every sub-process is drawn collapsed (``isExpanded="false"``) with its content on a plane of its own
  (one ``BPMNDiagram``/``BPMNPlane`` per sub-process, Modeler 5 / Operate drill-down), so a long process
  reads as its steps;
- left-to-right layers (longest path), the main path on one row, branches below it, loops routed around;
- orthogonal edges that pass through no shape, labels placed where they touch no shape, label or edge.

Usage: ``python tools/layout_bpmn.py bpmn/*.bpmn`` rewrites the files; ``--check`` only reports files whose
DI is not what the tool computes (exit 1). The models in bpmn/variants/ are generated from a main model, DI
included: regenerate them after a layout (``python -m workers.slm.model_variants ...``, see that module).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"

EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
ACTIVITIES = {"task", "serviceTask", "userTask", "sendTask", "receiveTask", "scriptTask", "businessRuleTask",
              "manualTask", "callActivity", "subProcess", "adHocSubProcess", "transaction"}
SUB_PROCESSES = {"subProcess", "adHocSubProcess", "transaction"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}

# Spacing of the layer grid (px): gaps between columns and rows leave room for labels and edge labels.
COLUMN_GAP = 60
ROW_GAP = 70
MARGIN = 60  # the plane's origin margin (Modeler starts near 150,80; any origin is fine)
ROW_HEIGHT = 80

# bpmn-js text metrics (Arial; tasks 12 px with 7 px padding, external labels 11 px, 90 px wide).
TASK_FONT = 12.0
LABEL_FONT = 11.0
LINE_HEIGHT = 1.2
LABEL_WIDTH = 90.0
TASK_PADDING = 7.0


# --------------------------------------------------------------------------------------------- text


def _char_width(char: str, font: float) -> float:
    """A conservative advance width for Arial/Liberation Sans and a CJK fallback font."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return font * 1.02
    if char in "il.,:;'|!()[] ":
        return font * 0.30
    if char.isupper() or char in "mwMW@%&":
        return font * 0.74
    return font * 0.56


def _text_width(text: str, font: float) -> float:
    return sum(_char_width(c, font) for c in text)


def _tokens(text: str) -> list[str]:
    """Words for wrapping; CJK characters wrap one by one, as the browser does."""
    tokens: list[str] = []
    for word in text.split():
        buf = ""
        for char in word:
            if unicodedata.east_asian_width(char) in ("W", "F"):
                if buf:
                    tokens.append(buf)
                    buf = ""
                tokens.append(char)
            else:
                buf += char
        if buf:
            tokens.append(buf)
    return tokens


def wrap(text: str, width: float, font: float) -> list[str]:
    """Greedy line breaking as bpmn-js's TextRenderer does (break at spaces, hard-break long words)."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        cjk = unicodedata.east_asian_width(token[0]) in ("W", "F")
        candidate = (line + token) if (cjk or not line or _is_cjk_end(line)) else f"{line} {token}"
        if _text_width(candidate, font) <= width or not line:
            line = candidate
            while _text_width(line, font) > width and len(line) > 1:  # a word wider than the box
                cut = len(line)
                while cut > 1 and _text_width(line[:cut], font) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        else:
            lines.append(line)
            line = token
    if line:
        lines.append(line)
    return lines


def _is_cjk_end(line: str) -> bool:
    return unicodedata.east_asian_width(line[-1]) in ("W", "F")


def task_size(name: str, max_lines: int, icon: bool) -> tuple[float, float]:
    """100 x 80 unless the name needs more lines: then wider in 20 px steps (as a person widens it in Modeler).

    At most two lines where a marker (collapsed sub-process, multi-instance) or a boundary event sits on the
    bottom edge; three elsewhere, with a first line short enough to stay clear of the task-type icon.
    """
    # Where a marker sits on the bottom edge, a third line would run into it: measure with a wider margin,
    # since the browser's line breaks come a little earlier than this estimate.
    slack = 6 if max_lines > 2 else 30
    for width in range(100, 301, 20):
        lines = wrap(name, width - 2 * TASK_PADDING - slack, TASK_FONT)
        if len(lines) < 3 and len(lines) <= max_lines:
            return float(width), 80.0
        if len(lines) == 3 <= max_lines and (not icon or _text_width(lines[0], TASK_FONT) <= width - 44):
            return float(width), 80.0
    return 300.0, 100.0


def label_size(name: str) -> tuple[float, float]:
    lines = wrap(name, LABEL_WIDTH, LABEL_FONT)
    width = max((_text_width(line, LABEL_FONT) for line in lines), default=0.0)
    return math.ceil(min(width, LABEL_WIDTH) + 2), math.ceil(len(lines) * LABEL_FONT * LINE_HEIGHT + 2)


# --------------------------------------------------------------------------------------------- model


@dataclass
class Node:
    id: str
    kind: str
    name: str
    width: float
    height: float
    host: str = ""  # boundary events: the activity they are attached to
    col: int = 0
    row: int = 0
    x: float = 0.0  # top-left
    y: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def box(self, pad: float = 0.0) -> tuple[float, float, float, float]:
        return (self.x - pad, self.y - pad, self.x + self.width + pad, self.y + self.height + pad)


@dataclass
class Flow:
    id: str
    name: str
    source: str
    target: str
    waypoints: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Plane:
    """One container (the process or a sub-process) and what its plane shows."""

    element_id: str
    nodes: dict[str, Node]
    flows: list[Flow]
    labels: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # element id -> x, y, w, h
    grid: _Grid | None = None  # the columns and rows the shapes were placed on


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _planes(root: ET.Element) -> list[Plane]:
    planes: list[Plane] = []

    hosts = {e.get("attachedToRef") for e in root.iter(f"{{{BPMN}}}boundaryEvent")}

    def visit(container: ET.Element) -> None:
        nodes: dict[str, Node] = {}
        flows: list[Flow] = []
        for child in container:
            kind = _local(child.tag)
            if not child.tag.startswith(f"{{{BPMN}}}"):
                continue
            name = (child.get("name") or "").strip()
            if kind == "sequenceFlow":
                flows.append(Flow(child.get("id", ""), name, child.get("sourceRef", ""), child.get("targetRef", "")))
            elif kind in EVENTS:
                node_id = child.get("id", "")
                nodes[node_id] = Node(node_id, kind, name, 36, 36, child.get("attachedToRef", ""))
            elif kind in GATEWAYS:
                nodes[child.get("id", "")] = Node(child.get("id", ""), kind, name, 50, 50)
            elif kind in ACTIVITIES:
                marked = kind in SUB_PROCESSES or kind == "callActivity" or any(
                    _local(c.tag) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")
                    for c in child)
                width, height = task_size(name, 2 if marked or child.get("id") in hosts else 3,
                                          icon=kind not in ("task", "callActivity", *SUB_PROCESSES))
                nodes[child.get("id", "")] = Node(child.get("id", ""), kind, name, width, height)
        planes.append(Plane(container.get("id", ""), nodes, flows))
        for child in container:
            if _local(child.tag) in SUB_PROCESSES:
                visit(child)

    for process in root.findall(f"{{{BPMN}}}process"):
        visit(process)
    return planes


# --------------------------------------------------------------------------------------------- layout


def _layers(plane: Plane) -> None:
    """Columns by longest path over the flows with back edges removed; rows keep each path on a line."""
    nodes = plane.nodes
    main = [n for n in nodes.values() if not n.host]
    anchor = {n.id: (n.host or n.id) for n in nodes.values()}
    succ: dict[str, list[str]] = {n.id: [] for n in main}
    for flow in plane.flows:
        succ[anchor[flow.source]].append(flow.target)

    # Depth-first from the start events (document order) marks the back edges of loops.
    order: list[str] = []
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def dfs(start: str) -> None:
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))

    incoming = {t for targets in succ.values() for t in targets}
    for node in main:
        if node.id not in incoming and node.id not in state:
            dfs(node.id)
    for node in main:
        if node.id not in state:
            dfs(node.id)
    topo = list(reversed(order))
    forward = {s: [t for t in ts if (s, t) not in back] for s, ts in succ.items()}
    preds: dict[str, list[str]] = {n.id: [] for n in main}
    for s, ts in forward.items():
        for t in ts:
            preds[t].append(s)

    col = {n: 0 for n in topo}
    for n in topo:
        for t in forward[n]:
            col[t] = max(col[t], col[n] + 1)
    for n in topo:  # a second start event sits just before what it starts, not at the far left
        if not preds[n] and forward[n]:
            col[n] = min(col[t] for t in forward[n]) - 1

    # Rows: a node continues its first predecessor's row where that row is free; branches go below.
    taken: set[tuple[int, int]] = set()
    row: dict[str, int] = {}
    claim: dict[str, int] = {}
    for n in sorted(topo, key=lambda k: (col[k], topo.index(k))):
        placed_preds = [row[p] for p in preds[n] if p in row]
        want = claim.get(n, min(placed_preds) if placed_preds else 0)
        if placed_preds:
            want = min([want, *placed_preds]) if len(placed_preds) > 1 else want
        r = want
        while (col[n], r) in taken:
            r += 1
        row[n] = r
        taken.add((col[n], r))
        first = True
        for t in forward[n]:
            if t in claim or t in row:
                continue
            via_boundary = any(f.target == t and nodes[f.source].host == n for f in plane.flows)
            if first and not via_boundary:
                claim[t] = r
                first = False
            else:
                claim[t] = r + 1
    for node in main:
        node.col, node.row = col[node.id], row[node.id]


def _place(plane: Plane) -> None:
    main = [n for n in plane.nodes.values() if not n.host]
    cols = max(n.col for n in main) + 1
    rows = max(n.row for n in main) + 1
    widths = [0.0] * cols
    heights = [float(ROW_HEIGHT)] * rows
    for n in main:
        widths[n.col] = max(widths[n.col], n.width)
        heights[n.row] = max(heights[n.row], n.height)
    # A named flow's label sits in the gap after its source: that gap is as wide as the label needs.
    gaps = [float(COLUMN_GAP)] * cols
    for flow in plane.flows:
        if flow.name:
            src = plane.nodes[flow.source]
            column = plane.nodes[src.host].col if src.host else src.col
            gaps[column] = max(gaps[column], label_size(flow.name)[0] + 24)
    xs: list[float] = []
    ys: list[float] = []
    x = y = float(MARGIN)
    for w, gap in zip(widths, gaps, strict=True):
        xs.append(x)
        x += w + gap
    for h in heights:
        ys.append(y)
        y += h + ROW_GAP
    for n in main:
        n.x = xs[n.col] + (widths[n.col] - n.width) / 2
        n.y = ys[n.row] + (heights[n.row] - n.height) / 2
    hosts: dict[str, list[Node]] = {}
    for n in plane.nodes.values():
        if n.host:
            hosts.setdefault(n.host, []).append(n)
    for host_id, events in hosts.items():
        host = plane.nodes[host_id]
        for i, event in enumerate(events):
            event.x = host.x + host.width * (i + 1) / (len(events) + 1) - 18 + 15
            event.y = host.y + host.height - 18
    plane.grid = _Grid(xs, widths, gaps, ys, heights)


@dataclass
class _Grid:
    xs: list[float]
    widths: list[float]
    gaps: list[float]
    ys: list[float]
    heights: list[float]

    def lines_x(self) -> list[float]:
        out = [self.xs[0] - COLUMN_GAP / 2]
        for x, w, gap in zip(self.xs, self.widths, self.gaps, strict=True):
            out += [x + w / 2, x + w + gap / 2]
        return out

    def lines_y(self) -> list[float]:
        out = [self.ys[0] - ROW_GAP / 2]
        for y, h in zip(self.ys, self.heights, strict=True):
            out += [y + h / 2, y + h + ROW_GAP / 2]
        return out


Box = tuple[float, float, float, float]


def _seg_hits(p: tuple[float, float], q: tuple[float, float], box: Box) -> bool:
    x0, y0, x1, y1 = box
    if p[1] == q[1]:
        lo, hi = sorted((p[0], q[0]))
        return y0 < p[1] < y1 and lo < x1 and hi > x0
    lo, hi = sorted((p[1], q[1]))
    return x0 < p[0] < x1 and lo < y1 and hi > y0


def _route(plane: Plane, flow: Flow, used: dict[tuple[tuple[float, float], tuple[float, float]], int]) -> None:
    """Orthogonal A* over the grid's centre and gap lines, around every shape the flow does not connect."""
    grid = plane.grid
    assert grid is not None, "place the shapes before routing"
    src, dst = plane.nodes[flow.source], plane.nodes[flow.target]
    xs = sorted(set(grid.lines_x()) | {src.cx, dst.cx})
    ys = sorted(set(grid.lines_y()) | {dst.cy} | ({src.cy} if not src.host else set()))
    host = plane.nodes[src.host] if src.host else None
    obstacles = [n.box(6) for n in plane.nodes.values()
                 if n.id not in (src.id, dst.id) and not n.host and not (host and n.id == host.id)]
    obstacles += [n.box(2) for n in plane.nodes.values() if n.host and n.id not in (src.id, dst.id)]
    # Where boundary events' labels will go (right below the event): flows keep off them if they can.
    soft = [_boundary_label_box(n) for n in plane.nodes.values() if n.host and n.name]
    if host is not None:
        obstacles.append(host.box(0))
        below = min(y for y in ys if y > host.y + host.height + 20)
        start = (src.cx, below)
        prefix = [(src.cx, src.y + src.height), start]
    else:
        start = (src.cx, src.cy)
        prefix = []
    goal = (dst.cx, dst.cy)
    # A split leaves by the side facing its target's row: right on its own row, down to rows below, up above.
    fan_out = sum(1 for f in plane.flows if f.source == src.id) > 1 and not host
    port = None
    if fan_out and dst.col > src.col:
        port = "right" if dst.row == src.row else ("down" if dst.row > src.row else "up")
        if port == "right" and any(n.row == src.row and src.col < n.col < dst.col and not n.host
                                   for n in plane.nodes.values()):
            port = "up"  # a branch that skips the shapes on its row goes over them
    ix = {x: i for i, x in enumerate(xs)}
    iy = {y: i for i, y in enumerate(ys)}

    def neighbours(p: tuple[float, float]) -> list[tuple[float, float]]:
        i, j = ix[p[0]], iy[p[1]]
        out = []
        if i > 0:
            out.append((xs[i - 1], p[1]))
        if i < len(xs) - 1:
            out.append((xs[i + 1], p[1]))
        if j > 0:
            out.append((p[0], ys[j - 1]))
        if j < len(ys) - 1:
            out.append((p[0], ys[j + 1]))
        return out

    def inside(p: tuple[float, float], n: Node) -> bool:
        x0, y0, x1, y1 = n.box()
        return x0 <= p[0] <= x1 and y0 <= p[1] <= y1

    # state: point, direction (0 h, 1 v, -1 none)
    frontier: list[tuple[float, int, tuple[float, float], int]] = [(0.0, 0, start, -1 if not host else 1)]
    best: dict[tuple[tuple[float, float], int], float] = {(start, frontier[0][3]): 0.0}
    State = tuple[tuple[float, float], int]
    came: dict[State, State | None] = {(start, frontier[0][3]): None}
    counter = 0
    found: tuple[tuple[float, float], int] | None = None
    while frontier:
        cost, _, p, d = heapq.heappop(frontier)
        if p == goal:
            found = (p, d)
            break
        if cost > best.get((p, d), math.inf):
            continue
        for q in neighbours(p):
            nd = 0 if q[1] == p[1] else 1
            # leave the source and enter the target only once, and never through its far side
            if inside(q, src) and not inside(p, src) and not host:
                continue
            if inside(p, dst) and q != goal:
                continue
            if p == start and port is not None and port != _direction(p, q):
                continue
            if any(_seg_hits(p, q, b) for b in obstacles):
                continue
            if host is not None and _seg_hits(p, q, host.box(0)):
                continue
            if inside(q, dst) and q != goal:
                continue
            if q == goal and nd == 0 and q[0] < p[0] and dst.kind not in GATEWAYS:
                continue  # no entering a task or event from its right
            # tasks and events are entered (and left) sideways where that costs the same
            penalty_in = 15.0 if q == goal and nd == 1 and dst.kind not in GATEWAYS else 0.0
            if p == start and not host and nd == 1 and src.kind not in GATEWAYS:
                penalty_in += 15.0
            step = abs(q[0] - p[0]) + abs(q[1] - p[1])
            penalty = penalty_in + sum(200.0 for b in soft if _seg_hits(p, q, b))
            if d not in (-1, nd):
                penalty += 60
            key = (p, q) if p < q else (q, p)
            penalty += 120 * used.get(key, 0)  # a gateway's branches leave apart
            if nd == 0 and q[0] < p[0]:
                penalty += step * 0.5  # going backwards is a loop: keep it short
            new = cost + step + penalty
            if new < best.get((q, nd), math.inf):
                best[(q, nd)] = new
                came[(q, nd)] = (p, d)
                counter += 1
                heapq.heappush(frontier, (new, counter, q, nd))
    if found is None:
        raise RuntimeError(f"no route for {flow.id} in {plane.element_id}")
    path = [found[0]]
    state = came[found]
    while state is not None:
        path.append(state[0])
        state = came[state]
    path.reverse()
    for a, b in itertools.pairwise(path):
        key = (a, b) if a < b else (b, a)
        used[key] = used.get(key, 0) + 1
    points = prefix[:-1] + path if prefix else path
    points = _simplify(points)
    points[0] = _dock(src, points[0], points[1]) if not host else points[0]
    points[-1] = _dock(dst, points[-1], points[-2])
    flow.waypoints = [(round(x), round(y)) for x, y in points]


def _direction(p: tuple[float, float], q: tuple[float, float]) -> str:
    if p[1] == q[1]:
        return "right" if q[0] > p[0] else "left"
    return "down" if q[1] > p[1] else "up"


def _boundary_label_box(n: Node) -> Box:
    w, h = label_size(n.name)
    return (n.x + n.width + 4, n.y + n.height + 2, n.x + n.width + 4 + w, n.y + n.height + 2 + h)


def _simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out


def _dock(n: Node, centre: tuple[float, float], towards: tuple[float, float]) -> tuple[float, float]:
    """Where a flow leaving the shape's centre towards ``towards`` crosses its outline."""
    if towards[1] == centre[1]:
        return (n.x + n.width if towards[0] > centre[0] else n.x, centre[1])
    return (centre[0], n.y + n.height if towards[1] > centre[1] else n.y)


# --------------------------------------------------------------------------------------------- labels


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


def _seg_box(p: tuple[float, float], q: tuple[float, float], box: Box) -> bool:
    x0, y0, x1, y1 = box
    lo_x, hi_x = sorted((p[0], q[0]))
    lo_y, hi_y = sorted((p[1], q[1]))
    return lo_x <= x1 and hi_x >= x0 and lo_y <= y1 and hi_y >= y0


def _place_labels(plane: Plane) -> None:
    shapes = [n.box(3) for n in plane.nodes.values()]
    # bpmn-js puts a drill-down button just outside the bottom-right corner of a collapsed sub-process.
    shapes += [(n.x + n.width - 20, n.y + n.height + 2, n.x + n.width + 12, n.y + n.height + 36)
               for n in plane.nodes.values() if n.kind in SUB_PROCESSES]
    segments = [(a, b) for f in plane.flows for a, b in zip(f.waypoints, f.waypoints[1:], strict=False)]
    placed: list[Box] = []

    def cost(box: Box, own: Box | None) -> float:
        c = 0.0
        for s in shapes:
            if s != own and _overlaps(box, s):
                c += 1000
        for other in placed:
            if _overlaps(box, (other[0] - 4, other[1] - 4, other[2] + 4, other[3] + 4)):
                c += 1000
        for a, b in segments:
            if _seg_box(a, b, box):
                c += 100
        return c

    def choose(candidates: list[Box], own: Box | None) -> Box:
        """The first candidate with the least overlap (shapes and labels weigh most, then edges)."""
        best = min(enumerate(candidates), key=lambda ic: (cost(ic[1], own), ic[0]))[1]
        placed.append(best)
        return best

    for n in plane.nodes.values():
        if not n.name or n.kind in ACTIVITIES:
            continue
        w, h = label_size(n.name)
        own = n.box(3)
        below = (n.cx - w / 2, n.y + n.height + 5, n.cx + w / 2, n.y + n.height + 5 + h)
        above = (n.cx - w / 2, n.y - 5 - h, n.cx + w / 2, n.y - 5)
        right_below = _boundary_label_box(n)
        left_below = (n.x - 4 - w, n.y + n.height + 2, n.x - 4, n.y + n.height + 2 + h)
        left_above = (n.x - 4 - w, n.y - 2 - h, n.x - 4, n.y - 2)
        right_above = (n.x + n.width + 4, n.y - 2 - h, n.x + n.width + 4 + w, n.y - 2)
        # beside the vertical axis, where flows leave a gateway upwards or downwards
        axis_left_above = (n.cx - 5 - w, n.y - 2 - h, n.cx - 5, n.y - 2)
        axis_right_above = (n.cx + 5, n.y - 2 - h, n.cx + 5 + w, n.y - 2)
        axis_left_below = (n.cx - 5 - w, n.y + n.height + 2, n.cx - 5, n.y + n.height + 2 + h)
        axis_right_below = (n.cx + 5, n.y + n.height + 2, n.cx + 5 + w, n.y + n.height + 2 + h)
        around = [right_below, left_below, below] if n.host else [
            below, above, left_above, right_above, left_below, right_below,
            axis_left_above, axis_right_above, axis_left_below, axis_right_below]
        box = choose(around, own)
        plane.labels[n.id] = (box[0], box[1], box[2] - box[0], box[3] - box[1])
    for f in plane.flows:
        if not f.name:
            continue
        w, h = label_size(f.name)
        (ax, ay), (bx, by) = f.waypoints[0], f.waypoints[1]
        candidates: list[Box] = []
        if ay == by:  # leaves horizontally
            sx = ax + 6 if bx > ax else ax - 6 - w
            candidates += [(sx, ay - 4 - h, sx + w, ay - 4), (sx, ay + 4, sx + w, ay + 4 + h)]
            ex = bx - 6 - w if bx > ax else bx + 6  # or before the next bend / the target
            candidates += [(ex, ay - 4 - h, ex + w, ay - 4), (ex, ay + 4, ex + w, ay + 4 + h)]
        else:  # leaves vertically
            sy = ay + 6 if by > ay else ay - 6 - h
            candidates += [(ax + 5, sy, ax + 5 + w, sy + h), (ax - 5 - w, sy, ax - 5, sy + h)]
        if len(f.waypoints) > 2:
            (cx, cy) = f.waypoints[2]
            if by == cy:
                sx = bx + 6 if cx > bx else bx - 6 - w
                candidates += [(sx, by - 4 - h, sx + w, by - 4), (sx, by + 4, sx + w, by + 4 + h)]
            else:
                sy = by + 6 if cy > by else by - 6 - h
                candidates += [(bx + 5, sy, bx + 5 + w, sy + h), (bx - 5 - w, sy, bx - 5, sy + h)]
        (px, py), (tx, ty) = f.waypoints[-2], f.waypoints[-1]  # or just before the target
        if py == ty:
            ex = tx - 6 - w if tx > px else tx + 6
            candidates += [(ex, ty - 4 - h, ex + w, ty - 4), (ex, ty + 4, ex + w, ty + 4 + h)]
        else:
            ey = ty - 6 - h if ty > py else ty + 6
            candidates += [(tx + 5, ey, tx + 5 + w, ey + h), (tx - 5 - w, ey, tx - 5, ey + h)]
        box = choose(candidates, None)
        plane.labels[f.id] = (box[0], box[1], box[2] - box[0], box[3] - box[1])


# --------------------------------------------------------------------------------------------- output


def _fmt(v: float) -> str:
    return str(round(v))


def _plane_xml(plane: Plane) -> str:
    lines = [f'  <bpmndi:BPMNDiagram id="BPMNDiagram_{plane.element_id}">',
             f'    <bpmndi:BPMNPlane id="BPMNPlane_{plane.element_id}" bpmnElement="{plane.element_id}">']
    ordered = sorted(plane.nodes.values(), key=lambda n: (bool(n.host), n.col, n.row))
    for n in ordered:
        expanded = ' isExpanded="false"' if n.kind in SUB_PROCESSES else ""
        lines.append(f'      <bpmndi:BPMNShape id="{n.id}_di" bpmnElement="{n.id}"{expanded}>')
        lines.append(f'        <dc:Bounds x="{_fmt(n.x)}" y="{_fmt(n.y)}" width="{_fmt(n.width)}" '
                     f'height="{_fmt(n.height)}" />')
        if n.id in plane.labels:
            lines.append(_label_xml(plane.labels[n.id]))
        lines.append("      </bpmndi:BPMNShape>")
    for f in plane.flows:
        lines.append(f'      <bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">')
        lines += [f'        <di:waypoint x="{_fmt(x)}" y="{_fmt(y)}" />' for x, y in f.waypoints]
        if f.id in plane.labels:
            lines.append(_label_xml(plane.labels[f.id]))
        lines.append("      </bpmndi:BPMNEdge>")
    lines += ["    </bpmndi:BPMNPlane>", "  </bpmndi:BPMNDiagram>"]
    return "\n".join(lines)


def _label_xml(b: tuple[float, float, float, float]) -> str:
    x, y, w, h = b
    return (f'        <bpmndi:BPMNLabel>\n          <dc:Bounds x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(w)}" '
            f'height="{_fmt(h)}" />\n        </bpmndi:BPMNLabel>')


def layout_planes(bpmn_xml: str) -> list[Plane]:
    """The planes of a model (process first, then each sub-process), laid out and routed."""
    root = ET.fromstring(bpmn_xml)
    planes = _planes(root)
    for plane in planes:
        if not plane.nodes:
            continue
        _layers(plane)
        _place(plane)
        used: dict[tuple[tuple[float, float], tuple[float, float]], int] = {}
        # Straight flows first, then branches, then loops around them: each keeps off the earlier ones.
        for flow in sorted(plane.flows, key=lambda f: _routing_order(plane, f)):
            _route(plane, flow, used)
        _place_labels(plane)
    return planes


def _routing_order(plane: Plane, flow: Flow) -> tuple[bool, bool]:
    src, dst = plane.nodes[flow.source], plane.nodes[flow.target]
    anchor = plane.nodes[src.host] if src.host else src
    return (dst.col <= anchor.col, bool(src.host) or dst.row != anchor.row)


DI_START = re.compile(r"^[ \t]*<bpmndi:BPMNDiagram\b", re.M)
DI_END = "</bpmndi:BPMNDiagram>"


def relayout(bpmn_xml: str) -> str:
    """The model with its DI replaced by the computed one; the text before and after the DI is kept."""
    start = DI_START.search(bpmn_xml)
    end = bpmn_xml.rfind(DI_END)
    if start is None or end < 0:
        raise ValueError("the model has no <bpmndi:BPMNDiagram> to replace")
    planes = [p for p in layout_planes(bpmn_xml) if p.nodes]
    di = "\n".join(_plane_xml(p) for p in planes)
    out = bpmn_xml[: start.start()] + di + bpmn_xml[end + len(DI_END):]
    if semantic_tree(out) != semantic_tree(bpmn_xml):
        raise AssertionError("the executable part changed: refusing to write")
    return out


def semantic_tree(bpmn_xml: str) -> tuple[object, ...]:
    """The model's element tree without its DI, as nested (tag, attributes, text, children) tuples."""
    root = ET.fromstring(bpmn_xml)

    def canon(e: ET.Element) -> tuple[object, ...]:
        children = tuple(canon(c) for c in e if not c.tag.startswith(f"{{{BPMNDI}}}"))
        return (e.tag, tuple(sorted(e.attrib.items())), (e.text or "").strip(), children)

    return canon(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report models whose DI is not the computed one")
    args = parser.parse_args(argv)
    stale = []
    for model in args.models:
        text = model.read_text(encoding="utf-8")
        new = relayout(text)
        if new != text:
            stale.append(model)
            if not args.check:
                model.write_text(new, encoding="utf-8")
    for model in stale:
        print(f"{'stale' if args.check else 'laid out'}: {model}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
