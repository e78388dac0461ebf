"""Filing an instance's audit record: its history, its decisions' verdict and the report, on disk.

A process ends with ``audit.file-history`` so that every finished instance leaves an archive an
auditor can open without the engine: ``<bpmnProcessId>/<instanceKey>.json`` (history and verdict) and
``.html`` (the report) in the report store (:mod:`workers.runtime.reports`; a directory by default).
The store writes atomically, so a retried job overwrites a complete file with a complete file and
never leaves half of one.

The filing task runs before the end event, so the records it sees still show the instance ACTIVE.
The document therefore says what it knows and when: ``state.final`` is the final state the records
imply (:func:`workers.audit.report.instance_state`, the same derivation as the HTML report's),
``state.asFiled`` where the instance stood at filing (``COMPLETING``), and the history's own
``stateAtFiling``. A reader with the engine's records re-derives it (:func:`state_from_records`,
``procgov reports get --data``), so a document read later and a report made later agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workers.audit.history import InstanceHistory
from workers.audit.replay import ReplayReport
from workers.audit.report import instance_state
from workers.audit.report_view import DEFAULT_TIMEZONE, FinalState
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def audit_document(history: InstanceHistory, replay: ReplayReport | None,
                   state: FinalState | None = None) -> dict[str, Any]:
    """The JSON filed for one instance: its state as of filing, the history (without the BPMN text)
    and the verdict."""
    state = state or instance_state(history)
    data = asdict(history)
    data.pop("bpmn_xml", None)
    data["stateAtFiling"] = data.pop("state")  # the records' word at filing, not the instance's end
    return {
        "processInstanceKey": history.process_instance_key,
        "bpmnProcessId": history.bpmn_process_id,
        "state": {"final": state.code, "asFiled": state.now, "explanation": state.text, "filedAt": _now()},
        "verdict": verdict_of(replay),
        "findings": findings_of(replay),
        "decisions": [asdict(v) for v in (replay.verdicts if replay else ())],
        "history": data,
    }


def state_from_records(document: Mapping[str, Any], history: InstanceHistory, *, source: str,
                       timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
    """``document`` (as filed) with its state re-derived from the engine's records as they are now.

    ``state.final`` and ``state.now`` are what the records say at reading (``COMPLETED`` once the end
    event is written); ``state.asFiled`` stays as filed; ``state.readFrom`` names the records.
    """
    key = document.get("processInstanceKey")
    if key != history.process_instance_key:
        raise ValueError(f"the document is of instance {key}, the records of {history.process_instance_key}")
    state = instance_state(history, timezone=timezone)
    filed = dict(document.get("state") or {})
    return {**document, "state": {
        "final": state.code, "now": state.now, "explanation": state.text,
        "asFiled": filed.get("asFiled", (document.get("history") or {}).get("state")),
        "filedAt": filed.get("filedAt"), "readAt": _now(), "readFrom": source,
    }}


def file_audit(archive: Path | ReportStore, history: InstanceHistory, replay: ReplayReport | None,
               report_html: str, state: FinalState | None = None) -> Mapping[str, str]:
    """Store the JSON and the HTML report (a path: a directory store there); returns their locations."""
    store = DirectoryStore(archive) if isinstance(archive, Path) else archive
    base = f"{history.bpmn_process_id}/{history.process_instance_key}"
    document = json.dumps(audit_document(history, replay, state), ensure_ascii=False, indent=2, default=str)
    return {"json": store.put(f"{base}.json", document.encode("utf-8")),
            "html": store.put(f"{base}.html", report_html.encode("utf-8"))}
