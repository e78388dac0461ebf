"""The rollout model and its workers agree: job types, error codes, forms, and the nine steps in order."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.rollout.process import FORMS, ROLLOUT_BPMN
from tests.rollout.servers import DATA
from workers.rollout import RolloutDeps, build_router
from workers.rollout.cutover import CUTOVER_INVALID
from workers.rollout.grading import ANSWER_SHEET_INVALID
from workers.rollout.notify import SmtpSettings
from workers.rollout.owner import OWNER_NOT_ELIGIBLE
from workers.rollout.plan import PLAN_INVALID
from workers.rollout.rules import PILOT_DURATION
from workers.runtime import IdempotencyStore, open_engine

B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
Z = "{http://camunda.org/schema/zeebe/1.0}"
ROOT = ET.parse(ROLLOUT_BPMN).getroot()
PROCESS = ROOT.find(f"{B}process")
assert PROCESS is not None
FILE_HISTORY = "audit.file-history"


def test_every_job_type_in_the_model_has_a_handler_and_every_handler_is_used(tmp_path: Path) -> None:
    deps = RolloutDeps.from_files(
        org_directory=DATA / "org-directory.yaml", exams_dir=DATA / "exams", templates=DATA / "notifications.yaml",
        smtp=SmtpSettings(), store=IdempotencyStore(open_engine(f"sqlite:///{tmp_path / 'store.db'}")))
    used = {t.get("type") for t in ROOT.iter(f"{Z}taskDefinition")}
    # every rollout handler is used; the one other job type is the audit group's filing at the end
    assert used == set(build_router(deps).task_types) | {FILE_HISTORY}


def test_the_nine_steps_run_strictly_in_order() -> None:
    assert PROCESS is not None
    steps = [e for e in PROCESS if e.tag == f"{B}subProcess"]
    assert [s.get("name", "").split(" ·")[0] for s in steps] == [str(n) for n in range(1, 10)]
    flows = {(f.get("sourceRef"), f.get("targetRef")) for f in PROCESS.iter(f"{B}sequenceFlow")}
    chain = ["RolloutRequested", *[s.get("id") for s in steps], "FileAuditRecord", "RolloutClosed"]
    assert all(pair in flows for pair in itertools.pairwise(chain))
    for number, step in enumerate(steps, start=1):
        documentation = step.find(f"{B}documentation")
        assert documentation is not None and f"000A step {number}" in (documentation.text or "")


def test_the_bpmn_errors_are_the_ones_the_workers_throw() -> None:
    codes = {e.get("errorCode") for e in ROOT.iter(f"{B}error")}
    assert codes == {OWNER_NOT_ELIGIBLE, PLAN_INVALID, ANSWER_SHEET_INVALID, CUTOVER_INVALID}


def test_user_tasks_are_camunda_user_tasks_with_a_deployed_form() -> None:
    forms = {json.loads(path.read_text(encoding="utf-8"))["id"] for path in FORMS}
    tasks = list(ROOT.iter(f"{B}userTask"))
    assert len(tasks) == 14  # the loop below must have something to check
    for task in tasks:
        assert task.find(f"{B}extensionElements/{Z}userTask") is not None, task.get("id")
        form = task.find(f"{B}extensionElements/{Z}formDefinition")
        assert form is not None and form.get("formId") in forms, task.get("id")
        assignee = task.find(f"{B}extensionElements/{Z}assignmentDefinition")
        assert assignee is not None and assignee.get("assignee", "").startswith("="), task.get("id")


def test_timers_are_driven_by_variables_with_the_rule_as_default() -> None:
    timers = {e.get("id"): e for e in ROOT.iter(f"{B}intermediateCatchEvent")}
    assert timers["Step4_PilotElapsed"].findtext(f"{B}timerEventDefinition/{B}timeDuration") == "=pilot.duration"
    assert timers["Step6_CutoverReached"].findtext(f"{B}timerEventDefinition/{B}timeDate") == "=cutover.at"
    assert timers["Month_Elapsed"].findtext(f"{B}timerEventDefinition/{B}timeDate") == "=review.opensAt"
    assert PILOT_DURATION == {"small": "P3M", "large": "P6M"}


def test_the_diagram_shows_every_element() -> None:
    assert PROCESS is not None
    ids = {e.get("id") for e in PROCESS.iter() if e.get("id") and not e.tag.endswith("EventDefinition")}
    ids -= {PROCESS.get("id")}
    shown = {s.get("bpmnElement") for s in ROOT.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    shown |= {s.get("bpmnElement") for s in ROOT.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")}
    assert ids - shown == set()


def test_the_audit_record_is_filed_just_before_the_rollout_closes() -> None:
    """The normal completion path ends "… → Step9_LockIn → File the audit record → Rollout closed"; the
    task is the audit group's audit.file-history, so every completed rollout leaves its record."""
    assert PROCESS is not None
    task = PROCESS.find(f"{B}serviceTask[@id='FileAuditRecord']")
    assert task is not None and task.get("name") == "File the audit record"
    definition = task.find(f"{B}extensionElements/{Z}taskDefinition")
    assert definition is not None and definition.get("type") == FILE_HISTORY
    ends = [e.get("id") for e in PROCESS.findall(f"{B}endEvent")]
    assert ends == ["RolloutClosed"]
    flows = PROCESS.findall(f"{B}sequenceFlow")
    into_end = [f.get("sourceRef") for f in flows if f.get("targetRef") == "RolloutClosed"]
    into_task = [f.get("sourceRef") for f in flows if f.get("targetRef") == "FileAuditRecord"]
    assert into_end == ["FileAuditRecord"] and into_task == ["Step9_LockIn"]
