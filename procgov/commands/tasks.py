"""``procgov tasks``: job-based user tasks (job type ``io.camunda.zeebe:userTask``) from the terminal.

``list`` activates the open user tasks with a short job timeout and prints them; it does not keep
them: after the timeout they are activatable again (for Tasklist, or the next ``list``).
``complete`` sends CompleteJob with the variables.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from procgov.commands.instances import GatewayOption, JsonOption, VarOption, _variables
from procgov.commands.workers import EXIT_FAILED, fail, settings_or_exit

USER_TASK_TYPE = "io.camunda.zeebe:userTask"
HEADER_ASSIGNEE = "io.camunda.zeebe:assignee"
HEADER_CANDIDATE_GROUPS = "io.camunda.zeebe:candidateGroups"
HEADER_CANDIDATE_USERS = "io.camunda.zeebe:candidateUsers"
HEADER_FORM_KEY = "io.camunda.zeebe:formKey"
HEADER_DUE_DATE = "io.camunda.zeebe:dueDate"

app = typer.Typer(name="tasks", help="List and complete user tasks (job-based user tasks).", no_args_is_help=True)


def describe_user_task(job: Any) -> dict[str, Any]:
    headers = dict(job.custom_headers or {})
    return {
        "key": job.key,
        "processInstanceKey": job.process_instance_key,
        "bpmnProcessId": job.bpmn_process_id,
        "elementId": job.element_id,
        "assignee": headers.get(HEADER_ASSIGNEE, ""),
        "candidateGroups": headers.get(HEADER_CANDIDATE_GROUPS, ""),
        "formKey": headers.get(HEADER_FORM_KEY, ""),
        "dueDate": headers.get(HEADER_DUE_DATE, ""),
        "variables": dict(job.variables),
    }


@app.command("list")
def list_tasks(
    timeout: Annotated[int, typer.Option(help="Seconds the listed tasks stay hidden from others.")] = 10,
    limit: Annotated[int, typer.Option(help="At most this many tasks.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per task (with variables).")] = False,
    worker: Annotated[str, typer.Option(help="Worker name shown as the tasks' activator.")] = "procgov-cli",
    gateway: GatewayOption = None,
) -> None:
    """Print the open user tasks: key, process, element, assignee, form."""
    from rich.console import Console
    from rich.table import Table

    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit(gateway_address=gateway)
    assert isinstance(settings, WorkerSettings)
    tasks = asyncio.run(_activate(settings, timeout * 1000, limit, worker))
    if as_json:
        for task in tasks:
            typer.echo(json.dumps(task, ensure_ascii=False))
        return
    table = Table("key", "process instance", "process", "element", "assignee", "candidate groups", "form")
    for task in tasks:
        table.add_row(
            str(task["key"]),
            str(task["processInstanceKey"]),
            task["bpmnProcessId"],
            task["elementId"],
            task["assignee"],
            task["candidateGroups"],
            task["formKey"],
        )
    Console().print(table)
    typer.echo(f"{len(tasks)} open user task(s); listed tasks return after {timeout}s")


async def _activate(settings: Any, timeout_ms: int, limit: int, worker: str) -> list[dict[str, Any]]:
    from workers.runtime.client import describe_gateway_error, gateway

    try:
        async with gateway(settings) as (_client, jobs):
            found = []
            async for job in jobs.activate_jobs(
                task_type=USER_TASK_TYPE,
                worker=worker,
                timeout=timeout_ms,
                max_jobs_to_activate=limit,
                variables_to_fetch=[],
                request_timeout=500,
            ):
                found.append(describe_user_task(job))
            return found
    except Exception as error:
        fail(describe_gateway_error(error, settings.gateway_address), EXIT_FAILED)


@app.command("complete")
def complete(
    key: Annotated[int, typer.Argument(help="The user task's job key (from `procgov tasks list`).")],
    var: VarOption = None,
    json_file: JsonOption = None,
    gateway: GatewayOption = None,
) -> None:
    """Complete user task KEY with variables."""
    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit(gateway_address=gateway)
    assert isinstance(settings, WorkerSettings)
    variables = _variables(var, json_file)
    asyncio.run(_complete(settings, key, variables))
    typer.echo(f"completed user task {key}")


async def _complete(settings: Any, key: int, variables: dict[str, Any]) -> None:
    from workers.runtime.client import describe_gateway_error, gateway

    try:
        async with gateway(settings) as (_client, jobs):
            await jobs.complete_job(job_key=key, variables=variables)
    except Exception as error:
        fail(describe_gateway_error(error, settings.gateway_address), EXIT_FAILED)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
