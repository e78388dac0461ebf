"""Process variables from the command line: ``--var k=v`` (JSON when it parses, else a string) and
``--file FILE`` (alias ``--json``: an object, in JSON or YAML). Used by ``procgov start``, ``publish``
and ``tasks complete``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml


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


def _plain(value: Any) -> Any:
    """YAML's dates and times as the ISO strings a process variable carries (JSON has no date type)."""
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_variables_file(path: Path) -> dict[str, Any]:
    """An object of variables from a JSON file (``*.json``) or a YAML file (anything else, e.g. the
    sample requests in ``data/``). The errors name the file and say what is wrong."""
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise VariableError(f"--file {path}: cannot read ({error.strerror or error})") from None
    try:
        data = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        detail = " ".join(str(error).split())
        raise VariableError(f"--file {path}: not valid {kind} ({detail})") from None
    if not isinstance(data, dict):
        raise VariableError(f"--file {path}: expected an object of variables, got {type(data).__name__}")
    return dict(_plain(data))


def collect_variables(vars_: Iterable[str] = (), json_file: Path | None = None) -> dict[str, Any]:
    """The file's object (JSON or YAML), then each ``--var`` on top (later wins)."""
    variables = load_variables_file(json_file) if json_file is not None else {}
    for text in vars_:
        name, value = parse_var(text)
        variables[name] = value
    return variables
