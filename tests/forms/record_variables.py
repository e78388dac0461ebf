"""Regenerate tests/forms/fixtures/: the variables a real run gives each user task that has a Camunda Form.

Runs the process tests (the embedded engine, the real workers, people completing the user tasks) with
``PROCGOV_RECORD_USER_TASKS`` set, then keeps the first sighting of each user task of bpmn/*.bpmn that
links a form (``zeebe:formDefinition formId``). Run it after a model or form changes::

    .venv/bin/python -m tests.forms.record_variables
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tests.forms.recording import ENV

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCENARIOS = ("tests/rollout/test_process.py", "tests/rollout/test_exams.py",
             "tests/slm/test_slm_change_request_process.py", "tests/slm/test_slm_review_process.py")
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "zeebe": "http://camunda.org/schema/zeebe/1.0"}


@dataclass(frozen=True)
class FormTask:
    """A user task of a model that links a Camunda Form, and the local variables its input mapping sets."""

    process_id: str
    element_id: str
    form_id: str
    inputs: tuple[str, ...]

    @property
    def fixture(self) -> Path:
        return FIXTURES / f"{self.process_id}--{self.element_id}.json"


def form_tasks() -> list[FormTask]:
    tasks = []
    for model in sorted((ROOT / "bpmn").glob("*.bpmn")):
        root = ET.parse(model).getroot()
        for process in root.iterfind("bpmn:process", NS):
            for task in process.iterfind(".//bpmn:userTask", NS):
                form = task.find("bpmn:extensionElements/zeebe:formDefinition", NS)
                if form is None or not form.get("formId"):
                    continue
                inputs = tuple(i.get("target", "") for i in task.iterfind(
                    "bpmn:extensionElements/zeebe:ioMapping/zeebe:input", NS))
                tasks.append(FormTask(process.get("id", ""), task.get("id", ""), form.get("formId", ""), inputs))
    return tasks


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="procgov-user-tasks-") as recordings:
        env = {**os.environ, ENV: recordings}
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SCENARIOS],
                             cwd=ROOT, env=env, check=False)
        if run.returncode != 0:
            print("the process tests failed: fixtures not regenerated", file=sys.stderr)
            return 1
        missing = []
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for task in form_tasks():
            recorded = Path(recordings) / f"{task.element_id}.jsonl"
            first = next((json.loads(line) for line in recorded.read_text(encoding="utf-8").splitlines()
                          if json.loads(line)["bpmnProcessId"] == task.process_id), None) if recorded.exists() else None
            if first is None:
                missing.append(f"{task.process_id}/{task.element_id}")
                continue
            fixture = {"bpmnProcessId": task.process_id, "elementId": task.element_id, "formId": task.form_id,
                       "variables": first["variables"]}
            task.fixture.write_text(json.dumps(fixture, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                    encoding="utf-8")
            print(f"wrote {task.fixture.relative_to(ROOT)}")
    if missing:
        print(f"no run reached these user tasks: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
