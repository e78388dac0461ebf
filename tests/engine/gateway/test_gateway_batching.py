"""Adaptive activation batching in the job dispatcher (engine/gateway/jobs.py, ``Batching``).

The dispatcher answers a parked long poll as soon as a job appears while the engine has spare
capacity, and lets a batch gather for ``linger_s`` only while the loop is saturated (bench/README.md:
fewer ActivateJobs round trips per job raise the capacity). The loop's load is injected here (a
fixed busy share), so what these tests check does not depend on how busy the test host is: the
latency path at idle, the batch under saturation, and that lingering never runs into a poll's own
timeout. ``LoopLoad`` runs on injected clocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from procgov_engine.api import ActivatedJob, Resource
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine
from procgov_engine.gateway.jobs import ActivationRequest, Batching, JobDispatcher, LoopLoad

ONE_TASK = Path(__file__).parent / "resources" / "one-task.bpmn"  # process gw-one-task, job type gw.work
REQUEST = ActivationRequest(job_type="gw.work", worker="batching-test", timeout_ms=60_000, max_jobs=10)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    opened = await Engine.open(tmp_path / "data", ControlledClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    await opened.deploy([Resource("one-task.bpmn", ONE_TASK.read_bytes())])
    yield opened
    await opened.close()


async def _poll(dispatcher: JobDispatcher, long_poll_s: float) -> asyncio.Task[list[ActivatedJob]]:
    poll = asyncio.create_task(dispatcher.activate(REQUEST, long_poll_s))
    for _ in range(5):  # let the poll find nothing and park
        await asyncio.sleep(0)
    assert not poll.done()
    return poll


async def test_with_spare_capacity_the_first_job_answers_the_poll_at_once(engine: Engine) -> None:
    # A linger far beyond the test's patience: only the idle path can answer in time.
    dispatcher = JobDispatcher(engine, Batching(busy_share=0.75, linger_s=60.0), load=lambda: 0.3)
    poll = await _poll(dispatcher, long_poll_s=300.0)
    first = await engine.create_process_instance(bpmn_process_id="gw-one-task")

    jobs = await asyncio.wait_for(poll, timeout=10)

    assert [job.process_instance_key for job in jobs] == [first.process_instance_key]
    await dispatcher.close()


async def test_saturated_jobs_gather_into_one_answer(engine: Engine) -> None:
    dispatcher = JobDispatcher(engine, Batching(busy_share=0.75, linger_s=1.0), load=lambda: 0.9)
    poll = await _poll(dispatcher, long_poll_s=30.0)
    created = [await engine.create_process_instance(bpmn_process_id="gw-one-task") for _ in range(3)]
    assert not poll.done()  # the first job did not end the poll: its batch is gathering

    jobs = await asyncio.wait_for(poll, timeout=10)

    assert sorted(job.process_instance_key for job in jobs) == sorted(c.process_instance_key for c in created)
    await dispatcher.close()


async def test_saturated_poll_with_jobs_ready_also_waits_for_its_batch(engine: Engine) -> None:
    dispatcher = JobDispatcher(engine, Batching(busy_share=0.75, linger_s=1.0), load=lambda: 0.9)
    first = await engine.create_process_instance(bpmn_process_id="gw-one-task")
    poll = asyncio.create_task(dispatcher.activate(REQUEST, 30.0))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not poll.done()  # with spare capacity this poll would have been answered from the ready job
    second = await engine.create_process_instance(bpmn_process_id="gw-one-task")

    jobs = await asyncio.wait_for(poll, timeout=10)

    assert sorted(job.process_instance_key for job in jobs) == sorted(
        [first.process_instance_key, second.process_instance_key]
    )
    await dispatcher.close()


async def test_lingering_never_runs_into_the_polls_own_timeout(engine: Engine) -> None:
    # Saturated, with a linger longer than the poll's whole timeout: without the bound the poll would
    # end empty after 1 s and the job would wait for the next poll.
    dispatcher = JobDispatcher(engine, Batching(busy_share=0.75, linger_s=5.0), load=lambda: 1.0)
    poll = await _poll(dispatcher, long_poll_s=1.0)
    created = await engine.create_process_instance(bpmn_process_id="gw-one-task")

    jobs = await asyncio.wait_for(poll, timeout=10)

    assert [job.process_instance_key for job in jobs] == [created.process_instance_key]
    await dispatcher.close()


async def test_linger_zero_turns_batching_off(engine: Engine) -> None:
    dispatcher = JobDispatcher(engine, Batching(busy_share=0.0, linger_s=0.0), load=lambda: 1.0)
    created = await engine.create_process_instance(bpmn_process_id="gw-one-task")

    jobs = await asyncio.wait_for(dispatcher.activate(REQUEST, 300.0), timeout=10)  # ready job, answered at once

    assert [job.process_instance_key for job in jobs] == [created.process_instance_key]
    await dispatcher.close()


def test_loop_load_is_the_threads_cpu_share_per_window() -> None:
    # Binary fractions, so that the window arithmetic below is exact.
    wall, cpu = [100.0], [7.0]
    load = LoopLoad(window_s=0.0625, cpu=lambda: cpu[0], wall=lambda: wall[0])
    assert load.share() == 0.0  # first question: the window starts

    wall[0] += 0.125
    cpu[0] += 0.09375
    assert load.share() == 0.75

    wall[0] += 0.03125  # within the next window: the last value stands
    assert load.share() == 0.75

    wall[0] += 8.0  # a long idle spell is seen at the next question
    cpu[0] += 0.03125
    assert load.share() == pytest.approx(0.03125 / 8.03125)

    wall[0] += 0.125  # never above 1 (thread CPU clocks and wall clocks tick differently)
    cpu[0] += 0.25
    assert load.share() == 1.0
