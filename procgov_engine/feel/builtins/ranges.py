"""Range functions (DMN 1.4 §10.3.4.9 "Range Functions", Camunda "Range functions"): Allen's interval
relations between points and ranges, and ``range()`` (DMN 1.5 §10.3.4.9) from its text.

A point is any comparable value; a range is :class:`Range` (``[1..10]``, ``(< 5)``). Each relation is
written for ranges; a point ``p`` takes part as the closed range ``[p..p]``, which gives the spec's
point variants exactly. A null argument or values that do not compare give null.
"""

from __future__ import annotations

from typing import Any

from procgov_engine.feel.functions import builtin
from procgov_engine.feel.values import Range, feel_equals, feel_less

_PAIRS = (("point1", "point2"), ("point", "range"), ("range", "point"), ("range1", "range2"))


class _Incomparable(Exception):
    pass


def _lt(a: Any, b: Any) -> bool:
    outcome = feel_less(a, b)
    if outcome is None:
        raise _Incomparable
    return outcome


def _eq(a: Any, b: Any) -> bool:
    outcome = feel_equals(a, b)
    if outcome is None:
        raise _Incomparable
    return outcome


def _as_range(value: Any) -> Range:
    return value if isinstance(value, Range) else Range(value, value, True, True)


def _relation(name: str, test: Any) -> None:
    """Register ``name``; ``test(r1, r2)`` decides the relation between two ranges."""

    def run(a: Any, b: Any) -> bool | None:
        if a is None or b is None:
            return None
        try:
            return bool(test(_as_range(a), _as_range(b)))
        except _Incomparable:
            return None

    builtin(name, *_PAIRS)(run)


def _before(r1: Range, r2: Range) -> bool:
    return _lt(r1.end, r2.start) or (_eq(r1.end, r2.start) and not (r1.end_included and r2.start_included))


def _meets(r1: Range, r2: Range) -> bool:
    return r1.end_included and r2.start_included and _eq(r1.end, r2.start)


def _overlaps(r1: Range, r2: Range) -> bool:
    ends_after_start = _lt(r2.start, r1.end) or (_eq(r1.end, r2.start) and r1.end_included and r2.start_included)
    starts_before_end = _lt(r1.start, r2.end) or (_eq(r1.start, r2.end) and r1.start_included and r2.end_included)
    return ends_after_start and starts_before_end


def _overlaps_before(r1: Range, r2: Range) -> bool:
    starts_first = _lt(r1.start, r2.start) or (_eq(r1.start, r2.start) and r1.start_included and not r2.start_included)
    reaches = _lt(r2.start, r1.end) or (_eq(r1.end, r2.start) and r1.end_included and r2.start_included)
    ends_first = _lt(r1.end, r2.end) or (_eq(r1.end, r2.end) and (not r1.end_included or r2.end_included))
    return starts_first and reaches and ends_first


def _finishes(r1: Range, r2: Range) -> bool:
    if r1.start == r1.end and r1.start_included and r1.end_included:  # a point finishes a range
        return r2.end_included and _eq(r1.end, r2.end)
    return (
        r1.end_included == r2.end_included
        and _eq(r1.end, r2.end)
        and (_lt(r2.start, r1.start) or (_eq(r1.start, r2.start) and (not r1.start_included or r2.start_included)))
    )


def _includes(r1: Range, r2: Range) -> bool:
    starts_inside = _lt(r1.start, r2.start) or (
        _eq(r1.start, r2.start) and (r1.start_included or not r2.start_included)
    )
    ends_inside = _lt(r2.end, r1.end) or (_eq(r1.end, r2.end) and (r1.end_included or not r2.end_included))
    return starts_inside and ends_inside


def _starts(r1: Range, r2: Range) -> bool:
    if r1.start == r1.end and r1.start_included and r1.end_included:  # a point starts a range
        return r2.start_included and _eq(r1.start, r2.start)
    return (
        r1.start_included == r2.start_included
        and _eq(r1.start, r2.start)
        and (_lt(r1.end, r2.end) or (_eq(r1.end, r2.end) and (not r1.end_included or r2.end_included)))
    )


def _coincides(r1: Range, r2: Range) -> bool:
    return (
        _eq(r1.start, r2.start)
        and _eq(r1.end, r2.end)
        and r1.start_included == r2.start_included
        and r1.end_included == r2.end_included
    )


_relation("before", _before)
_relation("after", lambda r1, r2: _before(r2, r1))
_relation("meets", _meets)
_relation("met by", lambda r1, r2: _meets(r2, r1))
_relation("overlaps", _overlaps)
_relation("overlaps before", _overlaps_before)
_relation("overlaps after", lambda r1, r2: _overlaps_before(r2, r1))
_relation("finishes", _finishes)
_relation("finished by", lambda r1, r2: _finishes(r2, r1))
_relation("includes", _includes)
_relation("during", lambda r1, r2: _includes(r2, r1))
_relation("starts", _starts)
_relation("started by", lambda r1, r2: _starts(r2, r1))
_relation("coincides", _coincides)


@builtin("range", ("from",))
def range_(text: Any) -> Range | None:
    """``range("[1..10)")``: the range a FEEL interval literal (or ``< x`` form) of literal bounds denotes."""
    if not isinstance(text, str):
        return None
    from procgov_engine.feel import FeelError, evaluate  # the interpreter is complete by the time this runs

    source = text.strip()
    if source[:1] in "<>":
        source = f"({source})"
    try:
        value = evaluate(source, {})
    except FeelError:
        return None
    if not isinstance(value, Range):
        return None
    if value.start is not None and value.end is not None and feel_less(value.end, value.start) is not False:
        return None if not feel_equals(value.start, value.end) else value
    return value
