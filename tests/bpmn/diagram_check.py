"""What bpmn-js draws for a model, measured in the browser, and the faults a reader would see in it.

``measure`` renders a model with bpmn-js (tests/bpmn/web/diagram.html) and returns, per plane (the process
and each collapsed sub-process), the shapes, the rendered text boxes of labels and task names, the edges
and the zoom at which the plane fits the window. ``faults`` lists what makes a diagram hard to read.

Run as a script to write one screenshot per plane: ``python -m tests.bpmn.diagram_check OUT_DIR``.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser import ROOT, headless_chromium, serve_repository

PAGE = "/tests/bpmn/web/diagram.html"
MODELS = sorted([*ROOT.glob("bpmn/*.bpmn"), *ROOT.glob("bpmn/variants/*.bpmn")])
MIN_ZOOM = 0.5  # fit-to-screen on a 1920 x 1080 display still readable (12 px text at >= 6 px)
TOLERANCE = 1.0  # px: anti-aliasing and docking at shape outlines
#: px between a line of a task's text and a marker below it (collapsed sub-process, loop, multi-instance):
#: less reads as the text touching the marker. bpmn-js breaks lines a little differently from the layout
#: tool's estimate, so the layout keeps a margin and this measures what is drawn.
MARKER_CLEARANCE = 3.0

Box = tuple[float, float, float, float]


def _rel(model: Path) -> str:
    return "/" + model.relative_to(ROOT).as_posix()


def open_page(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + PAGE)


def measure(driver: WebDriver, model: Path) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.measure(arguments[0]).then(done, (e) => done({error: String(e)}));",
        _rel(model),
    )
    return result


def _box(item: dict[str, Any], shrink: float = 0.0) -> Box:
    return (item["x"] + shrink, item["y"] + shrink, item["x"] + item["w"] - shrink, item["y"] + item["h"] - shrink)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


def _segment_enters(p: list[float], q: list[float], box: Box) -> bool:
    """Does the segment p-q pass through the box's interior? (Clipping, Liang-Barsky.)"""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for edge_p, edge_q in ((-dx, p[0] - box[0]), (dx, box[2] - p[0]), (-dy, p[1] - box[1]), (dy, box[3] - p[1])):
        if edge_p == 0:
            if edge_q <= 0:
                return False
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def _horizontally_over(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["x"] < b["x"] + b["w"] and a["x"] + a["w"] > b["x"])


def marker_gaps(shape: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(line, marker, px from the line's bottom to the marker's top) for each drawn line of a shape's text
    above a marker it shares columns with; negative where the line runs into the marker."""
    text = shape["text"]
    return [(line["text"], marker["marker"], marker["y"] - (line["y"] + line["h"]))
            for marker in shape["markers"] for line in (text["lines"] if text else ())
            if _horizontally_over(line, marker) and line["y"] < marker["y"] + marker["h"]]


def broken_words(lines: list[str], name: str) -> list[str]:
    """The words of ``name`` bpmn-js broke across two lines ("overdueReminder" / "s times)"): a line
    ending where the name has neither whitespace (a space, a newline of its own) nor a hyphen."""
    compact = "".join(name.split())
    allowed, at = set(), 0  # positions in ``compact`` where a line may end
    for char in name:
        if char.isspace():
            allowed.add(at)
        else:
            at += 1
            if char == "-":
                allowed.add(at)
    broken, end = [], 0
    for line in lines[:-1]:
        end += len("".join(line.split()))
        if 0 < end < len(compact) and end not in allowed:
            start = max([0, *(a for a in allowed if a < end)])
            stop = min([len(compact), *(a for a in allowed if a > end)])
            broken.append(compact[start:stop])
    return broken


def faults(model: str, data: dict[str, Any], min_zoom: float = MIN_ZOOM) -> list[str]:
    """Label collisions, text overflowing its shape or touching its markers, words broken across lines,
    edges through shapes, planes unreadable at fit."""
    if "error" in data:
        return [f"{model}: bpmn-js could not import the model: {data['error']}"]
    found = [f"{model}: import warning: {w}" for w in data["warnings"]]
    for plane in data["planes"]:
        where = f"{model} [{plane['id']}]"
        shapes = {s["id"]: s for s in plane["shapes"]}
        labels = plane["labels"]
        if plane["zoom"] < min_zoom:
            found.append(f"{where}: fits a 1920x1080 window only at zoom {plane['zoom']:.2f} (< {min_zoom})")
        for i, label in enumerate(labels):
            box = _box(label, TOLERANCE)
            for other in labels[i + 1:]:
                if _overlap(box, _box(other, TOLERANCE)):
                    found.append(f"{where}: label {label['text']!r} overlaps label {other['text']!r}")
            for shape in shapes.values():
                mine = shape["id"] == label["owner"] or shape["id"] in label["ancestors"]
                if not mine and _overlap(box, _box(shape)):
                    found.append(f"{where}: label {label['text']!r} lies on shape {shape['id']}")
            for overlay in plane["overlays"]:
                if _overlap(box, _box(overlay)):
                    found.append(f"{where}: label {label['text']!r} lies under the overlay of {overlay['owner']}")
            for word in broken_words([line["text"] for line in label["lines"]], label["name"]):
                found.append(f"{where}: label {label['text']!r} breaks the word {word!r} across two lines")
            for edge in plane["edges"]:
                if edge["id"] == label["owner"]:
                    continue
                points = edge["waypoints"]
                if any(_segment_enters(a, b, box) for a, b in itertools.pairwise(points)):
                    found.append(f"{where}: edge {edge['id']} crosses label {label['text']!r}")
        for shape in shapes.values():
            text = shape["text"]
            if not text:
                continue
            if not _inside(_box(text, TOLERANCE), _box(shape)):
                found.append(f"{where}: text {text['text']!r} overflows its shape {shape['id']}")
            for marker in shape["markers"]:
                if _overlap(_box(text, TOLERANCE), _box(marker)):
                    found.append(f"{where}: text {text['text']!r} runs into the {marker['marker']} marker")
            for line, marker_name, gap in marker_gaps(shape):
                if gap < MARKER_CLEARANCE:
                    found.append(f"{where}: text line {line!r} of {shape['id']} touches the {marker_name} marker "
                                 f"({gap:.1f} px, at least {MARKER_CLEARANCE:g} px)")
            for word in broken_words([line["text"] for line in text["lines"]], text["name"]):
                found.append(f"{where}: text {text['text']!r} breaks the word {word!r} across two lines")
            for other in shapes.values():
                if other["id"] != shape["id"] and _overlap(_box(text, TOLERANCE), _box(other)):
                    found.append(f"{where}: text {text['text']!r} is covered by shape {other['id']}")
        for edge in plane["edges"]:
            points = edge["waypoints"]
            for shape in shapes.values():
                if shape["id"] in (edge["source"], edge["target"], *edge["ancestors"]):
                    continue
                inner = _box(shape, 2.0)
                if any(_segment_enters(a, b, inner) for a, b in itertools.pairwise(points)):
                    found.append(f"{where}: edge {edge['id']} passes through shape {shape['id']}")
    return found


def _inside(inner: Box, outer: Box) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def screenshots(out_dir: Path) -> list[Path]:
    """One PNG per model and plane, each at fit-to-screen in a 1920 x 1080 window."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with serve_repository() as base, headless_chromium() as driver:
        open_page(driver, base)
        for model in MODELS:
            data = measure(driver, model)
            for plane in data.get("planes", []):
                driver.execute_async_script(
                    "const done = arguments[arguments.length - 1];"
                    "window.show(arguments[0], arguments[1]).then(done, (e) => done(String(e)));",
                    _rel(model), plane["id"])
                path = out_dir / f"{model.stem}--{plane['id']}.png"
                driver.save_screenshot(str(path))
                written.append(path)
            for fault in faults(model.name, data):
                print(fault)
    return written


if __name__ == "__main__":
    for png in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "var/screenshots/diagrams")):
        print(png)
