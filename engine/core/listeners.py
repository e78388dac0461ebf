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
ends)`` end listeners; the processor calls :func:`next_start_listener` / :func:`next_end_listener` from the
activation and completion steps and :func:`listener_completed` when such a job completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.core.state import ACTIVATING, COMPLETING, ElementInstance, Job
from engine.model.bpmn import ExecutionListener

if TYPE_CHECKING:
    from engine.core.processor import Processor

LISTENER_JOB = "EXECUTION_LISTENER"
NO_RETRIES_INCIDENT = "EXECUTION_LISTENER_NO_RETRIES"


def next_start_listener(p: Processor, inst: ElementInstance) -> bool:
    """Create the job of the next start listener still to run; True if the element must wait for it."""
    starts = inst.element.start_listeners
    if inst.listener_index >= len(starts):
        return False
    _create_job(p, inst, starts[inst.listener_index], "START", first_index=0)
    return True


def next_end_listener(p: Processor, inst: ElementInstance) -> bool:
    """Create the job of the next end listener still to run; True if the element must wait for it."""
    offset = len(inst.element.start_listeners)
    ends = inst.element.end_listeners
    position = inst.listener_index - offset
    if position < 0 or position >= len(ends):
        return False
    _create_job(p, inst, ends[position], "END", first_index=offset)
    return True


def outputs_pending(inst: ElementInstance) -> bool:
    """Whether the completion step still has to apply the output mappings (no end listener ran yet)."""
    return inst.listener_index == len(inst.element.start_listeners)


def listener_completed(p: Processor, job: Job, variables: Mapping[str, Any]) -> None:
    """A listener job completed: take its variables and continue the element's activation or completion."""
    inst = job.element_instance
    inst.job_key = 0
    if job.listener_event_type == "START":
        if inst.state != ACTIVATING:
            return
        if variables:
            p.vars.set_all_local(inst, variables)
        inst.listener_index += 1
        p._run_activation(inst)
        return
    if inst.state != COMPLETING:
        return
    if variables:
        assert inst.flow_scope is not None  # listeners on the process element are refused at deploy time
        p.vars.propagate(inst.flow_scope, variables)
    inst.listener_index += 1
    p._run_completion(inst)


def _create_job(p: Processor, inst: ElementInstance, listener: ExecutionListener, event: str, first_index: int) -> None:
    from engine.core.processor import StepFailure

    try:
        job_type = p._eval(listener.job_type, inst, "STRING")
        retries = p._eval(listener.retries, inst, "NUMBER")
        # the listener's header wins over the element's of the same key
        headers = {**p._job_headers(inst), **listener.headers}
    except StepFailure:
        inst.listener_index = first_index  # resolving the incident re-runs every listener of this event type
        raise
    job = Job(
        key=p.w.next_key(),
        type=job_type,
        element_instance=inst,
        retries=int(retries),
        custom_headers=headers,
        tenant_id=inst.process.tenant_id,
        kind=LISTENER_JOB,
        listener_event_type=event,
    )
    p.jobs[job.key] = job
    inst.job_key = job.key
    p._job_event(job, "CREATED")
    p._make_activatable(job)
