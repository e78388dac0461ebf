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

Step 8 starts 6 months after the cutover (000A step 8), not when the sixth review is done: six review
months from the cutover month end on the 1st after the sixth month, which for a cutover on 28 April
is 1 October, five months and three days later. ``reoptimiseAt`` is the cutover + 6 months, and the
model's step 8 waits for it (timer ``Step8_SixMonths``). The cutover is taken as the engine recorded
it: ``cutoverReachedAt``, the engine's ``now()`` when the cutover timer fired (an output mapping of
``Step6_CutoverReached``); without it (an instance started at step 7) the planned ``cutover.at``, or
the cutover date at 00:00 company time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from pydantic import Field, field_validator

from workers.rollout._data import CamelModel
from workers.rollout.rules import DEFAULT_REVIEW_INTERVAL, REOPTIMISE_AFTER_MONTHS, cite
from workers.rollout.schedule import check_review_interval, months_after, parse_duration

CHINA = timezone(timedelta(hours=8))  # the company's offset when the cutover names none


class CutoverDate(CamelModel):
    date: date
    at: datetime | None = None  # the cutover instant (its offset is the company's)


#: A zone id after the offset, as FEEL date-times may carry it (``…+08:00[Asia/Shanghai]``, ``…Z@UTC``).
_ZONE_ID = re.compile(r"(\[[^\]]+\]|@[A-Za-z_/+-]+)$")


class ReviewPlanRequest(CamelModel):
    cutover: CutoverDate
    review_interval: str = DEFAULT_REVIEW_INTERVAL
    cutover_reached_at: datetime | None = None  # the engine's now() when the cutover timer fired

    @field_validator("cutover_reached_at", mode="before")
    @classmethod
    def _feel_date_time(cls, value: Any) -> Any:
        return _ZONE_ID.sub("", value) if isinstance(value, str) else value

    @field_validator("cutover_reached_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("cutoverReachedAt must carry its offset (the engine's now() does)")
        return value

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
    reoptimise_at: str = Field(description="ISO 8601 instant step 8 starts: the cutover + 6 months (000A step 8)")
    rule: str = f"{cite(7)} monthly follow-up; {cite(8)} re-optimise {REOPTIMISE_AFTER_MONTHS} months after the cutover"


def month_after(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def cutover_instant(request: ReviewPlanRequest, zone: timezone | Any) -> datetime:
    """When the cutover happened: on the engine's clock if the model recorded it, else as planned."""
    if request.cutover_reached_at is not None:
        return request.cutover_reached_at
    if request.cutover.at is not None:
        return request.cutover.at if request.cutover.at.tzinfo else request.cutover.at.replace(tzinfo=zone)
    return datetime.combine(request.cutover.date, time(0, 0), zone)


def plan_reviews(request: ReviewPlanRequest, *, start: datetime, demo_mode: bool = False) -> ReviewPlan:
    """Pure: the six review months (000A step 8) starting with the cutover month, each opening on the 1st
    of the next month (000A step 7, 100104 §2.1), and step 8's start, 6 months after the cutover (000A
    step 8); ``start`` is the engine's clock at activation."""
    check_review_interval(request.review_interval, demo_mode=demo_mode)
    first = request.cutover.date.replace(day=1)
    months = [month_after(first, n) for n in range(REOPTIMISE_AFTER_MONTHS)]
    zone = request.cutover.at.tzinfo if request.cutover.at and request.cutover.at.tzinfo else CHINA
    if request.review_interval == DEFAULT_REVIEW_INTERVAL:
        opens = [datetime.combine(month_after(m, 1), time(0, 0), zone) for m in months]
        reoptimise = months_after(cutover_instant(request, zone), REOPTIMISE_AFTER_MONTHS)
    else:  # demo clock mode only (check_review_interval refused it otherwise)
        step, opens, at = parse_duration(request.review_interval), [], start
        for _ in months:
            at = at + step
            opens.append(at)
        reoptimise = opens[-1]  # step 8 follows the last (short) review month
    return ReviewPlan(review_months=[m.strftime("%Y-%m") for m in months],
                      reviews=[Review(month=m.strftime("%Y-%m"), opens_at=o.isoformat(timespec="seconds"))
                               for m, o in zip(months, opens, strict=True)],
                      review_interval=request.review_interval,
                      reoptimise_at=reoptimise.isoformat(timespec="milliseconds"))
