"""Steps 5–6 (000A steps 5, 6): official issuance, then the full rollout from a fixed cutover date.

The cutover date (推行切换日) comes after the issuance (step 5 precedes step 6); the model waits for it
with a timer on ``cutover.at``. At that date the readiness gate checks its four criteria — pilot
adequate, publicity adequate, resources ready, full rollout feasible — and the pilot's local success
once more; if any fails, the cutover is postponed (the owner picks a new date). The rollout may be
staged, 50 % then 100 %.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import Field, field_validator

from workers.rollout._data import CamelModel
from workers.rollout.rules import FULL_SHARE, READINESS_CRITERIA, READINESS_CRITERION_NAMES, STAGED_SHARES, cite
from workers.runtime.errors import BusinessError

CUTOVER_INVALID = "CUTOVER_INVALID"


class Issuance(CamelModel):
    document_number: str = Field(min_length=1)
    issued_on: date


class CutoverRequest(CamelModel):
    cutover_date: date
    issuance: Issuance
    staged_rollout: bool = False
    cutover_time: str = Field(default="09:00", description="local time of day the cutover takes effect")
    utc_offset: str = Field(default="+08:00", description="the company's UTC offset (China: +08:00)")

    @field_validator("cutover_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"expected HH:MM, got {value!r}")
        return value

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        if not re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d|Z", value):
            raise ValueError(f"expected an offset such as +08:00, got {value!r}")
        return value


class Cutover(CamelModel):
    date: date
    at: str = Field(description="ISO 8601 date-time the cutover timer fires")
    staged: bool
    shares: list[int]
    rule: str = cite(6)


class CutoverPlan(CamelModel):
    cutover: Cutover


def schedule_cutover(request: CutoverRequest) -> CutoverPlan:
    """Pure: the cutover date must not precede the issuance (000A steps 5 → 6)."""
    if request.cutover_date < request.issuance.issued_on:
        raise BusinessError(
            CUTOVER_INVALID,
            f"{cite(6)}: cutover date {request.cutover_date} precedes the issuance of "
            f"{request.issuance.document_number} on {request.issuance.issued_on} ({cite(5)} comes first)",
        )
    at = f"{request.cutover_date.isoformat()}T{request.cutover_time}:00{request.utc_offset}"
    return CutoverPlan(cutover=Cutover(date=request.cutover_date, at=at, staged=request.staged_rollout,
                                       shares=list(STAGED_SHARES if request.staged_rollout else FULL_SHARE)))


class ReadinessReport(CamelModel):
    pilot_adequate: bool = False
    publicity_adequate: bool = False
    resources_ready: bool = False
    full_rollout_feasible: bool = False
    notes: str = ""


class PilotOutcome(CamelModel):
    success: bool


class ReadinessRequest(CamelModel):
    readiness_report: ReadinessReport
    pilot_evaluation: PilotOutcome


class Readiness(CamelModel):
    ready: bool
    unmet: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    rule: str = cite(6)


class ReadinessResult(CamelModel):
    readiness: Readiness


def check_readiness(request: ReadinessRequest) -> ReadinessResult:
    """Pure: all four criteria of 000A step 6, and no full rollout without local pilot success (step 4)."""
    answers = request.readiness_report.model_dump(by_alias=True)
    unmet = [criterion for criterion in READINESS_CRITERIA if not answers[criterion]]
    reasons = [f"{cite(6)}: not met: {READINESS_CRITERION_NAMES[c]}" for c in unmet]
    if not request.pilot_evaluation.success:
        unmet.append("pilotSuccess")
        reasons.append(f"{cite(4)}: the pilot has not succeeded locally, so there is no full rollout")
    return ReadinessResult(readiness=Readiness(ready=not unmet, unmet=unmet, reasons=reasons))
