"""The element registry: element type → the behaviour of its family (Zeebe's BpmnElementProcessors).

Two lookups are not by element type alone: a multi-instance body (its instance's element type is
``MULTI_INSTANCE_BODY``) and a job worker (any element with a job type and neither an inline script
nor a called decision; a ``zeebe:taskDefinition`` makes a script, business rule task or message
throw event a job worker too).
"""

from __future__ import annotations

from procgov_engine.core.behaviours.bpmn import BpmnBehaviours
from procgov_engine.core.behaviours.lifecycle import ElementBehaviour
from procgov_engine.core.elements.base import PassThrough
from procgov_engine.core.elements.call_activity import CallActivityBehaviour
from procgov_engine.core.elements.events import CatchEventBehaviour, ThrowEventBehaviour
from procgov_engine.core.elements.gateways import ConditionalGatewayBehaviour, EventBasedGatewayBehaviour
from procgov_engine.core.elements.multi_instance import MultiInstanceBodyBehaviour
from procgov_engine.core.elements.process import ProcessBehaviour
from procgov_engine.core.elements.sub_process import SubProcessBehaviour
from procgov_engine.core.elements.tasks import BusinessRuleTaskBehaviour, JobWorkerBehaviour, ScriptTaskBehaviour
from procgov_engine.core.elements.user_task import UserTaskBehaviour
from procgov_engine.core.state import MI_BODY, ElementInstance

JOB_WORKER = "JOB_WORKER"  # the registry key of the job worker behaviour


class ElementRegistry:
    """Implements :class:`procgov_engine.core.behaviours.lifecycle.ElementLookup`."""

    def __init__(self) -> None:
        self._by_type: dict[str, ElementBehaviour] = {}

    def register(self, element_type: str, behaviour: ElementBehaviour) -> None:
        """Make ``behaviour`` the one of ``element_type`` (replacing an earlier entry)."""
        self._by_type[element_type] = behaviour

    def __getitem__(self, element_type: str) -> ElementBehaviour:
        return self._by_type[element_type]

    def __contains__(self, element_type: object) -> bool:
        return element_type in self._by_type

    def for_instance(self, inst: ElementInstance) -> ElementBehaviour:
        element_type = inst.element_type
        if element_type != MI_BODY:
            element = inst.element
            if element.job_type is not None and element.script is None and element.decision_id is None:
                element_type = JOB_WORKER
        try:
            return self._by_type[element_type]
        except KeyError:
            raise LookupError(f"no element behaviour is registered for element type '{element_type}'") from None


def default_registry(registry: ElementRegistry, behaviours: BpmnBehaviours) -> ElementRegistry:
    """Register every element family this engine runs (the parser refuses the others at deploy time)."""
    pass_through = PassThrough(behaviours)
    conditional = ConditionalGatewayBehaviour(behaviours)
    sub_process = SubProcessBehaviour(behaviours)
    catch = CatchEventBehaviour(behaviours)
    throw = ThrowEventBehaviour(behaviours)
    entries: dict[str, ElementBehaviour] = {
        "PROCESS": ProcessBehaviour(behaviours),
        "SUB_PROCESS": sub_process,
        "EVENT_SUB_PROCESS": sub_process,
        MI_BODY: MultiInstanceBodyBehaviour(behaviours),
        JOB_WORKER: JobWorkerBehaviour(behaviours),
        # without a job type (docs: "undefined task"), these pass through like a manual task
        "SERVICE_TASK": pass_through,
        "SEND_TASK": pass_through,
        "USER_TASK": UserTaskBehaviour(behaviours),  # a Camunda user task; job-based ones are job workers
        "MANUAL_TASK": pass_through,
        "TASK": pass_through,
        "SCRIPT_TASK": ScriptTaskBehaviour(behaviours),
        "BUSINESS_RULE_TASK": BusinessRuleTaskBehaviour(behaviours),
        "CALL_ACTIVITY": CallActivityBehaviour(behaviours),
        "RECEIVE_TASK": catch,
        "EXCLUSIVE_GATEWAY": conditional,
        "INCLUSIVE_GATEWAY": conditional,
        "PARALLEL_GATEWAY": pass_through,
        "EVENT_BASED_GATEWAY": EventBasedGatewayBehaviour(behaviours),
        "START_EVENT": pass_through,
        "BOUNDARY_EVENT": pass_through,
        "INTERMEDIATE_CATCH_EVENT": catch,
        "INTERMEDIATE_THROW_EVENT": throw,
        "END_EVENT": throw,
    }
    for element_type, behaviour in entries.items():
        registry.register(element_type, behaviour)
    return registry
