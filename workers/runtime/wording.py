"""Words the reports share: people's roles as rules 100104 names them (domain.md §2), in Chinese and English.

Records keep the stable codes (``department_head``); whatever a person reads shows these labels.
"""

from __future__ import annotations

ROLE_LABELS: dict[str, str] = {
    "direct_person": "直接责任人 direct person",
    "process_supervisor": "流程主管 process supervisor",
    "department_head": "部门负责人 department head",
    "rule_supervisor": "流程、制度主管 process/rule supervisor",
}


def role_label(code: str) -> str:
    """The label of a role code; an unknown code is shown as it is rather than hidden."""
    return ROLE_LABELS.get(code, code)
