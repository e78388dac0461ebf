"""Every model in bpmn/ passes bpmnlint with bpmn/.bpmnlintrc: bpmnlint's recommended rules plus the
Camunda compatibility plug-in for Camunda 8.8 (what Desktop/Web Modeler check before a deploy).

bpmnlint resolves plug-ins and moddle extensions from its working directory, so it runs in tools/,
where ``npm ci --prefix tools`` installed it.
"""

from __future__ import annotations

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
