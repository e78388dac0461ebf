"""Every deployable model is wired: each job type has a worker, each element has a diagram shape.

A model whose service task names a job type no worker serves deploys fine and then waits forever in
Operate; a flow node without a diagram shape opens broken in Camunda Modeler. Neither shows up in a
single process test, so both are checked across all of ``bpmn/`` here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from procgov.groups import load_groups
from workers.runtime.settings import WorkerSettings

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
MODELS = sorted(BPMN_DIR.glob("*.bpmn"))
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "zeebe": "http://camunda.org/schema/zeebe/1.0",
}
# Elements that are drawn as shapes (flow nodes and the containers around them).
FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "serviceTask", "userTask", "sendTask", "receiveTask", "scriptTask", "manualTask",
    "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway",
}  # fmt: skip


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _static_job_types(model: Path) -> dict[str, str]:
    """``{job type: element id}`` of every task definition and execution listener with a literal type."""
    found: dict[str, str] = {}
    for element in ET.parse(model).getroot().iter():
        for definition in element.iterfind("bpmn:extensionElements/zeebe:taskDefinition", NS):
            found.setdefault(definition.get("type", ""), element.get("id", "?"))
        for listener in element.iterfind("bpmn:extensionElements/zeebe:executionListeners/zeebe:executionListener", NS):
            found.setdefault(listener.get("type", ""), element.get("id", "?"))
    return {job_type: where for job_type, where in found.items() if not job_type.startswith("=")}


@pytest.fixture(scope="module")
def served_job_types() -> set[str]:
    groups, skipped = load_groups()
    assert not skipped, f"worker groups that cannot load: {skipped}"
    settings = WorkerSettings()
    return {job_type for group in groups for job_type in group.build_router(settings).task_types}


def test_there_are_models_to_check() -> None:
    assert {"procgov-rollout.bpmn", "procgov-change-request.bpmn", "procgov-sla-review.bpmn"} <= {
        model.name for model in MODELS
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda path: path.name)
def test_every_job_type_has_a_worker(model: Path, served_job_types: set[str]) -> None:
    job_types = _static_job_types(model)
    assert job_types, f"{model.name} has no job-based task at all"
    unserved = {
        job_type: where
        for job_type, where in job_types.items()
        if job_type not in served_job_types
    }
    assert not unserved, f"{model.name}: job types no worker group serves (type: element): {unserved}"


@pytest.mark.parametrize("model", MODELS, ids=lambda path: path.name)
def test_every_element_has_a_diagram_shape_and_every_flow_an_edge(model: Path) -> None:
    root = ET.parse(model).getroot()
    shapes = {shape.get("bpmnElement") for shape in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {edge.get("bpmnElement") for edge in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process_ids = {process.get("id") for process in root.iterfind("bpmn:process", NS)}
    nodes, flows = set(), set()
    for element in root.iter():
        tag = _local(element.tag)
        if not element.tag.startswith("{" + NS["bpmn"] + "}"):
            continue  # zeebe:userTask and the like are extension elements, not flow nodes
        if tag in FLOW_NODE_TAGS:
            nodes.add(element.get("id"))
        elif tag == "sequenceFlow":
            flows.add(element.get("id"))
    assert nodes, f"{model.name} has no flow nodes"
    assert not nodes - shapes, f"{model.name}: elements without a diagram shape: {sorted(nodes - shapes)}"
    assert not flows - edges, f"{model.name}: sequence flows without a diagram edge: {sorted(flows - edges)}"
    assert root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS) is not None
    plane_targets = {plane.get("bpmnElement") for plane in root.iterfind(".//bpmndi:BPMNPlane", NS)}
    assert plane_targets & process_ids, f"{model.name}: the diagram plane does not show the process"


@pytest.mark.parametrize("model", [*MODELS, *sorted(BPMN_DIR.glob("variants/*.bpmn"))], ids=lambda path: path.name)
def test_every_human_step_is_a_camunda_user_task_that_takes_only_its_forms_fields(model: Path) -> None:
    """Camunda 8.8: job-worker user tasks are deprecated and Tasklist V2 does not show them; with output
    mappings only the mapped variables leave the task's scope (Camunda docs, "Variables", "Output
    mappings"), and tools/user_tasks.py computes them from each task's linked form."""
    from tools.user_tasks import convert, forms_for

    root = ET.parse(model).getroot()
    tasks = list(root.iterfind(".//bpmn:userTask", NS))
    assert tasks, f"{model.name} has no user task"
    for task in tasks:
        assert task.find("bpmn:extensionElements/zeebe:userTask", NS) is not None, task.get("id")
        assert task.find("bpmn:extensionElements/zeebe:formDefinition[@formId]", NS) is not None, task.get("id")
        outputs = task.findall("bpmn:extensionElements/zeebe:ioMapping/zeebe:output", NS)
        assert outputs, f"{task.get('id')}: no output mappings, so a completion writes anything"
    text = model.read_text(encoding="utf-8")
    where = model.relative_to(BPMN_DIR.parent)
    assert convert(text, forms_for(model)) == text, f"run: python tools/user_tasks.py {where}"


@pytest.mark.parametrize("model", [*MODELS, *sorted(BPMN_DIR.glob("variants/*.bpmn"))], ids=lambda path: path.name)
def test_every_human_step_is_guarded(model: Path) -> None:
    """Issue #12.1: every user task has the guard's assigning and completing listeners, last of their
    event (Camunda docs, "User task listeners": run in model order), so no completion or assignment of
    a shipped model bypasses ``audit.guard-user-task``."""
    from tools.task_listeners import GUARD_TYPE, convert, missing_guards

    text = model.read_text(encoding="utf-8")
    where = model.relative_to(BPMN_DIR.parent)
    assert missing_guards(text) == [], f"run: python tools/task_listeners.py {where}"
    assert convert(text) == text
    for task in ET.fromstring(text).iterfind(".//bpmn:userTask", NS):
        events = [(el.get("eventType"), el.get("type"), el.get("retries"))
                  for el in task.iterfind("bpmn:extensionElements/zeebe:taskListeners/zeebe:taskListener", NS)]
        assert ("assigning", GUARD_TYPE, "3") in events and ("completing", GUARD_TYPE, "3") in events, task.get("id")
