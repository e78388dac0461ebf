"""Strict JSON at the engine's edges: what a client sends is refused unless every record can hold it.

The engine stores variables and documents in its records as JSON text and hands them back out over
gRPC and REST, so a value must survive a round trip through strict JSON (RFC 8259) and UTF-8. Python's
``json`` module is laxer than that, and so three kinds of input used to get in and break things later:

- ``NaN``, ``Infinity``, ``-Infinity`` and numbers that overflow to infinity (``1e400``): not JSON;
  a record holding one is not valid JSON for ``engine export`` or any reader, and orjson writes them
  as ``null``, so a value changed across a restart;
- lone surrogates (``"\\ud800"``): valid JSON escapes, but no UTF-8 text can carry them, so every
  gRPC answer holding one failed (protobuf strings are UTF-8);
- deep nesting: documents nested hundreds of levels overflow recursive code in the engine (FEEL,
  deep copies, the snapshot's pickler).

:func:`loads` refuses all three with :class:`InvalidDocument`, whose message names the field, for the
transports to answer INVALID_ARGUMENT. :func:`dumps` is the matching writer that never fails on
those values. Both transports (engine/gateway, engine/rest) use this module.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_NESTING_DEPTH = 100
"""Deepest nesting of objects and arrays a document may have (the root object is level 1).

Zeebe itself has no documented limit below Jackson's default of 1,000 levels; the engine's own
recursive code (FEEL evaluation, the snapshot's pickler inside the engine state) fails from about 300
levels, so the limit is set well below that. Real process variables nest a handful of levels."""

_POSSIBLE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidDocument(ValueError):
    """A JSON document the engine refuses; the message names the field (``Property '<field>' is invalid``)."""


def _not_a_number(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is out of range (it overflows a 64-bit float)")
    return value


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def check(value: Any, field: str, max_depth: int = MAX_NESTING_DEPTH) -> None:
    """Refuse ``value`` (already parsed) if it is nested deeper than ``max_depth``, holds a lone
    surrogate (in a key or a string) or a non-finite number. Iterative, so depth cannot overflow it."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidDocument(
                    f"Property '{field}' is invalid: Expected a document nested at most {max_depth} levels deep, "
                    "but it is nested deeper"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and _has_surrogate(key):
                        raise _surrogate(field)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if _has_surrogate(item):
                raise _surrogate(field)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidDocument(f"Property '{field}' is invalid: {item} is not a JSON number")


def _surrogate(field: str) -> InvalidDocument:
    return InvalidDocument(
        f"Property '{field}' is invalid: Expected text of Unicode characters, but it contains a lone UTF-16 "
        "surrogate (an unpaired \\ud800-\\udfff escape), which UTF-8 cannot carry"
    )


_DECODER = json.JSONDecoder(parse_constant=_not_a_number, parse_float=_finite)
"""One decoder for every call: ``json.loads`` with hooks builds a new ``JSONDecoder`` each time, which
cost more than parsing a small document (profile of the gateway's CompleteJob)."""


def loads(document: str | bytes, field: str, max_depth: int = MAX_NESTING_DEPTH) -> Any:
    """Parse ``document`` as strict JSON; :class:`InvalidDocument` naming ``field`` if it is not.

    The checks that need a walk over the value run only when the text could need them (enough
    brackets for the depth limit, a ``\\uD8..``-``\\uDF..`` escape for surrogates), so an ordinary
    document costs one decode."""
    try:
        if isinstance(document, bytes | bytearray):  # as json.loads takes them (UTF-8/16/32, BOM-less)
            document = document.decode(json.detect_encoding(document), "surrogatepass")
        if document.startswith("\ufeff"):  # json.loads refuses a byte order mark with this message, too
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", document, 0)
        value = _DECODER.decode(document)
    except RecursionError:
        raise InvalidDocument(
            f"Property '{field}' is invalid: Expected a document nested at most {max_depth} levels deep, "
            "but it is nested deeper"
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidDocument(
            f"Property '{field}' is invalid: Expected document to be valid JSON, but it could not be parsed: {error}"
        ) from None
    if document.count("{") + document.count("[") > max_depth or _POSSIBLE_SURROGATE.search(document):
        check(value, field, max_depth)
    return value


def dumps(value: Any) -> str:
    """Compact strict JSON, always valid UTF-8: orjson on the hot path; the standard library, with
    non-ASCII escaped, for what orjson refuses (integers beyond 64 bits, lone surrogates from a source
    other than a client). Non-finite floats become ``null`` in both (as orjson writes them)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        pass
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or an infinity somewhere inside
        return json.dumps(_finite_or_null(value), separators=(",", ":"), allow_nan=False)


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    return value


def _unicode(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _has_surrogate(value) else value
    if isinstance(value, dict):
        return {_unicode(k): _unicode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unicode(v) for v in value]
    return value


def is_strict(text: str) -> bool:
    """Whether ``text`` is strict JSON of Unicode text (orjson refuses NaN and lone surrogates)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def repair(text: str) -> str:
    """Strict JSON for a document written before the engine refused such values (old logs): NaN and
    infinities become ``null`` (as orjson always wrote them), lone surrogates U+FFFD."""
    return dumps(_unicode(json.loads(text)))
