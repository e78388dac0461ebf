"""The guard's pure parts and its rule data: the default table, the verdicts, form fields, the model tool."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from workers.audit.guard import GuardSettings
from workers.audit.guard_rules import (
    COMPLETING,
    GuardRequest,
    GuardRulesError,
    form_fields,
    judge,
    load_rules,
    outside_form,
    parse_directory,
    parse_rules,
)

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = Path(__file__).parent / "resources"
sys.path.insert(0, str(ROOT / "tools"))
import task_listeners  # noqa: E402


def _default_rules():  # type: ignore[no-untyped-def]
    return load_rules(GuardSettings().rules)


def test_default_table_parses_and_every_entry_cites_its_clause() -> None:
    """../shared/domain.md: quote a rule's source id in every rule table."""
    rules = _default_rules()
    assert rules.version == "guard/2026-1"
    for entry in (*rules.protected, *rules.tasks):
        assert entry.rule.startswith(("100104 §", "000A step")), entry
    names = {p.name for p in rules.protected}
    assert {"publishDueDate", "summaryDueDate", "penaltyCases", "totalFinesYuan", "owner", "readiness"} <= names


def test_no_form_field_is_protected() -> None:
    """Issue #12.1: a protected variable, and a variable the rules name people by (who completes a task is
    a fact the system set), is never a form's field (else the guard would deny every honest completion of
    that form): checked against every form in bpmn/."""
    rules = _default_rules()
    protected = {p.name for p in rules.protected} | set(rules.fetched_variables())
    assert {"departmentHead", "departmentReview", "requester", "owner", "sponsor", "employee"} <= protected
    forms = sorted((ROOT / "bpmn").glob("*.form"))
    assert forms
    for path in forms:
        fields = form_fields(json.loads(path.read_text(encoding="utf-8")))
        assert not protected & set(fields), f"{path.name}: protected fields {sorted(protected & set(fields))}"


def test_every_task_entry_names_a_user_task_of_its_model() -> None:
    """A table entry for a task that does not exist guards nothing: each names a user task in bpmn/."""
    ids: dict[str, set[str]] = {}
    for path in (ROOT / "bpmn").glob("*.bpmn"):
        text = path.read_text(encoding="utf-8")
        process = text.split('<bpmn:process id="', 1)[1].split('"', 1)[0]
        opening_tags = "".join(m["open"] for m in task_listeners.TASK.finditer(text))
        ids[process] = set(task_listeners.TASK_ID.findall(opening_tags))
    for entry in _default_rules().tasks:
        assert entry.task in ids.get(entry.process, set()), f"{entry.process}/{entry.task} is not a user task"


def test_default_directory_roles() -> None:
    """data/slm/departments.yaml: the planning office's rule supervisor (100104 §2.3.4) and the heads."""
    directory = parse_directory((ROOT / "data" / "slm" / "departments.yaml").read_text(encoding="utf-8"))
    assert directory.holders("rule-supervisor") == {"sun.qiang"}
    assert directory.holders("planning-office") == {"sun.qiang", "zhou.hua"}
    assert "li.ming" in directory.holders("department-head")


def test_bad_rule_table_is_refused_naming_the_entry() -> None:
    with pytest.raises(GuardRulesError, match=r"tasks\.0\.completers\.0: Value error, give exactly one of"):
        parse_rules("version: x\nprotected: []\ntasks: [{process: p, task: t, rule: r, completers: [{}]}]\n")
    with pytest.raises(GuardRulesError, match=r"protected\.0\.rule: Field required"):
        parse_rules("version: x\nprotected: [{name: a}]\n")


def test_form_fields_follow_form_js_paths() -> None:
    """form-js PathRegistry: keys are dotted paths, a group with a path nests, one without is layout only,
    a dynamic list is bound at its path."""
    schema = {"components": [
        {"type": "text", "text": "no key"},
        {"key": "a.b", "type": "textfield"},
        {"type": "group", "components": [{"key": "c", "type": "number"}]},
        {"type": "group", "path": "g", "components": [{"key": "d", "type": "checkbox"}]},
        {"type": "dynamiclist", "path": "items", "components": [{"key": "x", "type": "textfield"}]},
    ]}
    fields = form_fields(schema)
    assert fields == {"a": {"b": None}, "c": None, "g": {"d": None}, "items": None}
    assert outside_form({"a": {"b": 1, "z": 2}, "c": 1, "g": {"d": True}, "items": [{"x": 1}], "q": 0}, fields) \
        == ["a.z", "q"]
    assert outside_form({"anything": 1}, None) == ["anything"]


def test_judge_is_pure_and_names_each_offence() -> None:
    """Same facts, same verdict (a re-delivered job is answered alike); 100104 §2.1.2: the head named by
    the instance signs the summary; anybody else is refused, naming who may."""
    rules = _default_rules()
    directory = parse_directory((ROOT / "data" / "slm" / "departments.yaml").read_text(encoding="utf-8"))
    request = GuardRequest(event=COMPLETING, process="procgov-sla-review", task="sign-summary", person="chen.jing",
                           written={"summarySigned": True, "summaryDueDate": "2027-01-01"}, form_id="slm-summary",
                           fields={"summarySigned": None, "summaryImprovements": None},
                           facts={"departmentReview": {"departmentHead": "li.ming"}})
    verdict = judge(request, rules, directory)
    assert verdict == judge(request, rules, directory)
    assert [o.kind for o in verdict.offences] == ["not-in-form", "protected", "not-a-completer"]
    assert verdict.reason() == (
        "procgov guard (guard/2026-1): field 'summaryDueDate' is not a field of the task's form 'slm-summary'; "
        "field 'summaryDueDate' is protected (100104 §2.1.2: computed by the system, never written by a person); "
        "'chen.jing' may not complete this task (100104 §2.1.2: variable departmentReview.departmentHead; that "
        "is li.ming)")
    honest = GuardRequest(event=COMPLETING, process="procgov-sla-review", task="sign-summary", person="li.ming",
                          written={"summarySigned": True}, form_id="slm-summary", fields={"summarySigned": None},
                          facts={"departmentReview": {"departmentHead": "li.ming"}})
    assert not judge(honest, rules, directory).denied


def test_tool_adds_the_guard_listeners_last_and_is_idempotent(tmp_path: Path) -> None:
    """Camunda docs, "User task listeners": listeners of one event run in model order, so the guard goes
    last (it judges what other listeners corrected); the tool is a fixpoint of its own output and refuses a
    job-worker user task (no task listeners there)."""
    model = (RESOURCES / "guard-summary.bpmn").read_text(encoding="utf-8")
    bare = model.replace('<zeebe:taskListener eventType="assigning" type="audit.guard-user-task" retries="3" />',
                         '<zeebe:taskListener eventType="assigning" type="notify-assignee" />')
    bare = bare.replace('<zeebe:taskListener eventType="completing" type="audit.guard-user-task" retries="3" />', "")
    assert task_listeners.missing_guards(bare) == ["publish-summary"]
    converted = task_listeners.convert(bare)
    assert task_listeners.missing_guards(converted) == []
    assert task_listeners.convert(converted) == converted
    block = converted.split("<zeebe:taskListeners>")[1].split("</zeebe:taskListeners>")[0]
    assert [line.strip() for line in block.strip().splitlines()] == [
        '<zeebe:taskListener eventType="assigning" type="notify-assignee" />',
        '<zeebe:taskListener eventType="assigning" type="audit.guard-user-task" retries="3" />',
        '<zeebe:taskListener eventType="completing" type="audit.guard-user-task" retries="3" />',
    ]
    path = tmp_path / "m.bpmn"
    path.write_text(bare, encoding="utf-8")
    assert task_listeners.main(["--check", str(path)]) == 1
    assert task_listeners.main([str(path)]) == 0 and task_listeners.main(["--check", str(path)]) == 0
    job_worker = bare.replace("<zeebe:userTask />", "")
    with pytest.raises(task_listeners.ListenerToolError, match="not a Camunda user task"):
        task_listeners.convert(job_worker)


def test_a_completion_rewriting_who_is_who_is_denied() -> None:
    """100104 §2.3.4 segregation cannot be bent by the completion itself: ``departmentHead`` names a person
    the publication fines, so writing it is a protected write (Zeebe 8.8 would also show the written value
    to the listener job, shadowing the instance's)."""
    rules = _default_rules()
    directory = parse_directory((ROOT / "data" / "slm" / "departments.yaml").read_text(encoding="utf-8"))
    request = GuardRequest(event=COMPLETING, process="procgov-change-request", task="publish-change",
                           person="zhou.hua", written={"changeEffect": "x", "departmentHead": "nobody"},
                           form_id="slm-change-publication", fields={"changeEffect": None, "departmentHead": None},
                           facts={"departmentHead": "nobody"})
    [offence] = judge(request, rules, directory).offences
    assert (offence.kind, offence.subject, offence.rule) == ("protected", "departmentHead", "100104 §2.3.4")


def test_the_form_mapping_tool_keeps_the_guard_listeners() -> None:
    """tools/user_tasks.py (output mappings from each form) and tools/task_listeners.py are fixpoints of
    each other's output on every model of bpmn/, so both ``--check``s hold once the listeners are on."""
    sys.path.insert(0, str(ROOT))
    from tools.user_tasks import convert as map_forms
    from tools.user_tasks import forms_for

    for model in sorted((ROOT / "bpmn").glob("*.bpmn")):
        guarded = task_listeners.convert(model.read_text(encoding="utf-8"))
        assert map_forms(guarded, forms_for(model)) == guarded, model.name
        assert task_listeners.missing_guards(guarded) == []
