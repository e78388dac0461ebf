"""The indicator dictionary (指标字典, seeds 002/003) and the KPI verdict as a pure :class:`Decision`.

Measuring an indicator is I/O (SQL, the engine's records) and lives in :mod:`workers.slm.kpi_sources`;
judging the measured actual against target, goal and alert threshold is this module's pure decision,
recorded with the dictionary's version so an audit can replay any month's verdicts.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self

from pydantic import Field, model_validator

from workers.runtime.decisions import Decision
from workers.runtime.errors import RuleDataError
from workers.slm.camel import CamelModel as _Model
from workers.slm.camel import check_unique
from workers.slm.rule_data import Row, digest, load_document, row_label, rows


class Direction(enum.StrEnum):
    LE = "le"  # ≤ target is good (cycle time, exception rate)
    GE = "ge"  # ≥ target is good (resolution rate, accuracy)


class Verdict(enum.StrEnum):
    MET = "met"
    MISSED = "missed"
    ALERT = "alert"  # beyond the alert threshold: someone must act now
    NO_DATA = "no-data"  # nothing measured in the period: reported, never counted as met


FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly")
LEVELS = ("organisation", "process", "position")
SQL_DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class SqlSource:
    """``queries`` maps a dialect name (or ``"*"`` for a portable query) to the SQL text."""

    queries: Mapping[str, str]

    def query_for(self, dialect: str) -> str:
        query = self.queries.get(dialect, self.queries.get("*"))
        if query is None:
            raise LookupError(f"no query for SQL dialect {dialect!r} (has: {', '.join(sorted(self.queries))})")
        return query


@dataclass(frozen=True)
class EngineSource:
    bpmn_process_id: str
    element_id: str | None = None


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    formula: str
    data_source: str
    frequency: str
    direction: Direction
    unit: str
    target: Decimal
    goal: Decimal
    alert_threshold: Decimal | None
    owner_department: str
    level: str
    parent: str | None
    dashboard: bool
    process_id: str
    source: SqlSource | EngineSource


@dataclass(frozen=True)
class IndicatorDictionary:
    version: str
    digest: str
    indicators: Mapping[str, Indicator]

    def get(self, indicator_id: str) -> Indicator:
        try:
            return self.indicators[indicator_id]
        except KeyError:
            raise KeyError(f"no indicator {indicator_id!r} in {self.version} (known: "
                           f"{', '.join(sorted(self.indicators))})") from None


_FIELDS = {"id", "name", "formula", "data_source", "frequency", "direction", "unit", "target", "goal",
           "alert_threshold", "owner_department", "level", "parent", "dashboard", "process_id", "source"}


def _parse_source(row: Row) -> SqlSource | EngineSource:
    data = row.data.get("source")
    if not isinstance(data, Mapping):
        raise row.error("source", "needs a mapping with 'kind' (sql or engine)")
    source = Row(data, f"{row.label} source", {"kind", "query", "bpmn_process_id", "element_id"})
    kind = source.choice("kind", ("sql", "engine"))
    if kind == "engine":
        return EngineSource(bpmn_process_id=source.text("bpmn_process_id"),
                            element_id=source.text("element_id", required=False) or None)
    query = data.get("query")
    if isinstance(query, str) and query.strip():
        return SqlSource(queries={"*": query})
    if isinstance(query, Mapping) and query:
        for dialect, text in query.items():
            if dialect not in SQL_DIALECTS:
                raise source.error(f"query.{dialect}", f"unknown SQL dialect (known: {', '.join(SQL_DIALECTS)})")
            if not isinstance(text, str) or not text.strip():
                raise source.error(f"query.{dialect}", "must be SQL text")
        return SqlSource(queries={str(k): str(v) for k, v in query.items()})
    raise source.error("query", "is required for kind sql: SQL text or {sqlite: ..., postgresql: ...}")


def _parse_indicator(data: Mapping[str, Any], index: int) -> Indicator:
    label = row_label("indicators", index, data)
    row = Row(data, label, _FIELDS)
    direction = Direction(row.choice("direction", tuple(Direction)))
    target = row.decimal("target", allow_float=True)
    goal = row.decimal("goal", allow_float=True)
    assert target is not None and goal is not None
    # the goal is the long-term value: never weaker than the near-term target
    if (direction is Direction.LE and goal > target) or (direction is Direction.GE and goal < target):
        raise row.error("goal", f"{goal} is weaker than the target {target} for direction {direction.value}")
    if not isinstance(data.get("dashboard", False), bool):
        raise row.error("dashboard", f"must be true or false, got {data.get('dashboard')!r}")
    return Indicator(
        id=row.text("id"), name=row.text("name"), formula=row.text("formula"), data_source=row.text("data_source"),
        frequency=row.choice("frequency", FREQUENCIES), direction=direction, unit=row.text("unit"),
        target=target, goal=goal, alert_threshold=row.decimal("alert_threshold", required=False, allow_float=True),
        owner_department=row.text("owner_department"), level=row.choice("level", LEVELS),
        parent=row.text("parent", required=False) or None, dashboard=row.boolean("dashboard"),
        process_id=row.text("process_id"), source=_parse_source(row),
    )


def parse_indicator_dictionary(text: str) -> IndicatorDictionary:
    """Parse and check the dictionary; raises :class:`RuleDataError` naming row and field."""
    document = load_document(text, "indicator dictionary")
    header = Row(document, "header", {"version", "indicators"})
    indicators: dict[str, Indicator] = {}
    for index, data in enumerate(rows(document, "indicators", "indicator dictionary"), start=1):
        indicator = _parse_indicator(data, index)
        if indicator.id in indicators:
            raise RuleDataError(f"duplicate indicator id {indicator.id!r}", row=f"indicators[{index}]", field="id")
        indicators[indicator.id] = indicator
    for index, indicator in enumerate(indicators.values(), start=1):
        if indicator.parent is not None and indicator.parent not in indicators:
            raise RuleDataError(f"parent {indicator.parent!r} is no indicator in the dictionary",
                                row=f"indicators[{index}] {indicator.id!r}", field="parent")
    return IndicatorDictionary(version=header.text("version"),
                               digest=digest(text),
                               indicators=indicators)


class Actual(_Model):
    """One measured value; ``value`` None means no data in the period."""

    indicator: str = Field(min_length=1)
    value: Decimal | None
    samples: int | None = Field(default=None, ge=0)


class KpiInput(_Model):
    actuals: list[Actual]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        check_unique("actuals", "indicator", (actual.indicator for actual in self.actuals))
        return self


class IndicatorVerdict(_Model):
    indicator: str
    name: str
    unit: str
    direction: Direction
    actual: Decimal | None
    target: Decimal
    goal: Decimal
    alert_threshold: Decimal | None
    verdict: Verdict
    target_met: bool
    alert: bool
    gap_to_target: Decimal | None = Field(description="how far short of the target (negative: margin)")
    gap_to_goal: Decimal | None
    owner_department: str
    dashboard: bool


class KpiOutput(_Model):
    dictionary_version: str
    dictionary_digest: str
    kpi_results: list[IndicatorVerdict]
    kpis_met: bool
    missed_indicators: list[str]


def _shortfall(indicator: Indicator, actual: Decimal, reference: Decimal) -> Decimal:
    return actual - reference if indicator.direction is Direction.LE else reference - actual


def judge(indicator: Indicator, actual: Decimal | None) -> IndicatorVerdict:
    """Met / missed / alert / no-data for one indicator, with its gaps to target and goal."""
    common = {"indicator": indicator.id, "name": indicator.name, "unit": indicator.unit,
              "direction": indicator.direction, "actual": actual, "target": indicator.target,
              "goal": indicator.goal, "alert_threshold": indicator.alert_threshold,
              "owner_department": indicator.owner_department, "dashboard": indicator.dashboard}
    if actual is None:
        return IndicatorVerdict(**common, verdict=Verdict.NO_DATA, target_met=False, alert=False,
                                gap_to_target=None, gap_to_goal=None)
    gap_to_target = _shortfall(indicator, actual, indicator.target)
    target_met = gap_to_target <= 0
    alert = indicator.alert_threshold is not None and _shortfall(indicator, actual, indicator.alert_threshold) > 0
    verdict = Verdict.ALERT if alert else (Verdict.MET if target_met else Verdict.MISSED)
    return IndicatorVerdict(**common, verdict=verdict, target_met=target_met, alert=alert,
                            gap_to_target=gap_to_target, gap_to_goal=_shortfall(indicator, actual, indicator.goal))


def check_kpis(request: KpiInput, dictionary: IndicatorDictionary) -> KpiOutput:
    """Judge every measured indicator; unknown indicator ids are an error, never skipped."""
    verdicts = [judge(dictionary.get(a.indicator), a.value) for a in sorted(request.actuals, key=lambda a: a.indicator)]
    missed = [v.indicator for v in verdicts if v.verdict is not Verdict.MET]
    return KpiOutput(dictionary_version=dictionary.version, dictionary_digest=dictionary.digest,
                     kpi_results=verdicts, kpis_met=not missed, missed_indicators=missed)


KPI_CHECK: Decision[KpiInput, IndicatorDictionary, KpiOutput] = Decision(
    name="slm.kpi-check",
    input_model=KpiInput,
    output_model=KpiOutput,
    parse_rules=parse_indicator_dictionary,
    evaluate=check_kpis,
)
