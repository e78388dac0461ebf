"""``engine.export.export_jsonl``: one exporter document per line, in log order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from core_helpers import bpmn, chain, deploy, service

from engine.core import Engine
from engine.export import export_jsonl


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
