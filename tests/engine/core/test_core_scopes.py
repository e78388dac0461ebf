"""Scopes: sub-processes, event sub-processes, call activities, multi-instance, variable propagation.

docs.camunda.io/docs/components/concepts/variables/ (scopes, input/output mappings, propagation),
docs.camunda.io/docs/components/modeler/bpmn/embedded-subprocesses/, event-subprocesses/,
call-activities/ (propagateAllChildVariables / propagateAllParentVariables), multi-instance/.
"""

from __future__ import annotations

from datetime import timedelta

from core_helpers import activate, active, bpmn, chain, complete_one, deploy, passed, service, state

from procgov_engine.core import Engine


def io(*mappings: tuple[str, str, str]) -> str:
    body = "".join(f'<zeebe:{kind} source="{source}" target="{target}" />' for kind, source, target in mappings)
    return f"<zeebe:ioMapping>{body}</zeebe:ioMapping>"


async def test_input_mappings_are_local_output_mappings_propagate(engine: Engine) -> None:
    """variables#inputoutput-variable-mappings: inputs create local variables of the task; with output
    mappings only the mapped variables reach the process scope."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work", inner=io(("input", "= order.amount", "amount"), ("output", "= total * 2", "doubled")))
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
    )
    await deploy(engine, doc)
    pik = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"order": {"amount": 4}})
    ).process_instance_key
    job = await complete_one(engine, "work", {"total": 21})
    assert job.variables == {"order": {"amount": 4}, "amount": 4}
    assert engine.query.instance_variables(pik) == {"order": {"amount": 4}, "doubled": 42}


async def test_job_variables_propagate_to_closest_existing_scope(engine: Engine) -> None:
    """variables#variable-propagation: a variable that exists in a sub-process scope is updated there;
    a new one goes to the process scope."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        '<bpmn:subProcess id="sub"><bpmn:extensionElements>'
        + io(("input", "= 0", "attempts"))
        + '</bpmn:extensionElements><bpmn:startEvent id="ss" />'
        + service("work", "work")
        + '<bpmn:endEvent id="se" />'
        + chain("ss", "work", "se")
        + "</bpmn:subProcess>"
        + '<bpmn:endEvent id="e" />'
        + chain("s", "sub", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    job = (await activate(engine, "work"))[0]
    sub_key = next(e.key for e in engine.query.element_instances(pik) if e.element_id == "sub")
    await engine.complete_job(job.key, {"attempts": 1, "result": "ok"})
    assert engine.query.variables(sub_key) == {"attempts": 1}
    assert engine.query.instance_variables(pik) == {"result": "ok"}
    assert state(engine, pik) == "COMPLETED"


async def test_set_variables_local_and_propagate(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />' + service("work", "work") + '<bpmn:endEvent id="e" />' + chain("s", "work", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"x": 1})).process_instance_key
    job = (await activate(engine, "work"))[0]
    await engine.set_variables(job.element_instance_key, {"local_only": True}, local=True)
    await engine.set_variables(job.element_instance_key, {"x": 2, "y": 3}, local=False)
    assert engine.query.variables(job.element_instance_key) == {"local_only": True}
    assert engine.query.instance_variables(pik) == {"x": 2, "y": 3}


async def test_interrupting_event_subprocess_on_error_end_event(engine: Engine) -> None:
    """event-subprocesses: an error thrown inside is caught by the error event sub-process, which
    interrupts the scope; the process completes through it."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="fork" />'
        + service("slow", "slow")
        + '<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="err" /></bpmn:endEvent>'
        '<bpmn:endEvent id="e" />'
        + chain("s", "fork")
        + chain("fork", "slow", "e")
        + chain("fork", "fail")
        + '<bpmn:subProcess id="on_error" triggeredByEvent="true"><bpmn:startEvent id="es">'
        '<bpmn:errorEventDefinition errorRef="err" /></bpmn:startEvent>'
        + service("cleanup", "cleanup")
        + '<bpmn:endEvent id="ee" />'
        + chain("es", "cleanup", "ee")
        + "</bpmn:subProcess>",
        extra='<bpmn:error id="err" errorCode="FAILED" />',
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    assert await activate(engine, "slow") == []  # terminated by the interruption
    await complete_one(engine, "cleanup")
    assert state(engine, pik) == "COMPLETED"


async def test_non_interrupting_timer_event_subprocess(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
        + '<bpmn:subProcess id="remind" triggeredByEvent="true"><bpmn:startEvent id="rs" isInterrupting="false">'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:startEvent>"
        + service("nudge", "nudge")
        + '<bpmn:endEvent id="re" />'
        + chain("rs", "nudge", "re")
        + "</bpmn:subProcess>"
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await engine.increase_time(timedelta(hours=1))
    await complete_one(engine, "nudge")
    assert active(engine, pik) == ["work"]
    await complete_one(engine, "work")
    assert state(engine, pik) == "COMPLETED"


async def test_message_event_subprocess_interrupting(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
        + '<bpmn:subProcess id="cancel" triggeredByEvent="true"><bpmn:startEvent id="cs">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:startEvent><bpmn:endEvent id="ce" />'
        + chain("cs", "ce")
        + "</bpmn:subProcess>",
        extra='<bpmn:message id="msg" name="withdrawn"><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="= requestId" /></bpmn:extensionElements></bpmn:message>',
    )
    await deploy(engine, doc)
    pik = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"requestId": "R1"})
    ).process_instance_key
    await engine.publish_message(name="withdrawn", correlation_key="R1", time_to_live_ms=0, variables={"why": "dup"})
    assert state(engine, pik) == "COMPLETED"
    assert engine.query.instance_variables(pik)["why"] == "dup"
    assert await activate(engine, "work") == []


CHILD = bpmn(
    '<bpmn:startEvent id="cs" />'
    + service("child_work", "child")
    + '<bpmn:endEvent id="ce" />'
    + chain("cs", "child_work", "ce"),
    "child",
)


def parent(flags: str = "", mappings: str = "") -> bytes:
    return bpmn(
        '<bpmn:startEvent id="s" /><bpmn:callActivity id="call"><bpmn:extensionElements>'
        f'<zeebe:calledElement processId="child" {flags} />{mappings}</bpmn:extensionElements>'
        '</bpmn:callActivity><bpmn:endEvent id="e" />' + chain("s", "call", "e"),
        "parent",
    )


async def test_call_activity_propagates_all_variables_by_default(engine: Engine) -> None:
    """call-activities#variable-mappings: by default all parent variables go in and all child variables
    come out."""
    await deploy(engine, CHILD, parent())
    pik = (await engine.create_process_instance(bpmn_process_id="parent", variables={"a": 1})).process_instance_key
    job = await complete_one(engine, "child", {"b": 2})
    assert job.variables == {"a": 1} and job.bpmn_process_id == "child"
    assert state(engine, pik) == "COMPLETED"
    assert engine.query.instance_variables(pik) == {"a": 1, "b": 2}
    child = next(v for v in engine.query.process_instances() if v.bpmn_process_id == "child")
    assert child.parent_process_instance_key == pik and child.state == "COMPLETED"


async def test_call_activity_without_propagation_uses_mappings_only(engine: Engine) -> None:
    await deploy(
        engine,
        CHILD,
        parent(
            'propagateAllChildVariables="false" propagateAllParentVariables="false"',
            '<zeebe:ioMapping><zeebe:input source="= a + 1" target="x" />'
            '<zeebe:output source="= b" target="fromChild" /></zeebe:ioMapping>',
        ),
    )
    pik = (await engine.create_process_instance(bpmn_process_id="parent", variables={"a": 1})).process_instance_key
    job = await complete_one(engine, "child", {"b": 2, "noise": True})
    assert job.variables == {"x": 2}
    assert engine.query.instance_variables(pik) == {"a": 1, "fromChild": 2}


async def test_cancel_terminates_called_instances(engine: Engine) -> None:
    await deploy(engine, CHILD, parent())
    pik = (await engine.create_process_instance(bpmn_process_id="parent")).process_instance_key
    await engine.cancel_process_instance(pik)
    views = {v.bpmn_process_id: v.state for v in engine.query.process_instances()}
    assert views == {"parent": "TERMINATED", "child": "TERMINATED"}
    assert await activate(engine, "child") == []


async def test_missing_called_process_is_incident(engine: Engine) -> None:
    await deploy(engine, parent())
    pik = (await engine.create_process_instance(bpmn_process_id="parent")).process_instance_key
    incident = engine.query.incidents(pik)[0]
    assert incident.error_type == "CALLED_ELEMENT_ERROR"
    await deploy(engine, CHILD)
    await engine.resolve_incident(incident.key)
    await complete_one(engine, "child")
    assert state(engine, pik) == "COMPLETED"


def multi(sequential: bool, extra: str = "", condition: str = "") -> bytes:
    cond = f"<bpmn:completionCondition>{condition}</bpmn:completionCondition>" if condition else ""
    return bpmn(
        '<bpmn:startEvent id="s" />'
        '<bpmn:serviceTask id="review"><bpmn:extensionElements><zeebe:taskDefinition type="review" />'
        "</bpmn:extensionElements>"
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        '<bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="= reviewers" '
        f'inputElement="reviewer" {extra} /></bpmn:extensionElements>{cond}'
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask><bpmn:endEvent id="e" />'
        + chain("s", "review", "e")
    )


async def test_parallel_multi_instance_collects_output_by_index(engine: Engine) -> None:
    """multi-instance#collecting-the-output: the output collection is ordered by loop index, not by
    completion order."""
    await deploy(engine, multi(False, 'outputCollection="verdicts" outputElement="= verdict"'))
    pik = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"reviewers": ["ann", "bo", "cy"]})
    ).process_instance_key
    jobs = await activate(engine, "review")
    assert [(j.variables["reviewer"], j.variables["loopCounter"]) for j in jobs] == [("ann", 1), ("bo", 2), ("cy", 3)]
    for job in reversed(jobs):
        await engine.complete_job(job.key, {"verdict": job.variables["reviewer"].upper()})
    assert state(engine, pik) == "COMPLETED"
    assert engine.query.instance_variables(pik)["verdicts"] == ["ANN", "BO", "CY"]


async def test_sequential_multi_instance_one_at_a_time(engine: Engine) -> None:
    await deploy(engine, multi(True))
    pik = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"reviewers": ["ann", "bo"]})
    ).process_instance_key
    first = await activate(engine, "review")
    assert [j.variables["reviewer"] for j in first] == ["ann"]
    await engine.complete_job(first[0].key)
    second = await activate(engine, "review")
    assert [j.variables["reviewer"] for j in second] == ["bo"]
    await engine.complete_job(second[0].key)
    assert state(engine, pik) == "COMPLETED"


async def test_multi_instance_completion_condition(engine: Engine) -> None:
    """multi-instance#completion-condition: numberOfCompletedInstances ends the body early and
    terminates the remaining instances."""
    await deploy(engine, multi(False, condition="= numberOfCompletedInstances &gt;= 2"))
    pik = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"reviewers": [1, 2, 3]})
    ).process_instance_key
    jobs = await activate(engine, "review")
    await engine.complete_job(jobs[0].key)
    await engine.complete_job(jobs[1].key)
    assert state(engine, pik) == "COMPLETED"
    assert [j.state for j in engine.query.jobs(pik) if j.key == jobs[2].key] == ["CANCELED"]


async def test_empty_input_collection_completes_immediately(engine: Engine) -> None:
    await deploy(engine, multi(False))
    pik = (await engine.create_process_instance(bpmn_process_id="p", variables={"reviewers": []})).process_instance_key
    assert state(engine, pik) == "COMPLETED"


async def test_terminate_end_event_ends_the_scope(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="fork" />'
        + service("slow", "slow")
        + '<bpmn:endEvent id="stop"><bpmn:terminateEventDefinition /></bpmn:endEvent><bpmn:endEvent id="e" />'
        + chain("s", "fork")
        + chain("fork", "slow", "e")
        + chain("fork", "stop")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    assert state(engine, pik) == "COMPLETED"
    assert "slow" not in passed(engine, pik)


async def test_create_with_result_returns_variables(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:scriptTask id="calc"><bpmn:extensionElements>'
        '<zeebe:script expression="= a * 2" resultVariable="b" /></bpmn:extensionElements></bpmn:scriptTask>'
        '<bpmn:endEvent id="e" />' + chain("s", "calc", "e")
    )
    await deploy(engine, doc)
    result = await engine.create_process_instance_with_result(bpmn_process_id="p", variables={"a": 21})
    assert result.variables == {"a": 21, "b": 42}


async def test_event_subprocess_subscription_failure_is_incident_on_the_process(engine: Engine) -> None:
    """A correlation key that cannot be evaluated when the process activates is an incident on the
    process instance (not a failed command); resolving after setting the variable opens the subscription."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
        + '<bpmn:subProcess id="cancel" triggeredByEvent="true"><bpmn:startEvent id="cs">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:startEvent><bpmn:endEvent id="ce" />'
        + chain("cs", "ce")
        + "</bpmn:subProcess>",
        extra='<bpmn:message id="msg" name="withdrawn"><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="= requestId" /></bpmn:extensionElements></bpmn:message>',
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert incident.error_type == "EXTRACT_VALUE_ERROR" and incident.element_id == "p"
    assert "requestId" in incident.error_message
    await engine.set_variables(pik, {"requestId": "R9"}, local=True)
    await engine.resolve_incident(incident.key)
    assert len(await activate(engine, "work")) == 1
    await engine.publish_message(name="withdrawn", correlation_key="R9", time_to_live_ms=0)
    assert state(engine, pik) == "COMPLETED"


async def test_multi_instance_subprocess_each_instance_has_its_own_scope(engine: Engine) -> None:
    """multi-instance on an embedded sub-process: one sub-process instance per item, with inputElement and
    the input mappings local to it; the output collection is in item order."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:subProcess id="per_dept"><bpmn:extensionElements>'
        '<zeebe:ioMapping><zeebe:input source="= dept + &quot; checked&quot;" target="report" /></zeebe:ioMapping>'
        "</bpmn:extensionElements>"
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics "
        'inputCollection="= departments" inputElement="dept" outputCollection="reports" outputElement="= report" />'
        "</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>"
        '<bpmn:startEvent id="ss" />'
        + service("check", "self-check")
        + '<bpmn:endEvent id="se" />'
        + chain("ss", "check", "se")
        + '</bpmn:subProcess><bpmn:endEvent id="e" />'
        + chain("s", "per_dept", "e")
    )
    await deploy(engine, doc)
    pik = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"departments": ["IT", "HR"]})
    ).process_instance_key
    jobs = await activate(engine, "self-check")
    assert [(j.variables["dept"], j.variables["report"]) for j in jobs] == [("IT", "IT checked"), ("HR", "HR checked")]
    for job in reversed(jobs):
        await engine.complete_job(job.key)
    assert state(engine, pik) == "COMPLETED"
    variables = engine.query.instance_variables(pik)
    assert variables["reports"] == ["IT checked", "HR checked"]
    assert "dept" not in variables and "report" not in variables
