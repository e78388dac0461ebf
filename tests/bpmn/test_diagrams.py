"""The diagrams read as a person models them in Camunda Modeler, checked on what bpmn-js draws.

Every model in bpmn/ (and bpmn/variants/) is rendered by bpmn-js in headless Chromium, plane by plane: the
process and each collapsed sub-process, which Modeler 5 and Operate open as a drill-down ("Collapsed
sub-processes", bpmn-js 9+: a sub-process with ``isExpanded="false"`` and a BPMNDiagram/BPMNPlane of its
own). A diagram fails on a label lying on another label, a shape or an edge, a task name running out of its
box, a line of it closer than 3 px to a marker below it, a word broken across two lines (bpmn-js breaks an
external label at 90 px even inside a word), an edge through a shape it does not connect, or a plane that a
1920 x 1080 window shows only below zoom 0.5.

The DI is computed by tools/layout_bpmn.py from the semantic part of each model; the tests without a
browser check that the committed DI is what the tool computes and that the tool leaves the executable part
as it is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.bpmn.diagram_check import MODELS, broken_words, faults, measure, open_page
from tests.browser import ROOT, headless_chromium, serve_repository
from tools.layout_bpmn import relayout, semantic_tree

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
SAMPLES = Path(__file__).resolve().parent / "samples"
# bpmn/variants/ holds models generated from a main model, DI included (workers.slm.model_variants; its test
# checks the shipped file is the generator's output): they are drawn by that, and read-checked here.
LAID_OUT = [m for m in MODELS if "variants" not in m.relative_to(ROOT).parts]


@pytest.fixture(scope="module")
def diagram_page() -> Iterator[WebDriver]:
    with serve_repository() as base, headless_chromium(1920, 1080) as driver:
        open_page(driver, base)
        yield driver


@pytest.mark.browser
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_diagram_reads_clean_in_bpmn_js(diagram_page: WebDriver, model: Path) -> None:
    data = measure(diagram_page, model)
    found = faults(model.name, data)
    assert not found, "\n".join(found)
    assert not diagram_page.execute_script("return window.errors"), "JavaScript errors on the diagram page"


@pytest.mark.browser
def test_the_check_finds_what_makes_a_diagram_unreadable(diagram_page: WebDriver) -> None:
    found = "\n".join(faults("unreadable-sample.bpmn", measure(diagram_page, SAMPLES / "unreadable-sample.bpmn")))
    assert "label 'Start of the unreadable sample' lies on shape work" in found, found
    assert "overflows its shape work" in found, found
    assert "edge f2 passes through shape work" in found, found
    assert "only at zoom" in found, found
    # Measured, not inferred from an overlap: the third line ends 1-2 px above the marker.
    assert "text line 'of all units' of called touches the sub-process marker" in found, found
    assert "'Call the monthly review of all units' runs into" not in found, found
    assert "label 'Wait for overdueRemindersCount' breaks the word 'overdueRemindersCount' across two lines" in found


def test_words_broken_across_lines_are_told_from_breaks_at_spaces_and_hyphens() -> None:
    name = "Publication overdue (daily, overdueReminders times)"
    lines = ["Publication ", "overdue (daily, ", "overdueReminder", "s times)"]
    assert broken_words(lines, name) == ["overdueReminders"]
    assert broken_words(["Cross-", "department?"], "Cross-department?") == []
    assert broken_words(["Escalate to the", "owner"], "Escalate to the owner") == []  # bpmn-js drops the space
    assert broken_words(["Planning office records", "the spot-check findings"],
                        "Planning office records\nthe spot-check findings") == []  # the name's own line break
    assert broken_words(["Go live for 10", "0%"], "Go live for 100%") == ["100%"]


@pytest.mark.browser
def test_the_rollout_top_level_shows_the_nine_steps(diagram_page: WebDriver) -> None:
    data = measure(diagram_page, ROOT / "bpmn" / "procgov-rollout.bpmn")
    top = next(p for p in data["planes"] if p["id"] == "procgov-rollout")
    steps = sorted(s["id"] for s in top["shapes"] if s["type"] == "bpmn:SubProcess")
    assert steps == [f"Step{i}_{name}" for i, name in enumerate(
        ("Owner", "Plan", "Training", "Pilot", "Issuance", "FullRollout", "DailyManagement", "Reoptimise", "LockIn"),
        start=1)]
    assert {f"{step}_plane" for step in steps} <= {p["id"] for p in data["planes"]}, "a step has no drill-down"


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_every_sub_process_is_collapsed_with_a_plane_of_its_own(model: Path) -> None:
    root = ET.parse(model).getroot()
    sub_processes = {e.get("id", "") for e in root.iterfind(".//bpmn:subProcess", NS)}
    planes = [p.get("bpmnElement", "") for p in root.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)]
    assert sorted(planes[1:]) == sorted(sub_processes), "one BPMNDiagram per collapsed sub-process"
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        if shape.get("bpmnElement") in sub_processes:
            assert shape.get("isExpanded") == "false", shape.get("bpmnElement")


@pytest.mark.parametrize("model", LAID_OUT, ids=lambda p: p.name)
def test_committed_diagram_is_what_the_layout_tool_computes(model: Path) -> None:
    text = model.read_text(encoding="utf-8")
    assert relayout(text) == text, f"run: python tools/layout_bpmn.py {model.relative_to(ROOT)}"


def test_the_layout_tool_keeps_the_executable_part() -> None:
    text = (ROOT / "bpmn" / "procgov-sla-review.bpmn").read_text(encoding="utf-8")
    di = text.index("<bpmndi:BPMNDiagram")
    # Only the DI differs between the tool's input and output: the text before it is kept byte for byte.
    moved = text.replace('<dc:Bounds x="', '<dc:Bounds x="1', 3)
    assert relayout(moved)[:di] == text[:di]
    assert semantic_tree(moved) == semantic_tree(text)
    # ... and a change to the executable part is not invisible to the check.
    changed = text.replace('name="Review requested"', 'name="Review asked for"', 1)
    assert semantic_tree(changed) != semantic_tree(text)
