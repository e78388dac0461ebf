"""Rollout durations are the sources' numbers (000A steps 4, 7, 8), and the monthly reviews open on the
1st of each calendar month so that the 100104 §2.1.1 / §2.1.2 deadlines of that month are still ahead.

Pure functions here; the same refusals on the engine over gRPC are in ``test_schedule_process.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from workers.rollout.management import ReviewPlanRequest, plan_reviews
from workers.rollout.pilot import PilotRequest, plan_pilot
from workers.rollout.schedule import ScheduleRefused, ScheduleSettings

NOW = datetime(2026, 4, 28, 1, 0, tzinfo=UTC)


def pilot(size: str, duration: str | None) -> PilotRequest:
    return PilotRequest.model_validate({"pilotScope": {"kind": "market", "description": "East China"},
                                        "companySize": size, "pilotDuration": duration})


@pytest.mark.parametrize(("size", "duration"), [
    ("small", "P3M"), ("small", "P4M"), ("small", "P6M"), ("small", "P3M15D"), ("large", "P6M")])
def test_000a_step4_overrides_within_the_bounds_of_the_company_size(size: str, duration: str) -> None:
    assert plan_pilot(pilot(size, duration), start=NOW).pilot.duration == duration


@pytest.mark.parametrize(("size", "duration"), [
    ("small", "PT5S"), ("small", "P2M"), ("small", "P7M"), ("large", "P3M"), ("large", "P5M"), ("large", "P1Y")])
def test_000a_step4_overrides_outside_the_bounds_are_refused_naming_the_rule(size: str, duration: str) -> None:
    with pytest.raises(ScheduleRefused, match=r"000A step 4: pilotDuration .* outside") as refused:
        plan_pilot(pilot(size, duration), start=NOW)
    assert "PROCGOV_SCHEDULE__DEMO_MODE" in refused.value.message


def test_000a_step4_demo_clock_mode_takes_any_positive_duration() -> None:
    assert plan_pilot(pilot("large", "PT5S"), start=NOW, demo_mode=True).pilot.duration == "PT5S"
    with pytest.raises(ScheduleRefused, match="not a positive duration"):
        plan_pilot(pilot("large", "PT0S"), start=NOW, demo_mode=True)


def test_demo_mode_is_off_by_default_and_set_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROCGOV_SCHEDULE__DEMO_MODE", raising=False)
    assert ScheduleSettings().demo_mode is False
    monkeypatch.setenv("PROCGOV_SCHEDULE__DEMO_MODE", "true")
    assert ScheduleSettings().demo_mode is True


def test_000a_step7_a_cutover_on_28_april_opens_each_review_on_the_1st_of_the_next_month() -> None:
    """100104 §2.1.1/§2.1.2: the April review opens 1 May (00:00 company time), ahead of 15 and 25 May."""
    plan = plan_reviews(ReviewPlanRequest.model_validate(
        {"cutover": {"date": "2026-04-28", "at": "2026-04-28T09:00:00+08:00"}}), start=NOW)
    assert plan.review_months == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]  # step 8: six
    assert [(r.month, r.opens_at) for r in plan.reviews][:3] == [
        ("2026-04", "2026-05-01T00:00:00+08:00"), ("2026-05", "2026-06-01T00:00:00+08:00"),
        ("2026-06", "2026-07-01T00:00:00+08:00")]
    assert plan.reviews[-1].opens_at == "2026-10-01T00:00:00+08:00"
    for review in plan.reviews:  # each opens in the month after the one it reviews, on the 1st
        opens = datetime.fromisoformat(review.opens_at).date()
        assert opens.day == 1 and opens > date.fromisoformat(review.month + "-28")


@pytest.mark.parametrize("interval", ["PT5S", "P2M", "P30D", "P1W"])
def test_000a_step7_review_interval_other_than_monthly_is_refused(interval: str) -> None:
    request = ReviewPlanRequest.model_validate({"cutover": {"date": "2026-04-28"}, "reviewInterval": interval})
    with pytest.raises(ScheduleRefused, match=r"000A step 7: reviewInterval .* not monthly"):
        plan_reviews(request, start=NOW)


def test_000a_step7_demo_clock_mode_opens_reviews_every_interval() -> None:
    request = ReviewPlanRequest.model_validate({"cutover": {"date": "2026-04-28"}, "reviewInterval": "PT5S"})
    plan = plan_reviews(request, start=NOW, demo_mode=True)
    assert [r.opens_at for r in plan.reviews][:2] == ["2026-04-28T01:00:05+00:00", "2026-04-28T01:00:10+00:00"]
    assert plan.reviews[0].month == "2026-04"


def test_000a_step8_re_optimisation_starts_six_months_after_the_cutover_not_after_the_sixth_review() -> None:
    """000A step 8 "半年后再优化": the six reviews of a 28 April cutover end 1 October (5 months 3 days);
    step 8 starts 28 October, counted from when the engine reached the cutover (cutoverReachedAt)."""
    plan = plan_reviews(ReviewPlanRequest.model_validate({
        "cutover": {"date": "2026-04-28", "at": "2026-04-28T09:00:00+08:00"},
        "cutoverReachedAt": "2026-04-28T01:00:00.250Z"}), start=NOW)
    assert plan.reviews[-1].opens_at == "2026-10-01T00:00:00+08:00"
    assert plan.reoptimise_at == "2026-10-28T01:00:00.250+00:00"
    assert "000A step 8 re-optimise 6 months after the cutover" in plan.rule


@pytest.mark.parametrize(("cutover", "expected"), [
    ({"date": "2026-04-28", "at": "2026-04-28T09:00:00+08:00"}, "2026-10-28T09:00:00.000+08:00"),  # as planned
    ({"date": "2026-04-28"}, "2026-10-28T00:00:00.000+08:00"),  # the date, 00:00 company time
    ({"date": "2026-08-31"}, "2027-02-28T00:00:00.000+08:00"),  # no 31 February: the month's last day
])
def test_000a_step8_without_the_engine_s_cutover_time_the_planned_cutover_counts(
        cutover: dict[str, str], expected: str) -> None:
    assert plan_reviews(ReviewPlanRequest.model_validate({"cutover": cutover}), start=NOW).reoptimise_at == expected


def test_000a_step8_the_engine_s_cutover_time_may_carry_a_feel_zone_id_but_needs_its_offset() -> None:
    zoned = ReviewPlanRequest.model_validate({"cutover": {"date": "2026-04-28"},
                                              "cutoverReachedAt": "2026-04-28T09:00:00+08:00[Asia/Shanghai]"})
    assert plan_reviews(zoned, start=NOW).reoptimise_at == "2026-10-28T09:00:00.000+08:00"
    with pytest.raises(ValueError, match="cutoverReachedAt must carry its offset"):
        ReviewPlanRequest.model_validate({"cutover": {"date": "2026-04-28"}, "cutoverReachedAt": "2026-04-28T09:00"})


def test_000a_step8_demo_clock_mode_follows_the_last_short_review() -> None:
    request = ReviewPlanRequest.model_validate({"cutover": {"date": "2026-04-28"}, "reviewInterval": "PT5S"})
    plan = plan_reviews(request, start=NOW, demo_mode=True)
    assert plan.reoptimise_at == "2026-04-28T01:00:30.000+00:00" == plan.reviews[-1].opens_at.replace("30+", "30.000+")
