"""Step 2 (000A step 2): organisation, goal and plan — validated before training starts.

- the rollout team is larger than the design team (推行的组织比设计组织更大);
- the goal is an improvement of at least 50 % (up to 100 %) on the target metric;
- the plan is broken down by week (细化到以周为单位): weeks 1..n, none missing, each with activities.

Team members and affected employees must exist in the organisation directory, so that step 3 can reach
every one of them. An invalid plan ends in the BPMN error ``PLAN_INVALID``; the model sends it back to
the owner with ``planCheck.reasons``. The check is a recorded decision (rule data: the organisation
directory), so audit can replay why a plan was accepted or sent back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from workers.rollout._data import CamelModel, TextList, failed_check
from workers.rollout.org_directory import OrgDirectory, parse_org_directory
from workers.rollout.rules import MAX_GOAL_IMPROVEMENT_PERCENT, MIN_GOAL_IMPROVEMENT_PERCENT, cite
from workers.runtime.decisions import Decision
from workers.runtime.errors import BusinessError

PLAN_INVALID = "PLAN_INVALID"


class Goal(CamelModel):
    metric: str = Field(min_length=1)
    baseline: Decimal = Field(gt=0)
    target: Decimal = Field(ge=0)
    direction: Literal["lower-is-better", "higher-is-better"]


class PlanWeek(CamelModel):
    week: int = Field(ge=1)
    activities: TextList = Field(default_factory=list)


class RolloutPlan(CamelModel):
    team: TextList = Field(min_length=1, description="person ids of the rollout team")
    goal: Goal
    weeks: list[PlanWeek] = Field(min_length=1)


class PlanRequest(CamelModel):
    rollout_plan: RolloutPlan
    design_team_size: int = Field(ge=1)
    affected_employees: list[str] = Field(min_length=1)
    owner_id: str = Field(min_length=1)


class PlanCheck(CamelModel):
    valid: bool
    team_size: int
    design_team_size: int
    improvement_percent: float
    weeks: int
    reasons: list[str] = Field(default_factory=list)
    rule: str = cite(2)


class PlanResult(CamelModel):
    plan_check: PlanCheck


def improvement_percent(goal: Goal) -> Decimal:
    """Improvement of the target over the baseline, in the metric's direction (negative: worse)."""
    change = goal.baseline - goal.target if goal.direction == "lower-is-better" else goal.target - goal.baseline
    return change * 100 / goal.baseline


def validate_plan(request: PlanRequest, directory: OrgDirectory) -> PlanResult:
    """Pure: every violated rule of 000A step 2 becomes one reason."""
    plan, reasons = request.rollout_plan, []
    team = list(dict.fromkeys([request.owner_id, *plan.team]))  # the owner leads the team (000A step 2)
    if len(team) <= request.design_team_size:
        reasons.append(f"{cite(2)}: the rollout team ({len(team)} incl. the owner) must be larger than the "
                       f"design team ({request.design_team_size})")
    unknown = [pid for pid in (*team, *request.affected_employees) if directory.find(pid) is None]
    if unknown:
        reasons.append(f"{cite(2)}: not in the organisation directory: {', '.join(dict.fromkeys(unknown))}")
    improvement = improvement_percent(plan.goal)
    if improvement < MIN_GOAL_IMPROVEMENT_PERCENT:
        reasons.append(f"{cite(2)}: the goal must improve {plan.goal.metric!r} by at least "
                       f"{MIN_GOAL_IMPROVEMENT_PERCENT} %, planned {improvement:.1f} %")
    elif improvement > MAX_GOAL_IMPROVEMENT_PERCENT:
        reasons.append(f"{cite(2)}: an improvement of {improvement:.1f} % on {plan.goal.metric!r} exceeds "
                       f"{MAX_GOAL_IMPROVEMENT_PERCENT} %; check baseline and target")
    numbers = sorted(w.week for w in plan.weeks)
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        duplicate = sorted({n for n in numbers if numbers.count(n) > 1})
        detail = "; ".join(p for p in (f"missing weeks {missing}" if missing else "",
                                        f"weeks listed twice {duplicate}" if duplicate else "") if p)
        reasons.append(f"{cite(2)}: the plan must be broken down by week 1..n without gaps ({detail})")
    empty = [w.week for w in plan.weeks if not any(a.strip() for a in w.activities)]
    if empty:
        reasons.append(f"{cite(2)}: weeks without activities: {empty}")
    return PlanResult(plan_check=PlanCheck(
        valid=not reasons, team_size=len(team), design_team_size=request.design_team_size,
        improvement_percent=float(round(improvement, 2)), weeks=len(plan.weeks), reasons=reasons))


def plan_error(result: PlanResult) -> BusinessError | None:
    check = result.plan_check
    return failed_check(PLAN_INVALID, "planCheck", check, check.valid, check.reasons)


PLAN_VALIDATION: Decision[PlanRequest, OrgDirectory, PlanResult] = Decision(
    name="rollout.plan-validation",
    input_model=PlanRequest,
    output_model=PlanResult,
    parse_rules=parse_org_directory,
    evaluate=validate_plan,
    business_error=plan_error,
)
