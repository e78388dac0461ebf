"""People doing their user tasks in tests, over Camunda's REST API, as Tasklist does for them.

:func:`rest_api` serves the Orchestration Cluster REST API on a test's embedded engine (a free loopback
port, the same engine state as its gRPC gateway). :class:`People` finds a user task by instance and
element (a search, which locks nothing), reads the variables the task sees (what the person's form is
prefilled with, recorded for the form tests) and completes it (``POST /v2/user-tasks/{key}/completion``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from engine.testing.embedded import EmbeddedEngine
from procgov.tasklist import TaskFilter, Tasklist
from tests.forms.recording import record_user_task


@asynccontextmanager
async def rest_api(zeebe: EmbeddedEngine) -> AsyncIterator[str]:
    """The REST API's base URL (``http://127.0.0.1:PORT``) on ``zeebe``'s engine, for one block."""
    from engine.rest import RestServer

    rest = RestServer("127.0.0.1", 0)
    await rest.start(zeebe.engine)
    try:
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

    async def complete(self, element_id: str, instance_key: int,
                       variables: Mapping[str, Any] | None = None) -> UserTask:
        """Complete the user task at ``element_id``; returns it (its variables are what the person saw)."""
        task = await self.task(element_id, instance_key)
        await self.tasklist.complete(task.key, dict(variables or {}))
        return task


@asynccontextmanager
async def people(zeebe: EmbeddedEngine) -> AsyncIterator[People]:
    async with rest_api(zeebe) as url:
        crowd = People(url)
        try:
            yield crowd
        finally:
            await crowd.close()
