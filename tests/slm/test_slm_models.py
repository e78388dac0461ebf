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


AUDIT_FILING = "audit.file-history"  # the audit group's worker, the last task of a normal completion


def test_every_service_task_has_an_slm_worker_and_every_worker_is_used(slm_deps):
    from workers.slm import build_router

    used = {d.get("type") for name in MODELS for d in parse(name).iter(f"{{{NS['zeebe']}}}taskDefinition")}
    assert AUDIT_FILING in used
    assert used - {AUDIT_FILING} == set(build_router(slm_deps).task_types)


@pytest.mark.parametrize(("name", "ends"), [
    # 100104 §2.3.2: every outcome of a change request (published, returned, rejected) is priced and filed
    ("procgov-change-request.bpmn", {"change-published", "returned", "rejected"}),
    ("procgov-sla-review.bpmn", {"review-published"}),
])
def test_every_completion_files_the_audit_record_just_before_its_end(name, ends):
    process = parse(name).find("bpmn:process", NS)
    assert process is not None
    (task,) = [t for t in process.iterfind("bpmn:serviceTask", NS)
               if t.find(f"bpmn:extensionElements/zeebe:taskDefinition[@type='{AUDIT_FILING}']", NS) is not None]
    assert task.get("name") == "File the audit record"
    (outgoing,) = task.iterfind("bpmn:outgoing", NS)
    flow = process.find(f"bpmn:sequenceFlow[@id='{outgoing.text}']", NS)
    assert flow is not None
    targets = {flow.get("targetRef")}
    gateway = process.find(f"bpmn:exclusiveGateway[@id='{flow.get('targetRef')}']", NS)
    if gateway is not None:  # an outcome gateway straight after the filing, each branch to an end event
        branches = process.iterfind(f"bpmn:sequenceFlow[@sourceRef='{gateway.get('id')}']", NS)
        targets = {f.get("targetRef") for f in branches}
    assert targets == ends
    assert all(process.find(f"bpmn:endEvent[@id='{end}']", NS) is not None for end in ends)


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
