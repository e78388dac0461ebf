"""Steps 7–8 (000A steps 7, 8): day-to-day management with a monthly follow-up, then version n+1.

After the cutover the owner and the PMO follow the process up every month (000A step 7): one monthly
SLA review (``procgov-sla-review``, call activity) per month; problems found there go into a change
request (``procgov-change-request``). After 6 months (000A step 8) the owner issues version n+1, so
step 7 of the rollout covers exactly six review months; afterwards the company-wide, timer-started
monthly review continues. The interval is the variable ``reviewInterval`` (default ``P1M``).
"""

from __future__ import annotations

from datetime import date

import isodate
from pydantic import Field, field_validator

from workers.rollout._data import CamelModel
from workers.rollout.rules import DEFAULT_REVIEW_INTERVAL, REOPTIMISE_AFTER_MONTHS, cite


class CutoverDate(CamelModel):
    date: date


class ReviewPlanRequest(CamelModel):
    cutover: CutoverDate
    review_interval: str = DEFAULT_REVIEW_INTERVAL

    @field_validator("review_interval")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        try:
            isodate.parse_duration(value)
        except (isodate.ISO8601Error, ValueError) as exc:
            raise ValueError(f"not an ISO 8601 duration such as P1M: {value!r}") from exc
        return value


class ReviewPlan(CamelModel):
    review_months: list[str] = Field(description='"YYYY-MM" of each monthly review, from the cutover month')
    review_interval: str
    rule: str = f"{cite(7)} monthly follow-up; {cite(8)} re-optimise after {REOPTIMISE_AFTER_MONTHS} months"


def month_after(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def plan_reviews(request: ReviewPlanRequest) -> ReviewPlan:
    """Pure: the six review months (000A step 8) starting with the cutover month."""
    first = request.cutover.date.replace(day=1)
    months = [month_after(first, n).strftime("%Y-%m") for n in range(REOPTIMISE_AFTER_MONTHS)]
    return ReviewPlan(review_months=months, review_interval=request.review_interval)
