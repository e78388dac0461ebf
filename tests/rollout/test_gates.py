"""The gate checks of steps 2, 4, 6, 7–8 and 9 (000A), as the pure functions the workers run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from workers.rollout import rules
from workers.rollout.cutover import (
    CUTOVER_INVALID,
    CutoverRequest,
    ReadinessRequest,
    check_readiness,
    schedule_cutover,
)
from workers.rollout.lock_in import LockInRequest, check_lock_ins
from workers.rollout.management import ReviewPlanRequest, plan_reviews
from workers.rollout.org_directory import OrgDirectory
from workers.rollout.pilot import PilotReportRequest, PilotRequest, evaluate_pilot, plan_pilot
from workers.rollout.plan import PLAN_INVALID, PlanRequest, plan_error, validate_plan
from workers.runtime import BusinessError

NOW = datetime(2026, 4, 28, 1, 0, tzinfo=UTC)  # the engine's clock at activation


def test_the_rule_numbers_are_the_sources() -> None:
    assert rules.MIN_GOAL_IMPROVEMENT_PERCENT == 50  # 000A step 2
    assert rules.PILOT_DURATION == {"small": "P3M", "large": "P6M"}  # 000A step 4
    assert rules.STAGED_SHARES == (50, 100)  # 000A step 6
    assert len(rules.READINESS_CRITERIA) == 4  # 000A step 6
    assert rules.REOPTIMISE_AFTER_MONTHS == 6  # 000A step 8
    assert rules.LOCK_INS == ("behaviour", "performance", "it")  # 000A step 9


# --- step 2 ---------------------------------------------------------------------------------------

def plan(**changes: Any) -> PlanRequest:
    values: dict[str, Any] = {
        "rolloutPlan": {
            "team": "chen.jing\nsun.qiang\nzhao.lei",
            "goal": {"metric": "order fulfilment cycle (days)", "baseline": 6, "target": 3,
                     "direction": "lower-is-better"},
            "weeks": [{"week": 1, "activities": "training"}, {"week": 2, "activities": ["exam", "pilot start"]}],
        },
        "designTeamSize": 3, "affectedEmployees": ["wang.fang", "liu.yang"], "ownerId": "li.ming",
    }
    values["rolloutPlan"].update(changes.pop("plan", {}))
    values.update(changes)
    return PlanRequest.model_validate(values)


def test_a_plan_that_follows_step_2_is_valid(directory: OrgDirectory) -> None:
    result = validate_plan(plan(), directory)
    assert result.plan_check.valid, result.plan_check.reasons
    assert (result.plan_check.team_size, result.plan_check.improvement_percent, result.plan_check.weeks) == (4, 50, 2)
    assert plan_error(result) is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"designTeamSize": 4}, "the rollout team (4 incl. the owner) must be larger than the design team (4)"),
    ({"plan": {"goal": {"metric": "cycle", "baseline": 6, "target": 3.1, "direction": "lower-is-better"}}},
     "by at least 50 %, planned 48.3 %"),
    ({"plan": {"goal": {"metric": "rate", "baseline": 90, "target": 99, "direction": "higher-is-better"}}},
     "planned 10.0 %"),
    ({"plan": {"goal": {"metric": "rate", "baseline": 10, "target": 30, "direction": "higher-is-better"}}},
     "exceeds 100 %"),
    ({"plan": {"weeks": [{"week": 1, "activities": "a"}, {"week": 3, "activities": "b"}]}}, "missing weeks [2]"),
    ({"plan": {"weeks": [{"week": 1, "activities": "a"}, {"week": 1, "activities": "b"}]}}, "listed twice [1]"),
    ({"plan": {"weeks": [{"week": 1, "activities": " "}]}}, "weeks without activities: [1]"),
    ({"affectedEmployees": ["ghost"]}, "not in the organisation directory: ghost"),
])
def test_a_plan_breaking_step_2_is_sent_back_with_reasons(directory: OrgDirectory, changes: dict[str, Any],
                                                         reason: str) -> None:
    result = validate_plan(plan(**changes), directory)
    assert not result.plan_check.valid
    assert any(reason in r and r.startswith("000A step 2") for r in result.plan_check.reasons), result.plan_check
    error = plan_error(result)
    assert error is not None and error.code == PLAN_INVALID and reason in error.message


# --- step 4 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "duration"), [("small", "P3M"), ("large", "P6M")])
def test_the_pilot_lasts_3_months_small_6_months_large(size: str, duration: str) -> None:
    pilot = plan_pilot(PilotRequest.model_validate(
        {"pilotScope": {"kind": "market", "description": "East China"}, "companySize": size}), start=NOW).pilot
    assert pilot.duration == duration and "000A step 4" in pilot.duration_rule


def test_the_pilot_duration_may_be_overridden_but_must_be_iso() -> None:
    base = {"pilotScope": {"kind": "departments", "description": "Sales"}, "companySize": "small"}
    assert plan_pilot(PilotRequest.model_validate({**base, "pilotDuration": "P4M"}), start=NOW).pilot.duration == "P4M"
    with pytest.raises(ValidationError, match="not an ISO 8601 duration"):
        PilotRequest.model_validate({**base, "pilotDuration": "two months"})
    with pytest.raises(ValidationError, match=r"pilotScope\.kind"):
        PilotRequest.model_validate({**base, "pilotScope": {"kind": "world", "description": "all"}})


def pilot_report(**changes: Any) -> PilotReportRequest:
    report: dict[str, Any] = {
        "kpis": [{"name": "cycle days", "target": 3, "actual": 2.8, "direction": "lower-is-better"},
                 {"name": "first resolution %", "target": 95, "actual": 96, "direction": "higher-is-better"}],
        "trainedPeople": "wang.fang, liu.yang", "templates": "order checklist", "lessons": "train early",
    }
    report.update(changes)
    return PilotReportRequest.model_validate({"pilotReport": report})


def test_local_success_needs_every_kpi_met_and_the_three_outputs() -> None:
    assert evaluate_pilot(pilot_report()).pilot_evaluation.success
    missed = evaluate_pilot(pilot_report(kpis=[{"name": "cycle days", "target": 3, "actual": 3.5,
                                                "direction": "lower-is-better"}])).pilot_evaluation
    assert not missed.success and "pilot KPI 'cycle days' missed: actual 3.5, target ≤ 3" in missed.reasons[0]
    no_lessons = evaluate_pilot(pilot_report(lessons=[])).pilot_evaluation
    assert not no_lessons.success and "no lessons" in no_lessons.reasons[0]
    no_kpi = evaluate_pilot(pilot_report(kpis=[])).pilot_evaluation
    assert not no_kpi.success and "names no KPI" in no_kpi.reasons[0]


# --- steps 5-6 ------------------------------------------------------------------------------------

def cutover(**changes: Any) -> CutoverRequest:
    values: dict[str, Any] = {"cutoverDate": "2027-03-01", "stagedRollout": True,
                              "issuance": {"documentNumber": "PG-2027-001", "issuedOn": "2027-02-20"}}
    values.update(changes)
    return CutoverRequest.model_validate(values)


def test_the_cutover_is_scheduled_in_company_time_with_its_stages() -> None:
    planned = schedule_cutover(cutover()).cutover
    assert planned.at == "2027-03-01T09:00:00+08:00" and planned.shares == [50, 100] and planned.staged
    assert schedule_cutover(cutover(stagedRollout=False)).cutover.shares == [100]


def test_a_cutover_before_the_issuance_is_refused() -> None:
    with pytest.raises(BusinessError) as raised:
        schedule_cutover(cutover(cutoverDate="2027-02-19"))
    assert raised.value.code == CUTOVER_INVALID and "000A step 5" in raised.value.message


def test_readiness_needs_all_four_criteria_and_the_pilots_success() -> None:
    all_yes = {"pilotAdequate": True, "publicityAdequate": True, "resourcesReady": True, "fullRolloutFeasible": True}
    ready = check_readiness(ReadinessRequest.model_validate(
        {"readinessReport": all_yes, "pilotEvaluation": {"success": True}})).readiness
    assert ready.ready and ready.unmet == []
    not_ready = check_readiness(ReadinessRequest.model_validate(
        {"readinessReport": {**all_yes, "resourcesReady": False}, "pilotEvaluation": {"success": False}})).readiness
    assert not not_ready.ready and not_ready.unmet == ["resourcesReady", "pilotSuccess"]
    assert "resources ready" in not_ready.reasons[0] and "000A step 4" in not_ready.reasons[1]


# --- steps 7-8 and 9 ------------------------------------------------------------------------------

def test_six_review_months_start_with_the_cutover_month() -> None:
    reviews = plan_reviews(ReviewPlanRequest.model_validate({"cutover": {"date": date(2026, 11, 21)}}), start=NOW)
    assert reviews.review_months == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"]
    assert reviews.review_interval == "P1M"
    with pytest.raises(ValidationError, match="reviewInterval"):
        ReviewPlanRequest.model_validate({"cutover": {"date": "2026-11-21"}, "reviewInterval": "monthly"})


def test_the_rollout_closes_only_with_all_three_lock_ins_evidenced() -> None:
    done = {"done": True, "evidence": "audited"}
    assert check_lock_ins(LockInRequest.model_validate(
        {"lockIns": {"behaviour": done, "performance": done, "it": done}})).lock_in_check.complete
    partial = check_lock_ins(LockInRequest.model_validate(
        {"lockIns": {"behaviour": done, "performance": {"done": True}, "it": {"done": False}}})).lock_in_check
    assert not partial.complete and partial.missing == ["performance", "it"]
    assert all(r.startswith("000A step 9") for r in partial.reasons)
