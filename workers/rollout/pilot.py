"""Step 4 (000A step 4): the pilot for quick wins (试运行，取得快速收益).

The pilot is mandatory; its scope is one local market, customer group, product line or department; it
runs 3 months in a small company and 6 months in a large one (the timer's duration, ``pilot.duration``;
a process variable ``pilotDuration`` may override it, e.g. to extend a pilot after rework, within the
bounds of :mod:`workers.rollout.schedule`: a small company 3–6 months, a large one 6). Its outputs
are trained people, templates and lessons, and local success — every pilot KPI met and the outputs
there — is required before the full rollout (step 6): the model only leaves step 4 on success.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from workers.rollout._data import CamelModel, TextList
from workers.rollout.rules import PILOT_DURATION, PILOT_OUTPUTS, CompanySize, PilotScopeKind, cite
from workers.rollout.schedule import check_pilot_duration, parse_duration


class PilotScope(CamelModel):
    kind: PilotScopeKind
    description: str = Field(min_length=1)


class PilotRequest(CamelModel):
    pilot_scope: PilotScope
    company_size: CompanySize
    pilot_duration: str | None = Field(default=None, description="ISO 8601 override of the rule's duration")

    @field_validator("pilot_duration")
    @classmethod
    def _iso_duration(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parse_duration(value)
        return value


class Pilot(CamelModel):
    scope_kind: PilotScopeKind
    scope: str
    duration: str
    duration_rule: str


class PilotPlan(CamelModel):
    pilot: Pilot


def plan_pilot(request: PilotRequest, *, start: datetime, demo_mode: bool = False) -> PilotPlan:
    """Pure: the pilot's scope and its duration (3 months small / 6 months large company, 000A step 4),
    from ``start`` (the engine's clock when the job was activated); an override out of bounds is refused."""
    if request.pilot_duration:
        check_pilot_duration(request.pilot_duration, request.company_size, start=start, demo_mode=demo_mode)
        mode = "demo clock mode" if demo_mode else "within the rule's bounds"
        duration, rule = request.pilot_duration, f"override (variable pilotDuration, {mode}); rule {cite(4)}"
    else:
        duration = PILOT_DURATION[request.company_size]
        rule = f"{cite(4)}: {request.company_size} company → {duration}"
    return PilotPlan(pilot=Pilot(scope_kind=request.pilot_scope.kind, scope=request.pilot_scope.description,
                                 duration=duration, duration_rule=rule))


class PilotKpi(CamelModel):
    name: str = Field(min_length=1)
    target: Decimal
    actual: Decimal
    direction: Literal["lower-is-better", "higher-is-better"]

    @property
    def met(self) -> bool:
        return self.actual <= self.target if self.direction == "lower-is-better" else self.actual >= self.target


class PilotReport(CamelModel):
    kpis: list[PilotKpi] = Field(default_factory=list)
    trained_people: TextList = Field(default_factory=list)
    templates: TextList = Field(default_factory=list)
    lessons: TextList = Field(default_factory=list)


class PilotReportRequest(CamelModel):
    pilot_report: PilotReport


class KpiOutcome(CamelModel):
    name: str
    target: float
    actual: float
    met: bool


class PilotEvaluation(CamelModel):
    success: bool
    kpis: list[KpiOutcome]
    reasons: list[str] = Field(default_factory=list)
    rule: str = cite(4)


class PilotEvaluationResult(CamelModel):
    pilot_evaluation: PilotEvaluation


def evaluate_pilot(request: PilotReportRequest) -> PilotEvaluationResult:
    """Pure: local success = at least one pilot KPI, all met, and all three outputs present (000A step 4)."""
    report, reasons = request.pilot_report, []
    if not report.kpis:
        reasons.append(f"{cite(4)}: the pilot report names no KPI, so local success cannot be shown")
    for kpi in report.kpis:
        if not kpi.met:
            sign = "≤" if kpi.direction == "lower-is-better" else "≥"
            reasons.append(f"{cite(4)}: pilot KPI {kpi.name!r} missed: actual {kpi.actual}, target {sign} {kpi.target}")
    dumped = report.model_dump(by_alias=True)
    for output in PILOT_OUTPUTS:
        if not dumped[output]:
            reasons.append(f"{cite(4)}: the pilot produced no {output} (outputs: trained people, templates, lessons)")
    return PilotEvaluationResult(pilot_evaluation=PilotEvaluation(
        success=not reasons,
        kpis=[KpiOutcome(name=k.name, target=float(k.target), actual=float(k.actual), met=k.met) for k in report.kpis],
        reasons=reasons,
    ))
