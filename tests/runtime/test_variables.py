"""``--var`` and ``--json`` parsing for the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.runtime.variables import VariableError, collect_variables, parse_var


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("score=87", ("score", 87)),
        ("passed=true", ("passed", True)),
        ("owner=Li Wei", ("owner", "Li Wei")),
        ('owner="87"', ("owner", "87")),
        ('pilot={"department": "IT"}', ("pilot", {"department": "IT"})),
        ("empty=", ("empty", "")),
        ("formula=a=b", ("formula", "a=b")),
        ("month=2026-11", ("month", "2026-11")),
    ],
)
def test_values_are_json_when_they_parse(text: str, expected: tuple[str, object]) -> None:
    assert parse_var(text) == expected


@pytest.mark.parametrize("text", ["novalue", "=3"])
def test_a_var_without_a_name_is_refused(text: str) -> None:
    with pytest.raises(VariableError, match="expected NAME=VALUE"):
        parse_var(text)


def test_json_file_then_vars(tmp_path: Path) -> None:
    path = tmp_path / "vars.json"
    path.write_text('{"owner": "王芳", "score": 1}', encoding="utf-8")
    assert collect_variables(["score=2"], path) == {"owner": "王芳", "score": 2}
    path.write_text("[1]")
    with pytest.raises(VariableError, match="expected an object of variables, got list"):
        collect_variables([], path)
    with pytest.raises(VariableError, match="cannot read"):
        collect_variables([], tmp_path / "missing.json")
