"""Runs the FEEL conformance table (conformance.yaml): spec and Camunda documentation examples."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from procgov_engine.feel import FeelError, compile_unary_tests, evaluate, to_json

ROWS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "conformance.yaml").read_text("utf-8"))


def _row_id(row: dict[str, Any]) -> str:
    return str(row.get("expr") or f"{row['tests']} <- {row.get('input')!r}")


ROW_KEYS = {"expr", "tests", "input", "vars", "expected", "approx", "error", "source"}


def _close(actual: Any, expected: Any, tolerance: float) -> bool:
    return isinstance(actual, int | float) and math.isclose(actual, expected, abs_tol=tolerance)


def test_table_is_large_enough_and_cited() -> None:
    assert len(ROWS) >= 150
    for row in ROWS:
        assert row.get("source"), f"row without source: {row}"
        assert ("expr" in row) != ("tests" in row), f"row needs exactly one of expr/tests: {row}"
        # An unquoted comma in a flow mapping splits a value into a stray key: quote such values.
        assert set(row) <= ROW_KEYS, f"unknown keys {sorted(set(row) - ROW_KEYS)} in row {row}"


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_conformance(row: dict[str, Any]) -> None:
    variables = row.get("vars") or {}
    if "tests" in row:
        outcome = compile_unary_tests(row["tests"]).matches(row.get("input"), variables)
        assert outcome is row["expected"], row["source"]
        return
    if "error" in row:
        with pytest.raises(FeelError, match=row["error"]):
            evaluate(row["expr"], variables)
        return
    actual = to_json(evaluate(row["expr"], variables))
    expected = row.get("expected")
    if "approx" in row:
        assert _close(actual, expected, row["approx"]), f"{actual!r} != {expected!r} ({row['source']})"
    else:
        assert actual == expected and type(actual) is type(expected), f"{actual!r} != {expected!r} ({row['source']})"
