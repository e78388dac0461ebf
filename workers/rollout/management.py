"""Steps 7–8 (000A steps 7, 8): day-to-day management with a monthly follow-up, then version n+1.

After the cutover the owner and the PMO follow the process up every month (000A step 7): one monthly
SLA review (``procgov-sla-review``, call activity) per month; problems found there go into a change
request (``procgov-change-request``). After 6 months (000A step 8) the owner issues version n+1, so
step 7 of the rollout covers exactly six review months; afterwards the company-wide, timer-started
monthly review continues.

Each review month's review opens on the 1st of the following calendar month, 00:00 company time (the
month has closed; 100104 §2.1.1 wants its self-check before the 15th and §2.1.2 its summary before the
25th of that month), so a cutover on 28 April has the April review open on 1 May, due 15 and 25 May.
``reviews[].opensAt`` is the instant, computed here and waited for by the model's ``timeDate`` timer.
``reviewInterval`` may only be ``P1M`` (:mod:`workers.rollout.schedule`); in demo clock mode another
interval opens review n at the step's start + n × interval instead.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from pydantic import Field, field_validator

from workers.rollout._data import CamelModel
from workers.rollout.rules import DEFAULT_REVIEW_INTERVAL, REOPTIMISE_AFTER_MONTHS, cite
from workers.rollout.schedule import check_review_interval, parse_duration

CHINA = timezone(timedelta(hours=8))  # the company's offset when the cutover names none


class CutoverDate(CamelModel):
    date: date
    at: datetime | None = None  # the cutover instant (its offset is the company's)


class ReviewPlanRequest(CamelModel):
    cutover: CutoverDate
    review_interval: str = DEFAULT_REVIEW_INTERVAL

    @field_validator("review_interval")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Review(CamelModel):
    month: str = Field(description='"YYYY-MM" reviewed')
    opens_at: str = Field(description="ISO 8601 instant the review opens (the model's timeDate)")


class ReviewPlan(CamelModel):
    review_months: list[str] = Field(description='"YYYY-MM" of each monthly review, from the cutover month')
    reviews: list[Review]
    review_interval: str
    rule: str = f"{cite(7)} monthly follow-up; {cite(8)} re-optimise after {REOPTIMISE_AFTER_MONTHS} months"


def month_after(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def plan_reviews(request: ReviewPlanRequest, *, start: datetime, demo_mode: bool = False) -> ReviewPlan:
    """Pure: the six review months (000A step 8) starting with the cutover month, each opening on the 1st
    of the next month (000A step 7, 100104 §2.1); ``start`` is the engine's clock at activation."""
    check_review_interval(request.review_interval, demo_mode=demo_mode)
    first = request.cutover.date.replace(day=1)
    months = [month_after(first, n) for n in range(REOPTIMISE_AFTER_MONTHS)]
    zone = request.cutover.at.tzinfo if request.cutover.at and request.cutover.at.tzinfo else CHINA
    if request.review_interval == DEFAULT_REVIEW_INTERVAL:
        opens = [datetime.combine(month_after(m, 1), time(0, 0), zone) for m in months]
    else:  # demo clock mode only (check_review_interval refused it otherwise)
        step, opens, at = parse_duration(request.review_interval), [], start
        for _ in months:
            at = at + step
            opens.append(at)
    return ReviewPlan(review_months=[m.strftime("%Y-%m") for m in months],
                      reviews=[Review(month=m.strftime("%Y-%m"), opens_at=o.isoformat(timespec="seconds"))
                               for m, o in zip(months, opens, strict=True)],
                      review_interval=request.review_interval)
