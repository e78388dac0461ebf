"""Execution listeners (docs.camunda.io/docs/components/concepts/execution-listeners/).

A listener is a job of kind ``EXECUTION_LISTENER`` that blocks its element: start listeners run after the
input mappings and before the element's behaviour (subscriptions, expressions, its own job), end listeners
after the output mappings and before the element is left. Listeners of one event type run one after the
other in model order. A start listener's job variables become local variables of the element; an end
listener's are propagated from the element's parent scope, like output mappings. A job that runs out of
retries raises an ``EXECUTION_LISTENER_NO_RETRIES`` incident, and resolving it retries only that listener.
If a listener's type or retries expression fails, the incident's resolution re-runs all listeners of that
event type (the index goes back to the first of them), as the docs describe.

Progress is ``ElementInstance.listener_index``: ``[0, starts)`` start listeners, then ``[starts, starts +
ends)`` end listeners; the element lifecycle calls :meth:`ExecutionListeners.next_start` /
:meth:`ExecutionListeners.next_end` from the activation and completion steps, and the job COMPLETE
processor calls :meth:`ExecutionListeners.completed` and continues the step it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from procgov_engine.core.behaviours.context import StepFailure
from procgov_engine.core.behaviours.jobs import LISTENER_JOB, Jobs
from procgov_engine.core.behaviours.variables import Expressions, Variables
from procgov_engine.core.state import ACTIVATING, COMPLETING, ElementInstance, Job
from procgov_engine.model.bpmn import ExecutionListener

ContinueWith = Literal["activation", "completion"] | None


class ExecutionListeners:
    def __init__(self, jobs: Jobs, expressions: Expressions, variables: Variables) -> None:
        self.jobs = jobs
        self.expressions = expressions
        self.vars = variables

    def next_start(self, inst: ElementInstance) -> bool:
        """Create the job of the next start listener still to run; True if the element must wait for it."""
        starts = inst.element.start_listeners
        if inst.listener_index >= len(starts):
            return False
        self._create_job(inst, starts[inst.listener_index], "START", first_index=0)
        return True

    def next_end(self, inst: ElementInstance) -> bool:
        """Create the job of the next end listener still to run; True if the element must wait for it."""
        offset = len(inst.element.start_listeners)
        ends = inst.element.end_listeners
        position = inst.listener_index - offset
        if position < 0 or position >= len(ends):
            return False
        self._create_job(inst, ends[position], "END", first_index=offset)
        return True

    @staticmethod
    def outputs_pending(inst: ElementInstance) -> bool:
        """Whether the completion step still has to apply the output mappings (no end listener ran yet)."""
        return inst.listener_index == len(inst.element.start_listeners)

    def completed(self, job: Job, variables: Mapping[str, Any]) -> ContinueWith:
        """A listener job completed: take its variables; the step of the element to run again, if any."""
        inst = job.element_instance  # the JOB COMPLETED applier counted the listener (listener_index)
        if job.listener_event_type == "START":
            if inst.state != ACTIVATING:
                return None
            if variables:
                self.vars.set_all_local(inst, variables)
            return "activation"
        if inst.state != COMPLETING:
            return None
        if variables:
            assert inst.flow_scope is not None  # listeners on the process element are refused at deploy time
            self.vars.propagate(inst.flow_scope, variables)
        return "completion"

    def _create_job(self, inst: ElementInstance, listener: ExecutionListener, event: str, first_index: int) -> None:
        try:
            job_type = self.expressions.eval(listener.job_type, inst, "STRING")
            retries = self.expressions.eval(listener.retries, inst, "NUMBER")
            # the listener's header wins over the element's of the same key
            headers = {**self.jobs.headers(inst), **listener.headers}
        except StepFailure:
            raise  # the INCIDENT CREATED applier sets listener_index back to the first listener of the event type
        self.jobs.create(inst, job_type, int(retries), headers, kind=LISTENER_JOB, listener_event_type=event)
