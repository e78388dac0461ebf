"""Step 1 (000A step 1): appoint the process owner.

Exactly one owner per process, and the owner must be a senior executive (高级干部) with resources
and authority, not an ordinary employee (R&D process → VP R&D, marketing → CMO). "Exactly one" is
structural: the sponsor nominates one person id (``ownerNomineeId``), the check resolves it in the
organisation directory and the model stores the single ``owner``. A nominee who does not qualify
ends in the BPMN error ``OWNER_NOT_ELIGIBLE``, which the model catches (nominate someone else).
"""

from __future__ import annotations

from pydantic import Field

from workers.rollout._data import CamelModel, failed_check
from workers.rollout.org_directory import OrgDirectory, Person, parse_org_directory
from workers.rollout.rules import OWNER_DUTIES, OWNER_RANK, cite
from workers.runtime.decisions import Decision
from workers.runtime.errors import BusinessError

OWNER_NOT_ELIGIBLE = "OWNER_NOT_ELIGIBLE"


class OwnerNomination(CamelModel):
    owner_nominee_id: str = Field(min_length=1, description="the one person the sponsor nominates")
    process_name: str = ""


class OwnerRef(CamelModel):
    """The owner as the rest of the model uses it (assignee of the owner's user tasks, recipient)."""

    id: str
    name: str
    title: str
    department: str
    email: str | None = None

    @classmethod
    def of(cls, person: Person) -> OwnerRef:
        return cls(id=person.id, name=person.name, title=person.title, department=person.department,
                   email=person.email)


class OwnerCheck(CamelModel):
    eligible: bool
    nominee_id: str
    reasons: list[str] = Field(default_factory=list)
    duties: list[str] = Field(default_factory=list)
    rule: str = cite(1)


class OwnerEligibility(CamelModel):
    """Output variables: ``ownerCheck`` always, ``owner`` only when the nominee qualifies."""

    owner_check: OwnerCheck
    owner: OwnerRef | None = None


def check_owner(nomination: OwnerNomination, directory: OrgDirectory) -> OwnerEligibility:
    """Pure: the nominee must exist in the directory and hold the senior-executive rank (000A step 1)."""
    nominee = nomination.owner_nominee_id.strip()
    person = directory.find(nominee)
    if person is None:
        reason = f"{cite(1)}: nominee {nominee!r} is not in the organisation directory of {directory.organisation}"
        return OwnerEligibility(owner_check=OwnerCheck(eligible=False, nominee_id=nominee, reasons=[reason]))
    if person.rank != OWNER_RANK:
        reason = (f"{cite(1)}: the owner must be a senior executive (高级干部), not an ordinary employee; "
                  f"{person.name} ({person.title}) has rank {person.rank!r}")
        return OwnerEligibility(owner_check=OwnerCheck(eligible=False, nominee_id=nominee, reasons=[reason]))
    return OwnerEligibility(
        owner_check=OwnerCheck(eligible=True, nominee_id=nominee, duties=list(OWNER_DUTIES)),
        owner=OwnerRef.of(person),
    )


def _not_eligible(result: OwnerEligibility) -> BusinessError | None:
    check = result.owner_check
    return failed_check(OWNER_NOT_ELIGIBLE, "ownerCheck", check, check.eligible, check.reasons)


OWNER_ELIGIBILITY: Decision[OwnerNomination, OrgDirectory, OwnerEligibility] = Decision(
    name="rollout.owner-eligibility",
    input_model=OwnerNomination,
    output_model=OwnerEligibility,
    parse_rules=parse_org_directory,
    evaluate=check_owner,
    business_error=_not_eligible,
)
