"""String functions (DMN 1.4 §10.3.4.3; Camunda "String functions").

Positions are 1-based and may be negative (counted from the end). Patterns are XPath regular
expressions, which Python's ``re`` reads the same way for everything Zeebe models use; replacement
groups are written ``$1``.
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal
from typing import Any

from procgov_engine.feel.builtins import _args
from procgov_engine.feel.functions import builtin

_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "x": re.VERBOSE}


def _pattern(pattern: Any, flags: Any = None) -> re.Pattern[str]:
    source = _args.text(pattern)
    value = 0
    if flags is not None:
        for flag in _args.text(flags):
            if flag == "q":
                source = re.escape(source)
            elif flag in _FLAGS:
                value |= _FLAGS[flag]
            else:
                raise ValueError(f"unknown regular expression flag '{flag}'")
    return re.compile(source, value)


def _replacement(text: str) -> str:
    """XPath replacement (``$1``, ``\\$``) to Python's (``\\g<1>``)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]) if text[i + 1] != "\\" else "\\\\")
            i += 2
        elif ch == "$":
            match = re.match(r"\d+", text[i + 1 :])
            if not match:
                raise ValueError("'$' in a replacement must be followed by a group number")
            out.append(f"\\g<{match.group()}>")
            i += 1 + len(match.group())
        else:
            out.append("\\\\" if ch == "\\" else ch)
            i += 1
    return "".join(out)


def _start_index(length: int, position: Any) -> int:
    start = _args.integer(position)
    if start == 0:
        raise ValueError("position 0 is not a valid 1-based position")
    return start - 1 if start > 0 else max(length + start, 0)


@builtin("substring", ("string", "start position"), ("string", "start position", "length"))
def substring(string: Any, start: Any, length: Any = None) -> str:
    text = _args.text(string)
    begin = _start_index(len(text), start)
    if length is None:
        return text[begin:]
    return text[begin : begin + _args.integer(length)]


@builtin("string length", ("string",))
def string_length(string: Any) -> Decimal:
    return Decimal(len(_args.text(string)))


@builtin("upper case", ("string",))
def upper_case(string: Any) -> str:
    return _args.text(string).upper()


@builtin("lower case", ("string",))
def lower_case(string: Any) -> str:
    return _args.text(string).lower()


@builtin("substring before", ("string", "match"))
def substring_before(string: Any, match: Any) -> str:
    text, needle = _args.text(string), _args.text(match)
    index = text.find(needle)
    return "" if index < 0 else text[:index]


@builtin("substring after", ("string", "match"))
def substring_after(string: Any, match: Any) -> str:
    text, needle = _args.text(string), _args.text(match)
    index = text.find(needle)
    return "" if index < 0 else text[index + len(needle) :]


@builtin("contains", ("string", "match"))
def contains(string: Any, match: Any) -> bool:
    return _args.text(match) in _args.text(string)


@builtin("starts with", ("string", "match"))
def starts_with(string: Any, match: Any) -> bool:
    return _args.text(string).startswith(_args.text(match))


@builtin("ends with", ("string", "match"))
def ends_with(string: Any, match: Any) -> bool:
    return _args.text(string).endswith(_args.text(match))


@builtin("matches", ("input", "pattern"), ("input", "pattern", "flags"))
def matches(input: Any, pattern: Any, flags: Any = None) -> bool:
    return _pattern(pattern, flags).search(_args.text(input)) is not None


@builtin("replace", ("input", "pattern", "replacement"), ("input", "pattern", "replacement", "flags"))
def replace(input: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    return _pattern(pattern, flags).sub(_replacement(_args.text(replacement)), _args.text(input))


@builtin("split", ("string", "delimiter"))
def split(string: Any, delimiter: Any) -> list[str]:
    return _pattern(delimiter).split(_args.text(string))


@builtin("extract", ("string", "pattern"))
def extract(string: Any, pattern: Any) -> list[str]:
    return [m.group(0) for m in _pattern(pattern).finditer(_args.text(string))]


@builtin(
    "string join",
    ("list",),
    ("list", "delimiter"),
    ("list", "delimiter", "prefix", "suffix"),
)
def string_join(items: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> str:
    parts = [_args.text(item) for item in _args.items(items) if item is not None]
    joined = ("" if delimiter is None else _args.text(delimiter)).join(parts)
    return ("" if prefix is None else _args.text(prefix)) + joined + ("" if suffix is None else _args.text(suffix))


@builtin("is blank", ("string",))
def is_blank(string: Any) -> bool:
    return not _args.text(string).strip()


@builtin("to base64", ("value",))
def to_base64(value: Any) -> str:
    return base64.b64encode(_args.text(value).encode("utf-8")).decode("ascii")


@builtin("trim", ("string",))
def trim(string: Any) -> str:
    return _args.text(string).strip()
