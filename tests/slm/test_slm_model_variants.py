"""The per-process variant of procgov-sla-review: the monthly company-wide timer start switched off by
deploying a model without it (a Zeebe timer start event cannot read a setting)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slm_process_helpers import child_instances

from tests.conftest import skip_or_fail
from workers.slm.model_variants import without_monthly_timer

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn"
BPMNLINT = ROOT / "tools" / "node_modules" / ".bin" / "bpmnlint"
MAIN = BPMN / "procgov-sla-review.bpmn"
VARIANT = BPMN / "variants" / "procgov-sla-review-per-process.bpmn"
REVIEW = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery",
          "ownerDepartment": "销售部 Sales", "reviewMonth": "2026-03"}


def test_the_shipped_variant_is_generated_from_the_main_model():
    assert VARIANT.read_text(encoding="utf-8") == without_monthly_timer(MAIN.read_text(encoding="utf-8")), (
        "regenerate: python -m workers.slm.model_variants bpmn/procgov-sla-review.bpmn " + str(VARIANT))
    text = VARIANT.read_text(encoding="utf-8")
    assert "timerEventDefinition id=\"monthly-review-timer" not in text and "review-start-join" not in text
    assert 'id="procgov-sla-review"' in text  # same process id: deploying it replaces the main model's timer


@pytest.mark.node
def test_the_variant_lints_clean_like_the_main_models():
    if shutil.which("node") is None or not BPMNLINT.exists():
        skip_or_fail("node and tools/node_modules (bpmnlint) are needed: run `make setup` with npm installed")
    result = subprocess.run([str(BPMNLINT), "--config", str(BPMN / ".bpmnlintrc"), str(VARIANT)], cwd=ROOT / "tools",
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_model_the_generator_does_not_know_is_a_clear_error():
    with pytest.raises(ValueError, match=r"no element with id='monthly-review-timer'; update"):
        without_monthly_timer(VARIANT.read_text(encoding="utf-8"))


async def test_deploying_the_variant_stops_the_monthly_company_wide_review(zeebe, slm):
    await zeebe.deploy(VARIANT)  # on top of the main model: a new version without the timer start
    await zeebe.increase_time(datetime(2027, 1, 1, 2, 0, tzinfo=UTC) - zeebe.clock.now())  # past 1 Dec and 1 Jan
    await asyncio.sleep(0.5)  # the engine would start timer instances right after the clock moved
    assert child_instances(zeebe.records(), "procgov-sla-review") == []
    key = await slm.start("procgov-sla-review", REVIEW)  # a per-process review still runs
    await zeebe.instance(key).wait_element_active("submit-self-check")
    assert zeebe.instance(key).variables()["overdueReminders"] == 7
