"""The durations of the nine-step rollout are the sources' numbers, not free values (000A steps 4, 7, 8).

- 000A step 4: the pilot runs 3 months in a small company and 6 months in a large one. An override
  (``pilotDuration``, e.g. set when a failed pilot is reworked) must lie between the company size's own
  duration and the sources' longest, 6 months: a small company 3–6 months, a large one 6 months.
- 000A step 7: the follow-up is monthly; the reviews open on the 1st of each calendar month (the month
  closes, 100104 §2.1.1 counts the self-check from it), so ``reviewInterval`` may only be ``P1M``.
- 000A step 8: re-optimisation after 6 months: six review months (rules.REOPTIMISE_AFTER_MONTHS).

An override outside these bounds is refused (an incident naming the rule, :class:`ScheduleRefused`),
unless the test/demo clock mode is on: ``PROCGOV_SCHEDULE__DEMO_MODE=true`` (off by default; ``make demo``
and tests turn it on explicitly), in which any positive ISO 8601 duration is taken as given.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import isodate
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.rollout.rules import DEFAULT_REVIEW_INTERVAL, PILOT_DURATION_MONTHS, PILOT_MAX_MONTHS, cite
from workers.runtime.errors import PermanentError


class ScheduleSettings(BaseSettings):
    """``PROCGOV_SCHEDULE__DEMO_MODE``: accept durations outside the sources' bounds (tests, demos)."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_SCHEDULE__", extra="ignore")

    demo_mode: bool = False


class ScheduleRefused(PermanentError):
    """An override of a duration the sources fix: no retry can fix it, an operator corrects the variable."""


DEMO_HINT = "(durations outside the rule are only accepted with PROCGOV_SCHEDULE__DEMO_MODE=true, for tests and demos)"


def parse_duration(value: str) -> timedelta | isodate.Duration:
    try:
        duration = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise ValueError(f"not an ISO 8601 duration such as P3M: {value!r}") from exc
    return duration


def _after(start: datetime, duration: timedelta | isodate.Duration) -> datetime:
    return start + duration


def months_after(start: datetime, months: int) -> datetime:
    return _after(start, isodate.Duration(months=months))


def check_pilot_duration(duration: str, company_size: str, *, start: datetime, demo_mode: bool) -> None:
    """000A step 4: between the company size's duration (3 small / 6 large months) and 6 months."""
    end = _after(start, parse_duration(duration))
    if end <= start:
        raise ScheduleRefused(f"{cite(4)}: pilotDuration {duration!r} is not a positive duration")
    if demo_mode:
        return
    shortest, longest = PILOT_DURATION_MONTHS[company_size], PILOT_MAX_MONTHS
    if not months_after(start, shortest) <= end <= months_after(start, longest):
        bounds = f"P{shortest}M" if shortest == longest else f"P{shortest}M to P{longest}M"
        raise ScheduleRefused(
            f"{cite(4)}: pilotDuration {duration!r} is outside the pilot duration for a {company_size} company "
            f"({bounds}; the rule: 3 months small, 6 months large) {DEMO_HINT}")


def check_review_interval(interval: str, *, demo_mode: bool) -> None:
    """000A step 7: monthly follow-up, one review per calendar month: only ``P1M``."""
    parse_duration(interval)
    if demo_mode or interval == DEFAULT_REVIEW_INTERVAL:
        return
    raise ScheduleRefused(f"{cite(7)}: reviewInterval {interval!r} is not monthly; the monthly reviews open on "
                          f"the 1st of each calendar month ({DEFAULT_REVIEW_INTERVAL}) {DEMO_HINT}")
