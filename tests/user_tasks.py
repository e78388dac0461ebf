"""People doing their user tasks in tests, over Camunda's REST API, as Tasklist does for them.

:func:`rest_api` serves the Orchestration Cluster REST API on a test's embedded engine (a free loopback
port, the same engine state as its gRPC gateway). :class:`People` finds a user task by instance and
element (a search, which locks nothing), reads the variables the task sees (what the person's form is
prefilled with, recorded for the form tests) and completes it (``POST /v2/user-tasks/{key}/completion``).

Every user task of bpmn/ carries the user task guard's listeners (tools/task_listeners.py), so a
completion waits for ``audit.guard-user-task``: :func:`rest_api` runs the guard (workers/audit/guard.py,
the shipped rule table and directory, the embedded engine's records) beside the REST API. As in
Tasklist, a person claims a candidate-group task before completing it (the guard denies a guarded task
completed unassigned, "claim it first"): :meth:`People.complete` claims the planning office's tasks for
its head, whom none of them fines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from procgov.demo.runner import PLANNING_OFFICE
from procgov.tasklist import TaskFilter, Tasklist
from procgov_engine.testing.embedded import EmbeddedEngine
from tests.forms.recording import record_user_task
from workers.audit.guard import GuardSettings, guard_running
from workers.audit.router import AuditSettings
from workers.runtime.settings import load_settings

#: Who claims a candidate group's unassigned task before completing it (the guard's rule table names
#: who may complete each task; a group not listed here completes unclaimed, e.g. the annual review's).
CLAIMED_BY = {"planning-office": PLANNING_OFFICE}


@asynccontextmanager
async def rest_api(zeebe: EmbeddedEngine, *, guarded: bool = True) -> AsyncIterator[str]:
    """The REST API's base URL (``http://127.0.0.1:PORT``) on ``zeebe``'s engine, for one block; with
    ``guarded``, the user task guard answers the listeners of its user tasks meanwhile."""
    from procgov_engine.rest import RestServer

    rest = RestServer("127.0.0.1", 0)
    await rest.start(zeebe.engine)
    try:
        if not guarded:
            yield rest.address
            return
        settings = load_settings(rest_url=rest.address, worker_name="tests-guard",
                                 retry={"base_ms": 200, "max_ms": 500, "budget_ms": 0})
        async with guard_running(settings, GuardSettings(poll_ms=500), AuditSettings(data_dir=zeebe.data_dir)):
            yield rest.address
    finally:
        await rest.stop()


@dataclass(frozen=True)
class UserTask:
    """An open user task as a person sees it: the task (REST ``UserTaskResult``) and its variables."""

    task: dict[str, Any]
    variables: dict[str, Any]

    @property
    def key(self) -> str:
        return str(self.task["userTaskKey"])

    @property
    def element_id(self) -> str:
        return str(self.task["elementId"])

    @property
    def process_instance_key(self) -> int:
        return int(self.task["processInstanceKey"])

    @property
    def assignee(self) -> str | None:
        value = self.task.get("assignee")
        return str(value) if value else None


class People:
    """The humans of a test, each completing the user tasks that open for them."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.tasklist = Tasklist(self._http, base_url)

    async def close(self) -> None:
        await self._http.aclose()

    async def open_tasks(self, **where: Any) -> list[dict[str, Any]]:
        return await self.tasklist.search(TaskFilter(state="CREATED", **where))

    async def seen(self, task: dict[str, Any]) -> UserTask:
        """The task with the variables it sees, recorded for the form tests."""
        variables = await self.tasklist.variables(task["userTaskKey"])
        record_user_task(str(task["processDefinitionId"]), str(task["elementId"]), variables)
        return UserTask(task, variables)

    async def task(self, element_id: str, instance_key: int, timeout_s: float = 20.0) -> UserTask:
        """Wait for the open user task at ``element_id`` of instance ``instance_key``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            found = await self.open_tasks(element_id=element_id, process_instance_key=instance_key)
            if found:
                return await self.seen(found[0])
            if loop.time() > deadline:
                others = sorted(f"{t['processInstanceKey']}/{t['elementId']}" for t in await self.open_tasks())
                raise TimeoutError(f"user task {element_id!r} of instance {instance_key} did not open "
                                   f"(open: {', '.join(others) or 'none'})")
            await asyncio.sleep(0.05)

    async def claim(self, task: Mapping[str, Any]) -> None:
        """Claim an unassigned candidate-group task for the person :data:`CLAIMED_BY` names, as Tasklist's
        "Assign to me" does before completing."""
        if task.get("assignee"):
            return
        claimer = next((CLAIMED_BY[g] for g in task.get("candidateGroups") or () if g in CLAIMED_BY), None)
        if claimer is not None:
            await self.tasklist.assign(task["userTaskKey"], claimer)

    async def complete_task(self, task: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
        """Claim (if a candidate group's) and complete one task."""
        await self.claim(task)
        await self.tasklist.complete(task["userTaskKey"], dict(variables))

    async def complete(self, element_id: str, instance_key: int,
                       variables: Mapping[str, Any] | None = None) -> UserTask:
        """Complete the user task at ``element_id``; returns it (its variables are what the person saw)."""
        task = await self.task(element_id, instance_key)
        await self.complete_task(task.task, variables or {})
        return task


@asynccontextmanager
async def people(zeebe: EmbeddedEngine) -> AsyncIterator[People]:
    async with rest_api(zeebe) as url:
        crowd = People(url)
        try:
            yield crowd
        finally:
            await crowd.close()
