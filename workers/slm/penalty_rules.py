"""The 100104 penalty table (``data/slm/penalty-rules.yaml``): fines and deadlines, parsed and checked.

Each fine row names its clause (``100104 §2.2.3``), how it is counted (per item, per case, per day
late in calendar or working days) and the amount per role. Deadline rows say when a submission is due
and which fine runs when it is late. Parsing checks the whole table up front, so a broken table stops
the worker at start with the row and field named, instead of failing a job weeks later.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from workers.runtime.errors import RuleDataError
from workers.slm.business_calendar import DayCount
from workers.slm.rule_data import Row, digest, load_document, row_label, rows


class Role(enum.StrEnum):
    """Who a fine is charged to (the role names of 100104)."""

    DIRECT_PERSON = "direct_person"  # 直接责任人
    PROCESS_SUPERVISOR = "process_supervisor"  # 流程主管
    DEPARTMENT_HEAD = "department_head"  # 部门负责人
    RULE_SUPERVISOR = "rule_supervisor"  # 流程、制度主管 (planning office)


class Basis(enum.StrEnum):
    """What one unit of a fine is."""

    PER_ITEM = "per_item"
    PER_CASE = "per_case"
    PER_DAY_LATE = "per_day_late"


class Anchor(enum.StrEnum):
    """What a deadline is counted from."""

    MONTH_AFTER_REVIEW = "month_after_review"
    START = "start"


@dataclass(frozen=True)
class FineRate:
    role: Role
    yuan: Decimal


@dataclass(frozen=True)
class PenaltyRule:
    id: str
    clause: str
    title: str
    basis: Basis
    day_count: DayCount | None
    fines: tuple[FineRate, ...]
    exempt_when_self_reported: bool = False


@dataclass(frozen=True)
class DeadlineRule:
    id: str
    clause: str
    anchor: Anchor
    day_of_month: int | None
    days: int | None
    day_count: DayCount | None
    late_fine: str | None


@dataclass(frozen=True)
class PenaltyRules:
    """The parsed table. ``digest`` is the sha256 of the exact text parsed (what a replay checks)."""

    document: str
    version: str
    digest: str
    rules: Mapping[str, PenaltyRule]
    deadlines: Mapping[str, DeadlineRule]

    def rule(self, rule_id: str) -> PenaltyRule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise KeyError(f"no penalty rule {rule_id!r} in {self.version} (known: "
                           f"{', '.join(sorted(self.rules))})") from None

    def deadline(self, deadline_id: str) -> DeadlineRule:
        try:
            return self.deadlines[deadline_id]
        except KeyError:
            raise KeyError(f"no deadline {deadline_id!r} in {self.version} (known: "
                           f"{', '.join(sorted(self.deadlines))})") from None


_RULE_FIELDS = {"id", "clause", "title", "basis", "day_count", "fines", "exempt_when_self_reported"}
_FINE_FIELDS = {"role", "yuan"}
_DEADLINE_FIELDS = {"id", "clause", "anchor", "day_of_month", "days", "day_count", "late_fine"}


def _parse_rule(data: Mapping[str, object], index: int) -> PenaltyRule:
    label = row_label("rules", index, data)
    row = Row(data, label, _RULE_FIELDS)
    rule_id = row.text("id")
    clause = row.text("clause")
    if not clause.startswith("100104 §"):
        raise row.error("clause", f"must cite a clause of 100104 like '100104 §2.2.1', got {clause!r}")
    basis = Basis(row.choice("basis", tuple(Basis)))
    day_count_text = row.choice("day_count", tuple(DayCount), required=basis is Basis.PER_DAY_LATE)
    if day_count_text and basis is not Basis.PER_DAY_LATE:
        raise row.error("day_count", f"only applies to basis per_day_late, not {basis.value}")
    fines: list[FineRate] = []
    seen: set[Role] = set()
    for fine_index, fine_data in enumerate(row.sub_rows("fines"), start=1):
        fine = Row(fine_data, f"{label} fines[{fine_index}]", _FINE_FIELDS)
        role = Role(fine.choice("role", tuple(Role)))
        if role in seen:
            raise fine.error("role", f"{role.value} is fined twice in the same rule")
        seen.add(role)
        yuan = fine.decimal("yuan", non_negative=True)
        assert yuan is not None
        fines.append(FineRate(role=role, yuan=yuan))
    return PenaltyRule(
        id=rule_id, clause=clause, title=row.text("title", required=False, default=rule_id), basis=basis,
        day_count=DayCount(day_count_text) if day_count_text else None, fines=tuple(fines),
        exempt_when_self_reported=row.boolean("exempt_when_self_reported"),
    )


def _parse_deadline(data: Mapping[str, object], index: int, rules: Mapping[str, PenaltyRule]) -> DeadlineRule:
    label = row_label("deadlines", index, data)
    row = Row(data, label, _DEADLINE_FIELDS)
    anchor = Anchor(row.choice("anchor", tuple(Anchor)))
    day_of_month = days = None
    day_count: DayCount | None = None
    if anchor is Anchor.MONTH_AFTER_REVIEW:
        day_of_month = row.integer("day_of_month", minimum=1, maximum=28)
        for extra in ("days", "day_count"):
            if extra in data:
                raise row.error(extra, "does not apply to anchor month_after_review")
    else:
        days = row.integer("days", minimum=0)
        day_count = DayCount(row.choice("day_count", tuple(DayCount)))
        if "day_of_month" in data:
            raise row.error("day_of_month", "only applies to anchor month_after_review")
    late_fine = row.text("late_fine", required=False) or None
    if late_fine is not None:
        if late_fine not in rules:
            raise row.error("late_fine", f"names no rule in 'rules': {late_fine!r}")
        if rules[late_fine].basis is not Basis.PER_DAY_LATE:
            raise row.error("late_fine", f"rule {late_fine!r} is not counted per_day_late")
    return DeadlineRule(id=row.text("id"), clause=row.text("clause"), anchor=anchor, day_of_month=day_of_month,
                        days=days, day_count=day_count, late_fine=late_fine)


def parse_penalty_rules(text: str) -> PenaltyRules:
    """Parse and check the whole table; raises :class:`RuleDataError` naming row and field."""
    document = load_document(text, "penalty rule file")
    header = Row(document, "header", {"document", "version", "rules", "deadlines"})
    rules: dict[str, PenaltyRule] = {}
    for index, data in enumerate(rows(document, "rules", "penalty rule file"), start=1):
        rule = _parse_rule(data, index)
        if rule.id in rules:
            raise RuleDataError(f"duplicate rule id {rule.id!r}", row=f"rules[{index}]", field="id")
        rules[rule.id] = rule
    deadlines: dict[str, DeadlineRule] = {}
    for index, data in enumerate(rows(document, "deadlines", "penalty rule file"), start=1):
        deadline = _parse_deadline(data, index, rules)
        if deadline.id in deadlines:
            raise RuleDataError(f"duplicate deadline id {deadline.id!r}", row=f"deadlines[{index}]", field="id")
        deadlines[deadline.id] = deadline
    return PenaltyRules(
        document=header.text("document"), version=header.text("version"),
        digest=digest(text), rules=rules, deadlines=deadlines,
    )
