"""Annual SLA review job types: the year's missed targets, and the service improvement plan that their
reasons feed (with a change request where a process must change)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from workers.runtime import JobContext, TaskRouter
from workers.slm.indicators import Verdict
from workers.slm.task_support import TIMEOUT_MS, CamelModel, Input, TaskSupport


class AnnualRequest(Input):
    review_year: int | None = None


class MissedTarget(CamelModel):
    indicator: str
    owner_department: str
    months: list[str]
    target: str
    unit: str


class AnnualCollected(CamelModel):
    review_year: int
    missed_targets: list[MissedTarget]
    any_missed: bool


class Reason(CamelModel):
    indicator: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    change_needed: bool = False
    process_id: str | None = None
    process_name: str | None = None
    current_version: str | None = None
    scope: Literal["department", "cross-department"] = "department"
    department: str | None = None
    department_head: str | None = None
    requester: str | None = None
    proposed_change: str | None = None


class PlanRequest(Input):
    review_year: int
    missed_targets: list[MissedTarget]
    reasons: list[Reason] = Field(default_factory=list)


class Planned(CamelModel):
    improvement_plan: list[dict[str, Any]]
    improvement_plan_path: str
    change_requests: list[dict[str, str]]
    change_needed: bool


def register(router: TaskRouter, ctx: TaskSupport) -> None:
    """Register this family's job types on ``router``."""
    deps = ctx.deps
    today = ctx.today

    @router.task("slm.collect-annual-review", timeout_ms=TIMEOUT_MS)
    def collect_annual(request: AnnualRequest, job: JobContext) -> AnnualCollected:
        year = request.review_year or today(job).year - 1
        missed: dict[str, MissedTarget] = {}
        for row in deps.store.kpi_results_for_year(year):
            if row["verdict"] == Verdict.MET.value:
                continue
            entry = missed.setdefault(row["indicator"], MissedTarget(
                indicator=row["indicator"], owner_department=row["owner_department"], months=[],
                target=row["target"], unit=row["unit"]))
            entry.months.append(row["review_month"])
        targets = sorted(missed.values(), key=lambda m: m.indicator)
        return AnnualCollected(review_year=year, missed_targets=targets, any_missed=bool(targets))

    @router.task("slm.draft-improvement-plan", timeout_ms=TIMEOUT_MS)
    def draft_plan(request: PlanRequest) -> Planned:
        reasons = {r.indicator: r for r in request.reasons}
        unexplained = [m.indicator for m in request.missed_targets if m.indicator not in reasons]
        if unexplained:
            raise ValueError(f"reasons: every missed target needs its reason; missing for {', '.join(unexplained)}")
        plan: list[dict[str, Any]] = []
        changes: list[dict[str, str]] = []
        for target in request.missed_targets:
            reason = reasons[target.indicator]
            plan.append({"indicator": target.indicator, "ownerDepartment": target.owner_department,
                         "monthsMissed": target.months, "target": f"{target.target} {target.unit}",
                         "reason": reason.reason, "changeNeeded": reason.change_needed})
            if reason.change_needed:
                form = {"processId": reason.process_id, "processName": reason.process_name,
                        "currentVersion": reason.current_version, "origin": "self-check", "scope": reason.scope,
                        "department": reason.department or target.owner_department,
                        "departmentHead": reason.department_head, "requester": reason.requester,
                        "problem": f"{target.indicator} missed its target in {', '.join(target.months)}: "
                                   f"{reason.reason}", "proposedChange": reason.proposed_change}
                changes.append({k: v or "" for k, v in form.items()})
        document = json.dumps({"year": request.review_year, "items": plan}, ensure_ascii=False, indent=2)
        location = deps.report_store.put(f"service-improvement-plan-{request.review_year}.json",
                                         document.encode("utf-8"))
        return Planned(improvement_plan=plan, improvement_plan_path=location, change_requests=changes,
                       change_needed=bool(changes))
