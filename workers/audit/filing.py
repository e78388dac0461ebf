"""Filing an instance's audit record: its history, its decisions' verdict and the report, on disk.

A process ends with ``audit.file-history`` so that every finished instance leaves an archive an
auditor can open without the engine: ``<archive>/<bpmnProcessId>/<instanceKey>.json`` (history and
verdict) and ``.html`` (the report). Files are written atomically (temp file + rename), so a retried
job overwrites a complete file with a complete file and never leaves half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workers.audit.history import InstanceHistory
from workers.audit.replay import ReplayReport


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verdict_of(replay: ReplayReport | None) -> str:
    """``pass`` / ``fail``; ``not-replayed`` when no registry was given (chain still verified)."""
    if replay is None:
        return "not-replayed"
    return "pass" if replay.ok else "fail"


def findings_of(replay: ReplayReport | None) -> list[str]:
    if replay is None:
        return []
    findings = [f"chain record {p.seq}: {p.kind}: {p.detail}" for p in replay.chain_problems]
    for v in replay.verdicts:
        if not v.ok:
            details = "; ".join([str(d) for d in v.differences] + list(v.notes))
            findings.append(f"decision {v.seq} ({v.decision} at {v.element_id}): {v.status}: {details}")
    return findings


def audit_document(history: InstanceHistory, replay: ReplayReport | None) -> dict[str, Any]:
    """The JSON filed for one instance: the history (without the BPMN text) and the verdict."""
    data = asdict(history)
    data.pop("bpmn_xml", None)
    return {
        "processInstanceKey": history.process_instance_key,
        "bpmnProcessId": history.bpmn_process_id,
        "verdict": verdict_of(replay),
        "findings": findings_of(replay),
        "decisions": [asdict(v) for v in (replay.verdicts if replay else ())],
        "history": data,
    }


def file_audit(archive_dir: Path, history: InstanceHistory, replay: ReplayReport | None,
               report_html: str) -> Mapping[str, Path]:
    """Write the JSON and the HTML report; returns their paths."""
    base = archive_dir / history.bpmn_process_id / str(history.process_instance_key)
    json_path, html_path = base.with_suffix(".json"), base.with_suffix(".html")
    _atomic_write(json_path, json.dumps(audit_document(history, replay), ensure_ascii=False, indent=2, default=str))
    _atomic_write(html_path, report_html)
    return {"json": json_path, "html": html_path}
