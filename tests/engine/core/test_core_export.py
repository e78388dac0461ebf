"""``procgov_engine.export.export_jsonl``: one exporter document per line, in log order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from core_helpers import bpmn, chain, deploy, service

from procgov_engine.core import Engine
from procgov_engine.export import export_jsonl


async def test_export_writes_every_record_once_in_order(engine: Engine, tmp_path: Path) -> None:
    await deploy(
        engine,
        bpmn('<bpmn:startEvent id="s" />' + service("w", "w") + '<bpmn:endEvent id="e" />' + chain("s", "w", "e")),
    )
    await engine.create_process_instance(bpmn_process_id="p", variables={"a": "中文"})
    out = tmp_path / "records.jsonl"
    count = export_jsonl(tmp_path / "data", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert count == len(lines) == len(list(engine.query.records()))
    documents = [json.loads(line) for line in lines]
    assert [d["position"] for d in documents] == sorted(d["position"] for d in documents)
    assert any(d["valueType"] == "VARIABLE" and d["value"]["value"] == '"中文"' for d in documents)


def test_export_names_a_missing_log(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"records\.db"):
        export_jsonl(tmp_path, tmp_path / "out.jsonl")


async def test_export_writes_strict_json_even_for_records_of_older_logs(engine: Engine, tmp_path: Path) -> None:
    """Before the engine refused NaN and lone surrogates (engine/strict_json.py), its fallback encoder
    could write them into records; ``engine export`` still writes strict JSON for such a log."""
    await deploy(engine, bpmn('<bpmn:startEvent id="s" />'))
    await engine.close()
    with sqlite3.connect(tmp_path / "data" / "records.db") as db:  # records as the older code wrote them
        for position, text in (
            (1001, '{"position":1001,"value":{"a":NaN,"b":[-Infinity]}}'),
            (1002, '{"position":1002,"value":{"s":"\\ud800 and \\ud83d\\ude00"}}'),
        ):
            db.execute("INSERT INTO records VALUES (?, 'VARIABLE', 'CREATED', 'EVENT', 1, -1, 0, ?)", (position, text))

    out = tmp_path / "records.jsonl"
    export_jsonl(tmp_path / "data", out)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} exported")

    lines = out.read_bytes().decode("utf-8").splitlines()
    documents = [json.loads(line, parse_constant=refuse) for line in lines]
    assert documents[-2]["value"] == {"a": None, "b": [None]}
    assert documents[-1]["value"] == {"s": "\ufffd and 😀"}
