"""``procgov tasks``: Camunda user tasks from the terminal, over the Orchestration Cluster REST API.

``list`` searches (``POST /v2/user-tasks/search``) and so never locks a task: a second ``list`` shows
the same tasks, and Tasklist sees them meanwhile. ``show KEY`` prints the linked form's fields with the
task's current values. ``complete KEY --var k=v`` holds the variables against the linked form first
(:func:`procgov.forms.check_completion`: required fields, types, options, unknown fields) and sends
nothing while any problem remains; then, as Tasklist does, it submits the form: what the person gave
over the task's current values. Keys are printed whole at any terminal width; ``--json`` prints plain
JSON (keys as strings, as the REST API gives them).

The same commands work against ``procgov engine`` and a Camunda 8.8 cluster: ``--rest-url`` or
``PROCGOV_REST_URL`` (default http://127.0.0.1:8080), authenticated like the workers (``PROCGOV_TRANSPORT``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from procgov.commands.instances import JsonOption, VarOption, _variables
from procgov.commands.workers import EXIT_FAILED, EXIT_USAGE, fail, settings_or_exit

T = TypeVar("T")
RestUrlOption = Annotated[
    str | None, typer.Option("--rest-url", help="Camunda REST API base URL (default: PROCGOV_REST_URL or http://127.0.0.1:8080).")
]
KeyArgument = Annotated[str, typer.Argument(help="The user task's key (from `procgov tasks list`).")]
AsJson = Annotated[bool, typer.Option("--json", help="Plain JSON instead of text.")]
STATES = ("CREATED", "COMPLETED", "CANCELED", "CREATING", "ASSIGNING", "UPDATING", "COMPLETING", "CANCELING")
COLUMNS = ("key", "state", "process", "element", "assignee", "candidate groups", "instance")

app = typer.Typer(name="tasks", help="Search, show, assign and complete user tasks (Camunda REST API).",
                  no_args_is_help=True)


def _run(rest_url: str | None, action: Callable[[Any], Awaitable[T]]) -> T:
    from procgov.tasklist import TasklistError, tasklist
    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit(rest_url=rest_url)
    assert isinstance(settings, WorkerSettings)

    async def run() -> T:
        async with tasklist(settings) as tasks:
            return await action(tasks)

    try:
        return asyncio.run(run())
    except TasklistError as error:
        fail(str(error), EXIT_FAILED)


def _key(text: str) -> str:
    if not text.isdigit():
        fail(f"{text!r} is not a user task key (digits, from `procgov tasks list`)", EXIT_USAGE)
    return text


def table(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, never cut: a key stays whole at any terminal width."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def task_row(task: dict[str, Any]) -> list[str]:
    return [str(task["userTaskKey"]), str(task.get("state", "")), str(task.get("processDefinitionId", "")),
            str(task.get("elementId", "")), task.get("assignee") or "", ", ".join(task.get("candidateGroups") or []),
            str(task.get("processInstanceKey", ""))]


@app.command("list")
def list_tasks(
    assignee: Annotated[str | None, typer.Option(help="Only tasks assigned to this user.")] = None,
    group: Annotated[
        str | None, typer.Option("--group", "--candidate-group", help="Only tasks of this candidate group.")
    ] = None,
    process: Annotated[str | None, typer.Option(help="Only tasks of this BPMN process id.")] = None,
    state: Annotated[str, typer.Option(help=f"Task state: {', '.join(STATES)}, or 'all'.")] = "CREATED",
    limit: Annotated[int, typer.Option(min=1, help="At most this many tasks.")] = 1000,
    as_json: AsJson = False,
    rest_url: RestUrlOption = None,
) -> None:
    """Print the user tasks (open ones by default); searching locks none of them."""
    from procgov.tasklist import TaskFilter

    wanted = state.upper()
    if wanted != "ALL" and wanted not in STATES:
        fail(f"--state {state!r}: expected one of {', '.join(STATES)} or 'all'", EXIT_USAGE)
    where = TaskFilter(state=None if wanted == "ALL" else wanted, assignee=assignee, candidate_group=group,
                       process=process)
    tasks = _run(rest_url, lambda client: client.search(where, limit))
    if as_json:
        typer.echo(json.dumps(tasks, ensure_ascii=False, indent=2))
        return
    if tasks:
        for line in table([list(COLUMNS), *map(task_row, tasks)]):
            typer.echo(line)
    typer.echo(f"{len(tasks)} user task(s)" + (" open" if wanted == "CREATED" else ""))


async def _details(client: Any, key: str) -> dict[str, Any]:
    task, schema, variables = await asyncio.gather(client.get(key), client.form(key), client.variables(key))
    return {"task": task, "form": schema, "variables": variables}


def _field_lines(fields: Any, values: Any, indent: str = "  ") -> list[str]:
    from procgov.forms import value_at

    lines = []
    for f in fields:
        present, value = value_at(values if isinstance(values, dict) else {}, f.path)
        flags = [f.type] + (["required"] if f.required else []) + (["read-only"] if f.readonly else [])
        options = f" options: {', '.join(json.dumps(o, ensure_ascii=False) for o in f.options)}" if f.options else ""
        if f.type == "dynamiclist":
            entries = value if isinstance(value, list) else []
            lines.append(f"{indent}{f.name} ({', '.join(flags)}) {f.label}: {len(entries)} entries")
            for index, item in enumerate(entries, start=1):
                lines.append(f"{indent}  [{index}]")
                lines += _field_lines(f.items, item, indent + "    ")
            continue
        shown = json.dumps(value, ensure_ascii=False) if present else "(not set)"
        lines.append(f"{indent}{f.name} ({', '.join(flags)}) {f.label}{options} = {shown}")
    return lines


@app.command("show")
def show(key: KeyArgument, as_json: AsJson = False, rest_url: RestUrlOption = None) -> None:
    """Print user task KEY: who it is for, and its form's fields with their current values."""
    from procgov.forms import FormSchemaError, parse_form

    details = _run(rest_url, lambda client: _details(client, _key(key)))
    task, schema, variables = details["task"], details["form"], details["variables"]
    form = None
    if schema is not None:
        try:
            form = parse_form(schema)
        except FormSchemaError as error:
            fail(f"user task {key}: its form cannot be read: {error}", EXIT_FAILED)
    if as_json:
        fields = []
        if form is not None:
            from procgov.forms import value_at

            for f in form.fields:
                present, value = value_at(variables, f.path)
                fields.append({"name": f.name, "type": f.type, "label": f.label, "required": f.required,
                               "options": list(f.options) if f.options is not None else None,
                               "value": value if present else None, "set": present})
        typer.echo(json.dumps({"task": task, "formId": form.id if form else None, "fields": fields,
                               "variables": variables}, ensure_ascii=False, indent=2))
        return
    typer.echo(f"user task {task['userTaskKey']}: {task.get('name') or task.get('elementId')} [{task.get('state')}]")
    typer.echo(f"  process {task.get('processDefinitionId')}, instance {task.get('processInstanceKey')}, "
               f"element {task.get('elementId')}")
    typer.echo(f"  assignee: {task.get('assignee') or '(none)'}; candidate groups: "
               f"{', '.join(task.get('candidateGroups') or []) or '(none)'}; candidate users: "
               f"{', '.join(task.get('candidateUsers') or []) or '(none)'}")
    for label, name in (("due", "dueDate"), ("follow-up", "followUpDate")):
        if task.get(name):
            typer.echo(f"  {label}: {task[name]}")
    if form is None:
        typer.echo("  no linked form (a completion's variables are not checked)")
        return
    typer.echo(f"form {form.id}:")
    for line in _field_lines(form.fields, variables):
        typer.echo(line)


@app.command("assign")
def assign(
    key: KeyArgument,
    assignee: Annotated[str, typer.Argument(help="The user who takes the task.")],
    no_override: Annotated[bool, typer.Option("--no-override", help="Refuse if someone already has it.")] = False,
    rest_url: RestUrlOption = None,
) -> None:
    """Assign user task KEY to ASSIGNEE."""
    if not assignee.strip():
        fail("the assignee must not be empty", EXIT_USAGE)
    _run(rest_url, lambda client: client.assign(_key(key), assignee, allow_override=not no_override))
    typer.echo(f"assigned user task {key} to {assignee}")


@app.command("unassign")
def unassign(key: KeyArgument, rest_url: RestUrlOption = None) -> None:
    """Take the assignee off user task KEY."""
    _run(rest_url, lambda client: client.unassign(_key(key)))
    typer.echo(f"unassigned user task {key}")


@app.command("complete")
def complete(
    key: KeyArgument,
    var: VarOption = None,
    json_file: JsonOption = None,
    action: Annotated[
        str | None, typer.Option(help="The completion's action, recorded on the task (default: complete).")
    ] = None,
    rest_url: RestUrlOption = None,
) -> None:
    """Complete user task KEY with variables, after checking them against its linked form."""
    from procgov.forms import FormSchemaError, check_completion, parse_form, submission

    given = _variables(var, json_file)
    the_key = _key(key)

    async def run(client: Any) -> str:
        schema, current = await asyncio.gather(client.form(the_key), client.variables(the_key))
        variables = given
        if schema is not None:
            try:
                form = parse_form(schema)
            except FormSchemaError as error:
                fail(f"user task {key}: its form cannot be read: {error}", EXIT_FAILED)
            problems = check_completion(form, given, current)
            if problems:
                fail(f"user task {key} not completed; the variables do not fit its form {form.id!r}:\n  "
                     + "\n  ".join(problems) + f"\n(fields: {', '.join(form.names())}; see: procgov tasks show {key})",
                     EXIT_USAGE)
            variables = submission(form, given, current)
        await client.complete(the_key, variables, action)
        return "" if schema is not None else " (no linked form: variables not checked)"

    note = _run(rest_url, run)
    typer.echo(f"completed user task {key}{note}")


def register(root: typer.Typer) -> None:
    root.add_typer(app)
