"""Step 9 (000A step 9): lock the process into behaviour, performance and IT (三个固化), a new culture.

The rollout closes only when all three lock-ins are confirmed with evidence; otherwise the owner is
asked again with the missing ones listed.
"""

from __future__ import annotations

from pydantic import Field

from workers.rollout._data import CamelModel
from workers.rollout.rules import LOCK_IN_NAMES, LOCK_INS, cite


class LockIn(CamelModel):
    done: bool = False
    evidence: str = ""


class LockIns(CamelModel):
    behaviour: LockIn = Field(default_factory=LockIn)
    performance: LockIn = Field(default_factory=LockIn)
    it: LockIn = Field(default_factory=LockIn)


class LockInRequest(CamelModel):
    lock_ins: LockIns


class LockInCheck(CamelModel):
    complete: bool
    missing: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    rule: str = cite(9)


class LockInResult(CamelModel):
    lock_in_check: LockInCheck


def check_lock_ins(request: LockInRequest) -> LockInResult:
    """Pure: each of the three lock-ins must be done and carry evidence (000A step 9)."""
    missing, reasons = [], []
    for name in LOCK_INS:
        lock_in: LockIn = getattr(request.lock_ins, name)
        if not lock_in.done or not lock_in.evidence.strip():
            missing.append(name)
            reasons.append(f"{cite(9)}: lock-in into {LOCK_IN_NAMES[name]} is not confirmed with evidence")
    return LockInResult(lock_in_check=LockInCheck(complete=not missing, missing=missing, reasons=reasons))
