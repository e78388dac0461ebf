"""Make every user task of a model a Camunda user task whose completion writes only its form's fields.

For each ``bpmn:userTask``: a ``<zeebe:userTask />`` (Camunda 8.8's implementation; job-worker user tasks
are deprecated and Tasklist V2 does not show them), and, when it links a form (``zeebe:formDefinition
formId``), output mappings computed from that form (:func:`procgov.forms.output_mappings`): with output
mappings, Zeebe keeps the completion variables local to the task and propagates only the mapped ones
(Camunda docs, "Variables", "Output mappings"), so a completion cannot set a due date, a fine or the
owner. Only these two elements are rewritten; the rest of the file stays as it is.

    python tools/user_tasks.py bpmn/*.bpmn            # rewrite
    python tools/user_tasks.py --check bpmn/*.bpmn    # exit 1 naming each task that is not as computed

Forms are looked up by id among the ``*.form`` files beside the model and in ``bpmn/``.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from procgov.forms import Form, load_form, output_mappings  # noqa: E402

TASK = re.compile(r"(?P<open><bpmn:userTask\b[^>]*?>)(?P<body>.*?)(?P<close></bpmn:userTask>)", re.S)
EXTENSIONS = re.compile(r"(?P<indent>[ \t]*)<bpmn:extensionElements>(?P<inner>.*?)</bpmn:extensionElements>", re.S)
FORM_ID = re.compile(r'<zeebe:formDefinition\b[^>]*\bformId="([^"]+)"')
OWN_ELEMENTS = re.compile(r"[ \t]*<zeebe:userTask\s*/>\s*\n|[ \t]*<zeebe:ioMapping>.*?</zeebe:ioMapping>\s*\n", re.S)
TASK_ID = re.compile(r'\bid="([^"]+)"')


def forms_for(model: Path) -> dict[str, Form]:
    found: dict[str, Form] = {}
    for folder in (ROOT / "bpmn", model.parent):
        for path in sorted(folder.glob("*.form")):
            form = load_form(path)
            found[form.id] = form
    return found


def _attribute(value: str) -> str:
    """A double-quoted XML attribute, quotes as ``&quot;`` (as ElementTree and the variant generator write)."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _extension_elements(inner: str, indent: str, form: Form | None) -> str:
    child = indent + "  "
    kept = OWN_ELEMENTS.sub("", inner.strip("\n") + "\n")
    # the other elements as they are, nested ones (zeebe:taskListeners, tools/task_listeners.py) included
    lines = [f"{child}<zeebe:userTask />", *textwrap.indent(textwrap.dedent(kept).strip("\n"), child).splitlines()]
    if form is not None:
        lines.append(f"{child}<zeebe:ioMapping>")
        lines += [f"{child}  <zeebe:output source={_attribute(source)} target={_attribute(target)} />"
                  for source, target in output_mappings(form)]
        lines.append(f"{child}</zeebe:ioMapping>")
    return "\n".join(lines) + "\n"


def convert(text: str, forms: dict[str, Form]) -> str:
    """The model with every user task as computed (idempotent)."""

    def task(match: re.Match[str]) -> str:
        body = match["body"]
        linked = FORM_ID.search(body)
        form = None
        if linked:
            form = forms.get(linked.group(1))
            if form is None:
                raise SystemExit(f"user task {TASK_ID.search(match['open'])}: no form with id {linked.group(1)!r}")
        ext = EXTENSIONS.search(body)
        if ext is None:
            line_start = text.rfind("\n", 0, match.start()) + 1
            indent = re.match(r"[ \t]*", text[line_start:]).group(0) + "  "  # type: ignore[union-attr]
            inner = _extension_elements("", indent, form)
            block = f"\n{indent}<bpmn:extensionElements>\n{inner}{indent}</bpmn:extensionElements>"
            return match["open"] + block + body + match["close"]
        new_ext = (f"{ext['indent']}<bpmn:extensionElements>\n"
                   f"{_extension_elements(ext['inner'], ext['indent'], form)}{ext['indent']}</bpmn:extensionElements>")
        return match["open"] + body[: ext.start()] + new_ext + body[ext.end():] + match["close"]

    return TASK.sub(task, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report models that differ")
    args = parser.parse_args(argv)
    stale = []
    for model in args.models:
        text = model.read_text(encoding="utf-8")
        new = convert(text, forms_for(model))
        if new != text:
            if args.check:
                stale.append(str(model))
            else:
                model.write_text(new, encoding="utf-8")
    if stale:
        print("user tasks not as computed from their forms (run: python tools/user_tasks.py MODEL): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
