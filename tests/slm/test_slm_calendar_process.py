"""Working-day deadlines of procgov-change-request in 2027, beyond chinese-calendar's data, on the embedded
engine with the real slm workers: estimated by default, the override file when the notice is in, or an
incident in ``fail`` mode (100104 §2.3.4: 2 working days)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa

from procgov_engine.clock import ControlledClock
from procgov_engine.testing.embedded import EmbeddedEngine
from workers.slm.business_calendar import BeyondOfficial, BusinessCalendar
from workers.slm.calendar_overrides import parse_calendar_overrides

pytestmark = pytest.mark.timeout(120)

# Thursday 4 February 2027, 09:00 Shanghai: the Spring Festival (6 Feb) is two days away.
START_2027 = datetime(2027, 2, 4, 1, 0, tzinfo=UTC)
REQUEST = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
           "origin": "self-check", "scope": "department", "department": "销售部 Sales", "departmentHead": "chen.jing",
           "requester": "wang.fang", "problem": "order receipt form lacks the delivery address",
           "proposedChange": "add the delivery address to the receipt form"}
NOTICE_2027 = """
years:
  - year: 2027
    source: "test notice (hypothetical): 国务院办公厅关于2027年部分节假日安排的通知"
    holidays:
      - {from: 2027-02-05, to: 2027-02-13, name: 春节}
    working_days:
      - {date: 2027-02-20, name: 春节调休}
"""


@pytest_asyncio.fixture
async def zeebe(tmp_path: Path) -> AsyncIterator[EmbeddedEngine]:
    async with EmbeddedEngine(tmp_path / "engine", clock=ControlledClock(START_2027)) as engine:
        yield engine


async def _published_late(zeebe, slm, *, days: int) -> dict:
    key = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", key, {"approved": True})
    await zeebe.instance(key).wait_element_active("publish-change")
    due = zeebe.instance(key).variables()
    await zeebe.increase_time(timedelta(days=days))
    await slm.complete("publish-change", key, {})
    await zeebe.instance(key).wait_completed()
    return {"due": due, "done": zeebe.instance(key).variables(), "key": key}


async def test_100104_2_3_4_a_2027_deadline_across_the_spring_festival_is_estimated(zeebe, slm, tmp_path):
    # estimate (holidays.China): 5-10 Feb off, so Thu 11th and Fri 12th are the two working days
    run = await _published_late(zeebe, slm, days=12)  # Tuesday 16 Feb: Mon 15th and Tue 16th are late
    assert (run["due"]["publishDueDate"], run["due"]["publishDueCalendar"]) == ("2027-02-12", "estimated")
    items = run["done"]["penalties"]["lineItems"]
    assert {(i["quantity"], i["calendarSource"]) for i in items} == {(2, "estimated")}
    assert run["done"]["totalFinesYuan"] == "60.00"  # 2 working days × (20 + 10)
    # the recorded decision input carries the count and its source (what an audit replay re-prices)
    store = sa.create_engine(f"sqlite:///{tmp_path / 'workers.db'}")
    with store.connect() as connection:
        inputs = connection.execute(sa.text(
            "SELECT inputs FROM decision_records WHERE decision = 'slm.penalty-calculation' "
            "AND process_instance_key = :key"), {"key": run["key"]}).scalar_one()
    store.dispose()
    (case,) = json.loads(inputs)["penaltyCases"]
    assert (case["daysLate"], case["calendarSource"]) == (2, "estimated")


async def test_100104_2_3_4_the_override_file_moves_the_2027_deadline(zeebe, slm, slm_deps):
    slm_deps.calendar = BusinessCalendar(parse_calendar_overrides(NOTICE_2027, "test"))
    run = await _published_late(zeebe, slm, days=12)  # Tuesday 16 Feb: the 2nd working day after the festival
    assert (run["due"]["publishDueDate"], run["due"]["publishDueCalendar"]) == ("2027-02-16", "override")
    assert run["done"]["totalFinesYuan"] == "0.00"


async def test_fail_mode_raises_an_incident_naming_the_date_and_the_fix(zeebe, slm, slm_deps):
    slm_deps.calendar = BusinessCalendar(beyond_official=BeyondOfficial.FAIL)
    key = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", key, {"approved": True})
    incident = await zeebe.instance(key).wait_incident("2027-02-05 has no official working-day data")
    assert "add the State Council's 2027 holiday notice to the override file" in incident.error_message
    assert "PROCGOV_SLM_CALENDAR_BEYOND_OFFICIAL=estimate" in incident.error_message
