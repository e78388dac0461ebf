"""Words the reports share: people's roles as rules 100104 names them (domain.md §2), in Chinese and
English, and times as a reader in one zone reads them.

Records keep the stable codes (``department_head``) and UTC; whatever a person reads shows these.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

ROLE_LABELS: dict[str, str] = {
    "direct_person": "直接责任人 direct person",
    "process_supervisor": "流程主管 process supervisor",
    "department_head": "部门负责人 department head",
    "rule_supervisor": "流程、制度主管 process/rule supervisor",
}


def role_label(code: str) -> str:
    """The label of a role code; an unknown code is shown as it is rather than hidden."""
    return ROLE_LABELS.get(code, code)


def local_time(moment: datetime, zone: ZoneInfo, *, seconds: bool = True) -> str:
    """``2026-05-17 09:00:00 +08:00``: the moment in ``zone``, always with its UTC offset, so that a
    reader elsewhere cannot take 09:00 Beijing time for 09:00 their own."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S " if seconds else "%Y-%m-%d %H:%M ") + f"{offset[:3]}:{offset[3:]}"
