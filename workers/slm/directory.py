"""Who holds each 100104 role in each department (``data/slm/departments.yaml``).

Fines are charged to people (100104 names the roles: 部门负责人, 流程主管, 流程、制度主管 …) and
overdue notices go to them; this directory answers "who is the process supervisor of 销售部 Sales" for
the workers, and lists the departments a company-wide monthly review covers. People are referred to
by id everywhere (the rollout's organisation directory uses the same ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workers.runtime.errors import RuleDataError
from workers.slm.rule_data import Row, load_document, rows


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str


@dataclass(frozen=True)
class Department:
    department: str
    department_head: str
    process_supervisor: str
    administrator: str


@dataclass(frozen=True)
class Directory:
    version: str
    people: Mapping[str, Person]
    planning_office: str
    rule_supervisor: str
    planning_head: str
    departments: Mapping[str, Department]

    def department(self, name: str) -> Department:
        try:
            return self.departments[name]
        except KeyError:
            raise KeyError(f"department {name!r} is not in the directory {self.version} (known: "
                           f"{', '.join(sorted(self.departments))})") from None

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def name_of(self, person_id: str) -> str:
        person = self.people.get(person_id)
        return person.name if person else person_id


def parse_directory(text: str) -> Directory:
    """Parse and check the directory; every role must name a listed person."""
    document = load_document(text, "department directory")
    header = Row(document, "header", {"version", "people", "planning_office", "departments"})
    people: dict[str, Person] = {}
    for index, data in enumerate(rows(document, "people", "department directory"), start=1):
        row = Row(data, f"people[{index}]", {"id", "name", "email"})
        person_id = row.text("id")
        if person_id in people:
            raise row.error("id", f"duplicate person id {person_id!r}")
        email = row.text("email")
        if "@" not in email:
            raise row.error("email", f"is no e-mail address: {email!r}")
        people[person_id] = Person(id=person_id, name=row.text("name"), email=email)

    def person_ref(row: Row, field: str) -> str:
        person_id = row.text(field)
        if person_id not in people:
            raise row.error(field, f"names no person in 'people': {person_id!r}")
        return person_id

    office_data: Any = document.get("planning_office")
    if not isinstance(office_data, Mapping):
        raise RuleDataError("needs a mapping", row="header", field="planning_office")
    office = Row(office_data, "planning_office", {"department", "rule_supervisor", "head"})
    departments: dict[str, Department] = {}
    for index, data in enumerate(rows(document, "departments", "department directory"), start=1):
        row = Row(data, f"departments[{index}]", {"department", "department_head", "process_supervisor",
                                                    "administrator"})
        name = row.text("department")
        if name in departments:
            raise row.error("department", f"duplicate department {name!r}")
        departments[name] = Department(department=name, department_head=person_ref(row, "department_head"),
                                       process_supervisor=person_ref(row, "process_supervisor"),
                                       administrator=person_ref(row, "administrator"))
    return Directory(version=header.text("version"), people=people, planning_office=office.text("department"),
                     rule_supervisor=person_ref(office, "rule_supervisor"), planning_head=person_ref(office, "head"),
                     departments=departments)
