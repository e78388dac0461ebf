"""Process variables from the command line: ``--var k=v`` (JSON when it parses, else a string) and
``--json FILE`` (an object). Used by ``procgov start``, ``publish`` and ``tasks complete``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class VariableError(ValueError):
    """A ``--var``/``--json`` argument that is not usable; the message names it."""


def parse_var(text: str) -> tuple[str, Any]:
    """``score=87`` → ``("score", 87)``; ``owner=Li Wei`` → ``("owner", "Li Wei")``;
    ``tags=["a"]`` → a list. A value that is not valid JSON is taken as the string it is."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise VariableError(f"--var {text!r}: expected NAME=VALUE")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


def load_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise VariableError(f"--json {path}: cannot read ({error.strerror or error})") from None
    except ValueError as error:
        raise VariableError(f"--json {path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise VariableError(f"--json {path}: expected a JSON object, got {type(data).__name__}")
    return data


def collect_variables(vars_: Iterable[str] = (), json_file: Path | None = None) -> dict[str, Any]:
    """The JSON file's object, then each ``--var`` on top (later wins)."""
    variables = load_json_object(json_file) if json_file is not None else {}
    for text in vars_:
        name, value = parse_var(text)
        variables[name] = value
    return variables
