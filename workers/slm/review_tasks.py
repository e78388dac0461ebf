"""Monthly SLA review job types (100104 §2.1–2.2): open the month, check each self-check (§2.1.1),
classify the spot-check findings (§2.2.1–2.2.3), measure and judge the indicators, track rectification
into next month's check and publish the monthly report."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

from pydantic import Field, field_validator

from workers.runtime import JobContext, TaskRouter
from workers.runtime.stores.registry import ProcessRegistry
from workers.slm.business_calendar import CalendarSource, weakest
from workers.slm.deadlines import (
    next_month_of,
    previous_month,
    previous_month_of,
    review_due_dates,
    timer_instant,
)
from workers.slm.indicators import KPI_CHECK, Actual, EngineSource, IndicatorVerdict
from workers.slm.kpi_sources import Period, actual_from_durations
from workers.slm.penalties import PenaltyCase
from workers.slm.report import local_time, registry_view, render_monthly_report
from workers.slm.reviews import ClassifiedFinding, Finding, classify_findings, missing_self_check_items, people_of
from workers.slm.store import Rectification
from workers.slm.task_support import MONTH, TIMEOUT_MS, CamelModel, Input, TaskSupport, engine_now


class OpenRequest(Input):
    review_month: str | None = Field(default=None, pattern=MONTH)
    process_id: str | None = None
    owner_department: str | None = None
    indicators: list[str] | None = None
    overdue_reminders: int | None = Field(default=None, ge=1, le=366)  # per instance; default: the setting


class DepartmentReview(CamelModel):
    department: str
    department_head: str
    process_supervisor: str
    administrator: str


class Opened(CamelModel):
    review_month: str = Field(pattern=MONTH)
    departments: list[DepartmentReview]
    indicators: list[str]
    self_check_due_date: date
    self_check_due_at: str
    summary_due_date: date
    summary_due_at: str
    due_calendar: CalendarSource  # both are days of the month: no holiday data (none)
    review_opened_on: date  # the engine's date when this review opened (slm.open-review activated)
    overdue_reminders: int  # the overdue timers' repetitions: R<n>/<dueAt>/P1D


class SelfCheckRequest(Input):
    department: str
    due_date: date
    penalty_cases: list[PenaltyCase] = Field(default_factory=list)
    self_check_runs: Any = None
    self_check_kpis: Any = None
    self_check_execution: Any = None
    self_check_design_problems: Any = None
    self_check_cross_department: Any = None
    self_check_violations: list[str] | None = None  # problem codes the self-check found and punished

    @field_validator("self_check_violations", mode="before")
    @classmethod
    def _codes(cls, value: object) -> object:
        """The form's text field gives "late-approval, wrong-form"; a list is taken as it is."""
        if isinstance(value, str):
            return [code.strip() for code in re.split(r"[,，、;\n]", value) if code.strip()]
        return value


class SelfChecked(CamelModel):
    penalty_cases: list[PenaltyCase]
    self_reported: list[str]


class DepartmentResult(CamelModel):
    department: str
    penalty_cases: list[PenaltyCase] = Field(default_factory=list)
    self_reported: list[str] = Field(default_factory=list)


class ClassifyRequest(Input):
    review_month: str = Field(pattern=MONTH)
    findings: list[Finding] = Field(default_factory=list)
    department_results: list[DepartmentResult] = Field(default_factory=list)


class Classified(CamelModel):
    penalty_cases: list[PenaltyCase]
    classified_findings: list[ClassifiedFinding]
    repeated_problems: list[str]


class MeasureRequest(Input):
    review_month: str = Field(pattern=MONTH)
    indicators: list[str]


class Measured(CamelModel):
    actuals: list[Actual]
    measurement_notes: list[str]


class TrackRequest(Input):
    review_month: str = Field(pattern=MONTH)
    classified_findings: list[ClassifiedFinding] = Field(default_factory=list)
    kpi_results: list[IndicatorVerdict] = Field(default_factory=list)


class Tracked(CamelModel):
    rectifications: list[dict[str, str]]



class ReportRequest(Input):
    review_month: str = Field(pattern=MONTH)
    process_id: str | None = None
    process_name: str | None = None
    kpi_results: list[dict[str, Any]] = Field(default_factory=list)
    kpis_met: bool = False
    missed_indicators: list[str] = Field(default_factory=list)
    dictionary_version: str = ""
    penalties: dict[str, Any] = Field(default_factory=dict)
    total_fines_yuan: str = "0.00"
    classified_findings: list[dict[str, Any]] = Field(default_factory=list)


class SlaReview(CamelModel):
    month: str
    met: bool
    missed_indicators: list[str]
    total_fines_yuan: str


class Published(CamelModel):
    report_path: str
    sla_review: SlaReview


def register(router: TaskRouter, ctx: TaskSupport) -> None:
    """Register this family's job types on ``router``."""
    deps = ctx.deps
    rules = ctx.deps.penalties.rules
    directory = ctx.deps.directory
    today = ctx.today

    @router.task("slm.open-review", timeout_ms=TIMEOUT_MS)
    def open_review(request: OpenRequest, job: JobContext) -> Opened:
        month = request.review_month or previous_month(today(job))
        names = [request.owner_department] if request.owner_department else list(directory.departments)
        departments = [DepartmentReview(department=d.department, department_head=d.department_head,
                                        process_supervisor=d.process_supervisor, administrator=d.administrator)
                       for d in (directory.department(name) for name in names)]
        dictionary = deps.indicators.rules
        if request.indicators is not None:
            indicators = [dictionary.get(i).id for i in request.indicators]
        elif request.process_id:
            indicators = [i.id for i in dictionary.indicators.values() if i.process_id == request.process_id]
        elif request.owner_department:
            owner = request.owner_department
            indicators = [i.id for i in dictionary.indicators.values() if i.owner_department == owner]
        else:
            indicators = list(dictionary.indicators)
        # 100104 §2.1.1/§2.1.2: the deadlines of the month after the reviewed one, counted from the day the
        # review actually opened on the engine's clock, so a late start never costs the people the days
        opened_on = today(job)
        self_check, summary = review_due_dates(rules.deadline("self-check-due"), rules.deadline("summary-due"),
                                               deps.calendar, review_month=month, opened_on=opened_on,
                                               min_window_days=deps.review_min_window_days)
        return Opened(review_month=month, departments=departments, indicators=indicators,
                      self_check_due_date=self_check.value,
                      self_check_due_at=timer_instant(self_check.value, deps.timezone),
                      summary_due_date=summary.value, summary_due_at=timer_instant(summary.value, deps.timezone),
                      due_calendar=weakest([self_check.source, summary.source]),
                      review_opened_on=opened_on,
                      overdue_reminders=request.overdue_reminders or deps.overdue_reminders)

    @router.task("slm.record-self-check", timeout_ms=TIMEOUT_MS)
    def record_self_check(request: SelfCheckRequest, job: JobContext) -> SelfChecked:
        missing = missing_self_check_items(request.model_dump(by_alias=True))
        done = today(job)
        case_id = f"self-check:{request.department}"
        cases = [c for c in request.penalty_cases if c.case_id != case_id]
        if missing:
            late = f", submitted {done} after the due date {request.due_date}" if done > request.due_date else ""
            cases.append(PenaltyCase(case_id=case_id, rule="self-check-missing-item", department=request.department,
                                     people=people_of(directory, request.department), items=len(missing),
                                     description="missing: " + "; ".join(missing) + late))
        return SelfChecked(penalty_cases=cases, self_reported=sorted(set(request.self_check_violations or [])))

    @router.task("slm.classify-findings", timeout_ms=TIMEOUT_MS)
    def classify(request: ClassifyRequest) -> Classified:
        # 100104 §2.2.3: last month's findings are verified in this month's check
        open_items = deps.store.open_rectifications(previous_month_of(request.review_month))
        repeated = {(r.department, r.problem) for r in open_items}
        self_reported = {r.department: set(r.self_reported) for r in request.department_results}
        classified, finding_cases = classify_findings(request.findings, repeated=repeated,
                                                      self_reported=self_reported, rules=rules, directory=directory)
        cases = [c for r in request.department_results for c in r.penalty_cases] + finding_cases
        repeats = sorted({f"{c.department}:{c.problem}" for c in classified if c.rule == "spot-check-repeat"})
        return Classified(penalty_cases=cases, classified_findings=classified, repeated_problems=repeats)

    @router.task("slm.measure-indicators", timeout_ms=TIMEOUT_MS)
    async def measure(request: MeasureRequest) -> Measured:
        period = Period.month(request.review_month)
        actuals: list[Actual] = []
        notes: list[str] = []
        for indicator_id in request.indicators:
            indicator = deps.indicators.rules.get(indicator_id)
            if isinstance(indicator.source, EngineSource):
                if deps.engine_history is None:
                    notes.append(f"{indicator_id}: no engine record log configured (PROCGOV_SLM_ENGINE_RECORDS)")
                    actuals.append(actual_from_durations(indicator, []))
                    continue
                actuals.append(await asyncio.to_thread(deps.engine_history.measure, indicator, period))
            else:
                actuals.append(await asyncio.to_thread(deps.kpi_source.measure, indicator, period))
            if actuals[-1].value is None:
                notes.append(f"{indicator_id}: no data in {request.review_month}")
        return Measured(actuals=actuals, measurement_notes=notes)

    router.decision_task("slm.check-kpis", KPI_CHECK, deps.indicators, timeout_ms=TIMEOUT_MS)

    @router.task("slm.track-rectification", timeout_ms=TIMEOUT_MS)
    def track_rectification(request: TrackRequest) -> Tracked:
        month = request.review_month
        repeated = {(f.department, f.problem) for f in request.classified_findings if f.rule == "spot-check-repeat"}
        deps.store.close_rectifications(previous_month_of(month), repeated)
        items = [Rectification(review_month=month, department=f.department, problem=f.problem,
                               process_id=f.process_id, description=f.description or f.note, status="open")
                 for f in request.classified_findings]
        deps.store.record_rectifications(items)
        deps.store.record_kpi_results(month, [
            {"indicator": v.indicator, "verdict": v.verdict.value, "target": str(v.target), "unit": v.unit,
             "actual": None if v.actual is None else str(v.actual), "owner_department": v.owner_department}
            for v in request.kpi_results])
        return Tracked(rectifications=[{"department": i.department, "problem": i.problem,
                                        "verifyIn": next_month_of(month)} for i in items])

    @router.task("slm.publish-report", timeout_ms=TIMEOUT_MS)
    def publish_report(request: ReportRequest, job: JobContext) -> Published:
        # owner and current version as the process registry (流程清单) holds them when the report is made
        registry = registry_view(ProcessRegistry(deps.store.engine).entries(), directory)
        html = render_monthly_report(
            month=request.review_month, process_id=request.process_id, process_name=request.process_name,
            registry=registry,
            kpi={"kpiResults": request.kpi_results, "kpisMet": request.kpis_met,
                 "dictionaryVersion": request.dictionary_version},
            penalties={**request.penalties, "totalFinesYuan": request.total_fines_yuan},
            findings=request.classified_findings, directory=directory,
            generated=local_time(engine_now(job), deps.timezone),
            instance_key=job.process_instance_key)
        location = deps.report_store.put(f"sla-review-{request.review_month}-{job.process_instance_key}.html",
                                         html.encode("utf-8"))
        return Published(report_path=location, sla_review=SlaReview(
            month=request.review_month, met=request.kpis_met, missed_indicators=request.missed_indicators,
            total_fines_yuan=request.total_fines_yuan))
