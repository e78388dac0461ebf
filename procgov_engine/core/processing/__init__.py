"""Command processing: one processor per command type (value type + intent), dispatched from a table
by the command's kind in the log; the composition root that builds the state, the shared behaviours,
the element registry and the processors of one partition.

Layers (checked by import-linter, pyproject.toml): processing → elements → behaviours → state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from procgov_engine.core.behaviours.bpmn import BpmnBehaviours
from procgov_engine.core.behaviours.context import EngineHooks
from procgov_engine.core.behaviours.user_tasks import LISTENER_RETRY_STEP
from procgov_engine.core.elements.multi_instance import MultiInstanceBodyBehaviour
from procgov_engine.core.elements.registry import ElementRegistry, default_registry
from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.core.processing.decision_evaluation import EvaluateDecision
from procgov_engine.core.processing.deployment import CreateDeployment
from procgov_engine.core.processing.incident import ResolveIncident
from procgov_engine.core.processing.job import (
    ActivateJobs,
    CompleteJob,
    FailJob,
    RecurJobAfterBackoff,
    ThrowJobError,
    TimeOutJob,
    UpdateJobRetries,
    UpdateJobTimeout,
)
from procgov_engine.core.processing.message import ExpireMessage, PublishMessage
from procgov_engine.core.processing.process_instance import CancelProcessInstance, CreateProcessInstance
from procgov_engine.core.processing.signal import BroadcastSignal
from procgov_engine.core.processing.timer import TriggerTimer
from procgov_engine.core.processing.user_task import AssignUserTask, CompleteUserTask, UpdateUserTask
from procgov_engine.core.processing.variable_document import UpdateVariableDocument
from procgov_engine.core.records import RecordWriter
from procgov_engine.core.state import MI_BODY, EngineState
from procgov_engine.core.state.appliers import EventAppliers

__all__ = ["CommandProcessor", "EngineProcessing"]


class EngineProcessing:
    """State, behaviours, element registry and command processors of one partition, wired together.

    ``processors`` maps a command's kind (as logged) to its processor; ``by_type`` maps (value type,
    intent) to the same processors. ``elements`` is the registry new element families register into.
    """

    def __init__(self, writer: RecordWriter, state: EngineState | None = None) -> None:
        self.state = state if state is not None else EngineState()
        self.hooks = EngineHooks()
        # the only code that changes the state: the writer applies every event it writes
        self.appliers = EventAppliers(self.state)
        self.appliers.on_jobs_available = lambda job_type: self.hooks.on_jobs_available(job_type)
        self.appliers.on_due_added = lambda due: self.hooks.on_due_added(due)
        writer.applier = self.appliers.apply
        writer.on_command = self.appliers.command
        self.elements = ElementRegistry()
        self.behaviours = BpmnBehaviours(writer, self.state, self.hooks, self.elements, self.appliers)
        default_registry(self.elements, self.behaviours)
        lifecycle = self.behaviours.lifecycle
        mi_body = self.elements[MI_BODY]
        assert isinstance(mi_body, MultiInstanceBodyBehaviour)
        # what an incident's RetryStep names (engine/core/state/model.py); names are in snapshots
        self.retry_steps: dict[str, Callable[..., None]] = {
            "activate_root": lifecycle.activate_root,
            "run_activation": lifecycle.run_activation,
            "run_completion": lifecycle.run_completion,
            "multi_instance_next": mi_body.next_inner,
            LISTENER_RETRY_STEP: self.behaviours.user_tasks.retry_listener,
        }
        b = self.behaviours
        processors: list[CommandProcessor] = [
            CreateDeployment(b),
            CreateProcessInstance(b),
            CancelProcessInstance(b),
            ActivateJobs(b),
            CompleteJob(b),
            FailJob(b),
            ThrowJobError(b),
            UpdateJobRetries(b),
            UpdateJobTimeout(b),
            TimeOutJob(b),
            RecurJobAfterBackoff(b),
            UpdateVariableDocument(b),
            ResolveIncident(b, self.retry_steps),
            PublishMessage(b),
            ExpireMessage(b),
            BroadcastSignal(b),
            TriggerTimer(b),
            EvaluateDecision(b),
            CompleteUserTask(b),
            AssignUserTask(b),
            UpdateUserTask(b),
        ]
        self.processors: dict[str, CommandProcessor] = {p.kind: p for p in processors}
        self.by_type: dict[tuple[str, str], CommandProcessor] = {(p.value_type, p.intent): p for p in processors}

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """Command kind → the bound ``process`` of its processor."""
        return {kind: p.process for kind, p in self.processors.items()}

    def drain(self) -> None:
        self.behaviours.lifecycle.drain()

    def clear_queue(self) -> None:
        self.behaviours.ctx.queue.clear()
        self.behaviours.ctx.pending_inclusive.clear()
        self.behaviours.ctx.end_command()
