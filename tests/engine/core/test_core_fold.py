"""The engine state is the fold of its events (issue #10 item 1; Zeebe's event appliers).

Opening a data directory restores the snapshot (the state at a record position) and applies every event
after it through the appliers of engine/core/state/appliers/; no command processor runs. So a change of
what the processors do (an upgrade) cannot change what an existing log means: the tests below replace
the processors' behaviour and reopen a log, and open incidents whose resolution needs what only the events
carry (a job's completion variables for the output mappings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from core_helpers import START, activate, bpmn, chain, deploy, service
from test_core_restart import build_state, fingerprint

from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine
from procgov_engine.core.behaviours.lifecycle import ElementLifecycle
from procgov_engine.core.elements.gateways import ConditionalGatewayBehaviour
from procgov_engine.core.processing import CommandProcessor


@pytest.mark.parametrize("snapshot_every", [0, 100_000], ids=["whole-log", "snapshot"])
async def test_reopening_runs_no_processor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snapshot_every: int
) -> None:
    """Processors that would do something else (or fail) today do not change the state a log opens to."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=snapshot_every)
    await build_state(engine)
    before = fingerprint(engine)
    records_before = len(list(engine.query.records()))
    await engine.close()

    def refuse(self: object, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{type(self).__name__} ran while the engine was opening")

    for processor in CommandProcessor.__subclasses__() + [
        c for base in CommandProcessor.__subclasses__() for c in base.__subclasses__()
    ]:
        monkeypatch.setattr(processor, "process", refuse)
    monkeypatch.setattr(ElementLifecycle, "activate", refuse)
    monkeypatch.setattr(ConditionalGatewayBehaviour, "_choose_flows", refuse)
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()), snapshot_every=snapshot_every)
    try:
        assert fingerprint(reopened) == before
        assert len(list(reopened.query.records())) == records_before  # and nothing was written
        assert reopened.folded_events > 0 or reopened.snapshot_commands > 0
    finally:
        await reopened.close()


MAPPED = bpmn(
    '<bpmn:startEvent id="s" />'
    + service(
        "enrich",
        "enrich",
        inner='<zeebe:ioMapping><zeebe:output source="=if factor = null then no_such_function(1) else score * factor" '
        'target="weighted" /></zeebe:ioMapping>',
    )
    + service("after", "after")
    + '<bpmn:endEvent id="e" />'
    + chain("s", "enrich", "after", "e"),
    "mapped",
)


@pytest.mark.parametrize("snapshot_every", [0, 100_000], ids=["whole-log", "snapshot"])
async def test_an_output_mapping_incident_resolves_with_the_job_variables_after_reopening(
    tmp_path: Path, snapshot_every: int
) -> None:
    """The job's completion variables are in its COMPLETED event only: the fold hands them to the element,
    so resolving the output mapping's incident after a restart maps them (and the snapshot holds them)."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=snapshot_every)
    await deploy(engine, MAPPED)
    created = await engine.create_process_instance(bpmn_process_id="mapped")
    [job] = await activate(engine, "enrich")
    await engine.complete_job(job.key, {"score": 7})  # `factor` is missing: IO_MAPPING_ERROR
    [incident] = engine.state.incidents.values()
    assert incident.error_type == "IO_MAPPING_ERROR"
    before = fingerprint(engine)
    await engine.close()

    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()), snapshot_every=snapshot_every)
    try:
        assert fingerprint(reopened) == before
        assert (reopened.snapshot_commands > 0) == (snapshot_every > 0)
        [restored] = reopened.state.incidents.values()
        assert restored.retry is not None and restored.retry.method == "run_completion"
        await reopened.set_variables(created.process_instance_key, {"factor": 3}, local=False)
        await reopened.resolve_incident(restored.key)
        assert not reopened.state.incidents
        [after] = await activate(reopened, "after")
        assert after.variables["weighted"] == 21
    finally:
        await reopened.close()


LISTENED = bpmn(
    '<bpmn:startEvent id="s" />'
    + service(
        "task",
        "task",
        inner='<zeebe:executionListeners><zeebe:executionListener eventType="start" type="=listenerType" />'
        "</zeebe:executionListeners>",
    )
    + '<bpmn:endEvent id="e" />'
    + chain("s", "task", "e"),
    "listened",
)


async def test_an_activation_incident_opens_from_a_snapshot_and_resolves(tmp_path: Path) -> None:
    """An incident on an element's activation (its start listener's job type cannot be evaluated) is in the
    snapshot with its retry step; resolved after reopening, the listener and then the element run."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock)
    await deploy(engine, LISTENED)
    created = await engine.create_process_instance(bpmn_process_id="listened")
    [incident] = engine.state.incidents.values()
    await engine.close()

    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    try:
        assert reopened.snapshot_commands > 0 and reopened.replayed_commands == 0
        restored = reopened.state.incidents[incident.key]
        assert restored.retry is not None and restored.retry.method == "run_activation"
        await reopened.set_variables(created.process_instance_key, {"listenerType": "audit"}, local=False)
        await reopened.resolve_incident(incident.key)
        [listener] = await activate(reopened, "audit")
        await reopened.complete_job(listener.key)
        assert len(await activate(reopened, "task")) == 1
    finally:
        await reopened.close()


SIGNALLED = bpmn(
    '<bpmn:startEvent id="s" />'
    + service("wait", "wait")
    + '<bpmn:boundaryEvent id="stop" attachedToRef="wait"><bpmn:extensionElements><zeebe:ioMapping>'
    '<zeebe:output source="=if fix = null then no_such_function(1) else payload" target="seen" />'
    "</zeebe:ioMapping></bpmn:extensionElements>"
    '<bpmn:signalEventDefinition signalRef="sig" /></bpmn:boundaryEvent>'
    + service("after", "after")
    + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
    + chain("s", "wait", "e")
    + chain("stop", "after", "e2"),
    "signalled",
    extra='<bpmn:signal id="sig" name="halt" />',
)


async def test_a_signal_boundary_event_keeps_the_signal_variables_across_a_restart(tmp_path: Path) -> None:
    """A broadcast's variables reach the boundary event it triggers (docs: signal events, "variables"); its
    output mapping fails, the engine restarts (the whole log folded), the incident is resolved: the mapping
    sees the signal's variables, which only the SIGNAL record carries."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=0)
    await deploy(engine, SIGNALLED)
    created = await engine.create_process_instance(bpmn_process_id="signalled")
    await engine.broadcast_signal("halt", {"payload": 5})
    [incident] = engine.state.incidents.values()
    await engine.close()
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()), snapshot_every=0)
    try:
        [stop] = [i for i in reopened.state.instances.values() if i.element.id == "stop"]
        assert stop.temp_variables == {"payload": 5}  # derived from the SIGNAL BROADCASTED event
        await reopened.set_variables(created.process_instance_key, {"fix": True}, local=False)
        await reopened.resolve_incident(incident.key)
        [after] = await activate(reopened, "after")
        assert after.variables["seen"] == 5
    finally:
        await reopened.close()


INSTRUCTED = bpmn(
    '<bpmn:startEvent id="s" />'
    + service("a", "a")
    + service("b", "b")
    + '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
    + chain("s", "a", "e")
    + chain("b", "e2")
    + '<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es" isInterrupting="false">'
    '<bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent><bpmn:endEvent id="ee" />'
    + chain("es", "ee")
    + "</bpmn:subProcess>",
    "instructed",
    extra='<bpmn:message id="m" name="poke"><bpmn:extensionElements><zeebe:subscription '
    'correlationKey="=if fix = null then no_such_function(1) else fix" /></bpmn:extensionElements></bpmn:message>',
)


async def test_a_process_activation_incident_keeps_its_start_instructions_across_a_restart(tmp_path: Path) -> None:
    """The instance's event sub-process cannot subscribe (its correlation key fails), so the process's own
    activation has the incident; the PROCESS_INSTANCE_CREATION record's start instructions say where it
    starts once resolved, after a restart too (docs: create process instance, start instructions)."""
    clock = ControlledClock(START)
    engine = await Engine.open(tmp_path / "d", clock, snapshot_every=0)
    await deploy(engine, INSTRUCTED)
    created = await engine.create_process_instance(bpmn_process_id="instructed", start_element_ids=["b"])
    [incident] = engine.state.incidents.values()
    await engine.close()
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()), snapshot_every=0)
    try:
        restored = reopened.state.incidents[incident.key]
        assert restored.retry is not None and restored.retry.method == "activate_root"
        assert [e.id for e in restored.retry.args[1]] == ["b"]
        await reopened.set_variables(created.process_instance_key, {"fix": "k"}, local=True)
        await reopened.resolve_incident(incident.key)
        assert len(await activate(reopened, "b")) == 1
        assert await activate(reopened, "a") == []
    finally:
        await reopened.close()
