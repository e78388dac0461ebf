"""Monthly review rules that need no I/O: the self-check's items (100104 §2.1.1) and how the planning
office's spot-check findings are classified (100104 §2.2.1 / §2.2.2 / §2.2.3).

Classification turns each finding into a penalty case for the penalty decision; whether the case costs
money (the self-check exemption of §2.2.1) is the decision's job, so the exemption is recorded, priced
at zero and shown in the report, never silently dropped here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workers.slm.camel import CamelModel
from workers.slm.directory import Directory
from workers.slm.penalties import ExtraFine, PenaltyCase
from workers.slm.penalty_rules import PenaltyRules, Role

# 100104 §2.1.1: what a self-check record covers; each missing item costs the process supervisor
SELF_CHECK_ITEMS = {
    "selfCheckRuns": "run frequency (运行频次)",
    "selfCheckKpis": "quantifiable KPIs (可量化的绩效指标)",
    "selfCheckExecution": "execution incl. violations (执行情况)",
    "selfCheckDesignProblems": "design problems: flowchart, rules, forms (设计问题)",
    "selfCheckCrossDepartment": "cross-department records (跨部门流程记录)",
}


class Finding(CamelModel):
    """One spot-check finding as the planning office records it."""

    department: str = Field(min_length=1)
    process_id: str = Field(min_length=1)
    problem: str = Field(min_length=1, description="a short problem code, stable from month to month")
    kind: Literal["violation", "design-defect"]
    direct_person: str = Field(min_length=1, description="直接责任人 (person id)")
    description: str = ""
    change_filed: bool = Field(default=False, description="§2.2.2: the department filed a change for the defect")
    extra_fines: list[ExtraFine] = Field(default_factory=list, description="§2.2.1: the process's own rules")


class ClassifiedFinding(CamelModel):
    department: str
    process_id: str
    problem: str
    description: str
    rule: str | None
    clause: str
    note: str
    case_id: str | None


def missing_self_check_items(values: dict[str, object]) -> list[str]:
    """The §2.1.1 items a self-check left empty (by their readable names)."""
    missing = []
    for key, label in SELF_CHECK_ITEMS.items():
        value = values.get(key)
        if value is None or (isinstance(value, str | list | dict) and not value):
            missing.append(label)
    return missing


def people_of(directory: Directory, department: str, direct_person: str | None = None) -> dict[Role, str]:
    """Who holds each role for ``department`` (raises KeyError naming an unknown department)."""
    dept = directory.department(department)
    people = {Role.DEPARTMENT_HEAD: dept.department_head, Role.PROCESS_SUPERVISOR: dept.process_supervisor,
              Role.RULE_SUPERVISOR: directory.rule_supervisor}
    if direct_person:
        people[Role.DIRECT_PERSON] = direct_person
    return people


def classify_findings(findings: list[Finding], *, repeated: set[tuple[str, str]],
                      self_reported: dict[str, set[str]], rules: PenaltyRules,
                      directory: Directory) -> tuple[list[ClassifiedFinding], list[PenaltyCase]]:
    """Each finding → §2.2.3 when last month's rectification covered the same problem, else §2.2.1
    (violation; exempt when the department's self-check found it) or §2.2.2 (design defect, fined
    only when no change was filed)."""
    classified: list[ClassifiedFinding] = []
    cases: list[PenaltyCase] = []
    for index, finding in enumerate(findings, start=1):
        case_id = f"finding-{index}:{finding.department}:{finding.problem}"
        self_found = finding.problem in self_reported.get(finding.department, set())
        if (finding.department, finding.problem) in repeated:
            rule_id, note = "spot-check-repeat", "repeated after last month's rectification"
        elif finding.kind == "violation":
            rule_id = "spot-check-violation"
            note = "found by the self-check: not fined again" if self_found else "not found by the self-check"
        elif finding.change_filed:
            classified.append(ClassifiedFinding(
                department=finding.department, process_id=finding.process_id, problem=finding.problem,
                description=finding.description, rule=None, clause=rules.rule("spot-check-design-defect").clause,
                note="design defect with a change filed: not fined", case_id=None))
            continue
        else:
            rule_id, note = "spot-check-design-defect", "design defect, no change filed"
        rule = rules.rule(rule_id)
        classified.append(ClassifiedFinding(department=finding.department, process_id=finding.process_id,
                                            problem=finding.problem, description=finding.description, rule=rule_id,
                                            clause=rule.clause, note=note, case_id=case_id))
        cases.append(PenaltyCase(case_id=case_id, rule=rule_id, department=finding.department,
                                 people=people_of(directory, finding.department, finding.direct_person),
                                 self_reported=self_found and rule_id == "spot-check-violation",
                                 description=finding.description or finding.problem,
                                 extra_fines=finding.extra_fines))
    return classified, cases
