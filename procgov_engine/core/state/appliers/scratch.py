"""What an event hands to the next events of the same command, which its record does not carry.

The appliers of one partition share one :class:`CommandScratch`; it is not state (a snapshot does not hold
it) and is emptied by every command record (:meth:`CommandScratch.command`) and at the end of the fold on
open (:meth:`CommandScratch.opened`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from procgov_engine.core.state import Message
from procgov_engine.model.bpmn import Element


def _no_jobs_hook(job_type: str) -> None:
    pass


def _no_due_hook(due: int) -> None:
    pass


@dataclass(eq=False, slots=True)
class CommandScratch:
    """Why it exists: an applier reads only its event (key and value, as exported) and the state, but some
    events of one command mean something only together: the trigger of a correlation, a thrown error or a
    fired timer is for the element the command activates or completes next; a broadcast signal triggers
    catches that have no record each; a message start correlation's key is taken by the instance the next
    root activation starts. Processing sets the same values itself; the fold needs them for an element that
    waits (an incident, a listener) with them. Every field says which applier sets it and which reads it.

    ``on_jobs_available`` and ``on_due_added`` tell the engine that a job type became activatable and that
    a due date was added (set by the wiring through :class:`EventAppliers`)."""

    on_jobs_available: Callable[[str], None] = _no_jobs_hook
    on_due_added: Callable[[int], None] = _no_due_hook
    # jobs → jobs, incidents: the job of the last ERROR_THROWN, until its ERROR or INCIDENT event
    thrown_job: int = 0
    # jobs: the variables of the last ERROR_THROWN, for the trigger of its ERROR event
    thrown_variables: dict[str, Any] | None = None
    # What an event trigger hands to the element it activates or completes (the element's temporary
    # variables, which go through its output mappings): (catch element id, variables) of the last
    # correlation, thrown error or fired timer (messages, jobs, timers, signals → elements); the
    # event-based gateway (scope key, gateway id) that just completed because one of its events fired
    # (elements → elements).
    trigger: tuple[str, dict[str, Any] | None] | None = None
    gateway_left: tuple[int, str] | None = None
    # signals → elements: the variables and name of the signal broadcast in this command
    signal: dict[str, Any] | None = None
    signal_name: str = ""
    # signals → elements: owner key → the interrupting event sub-process start whose subscription to the
    # broadcast signal was closed in this command (its scope's children are terminated next)
    signal_closed: dict[int, str] = field(default_factory=dict)
    # messages → elements: a message start event's correlation key, taken by the instance the next root
    # activation starts
    starting: tuple[str, str] | None = None
    # timers, messages, signals → elements: where the next process instance starts (a start event that
    # fired: element id or, for a signal, the signal's name, and the start variables); elements →
    # incidents: where the last one started (an incident on its activation retries from there)
    start: tuple[str, str, dict[str, Any] | None] | None = None
    root_started: tuple[int, list[Element], dict[str, Any] | None] | None = None
    # elements → elements: the compensation throw event whose handlers are being activated
    compensation_throw: int = 0
    # messages → messages (and processing, through EventAppliers.message): the message of the last
    # PUBLISHED event; one without a time to live is not in the state, but its correlations (in the same
    # command) still mark it correlated per process
    published: Message | None = None
    # processing → deployments: resource bytes → its parsed model, handed over by the deployment processor
    # (which parsed it to validate it) for the deployment's events; rebuilding the state from the log
    # parses again
    parsed: dict[bytes, Any] = field(default_factory=dict)
    # elements → processing: the message start correlation keys the process instance that ended last held
    freed_start_keys: list[tuple[str, str]] = field(default_factory=list)

    def command(self) -> None:
        """A command record was written (or folded): what the previous command's events left pending goes."""
        self.start = None
        self.root_started = None
        self.trigger = None
        self.thrown_variables = None
        self.gateway_left = None
        self.signal = None
        self.signal_name = ""
        self.signal_closed = {}

    def opened(self) -> None:
        """The fold on open ended: nothing of a command is pending any more."""
        self.command()
        self.parsed.clear()
        self.published = None
        self.thrown_job = 0
        self.starting = None
        self.compensation_throw = 0
