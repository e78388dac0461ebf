"""Audit findings from the user task records: denied attempts and protected writes (issue #12.1).

The guard (:mod:`workers.audit.guard`) denies a completion that writes outside its form or a protected
variable, and a completion or assignment by the wrong person; the engine keeps the attempt as
``USER_TASK COMPLETING`` followed by ``COMPLETION_DENIED`` (``ASSIGNMENT_DENIED``, ``UPDATE_DENIED``) with
the ``deniedReason``. Replay reports each attempt, and every protected variable a ``COMPLETED`` task's
completion wrote beyond the task itself (a model without the guard, or a guard that let it through: the
``VARIABLE`` records its completion wrote in an outer scope before the element completed), naming the
instance, the task and the fields. A protected value the task's output mappings kept inside the task
(Camunda docs, "Variables", "Output mappings") changed nothing and is not a finding. Re-derived from the
records alone.
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
    completing: dict[int, Record] = {}  # element instance -> the COMPLETED user task whose variables land now
    for record in sorted(records, key=lambda r: r.position):
        if not record.is_event:
            continue
        value = record.value
        if record.value_type == "VARIABLE" and completing:
            name = value.get("name")
            for element, done in list(completing.items()):
                written = done.value.get("variables") or {}
                if name in protected and name in written and value.get("scopeKey") != element:
                    findings.append(ConformanceFinding(
                        int(done.value.get("processInstanceKey") or 0), protected[str(name)],
                        f"user task {done.value.get('elementId')} ({done.key}): completed by "
                        f"{done.value.get('assignee') or ''!r} writing the protected variable {name!r} (computed by "
                        "the system, never written by a person)"))
            continue
        if record.value_type == "PROCESS_INSTANCE" and record.intent == "ELEMENT_COMPLETED":
            completing.pop(record.key, None)
            continue
        if record.value_type != "USER_TASK":
            continue
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
        elif record.intent == "COMPLETED" and any(f in protected for f in _fields(value.get("variables"))):
            completing[int(value.get("elementInstanceKey") or 0)] = record
    return findings
