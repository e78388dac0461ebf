"""What every behaviour works with: the record writer, the engine state, the queue of follow-up work and
the engine's notification hooks."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from typing import Any, NoReturn

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.core.records import RecordWriter
from procgov_engine.core.state import ElementInstance, EngineState
from procgov_engine.core.state.appliers import EventAppliers
from procgov_engine.model.bpmn import Element


class StepFailure(Exception):
    """A step of an element instance failed on data; becomes an incident of ``error_type``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def instance_tags(inst: ElementInstance | None) -> dict[str, list[str]]:
    """``{"tags": [...]}`` for the records of an element of a tagged process instance (Camunda 8.8:
    PROCESS_INSTANCE, JOB and USER_TASK records carry their instance's tags), ``{}`` for an untagged one, so
    that the records of untagged instances stay as they were (readers take a missing ``tags`` as ``[]``)."""
    while inst is not None and inst.flow_scope is not None:
        inst = inst.flow_scope
    return {"tags": list(inst.tags)} if inst is not None and inst.tags else {}


def reject(kind: RejectionType, reason: str) -> Rejection:
    return Rejection(kind, reason)


class EngineHooks:
    """Notifications to the Engine (wake job waiters, reschedule the due timer, answer create-with-result);
    replaced by the Engine after construction, no-ops until then."""

    def __init__(self) -> None:
        self.on_jobs_available: Callable[[str], None] = lambda job_type: None
        self.on_due_added: Callable[[int], None] = lambda due: None
        self.on_process_ended: Callable[[ElementInstance, dict[str, Any] | None], None] = lambda inst, v: None
        # a user task command's transition ended (None) or was denied or cut short (its rejection)
        self.on_user_task_done: Callable[[int, Rejection | None], None] = lambda key, rejection: None


class ProcessingContext:
    """The writer, the state and the follow-up queue of one partition (single-threaded).

    Follow-up work (activating the target of a taken sequence flow, correlating a buffered message) is
    queued and drained in order before the command returns, like Zeebe's follow-up commands on its log.
    """

    def __init__(self, writer: RecordWriter, state: EngineState, hooks: EngineHooks, appliers: EventAppliers) -> None:
        self.w = writer
        self.state = state
        self.appliers = appliers  # what processing may ask them: the message just published
        self.hooks = hooks
        self.queue: deque[Callable[[], None]] = deque()
        self.pending_inclusive: set[int] = set()  # scopes whose inclusive joins must be checked
        # Tokens within the command (all gone when it ends, so no state): per scope key the tokens on
        # their way (queued arrivals), per (scope key, joining gateway id, flow id) those on their way to a
        # join, and per scope key the epoch its interruptions bumped (queued arrivals of an older one are void)
        self.in_transit: dict[int, int] = {}
        self.arriving: dict[tuple[int, str, str], int] = {}
        self.epochs: dict[int, int] = {}
        # an event for a catch element happened for an element instance (EventTriggers.trigger); bound by
        # the wiring (engine/core/processing) once the event behaviour exists, since subscriptions, which
        # sit below it, correlate buffered messages
        self.trigger: Callable[[ElementInstance, Element, dict[str, Any] | None], None] = _unbound

    def interrupt(self, scope_key: int) -> None:
        """The tokens of a scope are dropped: its queued arrivals are void from now on."""
        self.in_transit.pop(scope_key, None)
        self.epochs[scope_key] = self.epochs.get(scope_key, 0) + 1
        for arriving in [a for a in self.arriving if a[0] == scope_key]:
            del self.arriving[arriving]

    def end_command(self) -> None:
        self.in_transit.clear()
        self.arriving.clear()
        self.epochs.clear()

    def feel_clock(self) -> dt.datetime:
        """FEEL's now(): the command's timestamp, so that replay evaluates exactly as the original run."""
        return dt.datetime.fromtimestamp(self.w.now / 1000, dt.UTC)

    def reject_command(
        self, value_type: str, intent: str, value: dict[str, Any], kind: RejectionType, reason: str
    ) -> NoReturn:
        """Write the command's rejection record and answer the client with it."""
        self.w.rejection(value_type, intent, -1, value, kind.value, reason)
        raise reject(kind, reason)


def _unbound(inst: ElementInstance, catch: Element, variables: dict[str, Any] | None) -> None:
    raise RuntimeError(
        "ProcessingContext.trigger is not bound: build the engine through procgov_engine.core.processing"
    )
