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
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr, field_validator

from procgov_engine.rest.models import Body
from procgov_engine.rest.problems import invalid

Item = dict[str, Any]
_OPERATORS = {"$eq", "$neq", "$exists", "$in", "$notIn", "$like", "$gt", "$gte", "$lt", "$lte"}
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


class Page(Body):
    limit: StrictInt = Field(DEFAULT_LIMIT, ge=1, le=2**31 - 1)  # 10,000 at most, except with ``from``
    from_: StrictInt | None = Field(None, alias="from", ge=0, le=2**31 - 1)
    after: StrictStr | None = None
    before: StrictStr | None = None


class Sort(Body):
    field: StrictStr
    order: Literal["ASC", "DESC"] = "ASC"

    @field_validator("order", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:  # the spec: enum values are accepted in any casing
        return value.upper() if isinstance(value, str) else value


class SearchQuery(Body):
    filter: dict[str, Any] = Field(default_factory=dict)
    sort: list[Sort] = Field(default_factory=list)
    page: Page = Field(default_factory=Page)


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


def matches_condition(actual: Any, condition: Any) -> bool:
    """Whether one value meets a filter property's condition (a list value: whether one of its elements does;
    a TagSet condition, a list: whether the value holds every tag of it)."""
    if isinstance(condition, list):
        return isinstance(actual, list) and all(tag in actual for tag in condition)
    if isinstance(actual, list):
        if not actual:
            return matches_condition(None, condition)
        return any(matches_condition(element, condition) for element in actual)
    if not isinstance(condition, dict):
        return _equal(actual, condition)
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


_BY_KIND: dict[str, set[str]] = {
    "key": {"$eq", "$neq", "$exists", "$in", "$notIn"},
    "string": {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    "int": {"$eq", "$neq", "$exists", "$gt", "$gte", "$lt", "$lte", "$in"},
    "date": {"$eq", "$neq", "$exists", "$gt", "$gte", "$lt", "$lte", "$in", "$notIn"},
    "enum": {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    "tenant": {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
}
TENANT_ID = re.compile(r"<default>|[\w.\-]{1,31}")
TAG = re.compile(r"[A-Za-z][A-Za-z0-9_\-:.]{0,99}")  # the spec's Tag
MAX_TAGS = 10  # the spec's TagSet maxItems
TAG_FORMAT = (  # Zeebe's TagUtil.TAG_FORMAT_DESCRIPTION
    "Tag must start with a letter (a-z, A-Z), followed by alphanumerics, underscores, minuses, colons, or "
    "periods. It must not be blank and must be 100 characters or less."
)
DEFINITION_ID = re.compile(r"[^\W\d][\w\-.]*")  # the spec's ^[\p{L}_][\p{L}\p{N}_\-\.]*$


@dataclass(frozen=True)
class Field_:
    """How the spec types one filter property: ``kind`` of its values, ``plain`` if it takes no operators."""

    kind: str  # key | string | int | bool | date | enum
    plain: bool = False
    values: frozenset[str] = frozenset()  # enum values


def key(plain: bool = False) -> Field_:
    return Field_("key", plain)


def text(plain: bool = False) -> Field_:
    return Field_("string", plain)


def number(plain: bool = False) -> Field_:
    return Field_("int", plain)


def flag() -> Field_:
    return Field_("bool", True)


def date() -> Field_:
    return Field_("date")


def tenant_id(plain: bool = False) -> Field_:
    return Field_("tenant", plain)


def definition_id() -> Field_:
    return Field_("id", True)


def tag_set() -> Field_:
    """A ``TagSet`` filter: a list of at most 10 tags, matching the items that carry all of them."""
    return Field_("tags", True)


def enum(*values: str, plain: bool = False) -> Field_:
    return Field_("enum", plain, frozenset(values))


Fields = dict[str, Field_]


def _check_value(name: str, spec: Field_, value: Any, like: bool = False) -> None:
    ok = {
        "key": lambda: isinstance(value, str) and 0 < len(value) <= 25 and value.lstrip("-").isdigit(),
        "string": lambda: isinstance(value, str),
        "date": lambda: isinstance(value, str),
        "int": lambda: type(value) is int and -(2**31) <= value < 2**31,
        "tenant": lambda: isinstance(value, str) and TENANT_ID.fullmatch(value) is not None,
        "id": lambda: isinstance(value, str) and DEFINITION_ID.fullmatch(value) is not None,
        "bool": lambda: isinstance(value, bool),
        "enum": lambda: isinstance(value, str) and (like or value.upper() in spec.values),
        "tags": lambda: isinstance(value, list)
        and len(value) <= MAX_TAGS
        and all(isinstance(t, str) and TAG.fullmatch(t) is not None for t in value),
    }[spec.kind]()
    if not ok:
        raise invalid(f"The filter value of {name!r} is {value!r}, which is not a valid {spec.kind}")


def validate_filter(filter_: Any, fields: Fields) -> None:
    """Refuse unknown properties and operators and ill-typed values up front, matches or not."""
    if not isinstance(filter_, dict):
        raise invalid("The filter must be an object")
    for name, condition in filter_.items():
        if name == "$or":
            if not isinstance(condition, list):
                raise invalid("The filter property '$or' must be a list of filters")
            for alternative in condition:
                validate_filter(alternative, fields)
            continue
        spec = fields.get(name)
        if spec is None:
            raise invalid(f"Unknown filter property {name!r}; known: {', '.join(sorted(fields))}")
        if not isinstance(condition, dict) or spec.plain:
            _check_value(name, spec, condition)
            continue
        for op, value in condition.items():
            if op not in _BY_KIND[spec.kind]:
                raise invalid(f"The operator {op!r} is not allowed in the filter of {name!r}")
            if op in ("$in", "$notIn"):
                if not isinstance(value, list):
                    raise invalid(f"The operator {op!r} of {name!r} takes a list")
                for element in value:
                    _check_value(name, spec, element)
            elif op == "$exists":
                if not isinstance(value, bool):
                    raise invalid(f"The operator '$exists' of {name!r} takes a boolean")
            else:
                _check_value(name, spec, value, like=op == "$like")


def _matches(item: Item, filter_: dict[str, Any]) -> bool:  # filter_ already validated
    for name, condition in filter_.items():
        if name == "$or":
            if condition and not any(_matches(item, alternative) for alternative in condition):
                return False
            continue
        if not matches_condition(item.get(name), condition):
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


def search(
    query: SearchQuery,
    items: Iterable[Item],
    fields: Fields,
    sort_fields: Iterable[str],
    filter_only: Iterable[str] = (),
) -> Item:
    """Apply ``query`` to ``items``; ``fields`` may be filtered on, ``sort_fields`` sorted by.
    ``filter_only`` properties (e.g. ``isLatestVersion``) are in the items for filtering, not in the answer."""
    sortable, hidden = frozenset(sort_fields), frozenset(filter_only)
    for sort in query.sort:
        if sort.field not in sortable:
            raise invalid(f"Unknown sort field {sort.field!r}; known: {', '.join(sorted(sortable))}")
    validate_filter(query.filter or {}, fields)
    selected = [item for item in items if _matches(item, query.filter or {})]
    for sort in reversed(query.sort):  # stable sorts, last key first
        selected.sort(key=_sort_key(sort.field), reverse=sort.order == "DESC")
    page = query.page
    if page.from_ is None and page.limit > MAX_LIMIT:
        raise invalid(f"The value for page.limit is '{page.limit}' but must be at most {MAX_LIMIT}.")
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
    window = [{k: v for k, v in item.items() if k not in hidden} for item in selected[start:end]]
    return {
        "items": window,
        "page": {
            "totalItems": len(selected),
            "hasMoreTotalItems": False,
            "startCursor": _cursor(start) if window else None,
            "endCursor": _cursor(start + len(window) - 1) if window else None,
        },
    }
