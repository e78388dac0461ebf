"""The monthly SLA report: one self-contained HTML file (inline SVG chart, no external assets).

The report is what department heads and the planning office read, so it shows each indicator against
its target as a bar with the target line, the spot-check findings with their clause, and the fines per
department and per person. Rendering is pure (variables in, HTML out); writing the file is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from workers.runtime import wording
from workers.runtime.stores.registry import ProcessEntry
from workers.runtime.wording import role_label
from workers.slm.directory import Directory

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
COLOURS = {"met": "#2e7d32", "missed": "#ef6c00", "alert": "#c62828", "no-data": "#9e9e9e"}
#: One vocabulary for indicator verdicts (workers.slm.indicators.Verdict), used by the table, the chart
#: and the summary alike: "not met" in the summary means missed, alert or no data.
VERDICT_LABELS = {"met": "达标 met", "missed": "未达标 missed", "alert": "预警 alert", "no-data": "无数据 no data"}
#: The month's overall state: "no indicators checked" is its own state, never "met".
OVERALL_LABELS = {"met": "全部达标 all indicators met", "not-met": "未全部达标 not all indicators met",
                  "unchecked": "未检查指标 no indicators checked"}
#: Decimal places per unit; other units get PRECISION_DEFAULT. Trailing zeros are dropped.
PRECISION = {"%": 1, "days": 1, "d": 1, "hours": 1, "h": 1, "yuan": 2}
PRECISION_DEFAULT = 2

CHART_LEFT, CHART_PLOT, ROW = 230, 360, 30


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def number(value: Any, unit: str = "", *, signed: bool = False) -> str:
    """``98.5 %``, ``2.8 days``, ``+0.5 %``: the unit's precision, no trailing zeros, ``—`` for no value."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    places = PRECISION.get(unit, PRECISION_DEFAULT)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}" if unit == "yuan" or not places else f"{rounded:f}".rstrip("0").rstrip(".")
    if text in {"-0", ""}:
        text = "0"
    if signed and rounded > 0:
        text = "+" + text
    text = text.replace("-", "−")
    return f"{text} {unit}".strip() if unit else text


def local_time(moment: datetime, timezone: str) -> str:
    """``2026-05-17 09:00 +08:00``: a time in the review's zone, with its offset."""
    return wording.local_time(moment, ZoneInfo(timezone), seconds=False)


def overall(indicators: list[dict[str, Any]]) -> str:
    """``met`` only when indicators were checked and every one met its target."""
    if not indicators:
        return "unchecked"
    return "met" if all(i.get("verdict") == "met" for i in indicators) else "not-met"


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
            "caption": f"{number(actual, item.get('unit', ''))} / {number(target, item.get('unit', ''))} "
                       f"({VERDICT_LABELS.get(str(item.get('verdict')), item.get('verdict'))})",
        })
    return {"bars": bars, "left": CHART_LEFT, "plot": CHART_PLOT, "width": CHART_LEFT + CHART_PLOT + 260,
            "height": 20 + len(bars) * ROW}


def processes(process_name: str | None, findings: list[dict[str, Any]],
              registry: Mapping[str, Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """The processes the month's review concerns, with owner and version from the process registry.

    ``registry`` maps a process id (or the reviewed process's name) to ``{"name", "owner", "version"}``
    (see :func:`registry_view`); a process not in the registry shows what the review itself knows and
    "—" for owner and version.
    """
    known = dict(registry or {})
    wanted = ([process_name] if process_name else []) + [str(f["processId"]) for f in findings if f.get("processId")]
    rows = []
    for process in dict.fromkeys(wanted):
        entry = known.get(process, {})
        rows.append({"process": str(entry.get("name") or process), "id": process,
                     "owner": str(entry.get("owner") or "—"), "version": str(entry.get("version") or "—"),
                     "registered": "yes" if entry else "no"})
    return rows


def registry_view(entries: Iterable[ProcessEntry], directory: Directory) -> dict[str, dict[str, str]]:
    """The registry's entries as :func:`processes` reads them: by process id, the owner by name and id."""
    return {entry.process_id: {"name": entry.name, "version": entry.current_version,
                               "owner": f"{directory.name_of(entry.owner)} ({entry.owner})" if entry.owner else ""}
            for entry in entries}


def render_monthly_report(*, month: str, process_name: str | None, kpi: dict[str, Any], penalties: dict[str, Any],
                          findings: list[dict[str, Any]], directory: Directory, generated: str,
                          instance_key: int, registry: Mapping[str, Mapping[str, Any]] | None = None,
                          process_id: str | None = None) -> str:
    indicators = list(kpi.get("kpiResults", []))
    line_items = [{**item, "personName": f"{directory.name_of(item['person'])} ({item['person']})",
                   "roleName": role_label(str(item.get("role", "")))}
                  for item in penalties.get("lineItems", [])]
    state = overall(indicators)
    counts = {v: sum(1 for i in indicators if i.get("verdict") == v) for v in VERDICT_LABELS}
    return _ENV.get_template("monthly-report.html.j2").render(
        title=f"月度SLA评审 Monthly SLA review {month}", month=month, process_name=process_name,
        state=state, state_label=OVERALL_LABELS[state], counts=counts, verdicts=VERDICT_LABELS, number=number,
        processes=processes(process_id or process_name, findings, registry),
        total_fines=penalties.get("totalFinesYuan", "0.00"), indicators=indicators,
        chart=chart(indicators), findings=findings, departments=penalties.get("byDepartment", []),
        line_items=line_items, exemptions=penalties.get("exemptions", []),
        rule_version=penalties.get("ruleVersion", ""), rule_digest=penalties.get("ruleDigest", ""),
        dictionary_version=kpi.get("dictionaryVersion", ""), generated=generated, instance_key=instance_key,
    )
