"""Event appliers: the code that changes :class:`EngineState`, one applier per event (value type + intent).

Zeebe's shape (``zeebe/engine/.../state/appliers``): processors and behaviours decide and write events;
the record writer hands every event it writes to :meth:`EventAppliers.apply`, and the applier of that
event changes the state. An applier reads only the event's key and value (the record as it is exported)
and the state before it, so the same appliers can rebuild the state from the logged events.

What a record does not carry is derived here from the state and the event (e.g. a job's element instance
from ``elementInstanceKey``, which job an ``ERROR`` event consumed). Appliers never write records and never
evaluate expressions.

One module per family of value types (``variables``, ``jobs``, ``incidents``, ``elements``,
``deployments``, ``user_tasks``, ``timers``, ``messages``, ``signals``, ``decisions``, ``clock``), each an
:class:`~procgov_engine.core.state.appliers.base.Appliers` class with its part of the table. What one
event of a command hands to the next ones (a trigger, a broadcast signal, a start) is the one
:class:`~procgov_engine.core.state.appliers.scratch.CommandScratch` they share; this module joins the
parts into :attr:`EventAppliers.table`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from procgov_engine.core.state import EngineState, Message
from procgov_engine.core.state.appliers.base import Applier, Appliers
from procgov_engine.core.state.appliers.clock import ClockAppliers
from procgov_engine.core.state.appliers.decisions import DecisionAppliers
from procgov_engine.core.state.appliers.deployments import DeploymentAppliers
from procgov_engine.core.state.appliers.elements import ElementAppliers, compensation_choice
from procgov_engine.core.state.appliers.incidents import USER_TASK_LISTENER_STEP, IncidentAppliers
from procgov_engine.core.state.appliers.jobs import JobAppliers
from procgov_engine.core.state.appliers.messages import MessageAppliers
from procgov_engine.core.state.appliers.scratch import CommandScratch
from procgov_engine.core.state.appliers.signals import SignalAppliers
from procgov_engine.core.state.appliers.timers import TimerAppliers
from procgov_engine.core.state.appliers.user_tasks import UserTaskAppliers
from procgov_engine.core.state.appliers.variables import VariableAppliers

__all__ = ["USER_TASK_LISTENER_STEP", "Applier", "CommandScratch", "EventAppliers", "compensation_choice"]

_PARTS: tuple[type[Appliers], ...] = (
    VariableAppliers,
    JobAppliers,
    IncidentAppliers,
    ElementAppliers,
    DeploymentAppliers,
    UserTaskAppliers,
    TimerAppliers,
    MessageAppliers,
    SignalAppliers,
    DecisionAppliers,
    ClockAppliers,
)


class EventAppliers:
    """The applier table of one partition's state. ``on_jobs_available`` and ``on_due_added`` tell the
    engine that a job type became activatable and that a due date was added (set by the wiring).

    ``table`` holds the bound appliers of the parts themselves, so dispatching an event is one dict
    lookup and one call; ``command`` and ``opened`` are the scratch's own (bound) methods."""

    # the appliers that read only the event's key: the fold does not parse these events' JSON
    KEY_ONLY: frozenset[tuple[str, str]] = frozenset().union(*(part.KEY_ONLY for part in _PARTS))

    def __init__(self, state: EngineState) -> None:
        self.state = state
        self.scratch = scratch = CommandScratch()
        parts = [part(state, scratch) for part in _PARTS]
        self.table: dict[tuple[str, str], Applier] = {}
        for part in parts:
            appliers = part.appliers()
            assert not appliers.keys() & self.table.keys(), "an event has one applier"
            self.table.update(appliers)
        messages = next(p for p in parts if isinstance(p, MessageAppliers))
        # what processing may ask: the message ``key``, buffered or just published without a time to live
        self.message: Callable[[int], Message | None] = messages.message
        # a command record was written (or folded): what the previous command's events left pending goes
        self.command: Callable[[], None] = scratch.command
        # the fold on open ended: nothing of a command is pending any more
        self.opened: Callable[[], None] = scratch.opened

    def apply(self, value_type: str, intent: str, key: int, value: dict[str, Any]) -> None:
        applier = self.table.get((value_type, intent))
        if applier is not None:
            applier(key, value)

    # -- what the wiring and processing set or read of the scratch ---------------------------------
    @property
    def on_jobs_available(self) -> Callable[[str], None]:
        return self.scratch.on_jobs_available

    @on_jobs_available.setter
    def on_jobs_available(self, hook: Callable[[str], None]) -> None:
        self.scratch.on_jobs_available = hook

    @property
    def on_due_added(self) -> Callable[[int], None]:
        return self.scratch.on_due_added

    @on_due_added.setter
    def on_due_added(self, hook: Callable[[int], None]) -> None:
        self.scratch.on_due_added = hook

    @property
    def parsed(self) -> dict[bytes, Any]:
        """Resource bytes → its parsed model, handed over by the deployment processor (scratch.py)."""
        return self.scratch.parsed

    @property
    def published(self) -> Message | None:
        return self.scratch.published

    @property
    def freed_start_keys(self) -> list[tuple[str, str]]:
        """The message start correlation keys the process instance that ended last held."""
        return self.scratch.freed_start_keys
