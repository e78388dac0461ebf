"""Waiting assertions on one process instance, in the spirit of Camunda Process Test's ``assertThat``.

They poll the engine's read-only query views (``engine.query``, folded from the record log after the
engine commits what is pending) at short, growing intervals until the condition holds or the timeout
passes. A failure message shows what the instance is doing (state, active elements, open incidents,
variables), so a failing test explains itself.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from procgov_engine.core.query import ElementInstanceView, IncidentView, ProcessInstanceView

DEFAULT_TIMEOUT_S = 10.0

T = TypeVar("T")


class InstanceViews(Protocol):
    """The read side the assertions poll: the embedded engine's ``Query``, or an external engine's
    (:mod:`procgov_engine.testing.external`: Camunda's REST search, a procgov engine's exported records)."""

    def process_instance(self, key: int) -> ProcessInstanceView | None: ...

    def element_instances(self, process_instance_key: int) -> list[ElementInstanceView]: ...

    def incidents(self, process_instance_key: int, *, active_only: bool = False) -> list[IncidentView]: ...

    def instance_variables(self, process_instance_key: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class InstanceSnapshot:
    """What one instance looks like at one moment, as the engine's query views report it."""

    process_instance_key: int
    state: str  # "ACTIVE" | "COMPLETED" | "TERMINATED" | "" (unknown key)
    active_elements: list[str]
    passed_elements: set[str]
    incidents: list[IncidentView]
    variables: dict[str, Any]

    @classmethod
    def read(cls, query: InstanceViews, key: int) -> InstanceSnapshot:
        instance = query.process_instance(key)
        elements = query.element_instances(key) if instance is not None else []
        return cls(
            process_instance_key=key,
            state=instance.state if instance is not None else "",
            active_elements=[e.element_id for e in elements if e.state == "ELEMENT_ACTIVATED"],
            passed_elements={e.element_id for e in elements if e.state == "ELEMENT_COMPLETED"},
            incidents=query.incidents(key, active_only=True) if instance is not None else [],
            variables=query.instance_variables(key) if instance is not None else {},
        )

    @property
    def completed(self) -> bool:
        return self.state == "COMPLETED"

    @property
    def terminated(self) -> bool:
        return self.state == "TERMINATED"

    def describe(self) -> str:
        incidents = [f"{i.element_id}: {i.error_type}: {i.error_message}" for i in self.incidents]
        return (
            f"process instance {self.process_instance_key}: {self.state or 'not found (unknown key?)'}\n"
            f"  active elements: {self.active_elements}\n"
            f"  completed elements: {sorted(self.passed_elements)}\n"
            f"  open incidents: {incidents}\n"
            f"  variables: {json.dumps(self.variables, ensure_ascii=False, sort_keys=True, default=str)}"
        )


def read_records(db_path: Path, process_instance_key: int | None = None) -> list[dict[str, Any]]:
    """Records of an engine's log file in position order (of one instance, if a key is given).

    For logs of engines that run elsewhere (a subprocess, a finished run): opens ``records.db``
    read-only, as audit does (docs/contracts.md, Records). In-process, prefer ``EmbeddedEngine.records()``.
    """
    if not db_path.exists():
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if process_instance_key is None:
            rows = db.execute("SELECT json FROM records ORDER BY position").fetchall()
        else:
            rows = db.execute(
                "SELECT json FROM records WHERE process_instance_key = ? ORDER BY position", (process_instance_key,)
            ).fetchall()
    finally:
        db.close()
    return [json.loads(doc) for (doc,) in rows]


class InstanceAssert:
    """Waiting assertions on one process instance; obtained from ``EmbeddedEngine.instance(key)``.

    ``query`` is called for every poll, so the assertion keeps working across ``EmbeddedEngine.restart()``.
    """

    def __init__(
        self, query: Callable[[], InstanceViews], process_instance_key: int, timeout_s: float = DEFAULT_TIMEOUT_S
    ):
        self._query = query
        self.key = process_instance_key
        self.timeout_s = timeout_s

    def snapshot(self) -> InstanceSnapshot:
        return InstanceSnapshot.read(self._query(), self.key)

    state = snapshot  # the name the first version of this API used

    def variables(self) -> dict[str, Any]:
        """The instance's process-level (root scope) variables now."""
        return self._query().instance_variables(self.key)

    async def _wait(self, what: str, check: Callable[[InstanceSnapshot], T | None], timeout_s: float | None) -> T:
        limit = timeout_s if timeout_s is not None else self.timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        delay = 0.002
        while True:
            snapshot = self.snapshot()
            result = check(snapshot)
            if result is not None:
                return result
            if loop.time() >= deadline:
                raise AssertionError(f"expected {what} within {limit:g} s, but:\n{snapshot.describe()}")
            await asyncio.sleep(delay)  # lets the engine (same loop) process; polls fast, then every 50 ms
            delay = min(delay * 2, 0.05)

    async def wait_completed(self, timeout_s: float | None = None) -> None:
        await self._wait("the instance to complete", lambda s: True if s.state == "COMPLETED" else None, timeout_s)

    async def wait_terminated(self, timeout_s: float | None = None) -> None:
        await self._wait(
            "the instance to be terminated", lambda s: True if s.state == "TERMINATED" else None, timeout_s
        )

    async def wait_element_passed(self, element_id: str, timeout_s: float | None = None) -> None:
        await self._wait(
            f"element {element_id!r} to be completed",
            lambda s: True if element_id in s.passed_elements else None,
            timeout_s,
        )

    async def wait_element_active(self, element_id: str, timeout_s: float | None = None) -> None:
        await self._wait(
            f"element {element_id!r} to be active",
            lambda s: True if element_id in s.active_elements else None,
            timeout_s,
        )

    async def wait_incident(self, message_contains: str | None = None, timeout_s: float | None = None) -> IncidentView:
        """Wait for an open incident (whose message contains ``message_contains``, if given) and return it."""

        def matching(snapshot: InstanceSnapshot) -> IncidentView | None:
            for incident in snapshot.incidents:
                if message_contains is None or message_contains in incident.error_message:
                    return incident
            return None

        what = "an incident" + (f" with a message containing {message_contains!r}" if message_contains else "")
        return await self._wait(what, matching, timeout_s)
