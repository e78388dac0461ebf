"""Step 1 (000A step 1): the owner must be one senior executive from the organisation directory."""

from __future__ import annotations

import pytest

from workers.rollout.org_directory import OrgDirectory, parse_org_directory
from workers.rollout.owner import OWNER_ELIGIBILITY, OWNER_NOT_ELIGIBLE, OwnerNomination, check_owner
from workers.runtime import RuleDataError, RuleSet


def test_a_senior_executive_is_appointed_with_the_three_duties(directory: OrgDirectory) -> None:
    result = check_owner(OwnerNomination(owner_nominee_id="li.ming"), directory)
    assert result.owner_check.eligible
    assert result.owner is not None and result.owner.id == "li.ming"
    assert result.owner_check.duties == ["lead the rollout", "drive the training", "lead the optimisation"]
    assert OWNER_ELIGIBILITY.business_error is not None
    assert OWNER_ELIGIBILITY.business_error(result) is None


@pytest.mark.parametrize("nominee", ["wang.fang", "chen.jing"])  # an employee and a (non-senior) manager
def test_anyone_but_a_senior_executive_is_refused_with_a_bpmn_error(directory: OrgDirectory, nominee: str) -> None:
    result = check_owner(OwnerNomination(owner_nominee_id=nominee), directory)
    assert not result.owner_check.eligible and result.owner is None
    assert "000A step 1" in result.owner_check.reasons[0] and "senior executive" in result.owner_check.reasons[0]
    assert OWNER_ELIGIBILITY.business_error is not None
    error = OWNER_ELIGIBILITY.business_error(result)
    assert error is not None and error.code == OWNER_NOT_ELIGIBLE
    assert error.variables["ownerCheck"]["eligible"] is False


def test_a_nominee_missing_from_the_directory_is_refused(directory: OrgDirectory) -> None:
    result = check_owner(OwnerNomination(owner_nominee_id="nobody"), directory)
    assert not result.owner_check.eligible
    assert "'nobody' is not in the organisation directory" in result.owner_check.reasons[0]


def test_the_decision_is_versioned_by_the_directory_text(directory: OrgDirectory) -> None:
    text = "organisation: X\npeople:\n  - {id: a, name: A, title: CEO, rank: senior-executive, department: Board}\n"
    rules = RuleSet.from_text(OWNER_ELIGIBILITY, text)
    assert rules.version.startswith("sha256:")
    assert OWNER_ELIGIBILITY.evaluate(OwnerNomination(owner_nominee_id="a"), rules.rules).owner_check.eligible


@pytest.mark.parametrize(("text", "expected"), [
    ("organisation: X\npeople:\n  - {id: a, name: A, title: T, rank: boss, department: D}\n", "row 'a', field 'rank'"),
    ("organisation: X\npeople:\n  - {id: a, name: A, title: T, rank: employee, department: D, chat: nope}\n",
     "chat channel 'nope'"),
    ("organisation: X\npeople:\n  - {id: a, name: A, title: T, rank: employee, department: D}\n"
     "  - {id: a, name: B, title: T, rank: employee, department: D}\n", "person id 'a' appears twice"),
    ("organisation: X\npeople:\n  - {id: a, name: A, title: T, rank: employee, department: D, mail: x}\n",
     "row 'a', field 'mail'"),
    ("- just a list\n", "must be a YAML mapping"),
])
def test_a_broken_directory_names_the_person_and_field(text: str, expected: str) -> None:
    with pytest.raises(RuleDataError, match=expected.replace("(", r"\(")):
        parse_org_directory(text)
