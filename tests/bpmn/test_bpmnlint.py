"""Every model in bpmn/ passes bpmnlint with bpmn/.bpmnlintrc: bpmnlint's recommended rules plus the
Camunda compatibility plug-in for Camunda 8.8 (what Desktop/Web Modeler check before a deploy), and
every model and form, the generated variant included, has no error and no warning from the linters
Camunda Modeler itself runs: ``@camunda/linting`` (models) and ``@camunda/form-linting`` (forms), each
configured from the file's executionPlatformVersion (tools/lint/camunda-lint.mjs). Among the warnings
that catches: a job-worker user task (``camunda-compat/zeebe-user-task``: deprecated, and not shown by
Tasklist V2, Camunda 8.8's default).

bpmnlint resolves plug-ins and moddle extensions from its working directory, so it runs in tools/,
where ``npm ci --prefix tools`` installed it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
CONFIG = BPMN_DIR / ".bpmnlintrc"
TOOLS = ROOT / "tools"
BPMNLINT = TOOLS / "node_modules" / ".bin" / "bpmnlint"
SAMPLES = Path(__file__).resolve().parent / "samples"
CAMUNDA_LINT = TOOLS / "lint" / "camunda-lint.mjs"
MODELS_AND_FORMS = sorted([*BPMN_DIR.glob("*.bpmn"), *BPMN_DIR.glob("variants/*.bpmn"), *BPMN_DIR.glob("*.form")])

# The process families the project ships (docs/contracts.md, "Job types and process ids").
EXPECTED_MODELS = ("procgov-rollout.bpmn", "procgov-change-request.bpmn", "procgov-sla-review.bpmn")

pytestmark = pytest.mark.node


def _lint(model: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not BPMNLINT.exists():
        skip_or_fail("node and tools/node_modules (bpmnlint) are needed: run `make setup` with npm installed")
    return subprocess.run(
        [str(BPMNLINT), "--config", str(CONFIG), str(model)],
        cwd=TOOLS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_the_process_models_are_there() -> None:
    missing = [name for name in EXPECTED_MODELS if not (BPMN_DIR / name).is_file()]
    assert not missing, f"missing models in bpmn/: {missing}"


@pytest.mark.parametrize("model", sorted(BPMN_DIR.glob("*.bpmn")), ids=lambda p: p.name)
def test_model_lints_clean(model: Path) -> None:
    result = _lint(model)
    assert result.returncode == 0, f"bpmnlint {model.name}: {_report(result)}"


def test_config_resolves_and_a_well_formed_model_passes() -> None:
    # Guards against a silently broken config: a missing plug-in or moddle extension fails every file.
    result = _lint(SAMPLES / "valid-sample.bpmn")
    assert result.returncode == 0, _report(result)


def test_lint_fails_an_invalid_model(tmp_path: Path) -> None:
    model = tmp_path / "invalid.bpmn"
    model.write_bytes((SAMPLES / "invalid-sample.bpmn").read_bytes())
    result = _lint(model)
    assert result.returncode != 0, _report(result)
    # One finding from each rule set: camunda-compat (zeebe:TaskDefinition) and bpmnlint:recommended.
    assert "zeebe:TaskDefinition" in result.stdout, _report(result)
    for rule in ("no-disconnected", "no-bpmndi", "label-required"):
        assert rule in result.stdout, f"{rule} not reported: {_report(result)}"


def _camunda_lint(*files: Path) -> tuple[int, dict[str, list[dict[str, str]]]]:
    if shutil.which("node") is None or not (TOOLS / "node_modules" / "@camunda" / "linting").exists():
        skip_or_fail("node and tools/node_modules (@camunda/linting) are needed: run `make setup` with npm installed")
    result = subprocess.run(["node", str(CAMUNDA_LINT), *map(str, files)], cwd=TOOLS, capture_output=True,
                            text=True, timeout=180, check=False)
    assert result.returncode in (0, 1), _report(result)
    reports: dict[str, list[dict[str, str]]] = json.loads(result.stdout)
    return result.returncode, {Path(name).name: found for name, found in reports.items()}


def test_camunda_linting_reports_nothing_on_any_model_or_form() -> None:
    # One run for all files: each node start loads both linters (~2 s).
    code, reports = _camunda_lint(*MODELS_AND_FORMS)
    found = {name: [f"{r['category']} {r.get('rule', '')} {r['id']}: {r['message']}" for r in items]
             for name, items in reports.items() if items}
    assert code == 0 and not found, json.dumps(found, indent=2, ensure_ascii=False)
    assert len(reports) == len(MODELS_AND_FORMS)


def test_camunda_linting_warns_on_a_job_worker_user_task_and_an_unsupported_form() -> None:
    # The check above can fail: the same linters flag a job-worker user task (deprecated since 8.6)
    # and a form component the form's Camunda version does not have.
    code, reports = _camunda_lint(SAMPLES / "job-worker-user-task.bpmn", SAMPLES / "too-new-for-8-2.form",
                                  SAMPLES / "valid-sample.bpmn")
    assert code == 1
    assert {r.get("rule") for r in reports["job-worker-user-task.bpmn"]} >= {"camunda-compat/zeebe-user-task"}
    assert [r["category"] for r in reports["too-new-for-8-2.form"]] == ["error"]
    assert "Dynamiclist" in reports["too-new-for-8-2.form"][0]["message"]
    assert reports["valid-sample.bpmn"] == []
