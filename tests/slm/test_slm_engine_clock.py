"""The slm workers' "today" is the engine's clock at activation (``JobContext.activated_at``), so a
deployment's job-timeout override for an slm task type cannot move a due date or a late-day count.

The override here is three days: a "today" read off the job's deadline would land on Sunday 5 April
(Qingming) when the change is approved, and three days after the publication, changing both numbers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from slm_process_helpers import MODELS, REPO, People

from procgov_engine.testing.embedded import EmbeddedEngine
from workers.audit import AuditDeps
from workers.audit import build_router as build_audit_router
from workers.slm import build_router
from workers.slm.deps import SlmDeps

pytestmark = pytest.mark.timeout(120)

THREE_DAYS_MS = 3 * 24 * 3600 * 1000
OVERRIDES = {task: {"timeout_ms": THREE_DAYS_MS} for task in ("slm.schedule-deadline", "slm.record-deadline")}
REQUEST = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
           "origin": "self-check", "scope": "department", "department": "销售部 Sales", "departmentHead": "chen.jing",
           "requester": "wang.fang", "problem": "order receipt form lacks the delivery address",
           "proposedChange": "add the delivery address to the receipt form"}


@pytest_asyncio.fixture
async def people(zeebe: EmbeddedEngine, run_workers: Any, slm_deps: SlmDeps,
                 audit_deps: AuditDeps) -> AsyncIterator[People]:
    await zeebe.deploy(*MODELS, *sorted((REPO / "bpmn").glob("slm-*.form")))
    await run_workers(build_router(slm_deps), build_audit_router(audit_deps), retry={"base_ms": 100, "max_ms": 1000},
                      tasks=OVERRIDES)
    crowd = People(zeebe)
    try:
        yield crowd
    finally:
        with contextlib.suppress(Exception):
            await crowd.close()


async def test_100104_2_3_4_a_task_timeout_override_does_not_shift_today(zeebe, people):
    key = await people.start("procgov-change-request", REQUEST)
    await people.complete("approve-change", key, {"approved": True})
    await zeebe.instance(key).wait_element_active("publish-change")
    # approved Thursday 2 April: 2 working days are Fri 3rd and (after Qingming, Sat-Mon) Tue 7th
    assert zeebe.instance(key).variables()["publishDueDate"] == "2026-04-07"
    await zeebe.increase_time(timedelta(days=6))  # Wednesday 8 April: 1 working day late, not 4 (Sat 11th)
    await people.complete("publish-change", key, {})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    assert {i["quantity"] for i in variables["penalties"]["lineItems"]} == {1}
    assert variables["totalFinesYuan"] == "30.00"  # 100104 §2.3.4: 1 day × (20 + 10)
