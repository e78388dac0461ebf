"""The slm models and the slm workers fit together: every service task type has a handler, every
handler is used, every linked form exists, every process carries its diagram and readable names."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
MODELS = ("procgov-change-request.bpmn", "procgov-sla-review.bpmn", "procgov-annual-sla-review.bpmn")
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "zeebe": "http://camunda.org/schema/zeebe/1.0",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}


def parse(name: str) -> ET.Element:
    return ET.parse(BPMN / name).getroot()


def test_every_service_task_has_an_slm_worker_and_every_worker_is_used(slm_deps):
    from workers.slm import build_router

    used = {d.get("type") for name in MODELS for d in parse(name).iter(f"{{{NS['zeebe']}}}taskDefinition")}
    assert used == set(build_router(slm_deps).task_types)


def test_every_linked_form_is_shipped():
    form_ids = {json.loads(p.read_text(encoding="utf-8"))["id"] for p in BPMN.glob("slm-*.form")}
    linked = {d.get("formId") for name in MODELS for d in parse(name).iter(f"{{{NS['zeebe']}}}formDefinition")}
    assert linked <= form_ids and linked


@pytest.mark.parametrize("name", MODELS)
def test_every_element_has_a_shape_and_a_readable_name(name):
    root = parse(name)
    process = root.find("bpmn:process", NS)
    assert process is not None
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    for element in process.iter():
        tag = element.tag.split("}")[1]
        if tag == "sequenceFlow":
            assert element.get("id") in edges
        elif tag.endswith(("Task", "Event", "Gateway", "subProcess", "callActivity")) and element.get("id"):
            assert element.get("id") in shapes, element.get("id")
            if not tag.endswith("Gateway"):  # joining gateways stay unnamed, as Modeler users draw them
                assert element.get("name"), f"{element.get('id')} has no name"
