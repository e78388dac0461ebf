"""Change request rules that need no I/O: the form's completeness (100104 §2.3.3) and the next version.

Seed 003: every change produces a new version (V2.1 → V2.2) and an optimisation-log row.
"""

from __future__ import annotations

import re

# 流程变更申请表 (100104 §2.3.3): what a complete change request form carries
FORM_FIELDS = ("processId", "processName", "currentVersion", "origin", "scope", "department", "departmentHead",
               "requester", "problem", "proposedChange")
ORIGINS = ("self-check", "inspection")
SCOPES = ("department", "cross-department")
_VERSION = re.compile(r"^[Vv](\d+)\.(\d+)$")


def form_problems(form: dict[str, object]) -> list[str]:
    """The fields missing or invalid in a change request form, in form order ("scope: must be …")."""
    problems: list[str] = []
    for name in FORM_FIELDS:
        value = form.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(f"{name}: missing")
    choices = {"origin": ORIGINS, "scope": SCOPES}
    for name, allowed in choices.items():
        value = form.get(name)
        if isinstance(value, str) and value.strip() and value not in allowed:
            problems.append(f"{name}: must be one of {', '.join(allowed)}, got {value!r}")
    version = form.get("currentVersion")
    if isinstance(version, str) and version.strip() and not _VERSION.match(version.strip()):
        problems.append(f"currentVersion: must look like V2.1, got {version!r}")
    return problems


def next_version(current: str) -> str:
    """V2.1 → V2.2 (a change is a minor version; seed 003's example)."""
    match = _VERSION.match(current.strip())
    if match is None:
        raise ValueError(f"currentVersion must look like V2.1, got {current!r}")
    return f"V{match.group(1)}.{int(match.group(2)) + 1}"
