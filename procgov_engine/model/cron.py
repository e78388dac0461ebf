"""Cron timer cycles as Zeebe reads them (docs.camunda.io/docs/components/modeler/bpmn/timer-events/#time-cycle).

Zeebe parses a ``timeCycle`` that is not an ISO 8601 repeating interval as a Spring cron expression: six
fields, seconds first (``second minute hour day-of-month month day-of-week``), ``?`` for "no specific
value", ``L``/``W``/``#`` day specials, month and weekday names, and the macros ``@yearly``/``@annually``,
``@monthly``, ``@weekly``, ``@daily``/``@midnight``, ``@hourly``. Matches are computed in UTC (the broker's
zone). Spring requires both day fields to match when both are restricted (``0 0 0 13 * FRI`` is Friday
the 13th), unlike classic cron's "either"; croniter's ``day_or=False`` gives exactly that.

The matching itself is croniter's; this module only maps Spring's dialect onto it.
"""

from __future__ import annotations

from datetime import datetime

from croniter import CroniterError, croniter

from procgov_engine.clock import epoch_ms, from_epoch_ms

# Spring's macros, written out as the six-field expressions Spring documents for them.
_MACROS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}


class CronFormatError(ValueError):
    """A timer cycle that is neither an ISO 8601 repeating interval nor a valid Spring cron expression."""


def looks_like_cron(text: str) -> bool:
    """Whether a cycle is meant as cron (ISO 8601 cycles start with ``R`` and never contain spaces)."""
    value = text.strip()
    return value.startswith("@") or " " in value


def _expand(text: str) -> str:
    value = text.strip()
    if value.startswith("@"):
        macro = _MACROS.get(value.lower())
        if macro is None:
            raise CronFormatError(f"Invalid cron expression '{value}': unknown macro (one of {', '.join(_MACROS)})")
        return macro
    fields = value.split()
    if len(fields) != 6:
        raise CronFormatError(
            f"Invalid cron expression '{value}': expected 6 fields (second minute hour day-of-month month "
            f"day-of-week), found {len(fields)}"
        )
    return " ".join(fields)


def validate(text: str) -> None:
    """Raise :class:`CronFormatError` naming the expression if it is not a valid Spring cron expression."""
    next_match(text, 0)


def next_match(text: str, after_ms: int) -> int:
    """The first time (epoch ms) strictly after ``after_ms`` that the cron expression ``text`` matches."""
    expression = _expand(text)
    start = from_epoch_ms(after_ms)
    try:
        matches = croniter(expression, start, day_or=False, second_at_beginning=True)
        following = matches.get_next(datetime)
    except (CroniterError, ValueError, KeyError) as exc:
        raise CronFormatError(f"Invalid cron expression '{text.strip()}': {exc}") from exc
    return epoch_ms(following)
