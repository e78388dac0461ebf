"""Reading request bodies: size limit, JSON syntax, then the pydantic model that follows the spec.

Bodies are parsed by :mod:`procgov_engine.strict_json`, as on gRPC, so nothing reaches a record that strict
JSON cannot hold. Errors are worded as Camunda's gateway words them (Camunda docs, "Orchestration Cluster API" →
"Problem detail"): unreadable JSON is ``400 Bad Request`` "Failed to read request"; an unknown property
or one of the wrong type is ``400 Bad Request`` naming it; a missing required property is ``400
INVALID_ARGUMENT`` "No <name> provided."; a body over the limit is ``413``.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from procgov_engine import strict_json
from procgov_engine.rest.problems import Problem, bad_request, invalid

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest request body taken (4 MiB: Zeebe's default ``maxMessageSize``, which bounds a command)."""

Model = TypeVar("Model", bound=BaseModel)


def too_large(limit: int) -> Problem:
    return Problem(413, "PAYLOAD_TOO_LARGE", f"The request body exceeds the maximum of {limit} bytes")


async def read_bytes(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if not isinstance(part, int)) or "body"


def validation_problem(error: ValidationError) -> Problem:
    first = error.errors(include_url=False)[0]
    where = _location(first["loc"])
    kind = first["type"]
    if kind == "missing":
        return invalid(f"No {where} provided.")
    if kind == "value_error" and "cannot be null" in first["msg"]:
        return bad_request(first["msg"].removeprefix("Value error, "))
    if kind == "extra_forbidden":
        return bad_request(f"Request property [{where}] cannot be parsed")
    if kind.endswith("_type") or kind in ("literal_error", "enum", "is_instance_of", "model_type", "dict_type"):
        return bad_request(f"Request property [{where}] cannot be parsed: {first['msg']}")
    return invalid(f"The value for {where} is {first.get('input')!r} but {first['msg'].lower()}.")


def parse_model(model: type[Model], document: Any) -> Model:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise validation_problem(error) from None


async def read_model(request: Request, model: type[Model], *, required: bool = True, nullable: bool = False) -> Model:
    """The body as ``model``; an empty optional body is the model's defaults, and so is JSON ``null``
    where the spec marks the body ``nullable``."""
    raw = await read_bytes(request)
    if not raw.strip():
        if required:
            raise bad_request("Required request body is missing")
        return parse_model(model, {})
    try:
        document = strict_json.loads(raw, "body")
    except strict_json.InvalidDocument as error:
        try:
            json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("Failed to read request") from None
        raise invalid(str(error)) from None  # JSON, but not strict JSON (NaN, lone surrogates, too deep)
    if document is None and nullable:
        return parse_model(model, {})
    if not isinstance(document, dict):
        raise bad_request("Failed to read request: the body must be a JSON object")
    return parse_model(model, document)
