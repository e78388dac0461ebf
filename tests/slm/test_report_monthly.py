"""The monthly SLA report as a department head reads it, in headless Chromium."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.audit.conftest import chrome  # noqa: F401  (the headless Chromium fixture)
from workers.slm.directory import Directory
from workers.slm.report import number, overall, render_monthly_report

DIRECTORY = Directory(version="t", people={}, planning_office="企划部", rule_supervisor="sun.qiang",
                      planning_head="zhao.lei", departments={})
INDICATORS = [
    {"indicator": "inventory-accuracy", "name": "库存准确率 inventory accuracy", "unit": "%", "direction": "ge",
     "actual": "98.5000", "target": "99", "goal": "99.5", "alertThreshold": "99", "verdict": "alert",
     "gapToTarget": "0.5000", "gapToGoal": "1.0000", "ownerDepartment": "仓储部 Warehouse", "dashboard": True},
    {"indicator": "order-fulfilment-cycle", "name": "订单履约周期 order fulfilment cycle", "unit": "days",
     "direction": "le", "actual": "2.8000", "target": "3", "goal": "2.5", "alertThreshold": None, "verdict": "met",
     "gapToTarget": "-0.2000", "gapToGoal": "0.3000", "ownerDepartment": "销售部 Sales", "dashboard": False},
]
PENALTIES = {"lineItems": [{"clause": "100104 §2.1.2", "department": "销售部 Sales", "person": "chen.jing",
                            "role": "department_head", "quantity": 2, "unit": "day", "rateYuan": "10.00",
                            "amountYuan": "20.00"}],
             "byDepartment": [{"department": "销售部 Sales", "totalYuan": "20.00"}], "totalFinesYuan": "20.00"}


def _render(indicators: list[dict[str, object]], **extra: object) -> str:
    return render_monthly_report(month="2026-03", process_name="order-to-delivery",
                                 kpi={"kpiResults": indicators, "kpisMet": False, "dictionaryVersion": "d1"},
                                 penalties=PENALTIES, findings=[], directory=DIRECTORY, generated="g",
                                 instance_key=1, **extra)  # type: ignore[arg-type]


def test_no_verdict_without_checks() -> None:
    assert overall([]) == "unchecked" and overall(INDICATORS) == "not-met" and overall(INDICATORS[1:]) == "met"
    html = _render([])
    assert 'data-state="unchecked"' in html and "all indicators met" not in html


def test_numbers_have_units_and_sensible_precision() -> None:
    assert number(Decimal("98.5000"), "%") == "98.5 %"
    assert number("-0.2000", "days", signed=True) == "−0.2 days"
    assert number("0.5", "%", signed=True) == "+0.5 %"
    assert number("20", "yuan") == "20.00 yuan" and number(None, "%") == "—"


@pytest.mark.browser
def test_monthly_report_in_chromium(chrome: WebDriver, tmp_path: Path) -> None:  # noqa: F811
    page = tmp_path / "report.html"
    registry = {"order-to-delivery": {"name": "订单履约流程 Order fulfilment", "owner": "李明 li.ming",
                                      "version": "V2.1"}}
    page.write_text(_render(INDICATORS, registry=registry), encoding="utf-8")
    chrome.get(page.as_uri())
    assert chrome.find_element(By.ID, "overall").text == "未全部达标 not all indicators met"
    assert "1 预警 alert" in chrome.find_element(By.ID, "summary").text  # the summary uses the verdicts' words
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in chrome.find_elements(By.CSS_SELECTOR, "#indicators tr")[1:]]
    assert rows[0][3:] == ["98.5 %", "≥ 99 %", "99.5 %", "+0.5 %", "+1 %", "预警 alert"]
    assert rows[1][6] == "−0.2 days" and rows[1][8] == "达标 met"
    legend = chrome.find_element(By.ID, "legend").text
    assert "★" in legend and "falls short" in legend and "margin" in legend
    body = chrome.find_element(By.TAG_NAME, "body").text
    assert "部门负责人 department head" in body and "department_head" not in body
    process = chrome.find_element(By.CSS_SELECTOR, '#processes tr[data-process-id="order-to-delivery"]').text
    assert "李明 li.ming" in process and "V2.1" in process


def test_generated_time_is_local_with_its_offset() -> None:
    from datetime import UTC, datetime

    from workers.slm.report import local_time

    assert local_time(datetime(2026, 5, 17, 1, 0, tzinfo=UTC), "Asia/Shanghai") == "2026-05-17 09:00 +08:00"
