"""Audit findings from the user task records: denied attempts and protected writes (issue #12.1).

The guard (:mod:`workers.audit.guard`) denies a completion that writes outside its form or a protected
variable, and a completion or assignment by the wrong person; the engine keeps the attempt as
``USER_TASK COMPLETING`` followed by ``COMPLETION_DENIED`` (``ASSIGNMENT_DENIED``, ``UPDATE_DENIED``) with
the ``deniedReason``. Replay reports each attempt, and any ``COMPLETED`` task whose variables hold a
protected variable (a model without the guard, or a guard that let it through), naming the instance, the
task and the fields. Re-derived from the records alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workers.audit.conformance import ConformanceFinding
from workers.audit.records import Record

_DENIED = {"COMPLETION_DENIED": "completion", "ASSIGNMENT_DENIED": "assignment", "UPDATE_DENIED": "update"}
GUARD_RULE = "issue #12.1 user task guard"


def _fields(variables: object) -> list[str]:
    return sorted(variables) if isinstance(variables, Mapping) else []


def user_task_findings(records: Iterable[Record], protected: Mapping[str, str]) -> list[ConformanceFinding]:
    """``protected``: variable name → the clause that protects it (the guard's rule table)."""
    findings: list[ConformanceFinding] = []
    attempt: dict[int, Record] = {}  # task key -> its last COMPLETING / ASSIGNING event
    for record in sorted(records, key=lambda r: r.position):
        if record.value_type != "USER_TASK" or not record.is_event:
            continue
        value = record.value
        pik = int(value.get("processInstanceKey") or 0)
        task = f"user task {value.get('elementId')} ({record.key})"
        if record.intent in ("COMPLETING", "ASSIGNING", "UPDATING"):
            attempt[record.key] = record
        elif record.intent in _DENIED:
            tried = attempt.get(record.key)
            who = (tried.value.get("assignee") if tried is not None else None) or value.get("assignee") or ""
            written = _fields(tried.value.get("variables")) if tried is not None else []
            guarded = [f for f in written if f in protected]
            parts = [f"fields {', '.join(written)}"] if written else []
            if guarded:
                parts.append(f"protected {', '.join(guarded)}")
            shown = f" ({'; '.join(parts)})" if parts else ""
            findings.append(ConformanceFinding(
                pik, GUARD_RULE,
                f"{task}: {_DENIED[record.intent]} by {who!r} denied{shown}: {value.get('deniedReason') or ''}"))
        elif record.intent == "COMPLETED":
            written = [f for f in _fields(value.get("variables")) if f in protected]
            for name in written:
                findings.append(ConformanceFinding(
                    pik, protected[name],
                    f"{task}: completed by {value.get('assignee') or ''!r} writing the protected variable "
                    f"{name!r} (computed by the system, never written by a person)"))
    return findings
