"""Every Camunda Form in bpmn/ as a person sees it in Tasklist: rendered by form-js with a real run's variables.

The variables are the ones the process tests' runs give each user task on the embedded engine (recorded by
``python -m tests.forms.record_variables`` into tests/forms/fixtures/; the tests without a browser check the
fixtures still fit the models and forms). A form fails on template text left unresolved (``{{…}}``), a
template that resolves to nothing (``****`` from ``**{{x}}**``, ``()``), an input without a label, an import
warning or a JavaScript error.

form-js templating (Camunda docs, "Templating syntax" and "Dynamic list": inside a dynamic list a template
reads the current item with ``this`` and the enclosing context with ``parent``); a bare ``{{name}}`` inside
a list reads the form's root data, which is why the exam questions once read "**** ( points)".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser import ROOT, headless_chromium, serve_repository
from tests.forms.record_variables import FIXTURES, FormTask, form_tasks

PAGE = "/tests/forms/web/form.html"
FORMS = sorted((ROOT / "bpmn").glob("*.form"))
TASKS = form_tasks()
SAMPLES = Path(__file__).resolve().parent / "samples"
TEMPLATE = re.compile(r"\{\{\s*([^#/}][^}]*?)\s*\}\}")
CONDITIONAL_BLOCK = re.compile(r"\{\{#(if|loop)\b.*?\{\{/\1\}\}", re.S)
PATH = re.compile(r"^[A-Za-z_]\w*(\.\w+)*$")
EMPTY_RENDERING = (re.compile(r"\*\*\*\*"), re.compile(r"\(\s*\)"))


def _fixture(task: FormTask) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(task.fixture.read_text(encoding="utf-8"))
    return data


def _form_path(form_id: str) -> Path:
    return next(f for f in FORMS if json.loads(f.read_text(encoding="utf-8"))["id"] == form_id)


@pytest.fixture(scope="module")
def form_page() -> Iterator[tuple[WebDriver, str]]:
    with serve_repository() as base, headless_chromium(1280, 1000) as driver:
        driver.get(base + PAGE)
        yield driver, base


def render(page: tuple[WebDriver, str], form: Path, variables: dict[str, Any]) -> dict[str, Any]:
    driver, _ = page
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.renderForm(arguments[0], arguments[1]).then(done, (e) => done({error: String(e)}));",
        "/" + form.relative_to(ROOT).as_posix(), variables)
    return result


def faults(name: str, shown: dict[str, Any]) -> list[str]:
    """What a person would see wrong on the rendered form."""
    if "error" in shown:
        return [f"{name}: form-js could not render it: {shown['error']}"]
    found = [f"{name}: import warning: {w}" for w in shown["warnings"]]
    found += [f"{name}: JavaScript error: {e}" for e in shown["errors"]]
    text = shown["text"]
    found += [f"{name}: unresolved template text {m!r}" for m in re.findall(r"\{\{[^}]*\}\}", text)]
    for pattern in EMPTY_RENDERING:
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 30): match.end() + 30].replace("\n", " ")
            found.append(f"{name}: a template rendered empty: …{context}…")
    found += [f"{name}: input {i['id']} has no label" for i in shown["inputs"] if not i["label"]]
    return found


INPUTS = {"textfield", "textarea", "number", "datetime", "select", "radio", "checkbox", "checklist", "taglist"}


def unlabelled(form: Path) -> list[str]:
    """Inputs without a label of their own (form-js then shows its generic one, e.g. "Text field")."""
    def walk(components: list[dict[str, Any]]) -> Iterator[str]:
        for component in components:
            labels = (component.get(k) for k in ("label", "dateLabel", "timeLabel"))  # datetime: date/time labels
            if component.get("type") in INPUTS and not any(str(label or "").strip() for label in labels):
                yield f"{form.name}: input {component.get('key')} has no label"
            yield from walk(component.get("components", []))

    return list(walk(json.loads(form.read_text(encoding="utf-8"))["components"]))


@pytest.mark.browser
@pytest.mark.parametrize("task", TASKS, ids=lambda t: f"{t.element_id}:{t.form_id}")
def test_form_renders_clean_with_a_real_runs_variables(form_page: tuple[WebDriver, str], task: FormTask) -> None:
    form = _form_path(task.form_id)
    shown = render(form_page, form, _fixture(task)["variables"])
    found = faults(task.form_id, shown) + unlabelled(form)
    assert not found, "\n".join(found)
    assert shown["text"].strip(), f"{task.form_id} shows nothing"


@pytest.mark.browser
def test_the_exam_shows_each_question_with_its_points_and_prompt(form_page: tuple[WebDriver, str]) -> None:
    task = next(t for t in TASKS if t.form_id == "rollout-exam")
    variables = _fixture(task)["variables"]
    text = " ".join(render(form_page, _form_path("rollout-exam"), variables)["text"].split())
    for question in variables["answers"]:
        assert f"{question['questionId']} ({question['points']} points)" in text, question
        assert " ".join(question["prompt"].split()) in text, question


@pytest.mark.browser
def test_the_check_finds_unresolved_templates_and_missing_labels(form_page: tuple[WebDriver, str]) -> None:
    task = next(t for t in TASKS if t.form_id == "rollout-exam")
    sample = SAMPLES / "unresolved-exam.form"
    found = "\n".join(faults("sample", render(form_page, sample, _fixture(task)["variables"])) + unlabelled(sample))
    assert "a template rendered empty: " in found and "****" in found, found
    assert "has no label" in found, found


def test_every_form_has_a_user_task_and_every_such_task_a_recorded_run() -> None:
    linked = {t.form_id for t in TASKS}
    ids = {json.loads(f.read_text(encoding="utf-8"))["id"] for f in FORMS}
    assert ids == linked, f"forms without a task: {ids - linked}; tasks with a missing form: {linked - ids}"
    missing = [t.fixture.name for t in TASKS if not t.fixture.exists()]
    assert not missing, f"run: python -m tests.forms.record_variables (missing {missing})"
    stale = {p.name for p in FIXTURES.glob("*.json")} - {t.fixture.name for t in TASKS}
    assert not stale, f"fixtures of user tasks that no longer exist: {stale}"


@pytest.mark.parametrize("task", TASKS, ids=lambda t: f"{t.element_id}:{t.form_id}")
def test_fixture_still_fits_the_model_and_the_form(task: FormTask) -> None:
    """The recorded variables carry what the task's input mapping sets and what the form's templates read."""
    fixture = _fixture(task)
    assert (fixture["bpmnProcessId"], fixture["elementId"], fixture["formId"]) == (
        task.process_id, task.element_id, task.form_id), "run: python -m tests.forms.record_variables"
    variables = fixture["variables"]
    missing = [name for name in task.inputs if name not in variables]
    assert not missing, f"input mapping targets not in the recorded run: {missing}: re-record the fixtures"
    schema = json.loads(_form_path(task.form_id).read_text(encoding="utf-8"))
    unresolved = list(_unread_template_paths(schema["components"], variables, None))
    assert not unresolved, f"{task.form_id}: templates read variables the task does not have: {unresolved}"


def _unread_template_paths(components: list[dict[str, Any]], data: dict[str, Any],
                           item: dict[str, Any] | None) -> Iterator[str]:
    """Template paths (``{{a.b}}``, ``{{this.x}}``) that resolve to nothing in the task's variables."""
    for component in components:
        if component.get("conditional"):
            continue
        for value in (component.get("text"), component.get("label"), component.get("description")):
            if not isinstance(value, str):
                continue
            # a block shown only when its condition holds is not read on the first visit
            for expression in TEMPLATE.findall(CONDITIONAL_BLOCK.sub("", value)):
                if not PATH.match(expression):
                    continue
                parts = expression.split(".")
                scope: Any = data
                if parts[0] == "this":
                    scope, parts = item, parts[1:]
                for part in parts:
                    scope = scope.get(part) if isinstance(scope, dict) else None
                if scope is None:
                    yield expression
        children = component.get("components", [])
        if component.get("type") == "dynamiclist":
            items = data.get(component.get("path", ""), []) if isinstance(data, dict) else []
            yield from _unread_template_paths(children, data, items[0] if items else {})
        elif children:
            yield from _unread_template_paths(children, data, item)
