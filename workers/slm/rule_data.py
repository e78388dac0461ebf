"""Reading YAML rule data row by row, so every error names the row and the field.

The penalty table and the indicator dictionary are maintained by the planning office, not by
developers; a typo must produce "rule 'summary-late', field 'yuan': …" and stop the worker at start,
never a stack trace or a silently ignored row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from workers.runtime.errors import RuleDataError


def load_document(text: str, what: str) -> Mapping[str, Any]:
    """Parse YAML text that must be a mapping at the top level."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleDataError(f"{what} is not valid YAML: {exc}") from exc
    if not isinstance(document, Mapping):
        raise RuleDataError(f"{what} must be a YAML mapping at the top level")
    return document


def digest(text: str) -> str:
    """``sha256:<hex>`` of the exact text parsed (what a replay checks)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_label(section: str, index: int, data: Mapping[str, Any], key: str = "id") -> str:
    """``rules[3] 'summary-late'``: the row's place, and its ``key`` when it has one."""
    return f"{section}[{index}] {data.get(key)!r}" if data.get(key) else f"{section}[{index}]"


def rows(document: Mapping[str, Any], key: str, what: str) -> list[Mapping[str, Any]]:
    """The list under ``key``; every element must be a mapping."""
    value = document.get(key)
    if not isinstance(value, list) or not value:
        raise RuleDataError(f"{what} needs a non-empty list {key!r}", field=key)
    for index, row in enumerate(value, start=1):
        if not isinstance(row, Mapping):
            raise RuleDataError(f"{key} entry must be a mapping, got {type(row).__name__}", row=index)
    return value


class Row:
    """One row of rule data with typed accessors that raise :class:`RuleDataError` naming row and field."""

    def __init__(self, data: Mapping[str, Any], label: str, allowed: set[str]) -> None:
        self.data = data
        self.label = label
        unknown = sorted(set(map(str, data)) - allowed)
        if unknown:
            raise RuleDataError(f"unknown field (allowed: {', '.join(sorted(allowed))})", row=label,
                                field=unknown[0])

    def error(self, field: str, message: str) -> RuleDataError:
        return RuleDataError(message, row=self.label, field=field)

    def text(self, field: str, *, required: bool = True, default: str = "") -> str:
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                raise self.error(field, "is required")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(field, f"must be text, got {type(value).__name__}")
        return str(value)

    def choice(self, field: str, choices: tuple[str, ...], *, required: bool = True, default: str = "") -> str:
        value = self.text(field, required=required, default=default)
        if value and value not in choices:
            raise self.error(field, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(self, field: str, *, required: bool = True, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        value = self.data.get(field)
        if value is None:
            if required:
                raise self.error(field, "is required")
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(field, f"must be a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(field, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(field, f"must be at most {maximum}, got {value}")
        return value

    def decimal(self, field: str, *, required: bool = True, non_negative: bool = False,
                allow_float: bool = False) -> Decimal | None:
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                raise self.error(field, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(field, f"must be a number, got {value!r}")
        if isinstance(value, float) and not allow_float:
            raise self.error(field, f"write amounts as quoted decimals (\"{value}\") so they stay exact")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.error(field, f"must be a number, got {value!r}") from None
        if not number.is_finite():
            raise self.error(field, f"must be a finite number, got {value!r}")
        if non_negative and number < 0:
            raise self.error(field, f"must not be negative, got {value}")
        return number

    def boolean(self, field: str, *, default: bool = False) -> bool:
        value = self.data.get(field, default)
        if not isinstance(value, bool):
            raise self.error(field, f"must be true or false, got {value!r}")
        return value

    def sub_rows(self, field: str) -> list[Mapping[str, Any]]:
        value = self.data.get(field)
        if not isinstance(value, list) or not value:
            raise self.error(field, "needs a non-empty list")
        for index, item in enumerate(value, start=1):
            if not isinstance(item, Mapping):
                raise self.error(f"{field}[{index}]", "must be a mapping")
        return value
