"""Edge cases of scopes and events that the process models rely on.

docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/ (non-interrupting runs per trigger),
boundary-events/ (interrupting timer on a sub-process terminates everything inside),
concepts/messages/#message-cardinality (one subscription per process instance and message).
"""

from __future__ import annotations

from datetime import timedelta

from core_helpers import activate, active, bpmn, chain, complete_one, deploy, passed, service, state

from procgov_engine.core import Engine

MSG = (
    '<bpmn:message id="msg" name="nudge"><bpmn:extensionElements>'
    '<zeebe:subscription correlationKey="= key" /></bpmn:extensionElements></bpmn:message>'
)


def catch(element_id: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{element_id}"><bpmn:messageEventDefinition messageRef="msg" />'
        "</bpmn:intermediateCatchEvent>"
    )


async def test_non_interrupting_message_event_subprocess_runs_per_message(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
        + '<bpmn:subProcess id="on_nudge" triggeredByEvent="true"><bpmn:startEvent id="ns" isInterrupting="false">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:startEvent>'
        + service("log", "log")
        + '<bpmn:endEvent id="ne" />'
        + chain("ns", "log", "ne")
        + "</bpmn:subProcess>",
        extra=MSG,
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"key": "k"})).process_instance_key
    for n in range(3):
        await engine.publish_message(name="nudge", correlation_key="k", time_to_live_ms=0, variables={"n": n})
    logs = await activate(engine, "log")
    assert len(logs) == 3
    await complete_one(engine, "work")
    assert state(engine, pik) == "ACTIVE"  # the event sub-processes still run
    for job in logs:
        await engine.complete_job(job.key)
    assert state(engine, pik) == "COMPLETED"


async def test_interrupting_timer_on_subprocess_terminates_inner_jobs(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:subProcess id="sub"><bpmn:startEvent id="ss" /><bpmn:parallelGateway id="f" />'
        + service("a", "a")
        + service("b", "b")
        + '<bpmn:endEvent id="ea" /><bpmn:endEvent id="eb" />'
        + chain("ss", "f")
        + chain("f", "a", "ea")
        + chain("f", "b", "eb")
        + "</bpmn:subProcess>"
        '<bpmn:boundaryEvent id="deadline" attachedToRef="sub"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>P7D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="e" /><bpmn:endEvent id="late" />' + chain("s", "sub", "e") + chain("deadline", "late"),
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "a")
    await engine.increase_time(timedelta(days=7))
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik)[-2:] == ["deadline", "late"]
    assert [j.state for j in engine.query.jobs(pik, job_type="b")] == ["CANCELED"]


async def test_one_message_correlates_to_one_subscription_per_instance(engine: Engine) -> None:
    """Two subscriptions of the same instance for the same message: the message goes to one of them."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="f" />'
        + catch("w1")
        + catch("w2")
        + '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        + chain("s", "f")
        + chain("f", "w1", "e1")
        + chain("f", "w2", "e2"),
        extra=MSG,
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"key": "k"})).process_instance_key
    await engine.publish_message(name="nudge", correlation_key="k", time_to_live_ms=0)
    assert len(active(engine, pik)) == 1
    await engine.publish_message(name="nudge", correlation_key="k", time_to_live_ms=0)
    assert state(engine, pik) == "COMPLETED"


async def test_cancel_with_open_incident_resolves_it(engine: Engine) -> None:
    doc = bpmn('<bpmn:startEvent id="s" />' + service("w", "w") + '<bpmn:endEvent id="e" />' + chain("s", "w", "e"))
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    job = (await activate(engine, "w"))[0]
    await engine.fail_job(job.key, retries=0, error_message="down")
    await engine.cancel_process_instance(pik)
    assert [i.state for i in engine.query.incidents(pik)] == ["RESOLVED"]
    assert engine.state.incidents == {}


async def test_signal_after_event_based_gateway(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:eventBasedGateway id="g" />'
        '<bpmn:intermediateCatchEvent id="sig"><bpmn:signalEventDefinition signalRef="sg" />'
        "</bpmn:intermediateCatchEvent>"
        '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        + chain("s", "g")
        + chain("g", "sig", "e1")
        + chain("g", "t", "e2"),
        extra='<bpmn:signal id="sg" name="go" />',
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await engine.broadcast_signal("go")
    assert passed(engine, pik)[-1] == "e1"
    assert list(engine.query.records(value_type="TIMER", intent="CANCELED"))
