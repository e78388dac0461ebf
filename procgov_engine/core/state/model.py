"""The typed records of the engine state: deployments, element instances, jobs, timers, messages,
subscriptions and incidents (history lives in the record log).

Plain mutable objects with slots. They hold no code: an incident's retry is a :class:`RetryStep` (a
name and arguments), so that a snapshot of :class:`procgov_engine.core.state.EngineState` can hold any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procgov_engine.api import DEFAULT_TENANT
from procgov_engine.model.bpmn import Element, Process

# element instance states (Zeebe's lifecycle)
ACTIVATING = "ELEMENT_ACTIVATING"
ACTIVATED = "ELEMENT_ACTIVATED"
COMPLETING = "ELEMENT_COMPLETING"
COMPLETED = "ELEMENT_COMPLETED"
TERMINATING = "ELEMENT_TERMINATING"
TERMINATED = "ELEMENT_TERMINATED"

MI_BODY = "MULTI_INSTANCE_BODY"  # the element type of a multi-instance body instance

# job states
JOB_ACTIVATABLE = "ACTIVATABLE"
JOB_ACTIVATED = "ACTIVATED"
JOB_FAILED = "FAILED"
JOB_ERROR_THROWN = "ERROR_THROWN"


@dataclass(eq=False, slots=True)
class DeployedProcess:
    key: int
    bpmn_process_id: str
    version: int
    resource_name: str
    checksum: str
    model: Process
    resource: bytes
    deployment_key: int
    tenant_id: str = DEFAULT_TENANT


def is_join(element: Element) -> bool:
    """A parallel or inclusive gateway with more than one incoming flow: it waits for tokens."""
    return len(element.incoming) > 1 and element.element_type in ("PARALLEL_GATEWAY", "INCLUSIVE_GATEWAY")


@dataclass(eq=False, slots=True)
class ElementInstance:
    """One activation of an element (the process instance itself is one, with key = instance key).

    Every field is set by the event appliers (engine/core/state/appliers/) from the PROCESS_INSTANCE
    events and the events of what the instance owns (jobs, timers, subscriptions, incidents, variables).
    Processing also sets ``temp_variables`` (what the event that completes or activates the element hands to
    its output mappings) and ``chosen_flows`` (a gateway's conditions, evaluated again if a restart
    dropped them) while it works on the instance; the appliers derive ``temp_variables`` from the events
    too, so that an element that waits with them (an incident, a listener) has them after a restart."""

    key: int
    element: Element
    process: DeployedProcess
    process_instance_key: int
    flow_scope: ElementInstance | None
    element_type: str  # differs from element.element_type for a multi-instance body
    state: str = ACTIVATING
    children: dict[int, ElementInstance] = field(default_factory=dict)
    # joining gateway id → flow id → tokens taken along that flow and not yet consumed by the gateway
    join_tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    interrupted: bool = False  # an interrupting event sub-process started in this scope
    job_key: int = 0
    timer_keys: list[int] = field(default_factory=list)
    subscription_keys: list[int] = field(default_factory=list)
    signal_keys: list[int] = field(default_factory=list)
    called_instance_key: int = 0
    temp_variables: dict[str, Any] | None = None
    chosen_flows: list[str] | None = None
    incident_key: int = 0
    triggered: bool = False  # a catch event activated by an event-based gateway that already fired (applier)
    # (catch element id, variables) of the interrupting event that activates an element once this instance's
    # termination has ended: one of its boundary events (on the terminated instance) or an event sub-process
    # in it (on the scope whose children are terminated); set by the TERMINATING applier, kept while a
    # termination waits (canceling task listeners), Zeebe's event trigger of the element instance
    event_trigger: tuple[str, dict[str, Any] | None] | None = None
    record_value: dict[str, Any] | None = None  # the PROCESS_INSTANCE record value, built once
    tags: tuple[str, ...] = ()  # a process instance's tags (Camunda 8.8), on its root instance only (applier)
    # multi-instance body: inner instances activated and completed so far (its items are evaluated again
    # when needed), and an inner instance's loop counter
    mi_next: int = 0
    mi_completed: int = 0
    loop_counter: int = 0
    # execution listeners completed so far: start listeners first, then end listeners
    # (engine/core/behaviours/listeners.py)
    listener_index: int = 0
    # compensation (engine/core/behaviours/compensation.py): completed activities with a compensation
    # handler in this scope (element, nested = completed inside a completed embedded sub-process), a throw
    # event's handlers still running, and a handler's throw event
    compensable: list[tuple[Element, bool]] | None = None  # None until needed: no list per element instance
    compensation_pending: int = 0
    compensation_throw_key: int = 0
    # process root
    parent_process_instance_key: int = -1
    parent_element_instance_key: int = -1

    @property
    def is_active(self) -> bool:
        return self.state in (ACTIVATING, ACTIVATED, COMPLETING)


@dataclass(eq=False, slots=True)
class Job:
    key: int
    type: str
    element_instance: ElementInstance
    retries: int
    custom_headers: dict[str, str]
    state: str = JOB_ACTIVATABLE
    worker: str = ""
    deadline: int = -1
    error_message: str = ""
    error_code: str = ""
    retry_backoff: int = 0
    recurring_time: int = -1
    incident_key: int = 0
    tenant_id: str = DEFAULT_TENANT
    kind: str = "BPMN_ELEMENT"  # Zeebe's JobKind: BPMN_ELEMENT | EXECUTION_LISTENER
    listener_event_type: str = "UNSPECIFIED"  # an execution listener job's START | END


@dataclass(eq=False, slots=True)
class Timer:
    key: int
    due: int
    repetitions: int
    element_id: str  # the catch element (boundary, catch event, start event)
    process: DeployedProcess
    element_instance: ElementInstance | None  # None for a timer start event
    catch: Element


@dataclass(eq=False, slots=True)
class Message:
    key: int
    name: str
    correlation_key: str
    variables: dict[str, Any]
    deadline: int
    time_to_live: int
    message_id: str
    tenant_id: str
    correlated_processes: set[str] = field(default_factory=set)


@dataclass(eq=False, slots=True)
class MessageSubscription:
    """An open message subscription of an element instance (catch event, boundary, event sub-process)."""

    key: int
    name: str
    correlation_key: str
    owner: ElementInstance
    catch: Element
    interrupting: bool
    tenant_id: str = DEFAULT_TENANT


@dataclass(eq=False, slots=True)
class SignalSubscription:
    key: int
    name: str
    owner: ElementInstance | None  # None for a signal start event
    catch: Element
    process: DeployedProcess


@dataclass(frozen=True, slots=True)
class RetryStep:
    """The processing step an incident repeats when it is resolved: a name from the retry table of
    engine/core/processing (``retry_steps``) and its arguments. Data rather than a closure, so that a
    snapshot can hold open incidents (a lambda cannot be pickled: no snapshot could be written while any
    incident was open)."""

    method: str
    args: tuple[Any, ...] = ()


@dataclass(eq=False, slots=True)
class Incident:
    key: int
    error_type: str
    error_message: str
    element_instance: ElementInstance
    job_key: int = -1
    retry: RetryStep | None = None


@dataclass(eq=False, slots=True)
class DeployedDecision:
    key: int
    decision_id: str
    name: str
    version: int
    requirements_key: int
    requirements_id: str
    model: Any  # the procgov_engine.dmn decision requirements graph
    tenant_id: str = DEFAULT_TENANT


@dataclass(eq=False, slots=True)
class DeployedDrg:
    key: int
    drg_id: str
    name: str
    version: int
    resource_name: str
    checksum: str
    model: Any
    resource: bytes
    tenant_id: str = DEFAULT_TENANT


@dataclass(eq=False, slots=True)
class DeployedForm:
    key: int
    form_id: str
    version: int
    resource_name: str
    checksum: str
    resource: bytes
    tenant_id: str = DEFAULT_TENANT


@dataclass(eq=False, slots=True)
class UserTaskTransition:
    """A Camunda user task's lifecycle transition in progress (engine/core/behaviours/user_tasks.py): the
    attributes as it would leave them (task listeners' corrections included) and what its command asked."""

    event: str  # creating | assigning | updating | completing | canceling
    values: dict[str, Any]  # Zeebe's attribute names: assignee, candidateGroupsList, … priority
    changed: list[str]
    action: str
    variables: dict[str, Any] = field(default_factory=dict)
    listener_index: int = 0  # task listeners of the event completed so far


@dataclass(eq=False, slots=True)
class UserTask:
    """A Camunda user task (``zeebe:userTask``) beside its element instance, while it is not completed or
    canceled. ``state`` is the REST API's UserTaskStateEnum (CREATING, CREATED, ASSIGNING, UPDATING,
    COMPLETING, CANCELING)."""

    key: int
    element_instance: ElementInstance
    values: dict[str, Any]
    form_key: int
    external_form_reference: str
    custom_headers: dict[str, str]
    creation_timestamp: int
    state: str = "CREATING"
    transition: UserTaskTransition | None = None
