"""The rest of the element list and deploy-time validation.

docs.camunda.io/docs/components/modeler/bpmn/: user-tasks (job-based, headers), send-tasks,
script-tasks, manual-tasks, business-rule-tasks, inclusive-gateways, escalation-events,
signal-events (throw), message-events (message throw = job), error-events (catch-all, propagation
out of a call activity); components/concepts/resources (forms, decisions).
"""

from __future__ import annotations

import json

import pytest
from core_helpers import activate, bpmn, chain, complete_one, deploy, flow, passed, service, state

from procgov_engine.api import Rejection, RejectionType, Resource
from procgov_engine.core import Engine

DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="fines" name="Fines"
    namespace="http://procgov.test">
  <decision id="late_fine" name="Late fine">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="in_days" label="Days late">
        <inputExpression id="ie" typeRef="number"><text>daysLate</text></inputExpression>
      </input>
      <output id="out_fine" name="fine" typeRef="number" />
      <rule id="r1">
        <inputEntry id="e1"><text>&gt; 10</text></inputEntry><outputEntry id="o1"><text>500</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="e2"><text>-</text></inputEntry><outputEntry id="o2"><text>100</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


async def test_user_task_is_a_job_with_zeebe_headers(engine: Engine) -> None:
    """user-tasks#job-worker-implementation: job type io.camunda.zeebe:userTask; form key and assignment
    in the custom headers."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:userTask id="approve"><bpmn:extensionElements>'
        '<zeebe:formDefinition formKey="camunda-forms:bpmn:approval" />'
        '<zeebe:assignmentDefinition assignee="= owner" candidateGroups="quality, it" />'
        '</bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="e" />' + chain("s", "approve", "e")
    )
    await deploy(engine, doc)
    await engine.create_process_instance(bpmn_process_id="p", variables={"owner": "li.wei"})
    job = (await activate(engine, "io.camunda.zeebe:userTask"))[0]
    assert job.custom_headers["io.camunda.zeebe:formKey"] == "camunda-forms:bpmn:approval"
    assert job.custom_headers["io.camunda.zeebe:assignee"] == "li.wei"
    assert json.loads(job.custom_headers["io.camunda.zeebe:candidateGroups"]) == ["quality", "it"]


async def test_task_headers_send_task_and_job_based_script_task(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        '<bpmn:sendTask id="notify"><bpmn:extensionElements><zeebe:taskDefinition type="notify" retries="= 5" />'
        '<zeebe:taskHeaders><zeebe:header key="template" value="welcome" /></zeebe:taskHeaders>'
        "</bpmn:extensionElements></bpmn:sendTask>"
        '<bpmn:scriptTask id="render"><bpmn:extensionElements><zeebe:taskDefinition type="render" />'
        '</bpmn:extensionElements></bpmn:scriptTask><bpmn:manualTask id="sign" /><bpmn:task id="noop" />'
        '<bpmn:endEvent id="e" />' + chain("s", "notify", "render", "sign", "noop", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    job = await complete_one(engine, "notify")
    assert job.custom_headers == {"template": "welcome"} and job.retries == 5
    await complete_one(engine, "render")
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik)[-3:] == ["sign", "noop", "e"]


async def test_business_rule_task_with_called_decision(engine: Engine) -> None:
    """business-rule-tasks#defining-a-called-decision: the result lands in resultVariable."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:businessRuleTask id="fine"><bpmn:extensionElements>'
        '<zeebe:calledDecision decisionId="late_fine" resultVariable="fine" /></bpmn:extensionElements>'
        '</bpmn:businessRuleTask><bpmn:endEvent id="e" />' + chain("s", "fine", "e")
    )
    deployment = await engine.deploy([Resource("fines.dmn", DMN), Resource("p.bpmn", doc)])
    assert [d.decision_id for d in deployment.decisions] == ["late_fine"]
    result = await engine.create_process_instance_with_result(bpmn_process_id="p", variables={"daysLate": 12})
    assert result.variables["fine"] == 500
    evaluations = list(engine.query.records(value_type="DECISION_EVALUATION", intent="EVALUATED"))
    assert evaluations[0]["value"]["processInstanceKey"] == result.process_instance_key


async def test_evaluate_decision_command(engine: Engine) -> None:
    await engine.deploy([Resource("fines.dmn", DMN)])
    result = await engine.evaluate_decision(decision_id="late_fine", variables={"daysLate": 3})
    assert result.decision_output == 100 and result.failure_message == ""
    assert result.evaluated_decisions[0].matched_rules[0].rule_id == "r2"
    with pytest.raises(Rejection) as info:
        await engine.evaluate_decision(decision_id="unknown")
    assert info.value.type is RejectionType.NOT_FOUND


async def test_missing_decision_is_incident(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:businessRuleTask id="fine"><bpmn:extensionElements>'
        '<zeebe:calledDecision decisionId="nope" resultVariable="fine" /></bpmn:extensionElements>'
        '</bpmn:businessRuleTask><bpmn:endEvent id="e" />' + chain("s", "fine", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    assert engine.query.incidents(pik)[0].error_type == "CALLED_DECISION_ERROR"


async def test_form_deploy_versions_by_id(engine: Engine) -> None:
    form = json.dumps({"id": "approval", "components": []}).encode()
    first = await engine.deploy([Resource("approval.form", form)])
    second = await engine.deploy([Resource("approval.form", form)])
    third = await engine.deploy([Resource("approval.form", form.replace(b"[]", b"[{}]"))])
    assert [d.forms[0].version for d in (first, second, third)] == [1, 1, 2]
    assert engine.query.form("approval") == {"id": "approval", "components": [{}]}


async def test_inclusive_gateway_forks_true_flows_and_joins(engine: Engine) -> None:
    """inclusive-gateways: every flow whose condition is true is taken; the join waits for those."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:inclusiveGateway id="fork" />'
        + service("a", "a")
        + service("b", "b")
        + service("c", "c")
        + '<bpmn:inclusiveGateway id="join" /><bpmn:endEvent id="e" />'
        + chain("s", "fork")
        + flow("fa", "fork", "a", "= needA")
        + flow("fb", "fork", "b", "= needB")
        + flow("fc", "fork", "c", "= needC")
        + chain("a", "join")
        + chain("b", "join")
        + chain("c", "join")
        + chain("join", "e")
    )
    await deploy(engine, doc)
    pik = (
        await engine.create_process_instance(
            bpmn_process_id="p", variables={"needA": True, "needB": False, "needC": True}
        )
    ).process_instance_key
    assert await activate(engine, "b") == []
    await complete_one(engine, "a")
    assert state(engine, pik) == "ACTIVE"
    await complete_one(engine, "c")
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik).count("join") == 1


async def test_escalation_caught_non_interrupting(engine: Engine) -> None:
    """escalation-events: an escalation thrown in a sub-process is caught by a non-interrupting boundary;
    the sub-process continues."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
        '<bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="esc" />'
        "</bpmn:intermediateThrowEvent>"
        + service("work", "work")
        + '<bpmn:endEvent id="se" />'
        + chain("ss", "raise", "work", "se")
        + "</bpmn:subProcess>"
        '<bpmn:boundaryEvent id="on_esc" attachedToRef="sub" cancelActivity="false">'
        '<bpmn:escalationEventDefinition escalationRef="esc" /></bpmn:boundaryEvent>'
        + service("handle", "handle")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "sub", "e")
        + chain("on_esc", "handle", "e2"),
        extra='<bpmn:escalation id="esc" escalationCode="OVERDUE" />',
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "handle")
    await complete_one(engine, "work")
    assert state(engine, pik) == "COMPLETED"


async def test_signal_throw_event_triggers_other_instances(engine: Engine) -> None:
    signal = '<bpmn:signal id="sig" name="go" />'
    waiter = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:signalEventDefinition signalRef="sig" /></bpmn:intermediateCatchEvent><bpmn:endEvent id="e" />'
        + chain("s", "wait", "e"),
        "waiter",
        extra=signal,
    )
    thrower = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:endEvent id="e"><bpmn:signalEventDefinition signalRef="sig" />'
        "</bpmn:endEvent>" + chain("s", "e"),
        "thrower",
        extra=signal,
    )
    await deploy(engine, waiter, thrower)
    pik = (await engine.create_process_instance(bpmn_process_id="waiter")).process_instance_key
    await engine.create_process_instance(bpmn_process_id="thrower")
    assert state(engine, pik) == "COMPLETED"


async def test_message_end_event_is_a_job(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:endEvent id="reply"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="reply" /></bpmn:extensionElements><bpmn:messageEventDefinition />'
        "</bpmn:endEvent>" + chain("s", "reply")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "reply")
    assert state(engine, pik) == "COMPLETED"


async def test_error_from_called_process_caught_by_call_activity_boundary(engine: Engine) -> None:
    """error-events#catching-errors: an uncaught error in a child instance propagates to the call activity."""
    child = bpmn(
        '<bpmn:startEvent id="cs" />' + service("cw", "child") + '<bpmn:endEvent id="ce" />' + chain("cs", "cw", "ce"),
        "child",
    )
    parent = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:callActivity id="call"><bpmn:extensionElements>'
        '<zeebe:calledElement processId="child" /></bpmn:extensionElements></bpmn:callActivity>'
        '<bpmn:boundaryEvent id="caught" attachedToRef="call"><bpmn:errorEventDefinition />'
        '</bpmn:boundaryEvent><bpmn:endEvent id="e" /><bpmn:endEvent id="e_err" />'
        + chain("s", "call", "e")
        + chain("caught", "e_err"),
        "parent",
    )
    await deploy(engine, child, parent)
    pik = (await engine.create_process_instance(bpmn_process_id="parent")).process_instance_key
    job = (await activate(engine, "child"))[0]
    await engine.throw_error(job.key, error_code="ANY")
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik)[-1] == "e_err"
    assert {v.bpmn_process_id: v.state for v in engine.query.process_instances()}["child"] == "TERMINATED"


async def test_start_instructions_begin_at_an_element(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("a", "a")
        + service("b", "b")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "a", "b", "e")
    )
    await deploy(engine, doc)
    await engine.create_process_instance(bpmn_process_id="p", start_element_ids=["b"])
    assert await activate(engine, "a") == []
    assert len(await activate(engine, "b")) == 1
    with pytest.raises(Rejection) as info:
        await engine.create_process_instance(bpmn_process_id="p", start_element_ids=["zz"])
    assert info.value.type is RejectionType.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("body", "element_id", "fragment"),
    [
        ('<bpmn:startEvent id="s" /><bpmn:complexGateway id="cg" />', "cg", "complexGateway"),
        ('<bpmn:startEvent id="s" /><bpmn:serviceTask id="st" />', "st", "zeebe:taskDefinition"),
        (
            '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="ce"><bpmn:conditionalEventDefinition />'
            "</bpmn:intermediateCatchEvent>",
            "ce",
            "conditional",
        ),
        (
            '<bpmn:startEvent id="s" /><bpmn:serviceTask id="st"><bpmn:extensionElements>'
            '<zeebe:taskDefinition type="= a +" /></bpmn:extensionElements></bpmn:serviceTask>',
            "st",
            "job type",
        ),
        (
            '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration>soon</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            "t",
            "Invalid duration",
        ),
        (
            '<bpmn:startEvent id="s" /><bpmn:task id="t"><bpmn:standardLoopCharacteristics /></bpmn:task>',
            "t",
            "standard loop",
        ),
    ],
)
async def test_unsupported_elements_rejected_at_deploy(
    engine: Engine, body: str, element_id: str, fragment: str
) -> None:
    """Anything the engine cannot run is refused at deploy time, naming the element."""
    with pytest.raises(Rejection) as info:
        await deploy(engine, bpmn(body))
    assert info.value.type is RejectionType.INVALID_ARGUMENT
    assert element_id in info.value.reason and fragment in info.value.reason
    assert engine.query.processes() == []


async def test_escalation_event_subprocess_interrupting_and_none_throw(engine: Engine) -> None:
    """escalation-events: an escalation end event inside a sub-process is caught by the sub-process's
    interrupting escalation event sub-process; a none intermediate throw event just passes."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
        '<bpmn:intermediateThrowEvent id="mark" /><bpmn:parallelGateway id="f" />'
        + service("slow", "slow")
        + '<bpmn:endEvent id="up"><bpmn:escalationEventDefinition escalationRef="esc" /></bpmn:endEvent>'
        '<bpmn:endEvent id="se" />'
        + chain("ss", "mark", "f")
        + chain("f", "slow", "se")
        + chain("f", "up")
        + '<bpmn:subProcess id="handler" triggeredByEvent="true"><bpmn:startEvent id="hs">'
        '<bpmn:escalationEventDefinition escalationRef="esc" /></bpmn:startEvent><bpmn:endEvent id="he" />'
        + chain("hs", "he")
        + "</bpmn:subProcess></bpmn:subProcess>"
        '<bpmn:endEvent id="e" />' + chain("s", "sub", "e"),
        extra='<bpmn:escalation id="esc" escalationCode="LATE" />',
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    assert state(engine, pik) == "COMPLETED"
    assert "mark" in passed(engine, pik) and "he" in passed(engine, pik)
    assert [j.state for j in engine.query.jobs(pik)] == ["CANCELED"]


async def test_signal_boundary_and_signal_event_subprocess(engine: Engine) -> None:
    """signal-events: a signal boundary (non-interrupting) and a signal event sub-process (interrupting)
    both react to broadcasts."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:boundaryEvent id="ping" attachedToRef="work" cancelActivity="false">'
        '<bpmn:signalEventDefinition signalRef="sp" /></bpmn:boundaryEvent>'
        + service("pong", "pong")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "work", "e")
        + chain("ping", "pong", "e2")
        + '<bpmn:subProcess id="stop_all" triggeredByEvent="true"><bpmn:startEvent id="ss">'
        '<bpmn:signalEventDefinition signalRef="sx" /></bpmn:startEvent><bpmn:endEvent id="se" />'
        + chain("ss", "se")
        + "</bpmn:subProcess>",
        extra='<bpmn:signal id="sp" name="ping" /><bpmn:signal id="sx" name="stop" />',
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await engine.broadcast_signal("ping")
    await engine.broadcast_signal("ping")
    assert len(await activate(engine, "pong")) == 2
    await engine.broadcast_signal("stop")
    assert state(engine, pik) == "COMPLETED"
    # the interrupting event sub-process terminated the task and both running boundary paths
    assert [j.state for j in engine.query.jobs(pik)] == ["CANCELED", "CANCELED", "CANCELED"]


async def test_job_based_business_rule_task(engine: Engine) -> None:
    """business-rule-tasks#defining-a-task: with a task definition instead of a called decision it is a job."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:businessRuleTask id="rules"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="external-rules" /></bpmn:extensionElements></bpmn:businessRuleTask>'
        '<bpmn:endEvent id="e" />' + chain("s", "rules", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "external-rules", {"verdict": "ok"})
    assert engine.query.instance_variables(pik) == {"verdict": "ok"}
