"""Durability across restarts: what the engine acknowledged survives a crash exactly once.

Zeebe docs: "Zeebe technical concepts" → "Internal processing" and "Fault tolerance"
(https://docs.camunda.io/docs/components/zeebe/technical-concepts/internal-processing/): a command is
acknowledged only after its records are written to the log; on restart the state is rebuilt from the
log, so acknowledged instances, jobs and timers are neither lost nor duplicated.

The crash test runs ``procgov engine`` as a subprocess (its own process, killed with SIGKILL while a
pyzeebe worker is completing jobs), restarts it on the same data directory and checks the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub
from pyzeebe import ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.errors import PyZeebeError
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.testing import EmbeddedEngine, running_worker
from procgov_engine.testing.assertions import read_records

RESOURCES = Path(__file__).parent / "resources"
INSTANCES = 40
KILL_AFTER = 20  # acknowledged creations before the engine is killed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def _engine_process(data_dir: Path, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    procgov = Path(sys.executable).with_name("procgov")
    command = [str(procgov)] if procgov.exists() else [sys.executable, "-m", "procgov_engine.server"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *(["engine"] if procgov.exists() else []),
        "--port",
        str(port),
        "--rest-port",
        "0",
        "--data",
        str(data_dir),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_serving(f"127.0.0.1:{port}", process)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _wait_serving(address: str, process: asyncio.subprocess.Process) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        for _ in range(200):
            if process.returncode is not None:
                assert process.stderr is not None
                raise AssertionError(f"engine exited early: {(await process.stderr.read()).decode()}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                response = await HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"engine at {address} did not start serving")


def _worker(address: str, handled: asyncio.Event | None = None) -> ZeebeWorker:
    """No-op handlers; a short job timeout so jobs held by a killed worker come back quickly."""
    worker = ZeebeWorker(create_insecure_channel(grpc_address=address), name="restart-test", request_timeout=2_000)
    config: dict[str, Any] = {"max_jobs_to_activate": 8, "max_running_jobs": 16, "timeout_ms": 2_000}

    @worker.task(task_type="gw.restart-prepare", **config)
    async def prepare(seq: int) -> dict[str, Any]:
        if handled is not None:
            handled.set()
        return {"prepared": seq}

    @worker.task(task_type="gw.restart-publish", **config)
    async def publish(seq: int) -> dict[str, Any]:
        return {"published": seq}

    return worker


async def _wait_all_completed(db: Path, keys: list[int], timeout_s: float = 60.0) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        records = read_records(db)
        done = {
            r["key"]
            for r in records
            if r["valueType"] == "PROCESS_INSTANCE"
            and r["recordType"] == "EVENT"
            and r["intent"] == "ELEMENT_COMPLETED"
            and r["value"].get("bpmnElementType") == "PROCESS"
        }
        missing = [k for k in keys if k not in done]
        if not missing:
            return records
        if loop.time() > deadline:
            last = {
                k: [f"{r['valueType']}.{r['intent']}" for r in records if r["value"].get("processInstanceKey") == k]
                for k in missing[:3]
            }
            last = {k: trail[-3:] for k, trail in last.items()}
            raise AssertionError(f"{len(missing)} acknowledged instances did not complete; last records: {last}")
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_sigkill_mid_load_loses_and_duplicates_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    port = _free_port()
    address = f"127.0.0.1:{port}"
    acknowledged: list[int] = []

    async with _engine_process(data_dir, port) as first:
        channel = create_insecure_channel(grpc_address=address)
        client = ZeebeClient(channel)
        await client.deploy_resource(RESOURCES / "timer-between-tasks.bpmn")
        handled = asyncio.Event()
        worker = _worker(address, handled)
        worker_task = asyncio.create_task(worker.work())
        for seq in range(INSTANCES):
            if len(acknowledged) == KILL_AFTER:
                await asyncio.wait_for(handled.wait(), 10)  # the worker is busy: jobs are in flight
                first.send_signal(signal.SIGKILL)
            try:
                created = await client.run_process("gw-timer-between-tasks", {"seq": seq})
            except (PyZeebeError, grpc.aio.AioRpcError):
                break  # not acknowledged: the engine is gone
            acknowledged.append(created.process_instance_key)
        await first.wait()
        assert first.returncode == -signal.SIGKILL
        before_restart = read_records(data_dir / "records.db")
        assert any(r["valueType"] == "JOB" and r["intent"] == "COMPLETED" for r in before_restart)
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)
        await channel.close()
    assert len(acknowledged) >= KILL_AFTER

    async with _engine_process(data_dir, port), running_worker(_worker(address)):
        records = await _wait_all_completed(data_dir / "records.db", acknowledged)

    events = [r for r in records if r["recordType"] == "EVENT"]
    positions = [r["position"] for r in records]
    assert positions == list(range(positions[0], positions[0] + len(positions)))  # no gaps, no repeats

    created_instances = Counter(
        r["key"]
        for r in events
        if r["valueType"] == "PROCESS_INSTANCE"
        and r["intent"] == "ELEMENT_ACTIVATED"
        and r["value"].get("bpmnElementType") == "PROCESS"
    )
    assert all(created_instances[k] == 1 for k in acknowledged)
    assert all(count == 1 for count in created_instances.values())

    jobs_created = Counter(r["key"] for r in events if r["valueType"] == "JOB" and r["intent"] == "CREATED")
    jobs_completed = Counter(r["key"] for r in events if r["valueType"] == "JOB" and r["intent"] == "COMPLETED")
    assert set(jobs_created.values()) == {1}
    assert set(jobs_completed.values()) == {1}
    timers_created = Counter(r["key"] for r in events if r["valueType"] == "TIMER" and r["intent"] == "CREATED")
    timers_triggered = Counter(r["key"] for r in events if r["valueType"] == "TIMER" and r["intent"] == "TRIGGERED")
    assert set(timers_created.values()) == {1}
    assert timers_triggered == timers_created

    for key in acknowledged:
        per_instance = [r for r in events if r["value"].get("processInstanceKey") == key]
        tasks_completed = Counter(
            r["value"]["elementId"]
            for r in per_instance
            if r["valueType"] == "PROCESS_INSTANCE" and r["intent"] == "ELEMENT_COMPLETED"
        )
        assert tasks_completed["prepare"] == 1
        assert tasks_completed["cool-down"] == 1
        assert tasks_completed["publish"] == 1


async def test_graceful_restart_keeps_activated_jobs_and_pending_timers(tmp_path: Path) -> None:
    async with EmbeddedEngine(tmp_path / "engine") as zeebe:
        await zeebe.deploy(RESOURCES / "timer-between-tasks.bpmn")
        channel = grpc.aio.insecure_channel(zeebe.address)
        stub = GatewayStub(channel)
        created = await stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="gw-timer-between-tasks", version=-1, variables='{"seq":1}')
        )
        instance = zeebe.instance(created.processInstanceKey)
        await instance.wait_element_active("prepare")

        async def activate(job_type: str, request_timeout: int = -1) -> list[pb.ActivatedJob]:
            request = pb.ActivateJobsRequest(
                type=job_type, worker="w", timeout=60_000, maxJobsToActivate=5, requestTimeout=request_timeout
            )
            # wait_for_ready: the channel reconnects to the restarted gateway instead of failing fast
            responses = stub.ActivateJobs(request, wait_for_ready=True)
            return [job async for response in responses for job in response.jobs]

        [job] = await activate("gw.restart-prepare")
        await zeebe.restart()

        assert await activate("gw.restart-prepare") == []  # still activated after the restart
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key), wait_for_ready=True)
        await instance.wait_element_active("cool-down")

        await zeebe.restart()
        await zeebe.increase_time(timedelta(seconds=1))  # the timer, rebuilt from the log, fires
        await instance.wait_element_active("publish")
        [publish] = await activate("gw.restart-publish", request_timeout=5_000)
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=publish.key))
        await instance.wait_completed()
        await channel.close()
