"""The behaviour suite's models pass bpmnlint with the project's ``bpmn/.bpmnlintrc`` (bpmnlint's recommended
rules plus camunda-compat for Camunda 8.8, what the Modeler checks before a deploy).

This keeps the small models honest (connected, labelled, with diagrams) and, for ``test_deploy_support.py``,
shows that Camunda's own compatibility rules accept for 8.8 the features the embedded engine refuses.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from behaviour_helpers import BPMN_DIR

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "tools"
BPMNLINT = TOOLS / "node_modules" / ".bin" / "bpmnlint"
CONFIG = ROOT / "bpmn" / ".bpmnlintrc"

pytestmark = pytest.mark.node


def test_behaviour_models_lint_without_errors() -> None:
    if shutil.which("node") is None or not BPMNLINT.exists():
        skip_or_fail("node and tools/node_modules (bpmnlint) are needed: run `make setup` with npm installed")
    models = sorted(BPMN_DIR.glob("*.bpmn"))
    assert len(models) >= 30
    result = subprocess.run(
        [str(BPMNLINT), "--config", str(CONFIG), *map(str, models)],
        cwd=TOOLS,  # bpmnlint resolves its plug-ins and moddle extensions from the working directory
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"bpmnlint exit {result.returncode}\n{result.stdout}{result.stderr}"
