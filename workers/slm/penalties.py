"""Penalty calculation (100104 §2.1–§2.3) as a pure, recorded :class:`Decision`.

Input: the cases a review or change request collected (a self-check with missing items, a late
summary, a spot-check finding, a late change plan or publication), each naming its rule and the people
in each role. Output: one line item per case, person and role with the clause, quantity and amount;
totals per person, per department and overall; and the rule version and digest used, so an audit replay
of the recorded input against the recorded table must give the same money to the fen.

Working days late are counted by ``slm.record-deadline`` against the business calendar and arrive in the
case (``daysLate`` with ``calendarSource``): the calendar has layers that change (an override file, an
estimate), and a decision reads no settings or files, so the count it prices is part of its recorded
input and each line item repeats the calendar source it rests on. (A working-day case without
``daysLate``, as recorded before it existed, is counted on chinese-calendar's official data only.)

Money is :class:`~decimal.Decimal` yuan, carried as strings in process variables (no float rounding).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from workers.runtime.decisions import Decision
from workers.slm.business_calendar import BeyondOfficial, BusinessCalendar, CalendarRangeError, CalendarSource, DayCount
from workers.slm.camel import CamelModel as _Model
from workers.slm.camel import check_unique
from workers.slm.penalty_rules import Basis, PenaltyRules, Role, parse_penalty_rules

CENT = Decimal("0.01")
_OFFICIAL_ONLY = BusinessCalendar(beyond_official=BeyondOfficial.FAIL)  # library data only: fixed per version
SELF_CHECK_EXEMPTION = "100104 §2.2.1: already found and punished by the department's self-check"


class ExtraFine(_Model):
    """A fine from the process's own rules, charged on top (100104 §2.2.1: "除按流程制度处罚外")."""

    person: str = Field(min_length=1)
    role: Role
    yuan: Decimal = Field(ge=0)
    reason: str = Field(min_length=1)


class PenaltyCase(_Model):
    """One thing that may cost money: which rule, whose department, who holds each role, how much of it."""

    case_id: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    department: str = Field(min_length=1)
    people: dict[Role, str] = Field(default_factory=dict)
    items: int | None = Field(default=None, ge=0)
    due_date: date | None = None
    done_date: date | None = None
    days_late: int | None = Field(default=None, ge=0)  # working-day rules: counted by slm.record-deadline
    calendar_source: CalendarSource | None = None  # the calendar layer daysLate rests on
    self_reported: bool = False
    description: str = ""
    extra_fines: list[ExtraFine] = Field(default_factory=list)


class PenaltyInput(_Model):
    penalty_cases: list[PenaltyCase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_case_ids(self) -> Self:
        check_unique("penaltyCases", "caseId", (case.case_id for case in self.penalty_cases))
        return self


class LineItem(_Model):
    case_id: str
    rule: str
    clause: str
    department: str
    person: str
    role: Role
    quantity: int
    unit: str
    rate_yuan: Decimal
    amount_yuan: Decimal
    calendar_source: CalendarSource | None = None  # per day late: which calendar counted the days


class Exemption(_Model):
    case_id: str
    rule: str
    clause: str
    reason: str


class PersonTotal(_Model):
    person: str
    department: str
    total_yuan: Decimal


class DepartmentTotal(_Model):
    department: str
    total_yuan: Decimal


class PenaltyResult(_Model):
    rule_version: str
    rule_digest: str
    line_items: list[LineItem]
    exemptions: list[Exemption]
    by_person: list[PersonTotal]
    by_department: list[DepartmentTotal]
    total_fines_yuan: Decimal


class PenaltyCaseError(ValueError):
    """A case the table cannot price (unknown rule, missing dates or people); names the case and field."""


def _official_working_days_late(case: PenaltyCase, clause: str, rule_id: str) -> tuple[int, CalendarSource]:
    """Cases recorded before ``daysLate`` existed: counted as they were then, on chinese-calendar's official
    data alone (no override file, no estimate), so their replay gives the recorded money again."""
    if case.due_date is None or case.done_date is None:
        missing = "dueDate" if case.due_date is None else "doneDate"
        raise PenaltyCaseError(f"case {case.case_id!r}: field {missing!r} is required by {clause} ({rule_id})")
    try:
        late = _OFFICIAL_ONLY.days_late(case.due_date, case.done_date, DayCount.WORKING)
    except CalendarRangeError as exc:
        raise PenaltyCaseError(f"case {case.case_id!r}: field 'daysLate' is required by {clause} ({rule_id}) "
                               f"beyond the official calendar ({exc})") from None
    return late.value, CalendarSource.OFFICIAL if late.value else CalendarSource.NONE


def _days_late(case: PenaltyCase, rules: PenaltyRules) -> tuple[int, CalendarSource]:
    """Calendar days are plain arithmetic on the dates; working days must come counted with their source."""
    rule = rules.rule(case.rule)
    assert rule.day_count is not None
    if rule.day_count is DayCount.WORKING:
        if case.days_late is not None:
            if case.calendar_source is None:
                raise PenaltyCaseError(f"case {case.case_id!r}: field 'calendarSource' is required with 'daysLate' "
                                       f"by {rule.clause} ({rule.id})")
            return case.days_late, case.calendar_source
        return _official_working_days_late(case, rule.clause, rule.id)
    if case.due_date is None or case.done_date is None:
        missing = "dueDate" if case.due_date is None else "doneDate"
        raise PenaltyCaseError(f"case {case.case_id!r}: field {missing!r} is required by {rule.clause} ({rule.id})")
    late = max(0, (case.done_date - case.due_date).days)
    if case.days_late is not None and case.days_late != late:
        raise PenaltyCaseError(f"case {case.case_id!r}: field 'daysLate' is {case.days_late}, but {case.due_date} to "
                               f"{case.done_date} is {late} calendar day(s) late ({rule.clause}, {rule.id})")
    return late, CalendarSource.NONE


def _quantity(case: PenaltyCase, basis: Basis, rules: PenaltyRules) -> tuple[int, str]:
    rule = rules.rule(case.rule)
    if basis is Basis.PER_CASE:
        return 1, "case"
    if basis is Basis.PER_ITEM:
        if case.items is None:
            raise PenaltyCaseError(f"case {case.case_id!r}: field 'items' is required by {rule.clause} ({rule.id})")
        return case.items, "item"
    assert rule.day_count is not None
    return _days_late(case, rules)[0], f"{rule.day_count.value} day late"


def _case_items(case: PenaltyCase, rules: PenaltyRules) -> tuple[list[LineItem], Exemption | None]:
    try:
        rule = rules.rule(case.rule)
    except KeyError as exc:
        raise PenaltyCaseError(f"case {case.case_id!r}: field 'rule': {exc.args[0]}") from None
    items: list[LineItem] = []
    for extra in case.extra_fines:
        items.append(LineItem(case_id=case.case_id, rule="process-own-rule", clause=f"{rule.clause} ({extra.reason})",
                              department=case.department, person=extra.person, role=extra.role, quantity=1,
                              unit="case", rate_yuan=extra.yuan.quantize(CENT),
                              amount_yuan=extra.yuan.quantize(CENT)))
    if rule.exempt_when_self_reported and case.self_reported:
        return items, Exemption(case_id=case.case_id, rule=rule.id, clause=rule.clause, reason=SELF_CHECK_EXEMPTION)
    quantity, unit = _quantity(case, rule.basis, rules)
    if quantity == 0:
        return items, None
    source = _days_late(case, rules)[1] if rule.basis is Basis.PER_DAY_LATE else None
    for fine in rule.fines:
        person = case.people.get(fine.role)
        if not person:
            raise PenaltyCaseError(f"case {case.case_id!r}: field 'people.{fine.role.value}' is required by "
                                   f"{rule.clause} ({rule.id})")
        items.append(LineItem(case_id=case.case_id, rule=rule.id, clause=rule.clause, department=case.department,
                              person=person, role=fine.role, quantity=quantity, unit=unit,
                              rate_yuan=fine.yuan.quantize(CENT), amount_yuan=(fine.yuan * quantity).quantize(CENT),
                              calendar_source=source))
    return items, None


def calculate_penalties(request: PenaltyInput, rules: PenaltyRules) -> PenaltyResult:
    """Price every case; the result does not depend on the order of the cases."""
    line_items: list[LineItem] = []
    exemptions: list[Exemption] = []
    for case in request.penalty_cases:
        items, exemption = _case_items(case, rules)
        line_items.extend(items)
        if exemption is not None:
            exemptions.append(exemption)
    line_items.sort(key=lambda i: (i.case_id, i.rule, i.role.value, i.person, i.amount_yuan))
    exemptions.sort(key=lambda e: e.case_id)
    per_person: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_department: dict[str, Decimal] = defaultdict(Decimal)
    for item in line_items:
        per_person[(item.person, item.department)] += item.amount_yuan
        per_department[item.department] += item.amount_yuan
    return PenaltyResult(
        rule_version=rules.version, rule_digest=rules.digest, line_items=line_items, exemptions=exemptions,
        by_person=[PersonTotal(person=p, department=d, total_yuan=t.quantize(CENT))
                   for (p, d), t in sorted(per_person.items())],
        by_department=[DepartmentTotal(department=d, total_yuan=t.quantize(CENT))
                       for d, t in sorted(per_department.items())],
        total_fines_yuan=sum((i.amount_yuan for i in line_items), Decimal(0)).quantize(CENT),
    )


class PenaltyOutput(_Model):
    """The job's variables: the full breakdown and the total (a string decimal, for gateways and forms)."""

    penalties: PenaltyResult
    total_fines_yuan: Decimal


def _evaluate(request: PenaltyInput, rules: PenaltyRules) -> PenaltyOutput:
    result = calculate_penalties(request, rules)
    return PenaltyOutput(penalties=result, total_fines_yuan=result.total_fines_yuan)


PENALTY_CALCULATION: Decision[PenaltyInput, PenaltyRules, PenaltyOutput] = Decision(
    name="slm.penalty-calculation",
    input_model=PenaltyInput,
    output_model=PenaltyOutput,
    parse_rules=parse_penalty_rules,
    evaluate=_evaluate,
)
