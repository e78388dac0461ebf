"""Camunda Forms (the form-js schema) as procgov reads them: the fields a person fills in.

Two uses, one reading of the schema so they cannot disagree:

- :func:`check_completion`: before ``procgov tasks complete`` sends a completion, the variables are held
  against the task's linked form the way form-js validates a submission in Tasklist (required fields,
  types, the options of selects/radios/checklists, min/max, length, pattern), and a variable the form
  does not have is refused. Every problem is named; nothing is sent while any remains.
- :func:`output_mappings`: the output mappings a user task needs so that a completion can write only
  the fields of its form into the process scope (Zeebe: with output mappings, completion variables stay
  local to the task; only the mapped ones propagate), so a person cannot set a due date, a fine, the
  owner or a gate verdict by completing a task (issue #12, item 1).

How form-js binds data (``@bpmn-io/form-js-viewer`` ``PathRegistry``/``_getSubmitData``): a keyed
field's ``key`` is a dotted path below its parent's path; a ``group`` with a ``path`` nests its fields
under it (without one it is only layout); a ``dynamiclist`` binds a list of objects at its ``path``,
each item holding its fields' keys. A submission carries exactly the keyed fields (disabled ones left
out), nothing else, which is why a form field must exist for every value a later task needs (the exam's
question ids).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

# Keyed input components and the JSON type each submits (form-js field ``config.keyed``).
INPUT_TYPES = frozenset({"textfield", "textarea", "number", "checkbox", "select", "radio", "checklist",
                         "taglist", "datetime", "filepicker"})
OPTION_TYPES = frozenset({"select", "radio", "checklist", "taglist"})
MULTI_TYPES = frozenset({"checklist", "taglist"})
# Keyed, but the form computes the value; a person never types it.
COMPUTED_TYPES = frozenset({"expression"})
FEEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FormSchemaError(ValueError):
    """The form's JSON is not a form procgov can read; the message names the component."""


@dataclass(frozen=True)
class FormField:
    """One input of the form. ``path`` is relative to the form's data, or to the item of the dynamic
    list it sits in; ``items`` holds the fields of each item when ``type == "dynamiclist"``."""

    path: tuple[str, ...]
    type: str
    label: str = ""
    required: bool = False
    readonly: bool = False
    options: tuple[Any, ...] | None = None  # static values (``values``)
    options_key: str | None = None  # options read from a variable (``valuesKey``)
    subtype: str | None = None  # datetime: date, time or datetime
    validate: Mapping[str, Any] = field(default_factory=dict)
    items: tuple[FormField, ...] = ()

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Form:
    """A Camunda Form: its id (what ``zeebe:formDefinition formId`` links) and its fields."""

    id: str
    fields: tuple[FormField, ...]

    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def _path(text: object, where: str) -> tuple[str, ...]:
    if not isinstance(text, str) or not text:
        raise FormSchemaError(f"{where}: expected a non-empty key or path, got {text!r}")
    parts = tuple(text.split("."))
    bad = [p for p in parts if not FEEL_NAME.match(p)]
    if bad:
        raise FormSchemaError(f"{where}: {text!r} is not a dotted path of names ({', '.join(bad)})")
    return parts


def _fields(components: object, prefix: tuple[str, ...], where: str) -> list[FormField]:
    if not isinstance(components, list):
        raise FormSchemaError(f"{where}: 'components' must be a list")
    found: list[FormField] = []
    for index, component in enumerate(components):
        if not isinstance(component, dict) or not isinstance(component.get("type"), str):
            raise FormSchemaError(f"{where}[{index}]: a component needs a 'type'")
        kind = component["type"]
        here = f"{where}[{index}] ({component.get('id', kind)})"
        if kind == "dynamiclist":
            items = tuple(_fields(component.get("components", []), (), here))
            found.append(FormField(prefix + _path(component.get("path"), here), kind,
                                   str(component.get("label", "")), items=items))
        elif kind == "group":
            sub = prefix + _path(component["path"], here) if component.get("path") else prefix
            found += _fields(component.get("components", []), sub, here)
        elif kind in INPUT_TYPES:
            validate = component.get("validate") or {}
            values = component.get("values")
            found.append(FormField(
                path=prefix + _path(component.get("key"), here), type=kind,
                label=str(component.get("label", "")), required=bool(validate.get("required")),
                readonly=component.get("readonly") is True,
                options=tuple(v.get("value") for v in values) if isinstance(values, list) else None,
                options_key=component.get("valuesKey") if isinstance(component.get("valuesKey"), str) else None,
                subtype=component.get("subtype"), validate=validate))
        elif kind in COMPUTED_TYPES or "components" not in component:
            continue  # text, html, image, spacer, separator, button, table, expression: no person's input
        else:
            found += _fields(component["components"], prefix, here)
    return found


def parse_form(schema: Mapping[str, Any]) -> Form:
    """The fields of a form-js schema (``*.form`` JSON, or the ``schema`` of Camunda's form endpoint)."""
    form_id = schema.get("id")
    if not isinstance(form_id, str) or not form_id:
        raise FormSchemaError("the form has no 'id'")
    fields = _fields(schema.get("components", []), (), form_id)
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise FormSchemaError(f"{form_id}: two fields bind {f.name!r}")
        seen.add(f.name)
    return Form(form_id, tuple(fields))


def load_form(path: Path) -> Form:
    return parse_form(json.loads(path.read_text(encoding="utf-8")))


# --- checking a completion ---------------------------------------------------------------------------

def value_at(data: Mapping[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    """(whether ``data`` has a value at ``path``, that value)."""
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _empty(f: FormField, value: Any) -> bool:
    # form-js Validator (runPresetValidation): unset, '', an empty multiselect, an unticked checkbox.
    return value is None or value == "" or value == [] or (f.type == "checkbox" and value is False)


def _temporal(subtype: str | None, value: str) -> bool:
    try:
        if subtype == "date":
            date.fromisoformat(value)
        elif subtype == "time":
            time.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _value_problems(f: FormField, name: str, value: Any, options: Any) -> list[str]:
    """What is wrong with a given (non-empty) value of field ``f``."""
    kind, rules = f.type, f.validate
    if kind in ("textfield", "textarea", "filepicker") and not isinstance(value, str):
        return [f"{name}: expected text, got {json.dumps(value)}"]
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return [f"{name}: expected a number, got {json.dumps(value)}"]
    if kind == "checkbox" and not isinstance(value, bool):
        return [f"{name}: expected true or false, got {json.dumps(value)}"]
    if kind == "datetime" and (not isinstance(value, str) or not _temporal(f.subtype, value)):
        shape = {"date": "YYYY-MM-DD", "time": "hh:mm"}.get(f.subtype or "", "an ISO 8601 date-time")
        return [f"{name}: expected {shape}, got {json.dumps(value)}"]
    problems: list[str] = []
    if kind in OPTION_TYPES:
        chosen = value if kind in MULTI_TYPES else [value]
        if kind in MULTI_TYPES and not isinstance(value, list):
            return [f"{name}: expected a list of options, got {json.dumps(value)}"]
        if options is not None:
            allowed = list(options)
            wrong = [v for v in chosen if v not in allowed]
            if wrong:
                problems.append(f"{name}: {', '.join(json.dumps(v) for v in wrong)} not among the options "
                                f"{', '.join(json.dumps(v) for v in allowed)}")
    if isinstance(value, str):
        if "minLength" in rules and len(value) < rules["minLength"]:
            problems.append(f"{name}: at least {rules['minLength']} characters")
        if "maxLength" in rules and len(value) > rules["maxLength"]:
            problems.append(f"{name}: at most {rules['maxLength']} characters")
        if rules.get("pattern") and not re.search(rules["pattern"], value):
            problems.append(f"{name}: must match the pattern {rules['pattern']}")
    if kind == "number":
        if "min" in rules and value < rules["min"]:
            problems.append(f"{name}: at least {rules['min']}")
        if "max" in rules and value > rules["max"]:
            problems.append(f"{name}: at most {rules['max']}")
    return problems


def _options(f: FormField, variables: Mapping[str, Any]) -> list[Any] | None:
    if f.options is not None:
        return list(f.options)
    if f.options_key is None:
        return None
    listed = variables.get(f.options_key)
    if not isinstance(listed, list):
        return None  # the task does not show the options list: nothing to hold the value against
    return [o.get("value") if isinstance(o, Mapping) else o for o in listed]


def _unknown(data: Mapping[str, Any], fields: tuple[FormField, ...], prefix: str) -> list[str]:
    """A problem for each given value no field of ``fields`` binds, and for a value given where the form
    has an object of fields."""
    tree: dict[str, Any] = {}
    for f in fields:
        node = tree
        for part in f.path[:-1]:
            node = node.setdefault(part, {})
        node[f.path[-1]] = None  # a leaf (its value is checked by type)

    def walk(value: Mapping[str, Any], node: dict[str, Any], at: str) -> list[str]:
        extra: list[str] = []
        for key, sub in value.items():
            name = f"{at}{key}"
            if key not in node:
                extra.append(f"{name}: not a field of the form")
            elif isinstance(node[key], dict) and isinstance(sub, Mapping):
                extra += walk(sub, node[key], name + ".")
            elif isinstance(node[key], dict) and sub is not None:
                extra.append(f"{name}: expected an object with {', '.join(node[key])}, got {json.dumps(sub)}")
        return extra

    return walk(data, tree, prefix)


def _check(fields: tuple[FormField, ...], data: Mapping[str, Any], variables: Mapping[str, Any],
           prefix: str, complete: bool) -> list[str]:
    problems = _unknown(data, fields, prefix)
    for f in fields:
        name = prefix + f.name
        given, value = value_at(data, f.path)
        if f.type == "dynamiclist":
            if not given or value is None:
                continue
            if not isinstance(value, list):
                problems.append(f"{name}: expected a list of entries, got {json.dumps(value)}")
                continue
            for index, item in enumerate(value, start=1):
                if not isinstance(item, Mapping):
                    problems.append(f"{name}[{index}]: expected an object, got {json.dumps(item)}")
                    continue
                problems += _check(f.items, item, variables, f"{name}[{index}].", complete=True)
            continue
        if not given or _empty(f, value):
            if f.required and (given or complete):
                problems.append(f"{name}: required")
            continue
        problems += _value_problems(f, name, value, _options(f, variables))
    return problems


def check_completion(form: Form, variables: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> list[str]:
    """Every problem of completing a task of ``form`` with ``variables``; empty when it may be sent.

    ``current`` are the task's variables as they are now (what Tasklist prefills the form with): a
    required field left out of ``variables`` but already filled there is not missing, and options read
    from a variable (``valuesKey``) are taken from them. Inside a dynamic list each entry is checked
    whole, since a submission replaces the list.
    """
    now = dict(current or {})
    problems = _check(form.fields, variables, {**now, **variables}, "", complete=False)
    for f in form.fields:
        if f.readonly and len(f.path) == 1 and f.name in variables and variables[f.name] != now.get(f.name):
            problems.append(f"{f.name}: read-only (the task has {json.dumps(now.get(f.name), ensure_ascii=False)})")
    for f in form.fields:
        if f.required and f.type != "dynamiclist" and not value_at(variables, f.path)[0]:
            present, value = value_at(now, f.path)
            if not present or _empty(f, value):
                problems.append(f"{f.name}: required")
    return problems


def submission(form: Form, given: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """What Tasklist submits: the form prefilled with the task's values, changed where the person gave one.

    Only the form's top-level variables are sent; an object the person filled partly keeps its other
    fields from the task, a list given replaces the list.
    """

    def merge(old: Any, new: Any) -> Any:
        if isinstance(old, dict) and isinstance(new, dict):
            return {**old, **{k: merge(old.get(k), v) for k, v in new.items()}}
        return new

    roots = dict.fromkeys(f.path[0] for f in form.fields)
    return {root: merge(current.get(root), given[root]) for root in roots if root in given}


# --- output mappings ---------------------------------------------------------------------------------

def _projection(fields: tuple[FormField, ...], base: str) -> str:
    """A FEEL context with exactly the given fields read from ``base`` (a FEEL path), leaving out the
    ones without a value, so a field nobody filled in stays absent (the workers' defaults apply)
    instead of becoming null. FEEL ``context(entries)`` (Camunda docs, "FEEL built-in functions",
    "Context functions") builds it from the entries the filter keeps."""
    tree: dict[str, Any] = {}
    for f in fields:
        node = tree
        for part in f.path[:-1]:
            node = node.setdefault(part, {})
        node[f.path[-1]] = f

    def render(node: dict[str, Any], at: str) -> str:
        entries = []
        for key, sub in node.items():
            path = f"{at}.{key}"
            if isinstance(sub, dict):
                value = f"if {path} = null then null else {render(sub, path)}"
            else:
                value = _value(sub, path)
            entries.append(f'{{key: "{key}", value: {value}}}')
        return "context([" + ", ".join(entries) + "][item.value != null])"

    return render(tree, base)


def _value(f: FormField, source: str) -> str:
    if f.type != "dynamiclist":
        return source
    item = "entry"
    return f"if {source} = null then null else for {item} in {source} return {_projection(f.items, item)}"


def output_mappings(form: Form) -> list[tuple[str, str]]:
    """``(source, target)`` output mappings that take exactly the form's fields into the process scope:
    one per top-level variable the form binds, in the form's order. A nested variable is rebuilt from
    its fields (so no other property rides along) and a dynamic list entry by entry. A read-only field
    at the top level only shows a value, so it is not mapped: the process keeps its own."""
    roots: dict[str, list[FormField]] = {}
    for f in form.fields:
        if not (f.readonly and len(f.path) == 1):
            roots.setdefault(f.path[0], []).append(f)
    mappings = []
    for root, fields in roots.items():
        if len(fields) == 1 and len(fields[0].path) == 1:
            mappings.append(("=" + _value(fields[0], root), root))
        else:
            inner = tuple(FormField(**{**f.__dict__, "path": f.path[1:]}) for f in fields)
            mappings.append((f"=if {root} = null then null else " + _projection(inner, root), root))
    return mappings
