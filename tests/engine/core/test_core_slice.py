"""The vertical slice: deploy, create, service task jobs, gateways, end; records in SQLite; restart.

Semantics cite docs.camunda.io (Zeebe 8): components/modeler/bpmn/service-tasks, exclusive-gateways,
parallel-gateways; components/concepts/job-workers.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from core_helpers import activate, bpmn, chain, complete_one, deploy, flow, passed, service, state

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine

ORDER = bpmn(
    '<bpmn:startEvent id="start" />'
    + service("check", "order.check")
    + '<bpmn:exclusiveGateway id="ok" default="f_ok_reject" />'
    + service("ship", "order.ship")
    + service("reject", "order.reject")
    + '<bpmn:endEvent id="end" /><bpmn:endEvent id="end_rejected" />'
    + chain("start", "check", "ok")
    + flow("f_ok_ship", "ok", "ship", "= amount &lt; 100")
    + flow("f_ok_reject", "ok", "reject")
    + chain("ship", "end")
    + chain("reject", "end_rejected"),
    "order",
)


async def test_service_task_job_completes_and_exclusive_gateway_takes_first_true_flow(engine: Engine) -> None:
    """service-tasks: a job per activation; exclusive-gateways: first condition that is true, in XML order."""
    deployment = await deploy(engine, ORDER)
    assert [p.bpmn_process_id for p in deployment.processes] == ["order"]
    created = await engine.create_process_instance(bpmn_process_id="order", variables={"amount": 50, "who": "ann"})
    jobs = await activate(engine, "order.check", fetch=["amount"])
    assert len(jobs) == 1
    assert jobs[0].variables == {"amount": 50}
    assert jobs[0].element_id == "check" and jobs[0].retries == 3
    await engine.complete_job(jobs[0].key, {"checked": True})
    await complete_one(engine, "order.ship")
    assert state(engine, created.process_instance_key) == "COMPLETED"
    assert passed(engine, created.process_instance_key) == ["start", "check", "ok", "ship", "end"]
    assert engine.query.instance_variables(created.process_instance_key) == {
        "amount": 50,
        "who": "ann",
        "checked": True,
    }


async def test_exclusive_gateway_default_flow(engine: Engine) -> None:
    """exclusive-gateways: no condition true → the default flow."""
    await deploy(engine, ORDER)
    created = await engine.create_process_instance(bpmn_process_id="order", variables={"amount": 500})
    await complete_one(engine, "order.check")
    job = await complete_one(engine, "order.reject")
    assert job.variables == {"amount": 500}
    assert passed(engine, created.process_instance_key)[-1] == "end_rejected"


async def test_fetch_variables_empty_means_all_visible(engine: Engine) -> None:
    """job-workers#variables: no fetch list → every variable visible from the job's scope."""
    await deploy(engine, ORDER)
    await engine.create_process_instance(bpmn_process_id="order", variables={"amount": 1, "b": [1, 2]})
    jobs = await activate(engine, "order.check")
    assert jobs[0].variables == {"amount": 1, "b": [1, 2]}
    assert await activate(engine, "order.check") == []  # activated jobs are not activatable again


async def test_parallel_gateway_forks_and_joins(engine: Engine) -> None:
    """parallel-gateways: the join waits for a token on every incoming flow."""
    doc = bpmn(
        '<bpmn:startEvent id="s" /><bpmn:parallelGateway id="fork" />'
        + service("a", "a")
        + service("b", "b")
        + '<bpmn:parallelGateway id="join" />'
        + service("after", "after")
        + '<bpmn:endEvent id="e" />'
        + chain("s", "fork")
        + chain("fork", "a", "join")
        + chain("fork", "b", "join")
        + chain("join", "after", "e")
    )
    await deploy(engine, doc)
    created = await engine.create_process_instance(bpmn_process_id="p")
    await complete_one(engine, "b", {"fromB": 2})
    assert await activate(engine, "after") == []
    await complete_one(engine, "a", {"fromA": 1})
    await complete_one(engine, "after")
    assert state(engine, created.process_instance_key) == "COMPLETED"
    assert engine.query.instance_variables(created.process_instance_key) == {"fromA": 1, "fromB": 2}


async def test_records_are_in_sqlite_in_zeebe_shape(engine: Engine, tmp_path: Path) -> None:
    """docs/contracts.md "Records": the records table holds the exporter shape, positions increasing."""
    await deploy(engine, ORDER)
    created = await engine.create_process_instance(bpmn_process_id="order", variables={"amount": 5})
    db = sqlite3.connect(tmp_path / "data" / "records.db")
    rows = db.execute(
        "SELECT position, value_type, intent, record_type, key, process_instance_key, json "
        "FROM records ORDER BY position"
    ).fetchall()
    positions = [r[0] for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    job_created = [json.loads(r[6]) for r in rows if r[1] == "JOB" and r[2] == "CREATED"]
    assert len(job_created) == 1
    record = job_created[0]
    assert record["recordType"] == "EVENT" and record["partitionId"] == 1
    assert record["value"]["type"] == "order.check"
    assert record["value"]["processInstanceKey"] == created.process_instance_key
    assert record["key"] >= 1 << 51
    variable = next(json.loads(r[6]) for r in rows if r[1] == "VARIABLE")
    assert variable["value"]["name"] == "amount" and variable["value"]["value"] == "5"
    assert variable["value"]["scopeKey"] == created.process_instance_key


async def test_restart_replays_state(tmp_path: Path) -> None:
    """State is the fold of the log: after reopening, the open job and variables are still there."""
    clock = ControlledClock()
    engine = await Engine.open(tmp_path / "d", clock)
    await deploy(engine, ORDER)
    created = await engine.create_process_instance(bpmn_process_id="order", variables={"amount": 7})
    await complete_one(engine, "order.check", {"checked": "yes"})
    last = engine.writer.position
    await engine.close()

    reopened = await Engine.open(tmp_path / "d", clock)
    assert reopened.writer.position == last
    jobs = await activate(reopened, "order.ship")
    assert len(jobs) == 1 and jobs[0].variables == {"amount": 7, "checked": "yes"}
    await reopened.complete_job(jobs[0].key)
    assert state(reopened, created.process_instance_key) == "COMPLETED"
    positions = [r["position"] for r in reopened.query.records()]
    assert positions == list(range(1, len(positions) + 1))
    await reopened.close()


async def test_crash_without_close_loses_no_acknowledged_command(tmp_path: Path) -> None:
    """Durability: a command is committed before it returns, so dropping the engine without close()
    (as kill -9 would) keeps it, exactly once."""
    clock = ControlledClock()
    engine = await Engine.open(tmp_path / "d", clock)
    await deploy(engine, ORDER)
    await engine.create_process_instance(bpmn_process_id="order", variables={"amount": 7})
    jobs = await activate(engine, "order.check", timeout_ms=5_000)
    # no close(): simulate the crash by opening a second engine on the same files
    reopened = await Engine.open(tmp_path / "d", ControlledClock(clock.now()))
    assert await activate(reopened, "order.check") == []  # still activated, deadline kept
    await reopened.increase_time(timedelta(seconds=6))
    again = await activate(reopened, "order.check")
    assert [j.key for j in again] == [jobs[0].key]
    created = [r for r in reopened.query.records(value_type="PROCESS_INSTANCE_CREATION", intent="CREATED")]
    assert len(created) == 1
    await reopened.close()


async def test_duplicate_deploy_keeps_version_changed_content_increments(engine: Engine) -> None:
    """concepts/resources#versioning: identical content → same version; changed content → next version."""
    first = await deploy(engine, ORDER)
    again = await deploy(engine, ORDER)
    assert again.processes[0].version == 1
    assert again.processes[0].process_definition_key == first.processes[0].process_definition_key
    changed = await deploy(engine, ORDER.replace(b"order.ship", b"order.ship2"))
    assert changed.processes[0].version == 2


async def test_unknown_process_is_rejected_not_found(engine: Engine) -> None:
    with pytest.raises(Rejection) as info:
        await engine.create_process_instance(bpmn_process_id="nope")
    assert info.value.type is RejectionType.NOT_FOUND
    assert "nope" in info.value.reason


async def test_complete_unknown_job_rejected(engine: Engine) -> None:
    with pytest.raises(Rejection) as info:
        await engine.complete_job(123)
    assert info.value.type is RejectionType.NOT_FOUND
