"""Filter, sort and page a list of result items as Camunda's search endpoints do.

Camunda docs, "Orchestration Cluster API" → "Search requests": a body has ``filter`` (each property an
exact value or an object of operators ``$eq $neq $exists $in $notIn $like $gt $gte $lt $lte``, plus
``$or`` over alternative filters), ``sort`` (``[{field, order}]``) and ``page`` (``limit`` with
``from``, ``after`` or ``before``); the answer is ``{items, page: {totalItems, hasMoreTotalItems,
startCursor, endCursor}}``. Here the items are the response documents themselves, so a filter names
the same properties the results carry. Cursors are the base64 of an item's position in the sorted list.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from engine.rest.problems import invalid

Item = dict[str, Any]
_OPERATORS = {"$eq", "$neq", "$exists", "$in", "$notIn", "$like", "$gt", "$gte", "$lt", "$lte"}
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    limit: StrictInt = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    from_: StrictInt | None = Field(None, alias="from", ge=0)
    after: StrictStr | None = None
    before: StrictStr | None = None


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: StrictStr
    order: Literal["ASC", "DESC"] = "ASC"

    @field_validator("order", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:  # the spec: enum values are accepted in any casing
        return value.upper() if isinstance(value, str) else value


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] | None = None
    sort: list[Sort] = []
    page: Page | None = None


def _as_number(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual == expected or (actual.isupper() and expected.upper() == actual)  # enums: any casing
    return bool(_as_number(actual) == _as_number(expected))


def _ordered(actual: Any, expected: Any, op: Callable[[Any, Any], bool]) -> bool:
    a, e = _as_number(actual), _as_number(expected)
    if a is None or (type(a) is not type(e) and not (isinstance(a, int | float) and isinstance(e, int | float))):
        return False
    return op(a, e)


def _matches_condition(actual: Any, condition: Any, name: str) -> bool:
    if not isinstance(condition, dict):
        return _equal(actual, condition)
    unknown = set(condition) - _OPERATORS
    if unknown:
        raise invalid(f"Unknown operator {sorted(unknown)[0]!r} in the filter of {name!r}")
    checks = {
        "$eq": lambda v: _equal(actual, v),
        "$neq": lambda v: not _equal(actual, v),
        "$exists": lambda v: (actual is not None) == bool(v),
        "$in": lambda v: isinstance(v, list) and any(_equal(actual, x) for x in v),
        "$notIn": lambda v: isinstance(v, list) and not any(_equal(actual, x) for x in v),
        "$like": lambda v: isinstance(actual, str) and fnmatch.fnmatchcase(actual, str(v)),
        "$gt": lambda v: _ordered(actual, v, lambda a, b: a > b),
        "$gte": lambda v: _ordered(actual, v, lambda a, b: a >= b),
        "$lt": lambda v: _ordered(actual, v, lambda a, b: a < b),
        "$lte": lambda v: _ordered(actual, v, lambda a, b: a <= b),
    }
    return all(checks[op](value) for op, value in condition.items())


def _matches(item: Item, filter_: dict[str, Any], fields: frozenset[str]) -> bool:
    for name, condition in filter_.items():
        if name == "$or":
            if not isinstance(condition, list) or not all(isinstance(f, dict) for f in condition):
                raise invalid("The filter property '$or' must be a list of filters")
            if condition and not any(_matches(item, alternative, fields) for alternative in condition):
                return False
            continue
        if name not in fields:
            raise invalid(f"Unknown filter property {name!r}; known: {', '.join(sorted(fields))}")
        if not _matches_condition(item.get(name), condition, name):
            return False
    return True


def _cursor(index: int) -> str:
    return base64.b64encode(str(index).encode()).decode()


def _uncursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid(f"The cursor {cursor!r} is not one this engine returned") from None


def _sort_key(field: str) -> Callable[[Item], tuple[bool, Any]]:
    def key(item: Item) -> tuple[bool, Any]:
        value = _as_number(item.get(field))
        return (value is None, value if value is not None else 0)

    return key


def search(query: SearchQuery, items: Iterable[Item], fields: Iterable[str], sort_fields: Iterable[str]) -> Item:
    """Apply ``query`` to ``items``; ``fields`` may be filtered on, ``sort_fields`` sorted by."""
    known, sortable = frozenset(fields), frozenset(sort_fields)
    for sort in query.sort:
        if sort.field not in sortable:
            raise invalid(f"Unknown sort field {sort.field!r}; known: {', '.join(sorted(sortable))}")
    selected = [item for item in items if _matches(item, query.filter or {}, known)]
    for sort in reversed(query.sort):  # stable sorts, last key first
        selected.sort(key=_sort_key(sort.field), reverse=sort.order == "DESC")
    page = query.page or Page()
    if sum(x is not None for x in (page.from_, page.after, page.before)) > 1:
        raise invalid("Only one of [from, after, before] is allowed in a page")
    start = page.from_ or 0
    if page.after is not None:
        start = _uncursor(page.after) + 1
    elif page.before is not None:
        start = max(0, _uncursor(page.before) - page.limit)
    end = min(len(selected), start + page.limit)
    if page.before is not None:
        end = min(end, _uncursor(page.before))
    window = selected[start:end]
    return {
        "items": window,
        "page": {
            "totalItems": len(selected),
            "hasMoreTotalItems": False,
            "startCursor": _cursor(start) if window else None,
            "endCursor": _cursor(start + len(window) - 1) if window else None,
        },
    }
