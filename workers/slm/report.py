"""The monthly SLA report: one self-contained HTML file (inline SVG chart, no external assets).

The report is what department heads and the planning office read, so it shows each indicator against
its target as a bar with the target line, the spot-check findings with their clause, and the fines per
department and per person. Rendering is pure (variables in, HTML out); writing the file is the caller's.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import jinja2

from workers.slm.directory import Directory

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
COLOURS = {"met": "#2e7d32", "missed": "#ef6c00", "alert": "#c62828", "no-data": "#9e9e9e"}
CHART_LEFT, CHART_PLOT, ROW = 230, 360, 30


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def chart(indicators: list[dict[str, Any]]) -> dict[str, Any]:
    """Bar geometry: each indicator scaled to the largest of its actual, target, goal and alert value."""
    bars = []
    for index, item in enumerate(indicators):
        actual = _decimal(item.get("actual"))
        target = _decimal(item.get("target")) or Decimal(0)
        values = [v for v in (actual, target, _decimal(item.get("goal")), _decimal(item.get("alertThreshold")))
                  if v is not None]
        top = max([*values, Decimal(1)]) * Decimal("1.15")
        scale = Decimal(CHART_PLOT) / top
        bars.append({
            "y": 10 + index * ROW, "label": str(item.get("name", item.get("indicator")))[:32],
            "actual": actual, "unit": item.get("unit", ""), "target": target,
            "actual_w": None if actual is None else round(float(max(actual, Decimal(0)) * scale), 1),
            "target_x": round(float(target * scale), 1), "colour": COLOURS.get(str(item.get("verdict")), "#607d8b"),
            "caption": f"{'—' if actual is None else actual} / {target} {item.get('unit', '')} ({item.get('verdict')})",
        })
    return {"bars": bars, "left": CHART_LEFT, "plot": CHART_PLOT, "width": CHART_LEFT + CHART_PLOT + 260,
            "height": 20 + len(bars) * ROW}


def render_monthly_report(*, month: str, process_name: str | None, kpi: dict[str, Any], penalties: dict[str, Any],
                          findings: list[dict[str, Any]], directory: Directory, generated: str,
                          instance_key: int) -> str:
    indicators = list(kpi.get("kpiResults", []))
    line_items = [{**item, "personName": f"{directory.name_of(item['person'])} ({item['person']})"}
                  for item in penalties.get("lineItems", [])]
    return _ENV.get_template("monthly-report.html.j2").render(
        title=f"Monthly SLA review {month}", month=month, process_name=process_name,
        met=bool(kpi.get("kpisMet")), total_fines=penalties.get("totalFinesYuan", "0.00"), indicators=indicators,
        chart=chart(indicators), findings=findings, departments=penalties.get("byDepartment", []),
        line_items=line_items, exemptions=penalties.get("exemptions", []),
        rule_version=penalties.get("ruleVersion", ""), rule_digest=penalties.get("ruleDigest", ""),
        dictionary_version=kpi.get("dictionaryVersion", ""), generated=generated, instance_key=instance_key,
    )
