"""Type conformance of decision results (DMN 1.5 §10.3.2.9.4 "Type conversions"), from ``typeRef``.

A literal expression or boxed decision's result is checked against its variable's ``typeRef``: a
built-in FEEL type or an ``itemDefinition`` (a collection of a type, or components by name). A value
that conforms is kept; a singleton list where a non-list is declared gives its element ("from
singleton list"), a single value where a collection is declared becomes a one-element list ("to
singleton list"); any other non-conforming value becomes null. Unknown type names are not checked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from procgov_engine.feel.values import type_name

#: DMN typeRef spellings -> FEEL type names (DMN 1.1 used the XML Schema-like names)
_BUILTIN = {
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "time": "time",
    "dateTime": "date and time",
    "date and time": "date and time",
    "dayTimeDuration": "days and time duration",
    "days and time duration": "days and time duration",
    "yearMonthDuration": "years and months duration",
    "years and months duration": "years and months duration",
    "context": "context",
    "list": "list",
    "range": "range",
    "function": "function",
}


@dataclass(frozen=True)
class ItemType:
    """One type: a FEEL base type name (None: unchecked), collection of it, or named components."""

    base: str | None = None
    collection: bool = False
    components: dict[str, ItemType] | None = field(default=None, hash=False)


def _strip(name: str) -> str:
    return name.split(":", 1)[1] if name.startswith(("feel:", "FEEL:")) else name


def parse_item_definitions(
    root: ET.Element, children: Callable[[ET.Element, str], Iterator[ET.Element]]
) -> dict[str, ItemType]:
    """The model's ``itemDefinition`` elements by name (typeRef resolved lazily at use)."""
    raw: dict[str, ET.Element] = {el.get("name") or "": el for el in children(root, "itemDefinition")}
    resolved: dict[str, ItemType] = {}

    def build(element: ET.Element, depth: int) -> ItemType:
        collection = element.get("isCollection") == "true"
        components = list(children(element, "itemComponent"))
        if components:
            return ItemType(None, collection, {c.get("name") or "": build(c, depth + 1) for c in components})
        type_ref = next(children(element, "typeRef"), None)
        ref = _strip((type_ref.text or "").strip()) if type_ref is not None else ""
        if ref in _BUILTIN or not ref:
            return ItemType(_BUILTIN.get(ref), collection)
        if ref in raw and depth < 20:
            inner = build(raw[ref], depth + 1)
            if not collection:
                return inner
            return ItemType(inner.base, True, inner.components) if not inner.collection else ItemType()
        return ItemType(None, collection)

    for name, element in raw.items():
        resolved[name] = build(element, 0)
    return resolved


def resolve(type_ref: str | None, items: dict[str, ItemType]) -> ItemType | None:
    if not type_ref:
        return None
    name = _strip(type_ref)
    if name in items:
        return items[name]
    if name in _BUILTIN:
        return ItemType(_BUILTIN[name])
    return None


def _conforms(value: Any, spec: ItemType) -> bool:
    if value is None:
        return True
    if spec.collection:
        element = ItemType(spec.base, False, spec.components)
        return isinstance(value, list) and all(_conforms(v, element) for v in value)
    if spec.components is not None:
        return isinstance(value, dict) and all(
            k in value and _conforms(value[k], component) for k, component in spec.components.items()
        )
    if spec.base is None:
        return True
    return type_name(value) == spec.base


def coerce(value: Any, spec: ItemType | None) -> Any:
    """``value`` as the declared type: kept, unwrapped from / wrapped in a singleton list, or null."""
    if spec is None or _conforms(value, spec):
        return value
    if isinstance(value, list) and len(value) == 1 and not spec.collection and _conforms(value[0], spec):
        return value[0]
    if spec.collection and not isinstance(value, list) and _conforms([value], spec):
        return [value]
    return None
