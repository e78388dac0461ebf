"""The embedded engine's command surface.

The gRPC gateway and the in-process test API call only this. Every method is a command in Zeebe's
sense: it is accepted, its records are appended durably to the log before the coroutine returns, and a
result comes back, or it is rejected with a :class:`Rejection` carrying Zeebe's rejection type and a
reason an operator can act on. Types here are plain data; JSON-like variables are ``dict[str, Any]``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

DEFAULT_TENANT = "<default>"
JsonObject = dict[str, Any]


class RejectionType(enum.Enum):
    """Zeebe's ``RejectionType``; the gateway maps each to a gRPC status code."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_STATE = "INVALID_STATE"
    PROCESSING_ERROR = "PROCESSING_ERROR"


class Rejection(Exception):
    """A command the engine refused; ``reason`` is shown to the client as Zeebe would word it."""

    def __init__(self, type: RejectionType, reason: str) -> None:
        super().__init__(reason)
        self.type = type
        self.reason = reason


class RequestTimeout(Exception):
    """A waiting command (create-with-result) did not finish within the client's request timeout."""


@dataclass(frozen=True)
class Resource:
    name: str
    content: bytes


@dataclass(frozen=True)
class ProcessMetadata:
    bpmn_process_id: str
    version: int
    process_definition_key: int
    resource_name: str
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class DecisionMetadata:
    decision_id: str
    decision_name: str
    version: int
    decision_key: int
    decision_requirements_id: str
    decision_requirements_key: int
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class DecisionRequirementsMetadata:
    decision_requirements_id: str
    decision_requirements_name: str
    version: int
    decision_requirements_key: int
    resource_name: str
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class FormMetadata:
    form_id: str
    version: int
    form_key: int
    resource_name: str
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class Deployment:
    key: int
    processes: Sequence[ProcessMetadata] = ()
    decisions: Sequence[DecisionMetadata] = ()
    decision_requirements: Sequence[DecisionRequirementsMetadata] = ()
    forms: Sequence[FormMetadata] = ()
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class ProcessInstanceCreated:
    process_definition_key: int
    bpmn_process_id: str
    version: int
    process_instance_key: int
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class ProcessInstanceResult(ProcessInstanceCreated):
    variables: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class ActivatedJob:
    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    process_definition_version: int
    process_definition_key: int
    element_id: str
    element_instance_key: int
    custom_headers: Mapping[str, str]
    worker: str
    retries: int
    deadline: int  # epoch ms
    variables: JsonObject
    tenant_id: str = DEFAULT_TENANT
    kind: str = "BPMN_ELEMENT"  # Zeebe's JobKind: BPMN_ELEMENT | EXECUTION_LISTENER | TASK_LISTENER
    listener_event_type: str = "UNSPECIFIED"  # START | END | CREATING | ASSIGNING | UPDATING | COMPLETING | CANCELING
    tags: tuple[str, ...] = ()  # the process instance's tags (Camunda 8.8)


@dataclass(frozen=True)
class EvaluatedDecisionInput:
    input_id: str
    input_name: str
    input_value: Any


@dataclass(frozen=True)
class EvaluatedDecisionOutput:
    output_id: str
    output_name: str
    output_value: Any


@dataclass(frozen=True)
class MatchedRule:
    rule_id: str
    rule_index: int  # 1-based, as Zeebe reports it
    evaluated_outputs: Sequence[EvaluatedDecisionOutput] = ()


@dataclass(frozen=True)
class EvaluatedDecision:
    decision_id: str
    decision_name: str
    decision_key: int
    decision_version: int
    decision_type: str  # "DECISION_TABLE" | "LITERAL_EXPRESSION"
    decision_output: Any
    evaluated_inputs: Sequence[EvaluatedDecisionInput] = ()
    matched_rules: Sequence[MatchedRule] = ()
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class DecisionEvaluationResult:
    decision_id: str
    decision_name: str
    decision_key: int
    decision_version: int
    decision_requirements_id: str
    decision_requirements_key: int
    decision_output: Any  # JSON-serialisable
    evaluated_decisions: Sequence[EvaluatedDecision] = ()
    failed_decision_id: str = ""
    failure_message: str = ""
    decision_instance_key: int = 0
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class Topology:
    cluster_size: int = 1
    partitions_count: int = 1
    replication_factor: int = 1
    gateway_version: str = "8.8.0"
    broker_host: str = "127.0.0.1"
    broker_port: int = 26500


class EngineApi(Protocol):
    """Commands the gateway sends. All ``*_key`` arguments are Zeebe keys (int64)."""

    def topology(self) -> Topology: ...

    async def deploy(self, resources: Sequence[Resource], tenant_id: str = DEFAULT_TENANT) -> Deployment: ...

    async def create_process_instance(
        self,
        *,
        bpmn_process_id: str | None = None,
        process_definition_key: int | None = None,
        version: int = -1,
        variables: JsonObject | None = None,
        start_element_ids: Sequence[str] = (),
        tenant_id: str = DEFAULT_TENANT,
        tags: Sequence[str] = (),
    ) -> ProcessInstanceCreated: ...

    async def create_process_instance_with_result(
        self,
        *,
        bpmn_process_id: str | None = None,
        process_definition_key: int | None = None,
        version: int = -1,
        variables: JsonObject | None = None,
        start_element_ids: Sequence[str] = (),
        tenant_id: str = DEFAULT_TENANT,
        request_timeout_ms: int = 0,
        fetch_variables: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> ProcessInstanceResult:
        """Waits for completion; raises :class:`RequestTimeout` (gateway: DEADLINE_EXCEEDED)."""
        ...

    async def cancel_process_instance(self, process_instance_key: int) -> None: ...

    async def activate_jobs(
        self,
        *,
        job_type: str,
        worker: str,
        timeout_ms: int,
        max_jobs: int,
        fetch_variables: Sequence[str] = (),
        tenant_ids: Sequence[str] = (),
    ) -> list[ActivatedJob]:
        """Activates what is activatable now (possibly nothing); never waits."""
        ...

    async def wait_for_jobs(self, job_type: str, timeout_s: float) -> bool:
        """Long-polling support: returns True as soon as a job of this type may be activatable
        (created, timed out, back-off elapsed, retries increased), False after ``timeout_s``."""
        ...

    async def complete_job(
        self, job_key: int, variables: JsonObject | None = None, *, result: JsonObject | None = None
    ) -> None:
        """``result``: a task listener job's ``{denied, deniedReason, corrections}`` (Zeebe's JobResult)."""
        ...

    async def complete_user_task(
        self, user_task_key: int, variables: JsonObject | None = None, *, action: str = "", timeout_ms: int = 0
    ) -> None:
        """Camunda user task completion; answers once the task is COMPLETED (after its completing listeners),
        or raises the Rejection of a listener's denial; :class:`RequestTimeout` after ``timeout_ms`` (0: none)."""
        ...

    async def assign_user_task(
        self, user_task_key: int, assignee: str, *, action: str = "", allow_override: bool = True, timeout_ms: int = 0
    ) -> None:
        """Assign (``assignee`` "": unassign); ``allow_override`` False refuses a task assigned to someone else."""
        ...

    async def update_user_task(
        self, user_task_key: int, changes: JsonObject, *, action: str = "", timeout_ms: int = 0
    ) -> None:
        """``changes``: UserTaskRecord attribute names (candidateGroupsList, candidateUsersList, dueDate,
        followUpDate, priority) → new values, "" / [] resetting one."""
        ...

    async def fail_job(
        self,
        job_key: int,
        *,
        retries: int,
        error_message: str = "",
        retry_backoff_ms: int = 0,
        variables: JsonObject | None = None,
    ) -> None: ...

    async def throw_error(
        self, job_key: int, *, error_code: str, error_message: str = "", variables: JsonObject | None = None
    ) -> None: ...

    async def update_job_retries(self, job_key: int, retries: int) -> None: ...

    async def update_job_timeout(self, job_key: int, timeout_ms: int) -> None: ...

    async def set_variables(self, element_instance_key: int, variables: JsonObject, *, local: bool) -> int: ...

    async def resolve_incident(self, incident_key: int) -> None: ...

    async def publish_message(
        self,
        *,
        name: str,
        correlation_key: str,
        time_to_live_ms: int,
        message_id: str = "",
        variables: JsonObject | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> int:
        """Returns the message key; a duplicate ``message_id`` within TTL → ALREADY_EXISTS."""
        ...

    async def broadcast_signal(self, signal_name: str, variables: JsonObject | None = None) -> int: ...

    async def evaluate_decision(
        self,
        *,
        decision_key: int | None = None,
        decision_id: str | None = None,
        variables: JsonObject | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> DecisionEvaluationResult: ...

    async def pin_clock(self, epoch_ms: int) -> None:
        """Stop the engine's clock at ``epoch_ms`` (Camunda's ``PUT /v2/clock``); due timers fire."""
        ...

    async def reset_clock(self) -> None:
        """Let the engine's clock follow system time again (``POST /v2/clock/reset``)."""
        ...
