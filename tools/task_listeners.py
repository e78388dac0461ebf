"""Give every Camunda user task of a model the guard's assigning and completing task listeners.

The guard (``audit.guard-user-task``, workers/audit/guard.py) denies a completion that writes outside the
task's form or a protected variable, and a completion or assignment by someone the rule does not name or
whom the task fines (issue #12.1). It runs as a user task listener (Camunda docs, "User task listeners":
``<zeebe:taskListeners>`` in the task's extension elements, run in model order), so every user task needs
one listener per event. The guard's listeners go last of their event, so that it judges the values other
listeners corrected. Only ``<zeebe:taskListeners>`` is rewritten; the rest of the file stays as it is.
Tasks must be Camunda user tasks (``<zeebe:userTask />``: job-worker user tasks have no task listeners;
run ``tools/user_tasks.py`` first).

    python tools/task_listeners.py bpmn/*.bpmn            # rewrite
    python tools/task_listeners.py --check bpmn/*.bpmn    # exit 1 naming each task without the guard
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

GUARD_TYPE = "audit.guard-user-task"
EVENTS = ("assigning", "completing")
RETRIES = 3
ZEEBE = "{http://camunda.org/schema/zeebe/1.0}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

TASK = re.compile(r"(?P<open><bpmn:userTask\b[^>]*?>)(?P<body>.*?)(?P<close></bpmn:userTask>)", re.S)
EXTENSIONS = re.compile(
    r"(?P<indent>[ \t]*)<bpmn:extensionElements>(?P<inner>.*?)(?P<end>[ \t]*)</bpmn:extensionElements>", re.S
)
LISTENERS = re.compile(r"(?P<indent>[ \t]*)<zeebe:taskListeners>(?P<inner>.*?)</zeebe:taskListeners>[ \t]*\n?", re.S)
LISTENER = re.compile(r"[ \t]*<zeebe:taskListener\b[^>]*?/>[ \t]*\n?", re.S)
TASK_ID = re.compile(r'\bid="([^"]+)"')


class ListenerToolError(ValueError):
    """A model this tool cannot change as asked (names the file and task)."""


def _guard_line(event: str) -> str:
    return f'<zeebe:taskListener eventType="{event}" type="{GUARD_TYPE}" retries="{RETRIES}" />'


def missing_guards(text: str) -> list[str]:
    """Ids of the user tasks whose guard listeners are missing or not last of their event (semantic, so
    indentation does not matter)."""
    root = ET.fromstring(text)
    stale = []
    for task in root.iter(f"{BPMN}userTask"):
        listeners = [(el.get("eventType"), el.get("type")) for el in task.iter(f"{ZEEBE}taskListener")]
        for event in EVENTS:
            of_event = [kind for ev, kind in listeners if ev == event]
            if not of_event or of_event[-1] != GUARD_TYPE or of_event.count(GUARD_TYPE) != 1:
                stale.append(task.get("id", "?"))
                break
    return stale


def convert(text: str, where: str = "model") -> str:
    """The model with the guard's listeners on every user task (idempotent; unchanged when they are)."""
    if not missing_guards(text):
        return text

    def task(match: re.Match[str]) -> str:
        body = match["body"]
        task_id = TASK_ID.search(match["open"])
        name = task_id.group(1) if task_id else "?"
        ext = EXTENSIONS.search(body)
        if ext is None or "<zeebe:userTask" not in ext["inner"]:
            raise ListenerToolError(f"{where}: user task {name!r} is not a Camunda user task (no <zeebe:userTask />);"
                                    " run tools/user_tasks.py first")
        inner = ext["inner"]
        child = ext["indent"] + "  "
        block = LISTENERS.search(inner)
        kept: list[str] = []
        if block is not None:
            for line in LISTENER.findall(block["inner"]):
                if f'type="{GUARD_TYPE}"' not in line:
                    kept.append(line.strip())
            inner = inner[: block.start()] + inner[block.end():]
        lines = [f"{child}<zeebe:taskListeners>"]
        for event in EVENTS:  # other listeners of the event first, then the guard
            lines += [f"{child}  {line}" for line in kept if f'eventType="{event}"' in line]
            lines.append(f"{child}  {_guard_line(event)}")
        lines += [f"{child}  {line}" for line in kept if not any(f'eventType="{e}"' in line for e in EVENTS)]
        lines.append(f"{child}</zeebe:taskListeners>")
        mapping = inner.find("<zeebe:ioMapping>")
        if mapping >= 0:  # before the output mappings, where tools/user_tasks.py keeps the other elements
            start = inner.rfind("\n", 0, mapping) + 1
            inner = inner[:start] + "\n".join(lines) + "\n" + inner[start:]
        else:
            inner = inner.rstrip(" \t\n") + "\n" + "\n".join(lines) + "\n"
        new_ext = f"{ext['indent']}<bpmn:extensionElements>{inner}{ext['indent']}</bpmn:extensionElements>"
        return match["open"] + body[: ext.start()] + new_ext + body[ext.end():] + match["close"]

    return TASK.sub(task, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report tasks without the guard's listeners")
    args = parser.parse_args(argv)
    stale: list[str] = []
    for model in args.models:
        text = model.read_text(encoding="utf-8")
        if args.check:
            stale += [f"{model}: {task}" for task in missing_guards(text)]
            continue
        try:
            new = convert(text, str(model))
        except ListenerToolError as error:
            print(error, file=sys.stderr)
            return 2
        if new != text:
            model.write_text(new, encoding="utf-8")
    if stale:
        print(f"user tasks without the guard's listeners (run: python tools/task_listeners.py MODEL): "
              f"{', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
