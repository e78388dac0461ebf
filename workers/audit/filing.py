"""Filing an instance's audit record: its history, its decisions' verdict and the report, on disk.

A process ends with ``audit.file-history`` so that every finished instance leaves an archive an
auditor can open without the engine: ``<bpmnProcessId>/<instanceKey>.json`` (history and verdict) and
``.html`` (the report) in the report store (:mod:`workers.runtime.reports`; a directory by default).
The store writes atomically, so a retried job overwrites a complete file with a complete file and
never leaves half of one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workers.audit.history import InstanceHistory
from workers.audit.replay import ReplayReport
from workers.runtime.reports import DirectoryStore, ReportStore


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


def file_audit(archive: Path | ReportStore, history: InstanceHistory, replay: ReplayReport | None,
               report_html: str) -> Mapping[str, str]:
    """Store the JSON and the HTML report (a path: a directory store there); returns their locations."""
    store = DirectoryStore(archive) if isinstance(archive, Path) else archive
    base = f"{history.bpmn_process_id}/{history.process_instance_key}"
    document = json.dumps(audit_document(history, replay), ensure_ascii=False, indent=2, default=str)
    return {"json": store.put(f"{base}.json", document.encode("utf-8")),
            "html": store.put(f"{base}.html", report_html.encode("utf-8"))}
