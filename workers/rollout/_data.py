"""Turning rule-data text (YAML/JSON) into pydantic models, with errors that name row and field.

Rule data is maintained by the process-management office, not by developers: a typo must stop the
worker at start with "question 'q3', field 'answer': …", never a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from workers.runtime.errors import BusinessError, RuleDataError

M = TypeVar("M", bound=BaseModel)


def _split_text(value: Any) -> Any:
    """A form's text area or comma list arrives as one string; the model wants a list of entries."""
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[\n,，;；]", value) if part.strip()]
    return value


TextList = Annotated[list[str], BeforeValidator(_split_text)]
"""A list of strings that also accepts one string of lines or comma-separated entries (Camunda forms)."""


class CamelModel(BaseModel):
    """Process variables are camelCase (``ownerNomineeId``); Python names stay snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class StrictCamelModel(CamelModel):
    """Rule data: unknown fields are typos, so they are rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


def load_yaml(text: str, what: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleDataError(f"{what} is not valid YAML: {exc}") from exc


def describe_location(document: Any, loc: Sequence[int | str], row_key: str = "id") -> tuple[str | None, str]:
    """Name the row (the ``id`` of the nearest list element, else its 1-based index) and the field path."""
    row: str | None = None
    field_parts: list[str] = []
    node = document
    for part in loc:
        if isinstance(part, int):
            candidate = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(candidate, dict) and candidate.get(row_key) is not None:
                row = repr(str(candidate[row_key]))
            else:
                row = f"#{part + 1}"
            field_parts = []
            node = candidate
        else:
            field_parts.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return row, ".".join(field_parts)


def validate_model(model: type[M], document: Any, what: str, row_key: str = "id") -> M:
    """Validate ``document`` into ``model``; the first error becomes a :class:`RuleDataError`."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = []
        first_row: str | None = None
        first_field: str | None = None
        for error in exc.errors():
            row, field = describe_location(document, error["loc"], row_key)
            if first_row is None and first_field is None:
                first_row, first_field = row, field or None
            where = ", ".join(p for p in (f"row {row}" if row else "", f"field {field!r}" if field else "") if p)
            problems.append(f"{where}: {error['msg']}" if where else error["msg"])
        error_out = RuleDataError(f"{what}: " + "; ".join(problems))
        error_out.row, error_out.field = first_row, first_field  # for callers that want them apart
        raise error_out from None


def failed_check(
    code: str, variable: str, check: BaseModel, passed: bool, reasons: Sequence[str]
) -> BusinessError | None:
    """The BPMN error for a check that did not pass: its reasons joined, the check itself as ``variable``."""
    if passed:
        return None
    return BusinessError(code, "; ".join(reasons), variables={variable: check.model_dump(mode="json", by_alias=True)})
