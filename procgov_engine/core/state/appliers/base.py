"""What the applier classes share: the state, the command's scratch (scratch.py) and three helpers that
change the state the same way for several value types (a due date, a job's activatability)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from procgov_engine.core.state import JOB_ACTIVATABLE, DeployedProcess, EngineState, Job
from procgov_engine.core.state.appliers.scratch import CommandScratch
from procgov_engine.model.bpmn import Element

Applier = Callable[[int, dict[str, Any]], None]
AppliersTable = dict[tuple[str, str], Applier]


class Appliers:
    """The appliers of some value types: :meth:`appliers` is their part of the table
    (:class:`EventAppliers` joins the parts), ``KEY_ONLY`` the events of it whose appliers read only the
    event's key (the fold does not parse these events' JSON)."""

    KEY_ONLY: frozenset[tuple[str, str]] = frozenset()

    def __init__(self, state: EngineState, scratch: CommandScratch) -> None:
        self.state = state
        self.scratch = scratch

    def appliers(self) -> AppliersTable:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------
    def add_due(self, due: int, kind: str, key: int) -> None:
        """A time-driven command's due date: (due, sequence, kind, key) on the heap (see behaviours/due.py)."""
        state = self.state
        state.due_seq += 1
        heapq.heappush(state.due, (due, state.due_seq, kind, key))
        self.scratch.on_due_added(due)

    # -- JOB (jobs and their incidents) ------------------------------------------------------------
    def _make_activatable(self, job: Job) -> None:
        job.state = JOB_ACTIVATABLE
        job.deadline = -1
        job.worker = ""
        self.state.activatable.setdefault(job.type, {})[job.key] = job
        self.scratch.on_jobs_available(job.type)

    def _leave_activatable(self, job: Job) -> None:
        bucket = self.state.activatable.get(job.type)
        if bucket is not None:
            bucket.pop(job.key, None)

    # -- an element of a deployed process, by id (timers, message and signal subscriptions) -------
    def _element(self, process: DeployedProcess, element_id: str) -> Element:
        model = process.model
        return model.root if element_id == model.root.id else model.elements[element_id]
