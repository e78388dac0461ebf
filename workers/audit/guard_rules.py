"""What the user task guard decides, as pure functions over typed facts (no I/O here).

Issue #12.1: a fine or a gate is computed from facts the system holds, never from a value the person
assessed can type. A user task's completion may write only the fields of its linked form, never a
protected variable (due dates, fines, penalty cases, owner, gate verdicts); it and an assignment may
only be made by the person the rule names, and never by a person the task's outcome fines. The rule
table (``data/audit/guard-rules.yaml``) says which variables are protected and who may complete which
task, each entry citing its clause (100104 §…, 000A step N).

:func:`judge` gives the verdict; :mod:`workers.audit.guard` feeds it from the listener job, the engine's
records and the task's form, and answers the job with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

COMPLETING = "COMPLETING"
ASSIGNING = "ASSIGNING"
Event = Literal["COMPLETING", "ASSIGNING"]


class GuardRulesError(ValueError):
    """The rule table or the directory cannot be read; the message names the file, entry and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRef(_Strict):
    """A person the rule names: the value of an instance variable (dotted path), or a directory role."""

    variable: str | None = Field(default=None, pattern=r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
    role: str | None = None

    @model_validator(mode="after")
    def _one(self) -> PersonRef:
        if (self.variable is None) == (self.role is None):
            raise ValueError("give exactly one of 'variable' and 'role'")
        return self

    def __str__(self) -> str:
        return f"variable {self.variable}" if self.variable else f"role {self.role}"


class ProtectedVariable(_Strict):
    name: str
    rule: str


class TaskRule(_Strict):
    process: str
    task: str
    rule: str
    completers: tuple[PersonRef, ...] = ()  # empty: anyone (the form and protected checks still apply)
    fined: tuple[PersonRef, ...] = ()


class GuardRules(_Strict):
    version: str
    protected: tuple[ProtectedVariable, ...]
    tasks: tuple[TaskRule, ...] = ()

    def task(self, process: str, task: str) -> TaskRule | None:
        return next((t for t in self.tasks if t.process == process and t.task == task), None)

    def protected_rule(self, name: str, task: TaskRule | None = None) -> str | None:
        """The clause protecting ``name``: the table's, else that of a task rule naming people by it (who
        completes what is a fact the system set, e.g. ``departmentHead``: a completion rewriting it would
        also shadow it in the listener job's variables, as Zeebe 8.8 merges the completion's in)."""
        found = next((p.rule for p in self.protected if p.name == name), None)
        if found is not None:
            return found
        candidates = ([task] if task is not None else []) + list(self.tasks)  # this task's clause first
        return next((t.rule for t in candidates for ref in (*t.completers, *t.fined)
                     if ref.variable and ref.variable.split(".")[0] == name), None)

    def fetched_variables(self) -> list[str]:
        """The instance variables the rules read (the first part of each path): all the guard fetches."""
        names = {ref.variable.split(".")[0] for t in self.tasks for ref in (*t.completers, *t.fined) if ref.variable}
        return sorted(names)


def parse_rules(text: str, where: str = "guard rules") -> GuardRules:
    try:
        return GuardRules.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as error:
        raise GuardRulesError(f"{where}: not YAML ({error})") from None
    except ValidationError as error:
        parts = [f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in error.errors(include_url=False)]
        raise GuardRulesError(f"{where}: " + "; ".join(parts)) from None


def load_rules(path: Path) -> GuardRules:
    try:
        return parse_rules(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise GuardRulesError(f"{path}: cannot read the guard rules ({error.strerror})") from None


@dataclass(frozen=True)
class Directory:
    """Who holds which role (data/slm/departments.yaml: the planning office and each department)."""

    roles: Mapping[str, frozenset[str]]
    version: str = ""

    def holders(self, role: str) -> frozenset[str]:
        return self.roles.get(role, frozenset())


def parse_directory(text: str, where: str = "directory") -> Directory:
    """Roles from the departments directory: ``planning-office`` = its head and rule supervisor (and
    ``members`` if listed), ``rule-supervisor``, ``planning-office-head``, and per department
    ``department-head``, ``process-supervisor``, ``administrator``."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise GuardRulesError(f"{where}: not YAML ({error})") from None
    if not isinstance(data, Mapping):
        raise GuardRulesError(f"{where}: expected a mapping with planning_office and departments")
    roles: dict[str, set[str]] = {}

    def add(role: str, person: Any, at: str) -> None:
        if person is None:
            return
        if not isinstance(person, str) or not person:
            raise GuardRulesError(f"{where}: {at}: expected a person id, got {person!r}")
        roles.setdefault(role, set()).add(person)

    office = data.get("planning_office") or {}
    add("rule-supervisor", office.get("rule_supervisor"), "planning_office.rule_supervisor")
    add("planning-office-head", office.get("head"), "planning_office.head")
    for name in ("rule_supervisor", "head"):
        add("planning-office", office.get(name), f"planning_office.{name}")
    for i, member in enumerate(office.get("members") or []):
        add("planning-office", member, f"planning_office.members[{i}]")
    for i, department in enumerate(data.get("departments") or []):
        for key in ("department_head", "process_supervisor", "administrator"):
            add(key.replace("_", "-"), department.get(key), f"departments[{i}].{key}")
    return Directory({k: frozenset(v) for k, v in roles.items()}, str(data.get("version", "")))


# -- forms --------------------------------------------------------------------------------------------

FieldTree = dict[str, Any]  # name -> None (a field: any value) or a FieldTree (a group's fields)


def form_fields(schema: Mapping[str, Any]) -> FieldTree:
    """The variables a form-js schema submits, as a tree of names (form-js ``PathRegistry``): a keyed
    field's ``key`` is a dotted path below its parent's path; a ``group`` with a ``path`` nests its
    fields under it (without one it is layout only); a ``dynamiclist`` binds a list at its ``path``."""
    tree: FieldTree = {}

    def put(path: list[str], node: FieldTree) -> FieldTree:
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if nxt is None:  # a field and a group on one path: the field takes any value
                return {}
            node = nxt
        return node

    def walk(components: Any, prefix: list[str]) -> None:
        for component in components or []:
            if not isinstance(component, Mapping):
                continue
            kind = component.get("type")
            path = component.get("path")
            if kind == "dynamiclist" and isinstance(path, str) and path:
                parts = prefix + path.split(".")
                put(parts, tree)[parts[-1]] = None
            elif kind == "group" or "components" in component:
                inner = prefix + path.split(".") if isinstance(path, str) and path else prefix
                walk(component.get("components"), inner)
            elif isinstance(component.get("key"), str) and component["key"]:
                parts = prefix + component["key"].split(".")
                parent = put(parts, tree)
                if not isinstance(parent.get(parts[-1]), dict):
                    parent[parts[-1]] = None

    walk(schema.get("components"), [])
    return tree


def outside_form(variables: Mapping[str, Any], fields: FieldTree | None) -> list[str]:
    """Dotted names of the written values no form field takes (every name when there is no form)."""
    if fields is None:
        return sorted(variables)

    def walk(value: Mapping[str, Any], node: FieldTree, at: str) -> list[str]:
        extra: list[str] = []
        for key, sub in value.items():
            name = f"{at}{key}"
            if key not in node:
                extra.append(name)
            elif isinstance(node[key], dict) and isinstance(sub, Mapping):
                extra += walk(sub, node[key], name + ".")
        return extra

    return sorted(walk(variables, fields, ""))


# -- the verdict --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardRequest:
    """One transition a person asked for, as the engine holds it."""

    event: Event
    process: str  # bpmnProcessId
    task: str  # the user task's element id
    person: str  # completing: the assignee who completes; assigning: the new assignee ("" = unassign)
    written: Mapping[str, Any] = field(default_factory=dict)  # the completion's variables
    form_id: str | None = None  # for the wording only
    fields: FieldTree | None = None  # the linked form's fields; None: the task links no form
    facts: Mapping[str, Any] = field(default_factory=dict)  # instance variables the rules name


@dataclass(frozen=True)
class Offence:
    kind: Literal["not-in-form", "protected", "no-completer", "not-a-completer", "fined"]
    subject: str  # the field, or the person
    rule: str
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class Verdict:
    offences: tuple[Offence, ...]
    rules_version: str

    @property
    def denied(self) -> bool:
        return bool(self.offences)

    def reason(self) -> str:
        """The deniedReason: every offence, each naming its field or person and its clause."""
        return f"procgov guard ({self.rules_version}): " + "; ".join(map(str, self.offences))


def _at(facts: Mapping[str, Any], path: str) -> Any:
    value: Any = facts
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _people(refs: Iterable[PersonRef], facts: Mapping[str, Any], directory: Directory) -> set[str]:
    found: set[str] = set()
    for ref in refs:
        if ref.variable:
            value = _at(facts, ref.variable)
            if isinstance(value, str) and value:
                found.add(value)
        elif ref.role:
            found |= directory.holders(ref.role)
    return found


def judge(request: GuardRequest, rules: GuardRules, directory: Directory) -> Verdict:
    """The guard's verdict on one completion or assignment (pure: same facts, same verdict)."""
    offences: list[Offence] = []
    task_rule = rules.task(request.process, request.task)
    if request.event == COMPLETING:
        form = f"form {request.form_id!r}" if request.form_id else "no form (the task takes no fields)"
        for name in outside_form(request.written, request.fields):
            offences.append(Offence("not-in-form", name, "issue #12.1",
                                    f"field {name!r} is not a field of the task's {form}"))
        for name in sorted(request.written):
            rule = rules.protected_rule(name, task_rule)
            if rule is not None:
                offences.append(Offence("protected", name, rule,
                                        f"field {name!r} is protected ({rule}: computed by the system, never "
                                        "written by a person)"))
    if task_rule is not None and (request.person or request.event == COMPLETING):
        person = request.person
        act = "complete" if request.event == COMPLETING else "be assigned"
        if task_rule.completers:
            allowed = _people(task_rule.completers, request.facts, directory)
            named = " or ".join(map(str, task_rule.completers))
            if not person:
                offences.append(Offence("no-completer", "", task_rule.rule,
                                        f"the task is not assigned: claim it first, so that the completer is "
                                        f"known ({task_rule.rule}: {named} completes it)"))
            elif person not in allowed:
                holders = ", ".join(sorted(allowed)) or "nobody, as the instance and directory stand"
                offences.append(Offence("not-a-completer", person, task_rule.rule,
                                        f"{person!r} may not {act} this task ({task_rule.rule}: {named}; that is "
                                        f"{holders})"))
        if person and person in _people(task_rule.fined, request.facts, directory):
            offences.append(Offence("fined", person, task_rule.rule,
                                    f"{person!r} may not {act} this task: its outcome fines {person!r} "
                                    f"({task_rule.rule})"))
    return Verdict(tuple(offences), rules.version)
