"""procgov.forms: the form-js schema read as fields, completions held against them, output mappings.

What is checked follows form-js (``@bpmn-io/form-js-viewer``: ``Validator.runPresetValidation`` for
required/min/max/pattern, ``PathRegistry`` for how keys, group paths and dynamic lists bind data) and
Camunda's docs ("Camunda Forms reference": components, "Dynamic list"; "Variables", "Output mappings").
The output mappings are evaluated by the embedded engine's FEEL, as the engine will run them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from procgov.forms import FormSchemaError, check_completion, load_form, output_mappings, parse_form
from procgov_engine.feel import evaluate

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def schema(*components: dict[str, Any]) -> dict[str, Any]:
    return {"id": "sample", "type": "default", "components": list(components)}


ORDER = schema(
    {"type": "text", "id": "t", "text": "### Order {{orderId}}"},
    {"type": "textfield", "id": "a", "key": "customer.name", "label": "Name", "validate": {"required": True,
                                                                                           "minLength": 2}},
    {"type": "group", "id": "g", "path": "customer.address", "components": [
        {"type": "textfield", "id": "b", "key": "city", "label": "City", "validate": {"pattern": "^[A-Z]"}}]},
    {"type": "group", "id": "g2", "components": [  # no path: layout only
        {"type": "number", "id": "c", "key": "quantity", "label": "Quantity", "validate": {"min": 1, "max": 9}}]},
    {"type": "select", "id": "d", "key": "priority", "label": "Priority",
     "values": [{"label": "Low", "value": "low"}, {"label": "High", "value": "high"}]},
    {"type": "radio", "id": "e", "key": "carrier", "label": "Carrier", "valuesKey": "carriers"},
    {"type": "checklist", "id": "f", "key": "extras", "label": "Extras",
     "values": [{"label": "Gift", "value": "gift"}, {"label": "Insured", "value": "insured"}]},
    {"type": "datetime", "id": "h", "key": "deliverOn", "label": "Deliver on", "subtype": "date"},
    {"type": "checkbox", "id": "i", "key": "accepted", "label": "Terms accepted", "validate": {"required": True}},
    {"type": "dynamiclist", "id": "l", "path": "lines", "label": "Lines", "isRepeating": True, "components": [
        {"type": "textfield", "id": "j", "key": "sku", "label": "SKU", "validate": {"required": True}},
        {"type": "number", "id": "k", "key": "count", "label": "Count"}]},
)


def test_fields_bind_the_paths_form_js_binds() -> None:
    form = parse_form(ORDER)
    assert form.names() == ["customer.name", "customer.address.city", "quantity", "priority", "carrier", "extras",
                            "deliverOn", "accepted", "lines"]
    lines = form.fields[-1]
    assert lines.type == "dynamiclist" and [f.name for f in lines.items] == ["sku", "count"]


GOOD = {"customer": {"name": "Li Ming", "address": {"city": "Hangzhou"}}, "quantity": 2, "priority": "high",
        "carrier": "sf", "extras": ["gift"], "deliverOn": "2026-05-04", "accepted": True,
        "lines": [{"sku": "A-1", "count": 3}]}


def test_a_completion_that_fits_the_form_passes() -> None:
    assert check_completion(parse_form(ORDER), GOOD, {"carriers": [{"label": "SF", "value": "sf"}]}) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"bogus": 1}, "bogus: not a field of the form"),
    ({"customer": {"name": "Li Ming", "owner": "x"}}, "customer.owner: not a field of the form"),
    ({"customer": {"name": "Li", "address": "Hangzhou"}},
     'customer.address: expected an object with city, got "Hangzhou"'),
    ({"customer": {"address": {"city": "Hangzhou"}}}, "customer.name: required"),
    ({"customer": {"name": "L"}}, "customer.name: at least 2 characters"),
    ({"customer": {"name": "Li", "address": {"city": "hangzhou"}}},
     "customer.address.city: must match the pattern ^[A-Z]"),
    ({"quantity": "2"}, 'quantity: expected a number, got "2"'),
    ({"quantity": True}, "quantity: expected a number, got true"),
    ({"quantity": 10}, "quantity: at most 9"),
    ({"priority": "urgent"}, 'priority: "urgent" not among the options "low", "high"'),
    ({"carrier": "dhl"}, 'carrier: "dhl" not among the options "sf"'),
    ({"extras": "gift"}, 'extras: expected a list of options, got "gift"'),
    ({"extras": ["gift", "cake"]}, 'extras: "cake" not among the options "gift", "insured"'),
    ({"deliverOn": "04.05.2026"}, 'deliverOn: expected YYYY-MM-DD, got "04.05.2026"'),
    # form-js: a required checkbox must be ticked.
    ({"accepted": False}, "accepted: required"),
    ({"accepted": "yes"}, 'accepted: expected true or false, got "yes"'),
    ({"lines": {"sku": "A-1"}}, 'lines: expected a list of entries, got {"sku": "A-1"}'),
    ({"lines": [{"count": 1}]}, "lines[1].sku: required"),
    ({"lines": [{"sku": "A-1", "price": 9}]}, "lines[1].price: not a field of the form"),
])
def test_each_problem_is_named(change: dict[str, Any], problem: str) -> None:
    given = {**GOOD, **change}
    assert check_completion(parse_form(ORDER), given, {"carriers": [{"label": "SF", "value": "sf"}]}) == [problem]


def test_every_problem_is_reported_at_once() -> None:
    problems = check_completion(parse_form(ORDER), {"bogus": 1, "dueDate": "2026-01-01", "quantity": "x"})
    assert problems == ["bogus: not a field of the form", "dueDate: not a field of the form",
                        'quantity: expected a number, got "x"', "customer.name: required", "accepted: required"]


def test_required_fields_the_task_already_has_need_not_be_given_again() -> None:
    # Tasklist prefills the form with the task's variables: a required field already filled is kept.
    current = {"customer": {"name": "Li Ming"}, "accepted": True}
    assert check_completion(parse_form(ORDER), {"quantity": 3}, current) == []
    assert check_completion(parse_form(ORDER), {"quantity": 3}, {"accepted": True}) == ["customer.name: required"]


def test_a_read_only_field_shows_the_task_value_and_is_not_written_back() -> None:
    form = schema({"type": "textfield", "id": "x", "key": "document", "label": "Document", "readonly": True},
                  {"type": "textarea", "id": "y", "key": "comment", "label": "Comment"})
    current = {"document": "SOP-1"}
    assert check_completion(parse_form(form), {"document": "SOP-1", "comment": "ok"}, current) == []
    problems = check_completion(parse_form(form), {"document": "SOP-2"}, current)
    assert problems == ['document: read-only (the task has "SOP-1")']
    assert output_mappings(parse_form(form)) == [("=comment", "comment")]


def test_options_from_a_variable_are_not_guessed_when_the_task_lacks_it() -> None:
    # valuesKey options live in the task's variables; without them there is nothing to hold a value against.
    assert check_completion(parse_form(ORDER), {**GOOD, "carrier": "anyone"}) == []


@pytest.mark.parametrize(("bad", "message"), [
    ({"components": []}, "the form has no 'id'"),
    (schema({"type": "textfield", "id": "x", "label": "X"}), "expected a non-empty key or path"),
    (schema({"type": "textfield", "id": "x", "key": "a..b"}), "is not a dotted path of names"),
    (schema({"type": "textfield", "id": "x", "key": "a"}, {"type": "number", "id": "y", "key": "a"}),
     "two fields bind 'a'"),
    ({"id": "f", "components": {"type": "text"}}, "'components' must be a list"),
])
def test_a_form_procgov_cannot_read_is_refused_naming_the_component(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(FormSchemaError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_form(bad)


def _run_mappings(form_schema: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    """Apply the output mappings as Zeebe does: each source evaluated in the task's scope."""
    mappings = output_mappings(parse_form(form_schema))
    return {target: evaluate(source.removeprefix("="), scope) for source, target in mappings}


def test_output_mappings_take_exactly_the_fields_of_the_form() -> None:
    completion = {**GOOD, "dueDate": "2099-01-01", "owner": {"id": "wang.fang"},
                  "customer": {"name": "Li Ming", "fine": 0, "address": {"city": "Hangzhou", "zip": "310000"}},
                  "lines": [{"sku": "A-1", "count": 3, "price": 0}]}
    out = _run_mappings(ORDER, completion)
    assert set(out) == {"customer", "quantity", "priority", "carrier", "extras", "deliverOn", "accepted", "lines"}
    assert out["customer"] == {"name": "Li Ming", "address": {"city": "Hangzhou"}}
    assert out["lines"] == [{"sku": "A-1", "count": 3}]


def test_a_field_left_empty_stays_absent_instead_of_becoming_null() -> None:
    out = _run_mappings(ORDER, {"customer": {"name": "Li Ming"}, "lines": [{"sku": "A-1"}]})
    assert out["customer"] == {"name": "Li Ming"} and out["lines"] == [{"sku": "A-1"}]
    assert out["quantity"] is None  # a top-level mapping always writes its target


@pytest.mark.parametrize("form_path", sorted(BPMN.glob("*.form")), ids=lambda p: p.stem)
def test_every_shipped_form_reads_and_its_mappings_evaluate(form_path: Path) -> None:
    form = load_form(form_path)
    assert form.fields, f"{form.id} has no input"
    for source, target in output_mappings(form):
        evaluate(source.removeprefix("="), {})  # no error on a task nobody filled in
        assert target.isidentifier()


def test_the_exam_sheet_keeps_each_answers_question_id() -> None:
    # form-js submits only keyed fields; grading reads answers[].questionId, so the form must carry it.
    form = json.loads((BPMN / "rollout-exam.form").read_text(encoding="utf-8"))
    recorded = json.loads((FIXTURES / "procgov-rollout--Exam_Take.json").read_text(encoding="utf-8"))
    paper = recorded["variables"]["answers"]
    submitted = [{"questionId": q["questionId"], "answer": "A"} for q in paper]
    assert check_completion(parse_form(form), {"answers": submitted}) == []
    out = _run_mappings(form, {"answers": [{**q, "answer": "A"} for q in paper]})
    assert out["answers"] == submitted
