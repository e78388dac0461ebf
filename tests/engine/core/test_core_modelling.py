"""Modelling features of Camunda 8.8 added after the first element list: call activity binding types, link
events, execution listeners and compensation (docs.camunda.io/docs/components/modeler/bpmn/ and
docs.camunda.io/docs/components/concepts/execution-listeners/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_helpers import START, activate, active, bpmn, chain, complete_one, deploy, passed, service, state

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine


def child(job_type: str, *, version_tag: str = "") -> bytes:
    tag = (
        f'<bpmn:extensionElements><zeebe:versionTag value="{version_tag}" /></bpmn:extensionElements>'
        if version_tag
        else ""
    )
    body = '<bpmn:startEvent id="cs" />' + service("cw", job_type) + '<bpmn:endEvent id="ce" />'
    return bpmn(tag + body + chain("cs", "cw", "ce"), "child")


def caller(binding: str) -> bytes:
    return bpmn(
        '<bpmn:startEvent id="s" /><bpmn:callActivity id="call"><bpmn:extensionElements>'
        f'<zeebe:calledElement processId="child" {binding} /></bpmn:extensionElements></bpmn:callActivity>'
        '<bpmn:endEvent id="e" />' + chain("s", "call", "e")
    )


async def test_binding_deployment_calls_the_version_deployed_with_the_caller(engine: Engine) -> None:
    """call-activities § Defining the called process: bindingType="deployment" keeps calling the callee of the
    caller's own deployment after a newer callee version is deployed; "latest" takes the newest."""
    await deploy(engine, child("v1"), caller('bindingType="deployment"'))
    await deploy(engine, child("v2"))
    await deploy(engine, caller(""))  # version 2 of the caller, default binding "latest"
    pik = (await engine.create_process_instance(bpmn_process_id="p", version=1)).process_instance_key
    await complete_one(engine, "v1")
    assert state(engine, pik) == "COMPLETED"
    pik_latest = (await engine.create_process_instance(bpmn_process_id="p", version=2)).process_instance_key
    await complete_one(engine, "v2")
    assert state(engine, pik_latest) == "COMPLETED"


async def test_binding_deployment_without_the_callee_in_the_deployment_is_an_incident(engine: Engine) -> None:
    await deploy(engine, child("v1"))
    await deploy(engine, caller('bindingType="deployment"'))
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert incident.error_type == "CALLED_ELEMENT_ERROR" and incident.element_id == "call"
    assert "from the same deployment as the calling process" in incident.error_message


async def test_binding_version_tag_calls_the_latest_version_with_that_tag(engine: Engine) -> None:
    await deploy(engine, child("tagged-1", version_tag="v1.0"))
    await deploy(engine, child("tagged-2", version_tag="v1.0"))
    await deploy(engine, child("untagged"))
    await deploy(engine, caller('bindingType="versionTag" versionTag="v1.0"'))
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    assert await activate(engine, "untagged") == []
    await complete_one(engine, "tagged-2")
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik) == ["s", "call", "e"]


# -- link events (docs: link-events) ---------------------------------------------------------------------


def link_throw(element_id: str, name: str) -> str:
    definition = f'<bpmn:linkEventDefinition name="{name}" />'
    return f'<bpmn:intermediateThrowEvent id="{element_id}">{definition}</bpmn:intermediateThrowEvent>'


def link_catch(element_id: str, name: str) -> str:
    definition = f'<bpmn:linkEventDefinition name="{name}" />'
    return f'<bpmn:intermediateCatchEvent id="{element_id}">{definition}</bpmn:intermediateCatchEvent>'


async def test_link_throw_continues_at_the_catch_event_of_the_same_name(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("before", "before")
        + link_throw("go", "jump")
        + link_catch("land", "jump")
        + link_catch("elsewhere", "other")
        + service("after", "after")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "before", "go")
        + chain("land", "after", "e")
        + chain("elsewhere", "e2")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "before")
    assert state(engine, pik) == "ACTIVE"  # the token waits at 'after', it did not vanish at the throw event
    await complete_one(engine, "after")
    assert state(engine, pik) == "COMPLETED"
    assert passed(engine, pik) == ["s", "before", "go", "land", "after", "e"]


async def test_link_events_are_checked_at_deploy_time(engine: Engine) -> None:
    missing = bpmn('<bpmn:startEvent id="s" />' + link_throw("go", "nowhere") + chain("s", "go"))
    with pytest.raises(Rejection) as rejected:
        await deploy(engine, missing)
    assert "Element: go: Can't find a catch link event for the throw link event with the name 'nowhere'" in (
        rejected.value.reason
    )
    twice = bpmn(
        '<bpmn:startEvent id="s" />'
        + link_throw("go", "jump")
        + link_catch("a", "jump")
        + link_catch("b", "jump")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "go")
        + chain("a", "e")
        + chain("b", "e")
    )
    with pytest.raises(Rejection) as rejected:
        await deploy(engine, twice)
    assert "Element: b: Multiple intermediate catch link events with the name 'jump'" in rejected.value.reason


async def test_link_does_not_jump_out_of_a_sub_process(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
        + link_throw("go", "jump")
        + chain("ss", "go")
        + "</bpmn:subProcess>"
        + link_catch("land", "jump")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "sub")
        + chain("land", "e")
    )
    with pytest.raises(Rejection) as rejected:
        await deploy(engine, doc)
    assert "in the scope 'sub'" in rejected.value.reason


# -- execution listeners (docs: concepts/execution-listeners) ---------------------------------------------


def listeners(*pairs: tuple[str, str]) -> str:
    inner = "".join(f'<zeebe:executionListener eventType="{e}" type="{t}" retries="1" />' for e, t in pairs)
    return f"<zeebe:executionListeners>{inner}</zeebe:executionListeners>"


async def test_start_and_end_listeners_run_in_order_around_the_element(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service(
            "work",
            "work",
            inner=listeners(("start", "pre-1"), ("start", "pre-2"), ("end", "post"))
            + '<zeebe:ioMapping><zeebe:input source="= 1" target="mapped" />'
            '<zeebe:output source="= result" target="result" /></zeebe:ioMapping>',
        )
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    assert await activate(engine, "pre-2") == [] and await activate(engine, "work") == []
    first = await complete_one(engine, "pre-1", {"checked": True})
    assert first.variables["mapped"] == 1  # start listeners run after the input mappings
    second = await complete_one(engine, "pre-2")
    assert second.variables["checked"] is True  # a start listener's variables are local to the element
    work = await complete_one(engine, "work", {"result": "ok"})
    assert work.variables["checked"] is True
    assert state(engine, pik) == "ACTIVE"
    post = await complete_one(engine, "post", {"audited": True})
    assert post.variables["result"] == "ok"  # end listeners run after the output mappings
    assert state(engine, pik) == "COMPLETED"
    jobs = {j["value"]["type"]: j["value"] for j in engine.query.records(value_type="JOB", intent="CREATED")}
    assert (jobs["pre-1"]["jobKind"], jobs["pre-1"]["jobListenerEventType"]) == ("EXECUTION_LISTENER", "START")
    assert (jobs["post"]["jobKind"], jobs["post"]["jobListenerEventType"]) == ("EXECUTION_LISTENER", "END")
    assert jobs["work"]["jobKind"] == "BPMN_ELEMENT"
    root_vars = {
        r["value"]["name"]
        for r in engine.query.records(value_type="VARIABLE", intent="CREATED")
        if r["value"]["scopeKey"] == pik
    }
    assert root_vars == {"result", "audited"}  # end listener variables propagate like output mappings


async def test_listener_without_retries_raises_its_own_incident_and_cannot_throw_errors(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work", inner=listeners(("start", "pre")))
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    job = (await activate(engine, "pre"))[0]
    with pytest.raises(Rejection) as rejected:
        await engine.throw_error(job.key, error_code="E1")
    assert rejected.value.type == RejectionType.INVALID_STATE and "execution listener job" in rejected.value.reason
    await engine.fail_job(job.key, retries=0, error_message="service down")
    incident = engine.query.incidents(pik, active_only=True)[0]
    assert (incident.error_type, incident.element_id) == ("EXECUTION_LISTENER_NO_RETRIES", "work")
    await engine.update_job_retries(job.key, 1)
    await engine.resolve_incident(incident.key)
    await complete_one(engine, "pre")
    await complete_one(engine, "work")
    assert state(engine, pik) == "COMPLETED"


async def test_listener_limits_are_checked_at_deploy_time(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s"><bpmn:extensionElements>'
        + listeners(("start", "x"))
        + "</bpmn:extensionElements></bpmn:startEvent>"
        + '<bpmn:exclusiveGateway id="g"><bpmn:extensionElements>'
        + listeners(("end", "y"))
        + "</bpmn:extensionElements></bpmn:exclusiveGateway>"
        + service("work", "work", inner=listeners(("start", "z"), ("start", "z")))
        + '<bpmn:endEvent id="e" />'
        + chain("s", "g", "work", "e")
    )
    with pytest.raises(Rejection) as rejected:
        await deploy(engine, doc)
    reason = rejected.value.reason
    assert "Element: s: start execution listeners are not supported on start events" in reason
    assert "Element: g: end execution listeners are not supported on gateways" in reason
    assert "Element: work: duplicate start execution listener of type 'z'" in reason


# -- compensation (docs: compensation-events, compensation-handler) ---------------------------------------


def compensable(task_id: str, job_type: str, handler_type: str) -> str:
    return (
        service(task_id, job_type)
        + f'<bpmn:boundaryEvent id="{task_id}-comp" attachedToRef="{task_id}"><bpmn:compensateEventDefinition />'
        "</bpmn:boundaryEvent>"
        + service(f"undo-{task_id}", handler_type, extra='isForCompensation="true"')
        + f'<bpmn:association id="{task_id}-assoc" sourceRef="{task_id}-comp" targetRef="undo-{task_id}" />'
    )


def compensate_throw(element_id: str, activity_ref: str = "", *, end: bool = False) -> str:
    ref = f' activityRef="{activity_ref}"' if activity_ref else ""
    tag = "endEvent" if end else "intermediateThrowEvent"
    return f'<bpmn:{tag} id="{element_id}"><bpmn:compensateEventDefinition{ref} /></bpmn:{tag}>'


async def test_compensation_runs_the_handlers_of_completed_activities_only(engine: Engine) -> None:
    """A throw event invokes the handlers of completed activities of its scope at once and waits for them;
    an activity still active (in a parallel branch) is not compensated; each activity at most once."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="fork" />'
        + compensable("book", "book", "undo-book")
        + compensable("pay", "pay", "undo-pay")
        + compensable("ship", "ship", "undo-ship")
        + compensate_throw("compensate")
        + compensate_throw("again")
        + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
        + chain("s", "fork", "book", "pay", "compensate", "again", "e")
        + chain("fork", "ship", "e2")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "book")
    await complete_one(engine, "pay")
    assert sorted(j.type for j in await activate(engine, "undo-book") + await activate(engine, "undo-pay")) == [
        "undo-book",
        "undo-pay",
    ]
    assert await activate(engine, "undo-ship") == []
    assert "compensate" in active(engine, pik)
    for job in engine.query.jobs(pik):
        if job.type in ("undo-book", "undo-pay"):
            await engine.complete_job(job.key, {})
    # 'again' found nothing left to compensate and completed at once
    assert passed(engine, pik)[-3:] == ["compensate", "again", "e"]
    await complete_one(engine, "ship")
    assert state(engine, pik) == "COMPLETED"


async def test_compensation_end_event_with_activity_ref_and_nested_sub_process(engine: Engine) -> None:
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + compensable("book", "book", "undo-book")
        + '<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />'
        + compensable("pay", "pay", "undo-pay")
        + '<bpmn:endEvent id="se" />'
        + chain("ss", "pay", "se")
        + "</bpmn:subProcess>"
        + '<bpmn:exclusiveGateway id="which" default="f_which_all" />'
        + compensate_throw("only-book", "book", end=True)
        + compensate_throw("all", end=True)
        + chain("s", "book", "sub", "which")
        + '<bpmn:sequenceFlow id="f_which_only" sourceRef="which" targetRef="only-book">'
        "<bpmn:conditionExpression>= onlyBook</bpmn:conditionExpression></bpmn:sequenceFlow>"
        + '<bpmn:sequenceFlow id="f_which_all" sourceRef="which" targetRef="all" />'
    )
    await deploy(engine, doc)
    only = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"onlyBook": True})
    ).process_instance_key
    await complete_one(engine, "book")
    await complete_one(engine, "pay")
    assert await activate(engine, "undo-pay") == []
    await complete_one(engine, "undo-book")
    assert state(engine, only) == "COMPLETED"

    everything = (
        await engine.create_process_instance(bpmn_process_id="p", variables={"onlyBook": False})
    ).process_instance_key
    await complete_one(engine, "book")
    await complete_one(engine, "pay")  # inside the sub-process: compensated once the sub-process completed
    await complete_one(engine, "undo-book")
    assert state(engine, everything) == "ACTIVE"
    await complete_one(engine, "undo-pay")
    assert state(engine, everything) == "COMPLETED"


async def test_compensation_models_are_checked_at_deploy_time(engine: Engine) -> None:
    unassociated = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("book", "book")
        + '<bpmn:boundaryEvent id="comp" attachedToRef="book"><bpmn:compensateEventDefinition /></bpmn:boundaryEvent>'
        + compensate_throw("c", "nothing")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "book", "c", "e")
    )
    with pytest.raises(Rejection) as rejected:
        await deploy(engine, unassociated)
    reason = rejected.value.reason
    assert "Element: comp: a compensation boundary event needs exactly one association" in reason
    assert "Element: c: activityRef 'nothing' must name an activity with a compensation boundary event" in reason
    assert "must be attached to an activity" not in reason


async def test_listener_and_compensation_waits_survive_a_restart(tmp_path: Path) -> None:
    """Listener progress and remembered compensable activities are rebuilt by replaying the command log."""
    engine = await Engine.open(tmp_path / "d", ControlledClock(START))  # abandoned below, as after a crash
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + compensable("book", "book", "undo-book")
        + service("check", "check", inner=listeners(("start", "pre"), ("end", "post")))
        + compensate_throw("compensate", end=True)
        + chain("s", "book", "check", "compensate")
    )
    await deploy(engine, doc)
    pik = (await engine.create_process_instance(bpmn_process_id="p")).process_instance_key
    await complete_one(engine, "book")
    await complete_one(engine, "pre")
    # crash: no close
    reopened = await Engine.open(tmp_path / "d", ControlledClock(START))
    await complete_one(reopened, "check")
    await complete_one(reopened, "post")
    await complete_one(reopened, "undo-book")
    assert state(reopened, pik) == "COMPLETED"
    assert reopened.replay_divergences == 0
    await reopened.close()


async def test_unsupported_boundary_event_is_reported_once(engine: Engine) -> None:
    """A boundary event with a definition the engine does not run is named for that alone (it used to also get
    "boundary event must be attached to an activity, not ''" although attachedToRef was set)."""
    doc = bpmn(
        '<bpmn:startEvent id="s" />'
        + service("work", "work")
        + '<bpmn:boundaryEvent id="cond" attachedToRef="work"><bpmn:conditionalEventDefinition>'
        "<bpmn:condition>= x &gt; 1</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:boundaryEvent>"
        + '<bpmn:endEvent id="e" />'
        + chain("s", "work", "e")
    )
    with pytest.raises(Rejection) as rejected:
        await deploy(engine, doc)
    assert "Element: cond: conditional boundary events are not supported" in rejected.value.reason
    assert "attached" not in rejected.value.reason
