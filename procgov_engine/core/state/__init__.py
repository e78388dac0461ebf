"""The engine state: everything alive now, explicit and typed (history lives in the record log).

:class:`EngineState` is the only thing a snapshot holds (engine/core/snapshot.py). Its deployment part
(:data:`DEPLOYMENT_FIELDS`) is rebuilt from the deployment events instead, because parsed models hold
compiled FEEL; the runtime part refers to deployed processes and elements by identity. The event
appliers (``appliers/``) are the code that changes it: the state is the fold of the logged events.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from procgov_engine.core.state.model import (
    ACTIVATED,
    ACTIVATING,
    COMPLETED,
    COMPLETING,
    JOB_ACTIVATABLE,
    JOB_ACTIVATED,
    JOB_ERROR_THROWN,
    JOB_FAILED,
    MI_BODY,
    TERMINATED,
    TERMINATING,
    DeployedDecision,
    DeployedDrg,
    DeployedForm,
    DeployedProcess,
    ElementInstance,
    Incident,
    Job,
    Message,
    MessageSubscription,
    RetryStep,
    SignalSubscription,
    Timer,
    UserTask,
    UserTaskTransition,
    is_join,
)
from procgov_engine.model.bpmn import Element

__all__ = [
    "ACTIVATED",
    "ACTIVATING",
    "COMPLETED",
    "COMPLETING",
    "DEPLOYMENT_FIELDS",
    "JOB_ACTIVATABLE",
    "JOB_ACTIVATED",
    "JOB_ERROR_THROWN",
    "JOB_FAILED",
    "MI_BODY",
    "TERMINATED",
    "TERMINATING",
    "DeployedDecision",
    "DeployedDrg",
    "DeployedForm",
    "DeployedProcess",
    "ElementInstance",
    "EngineState",
    "Incident",
    "Job",
    "Message",
    "MessageSubscription",
    "RetryStep",
    "SignalSubscription",
    "Timer",
    "UserTask",
    "UserTaskTransition",
    "VariableState",
    "is_join",
]


@dataclass(eq=False, slots=True)
class VariableState:
    """The variables of every scope (element instance key): values and the key of each variable."""

    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class EngineState:
    """The whole engine state of one partition. Indexes (``*_by_*``, ``activatable``) are kept next to
    what they index by the behaviours that change both."""

    # deployments (rebuilt from the deploy commands, not snapshotted)
    processes_by_key: dict[int, DeployedProcess] = field(default_factory=dict)
    processes_by_id: dict[tuple[str, str], list[DeployedProcess]] = field(default_factory=dict)
    # deployment key → the version of each process id in that deployment (calledElement bindingType)
    processes_by_deployment: dict[int, dict[str, DeployedProcess]] = field(default_factory=dict)
    drgs_by_id: dict[tuple[str, str], list[DeployedDrg]] = field(default_factory=dict)
    decisions_by_id: dict[tuple[str, str], list[DeployedDecision]] = field(default_factory=dict)
    decisions_by_key: dict[int, DeployedDecision] = field(default_factory=dict)
    forms_by_id: dict[tuple[str, str], list[DeployedForm]] = field(default_factory=dict)
    # deployment key → the version of each (form id, tenant) in it (formDefinition bindingType "deployment")
    forms_by_deployment: dict[int, dict[tuple[str, str], DeployedForm]] = field(default_factory=dict)
    # element instances and their variables
    instances: dict[int, ElementInstance] = field(default_factory=dict)
    variables: VariableState = field(default_factory=VariableState)
    # jobs; ``activatable``: job type → jobs a worker may activate now, in creation order
    jobs: dict[int, Job] = field(default_factory=dict)
    activatable: dict[str, dict[int, Job]] = field(default_factory=dict)
    # timers, and the due dates of every time-driven command: (due, sequence, kind, key) as a heap
    timers: dict[int, Timer] = field(default_factory=dict)
    start_timers: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    due: list[tuple[int, int, str, int]] = field(default_factory=list)
    due_seq: int = 0
    # messages and message subscriptions
    messages: dict[int, Message] = field(default_factory=dict)
    messages_by_corr: dict[tuple[str, str, str], dict[int, Message]] = field(default_factory=dict)
    subscriptions: dict[int, MessageSubscription] = field(default_factory=dict)
    subs_by_corr: dict[tuple[str, str, str], dict[int, MessageSubscription]] = field(default_factory=dict)
    message_starts: dict[tuple[str, str], list[tuple[DeployedProcess, Element]]] = field(default_factory=dict)
    message_start_keys: dict[tuple[str, str], int] = field(default_factory=dict)  # (bpmn id, correlation) → root
    # signal subscriptions by signal name
    signal_subs: dict[str, dict[int, SignalSubscription]] = field(default_factory=dict)
    # incidents
    incidents: dict[int, Incident] = field(default_factory=dict)
    # Camunda user tasks by key, and the user task of each element instance that has one
    user_tasks: dict[int, UserTask] = field(default_factory=dict)
    user_task_of_instance: dict[int, int] = field(default_factory=dict)
    # the clock's pin (epoch ms) from CLOCK PINNED until RESETTED (Zeebe 8.8's ClockState); -1: not pinned
    clock_pin: int = -1

    def runtime(self) -> dict[str, Any]:
        """The snapshotted part: every field but the deployments."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in DEPLOYMENT_FIELDS}

    def restore_runtime(self, runtime: dict[str, Any]) -> None:
        """Put a snapshot's runtime part back, into the containers in place (behaviours keep references
        to them); unknown or missing fields are a damaged snapshot."""
        expected = {f.name for f in fields(self)} - DEPLOYMENT_FIELDS
        if set(runtime) != expected:
            raise ValueError(f"the snapshot holds the fields {sorted(runtime)}, not {sorted(expected)}")
        for name, value in runtime.items():
            current = getattr(self, name)
            if isinstance(current, dict) and isinstance(value, dict):
                current.clear()
                current.update(value)
            elif isinstance(current, list) and isinstance(value, list):
                current[:] = value
            elif isinstance(current, VariableState) and isinstance(value, VariableState):
                current.values.clear()
                current.values.update(value.values)
                current.keys.clear()
                current.keys.update(value.keys)
            elif type(current) is type(value):
                setattr(self, name, value)
            else:
                raise ValueError(f"the snapshot's {name} is a {type(value).__name__}, not a {type(current).__name__}")


DEPLOYMENT_FIELDS = frozenset(
    {
        "processes_by_key",
        "processes_by_id",
        "processes_by_deployment",
        "drgs_by_id",
        "decisions_by_id",
        "decisions_by_key",
        "forms_by_id",
        "forms_by_deployment",
    }
)
