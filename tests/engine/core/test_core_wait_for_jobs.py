"""``Engine.wait_for_jobs``: the long-polling wake-up the gateway's job dispatcher waits on.

It waits on a bare future plus one timer (bench/README.md: cheaper than ``asyncio.wait_for`` and it
lets the dispatcher's activation join the group commit of the command that created the job). These
tests pin the behaviour that must not change with that: every waiter of a type is woken, a waiter
that timed out or was cancelled leaves nothing behind, and a later wake-up still reaches new waiters.
"""

from __future__ import annotations

import asyncio

from core_helpers import bpmn, chain, deploy, service

from procgov_engine.core import Engine

ONE_TASK = bpmn(
    '<bpmn:startEvent id="s" />' + service("work", "work") + '<bpmn:endEvent id="e" />' + chain("s", "work", "e")
)


async def test_every_waiter_of_the_type_wakes_and_others_keep_waiting(engine: Engine) -> None:
    await deploy(engine, ONE_TASK)
    first = asyncio.create_task(engine.wait_for_jobs("work", 5))
    second = asyncio.create_task(engine.wait_for_jobs("work", 5))
    other = asyncio.create_task(engine.wait_for_jobs("other", 5))
    await asyncio.sleep(0)
    await engine.create_process_instance(bpmn_process_id="p")
    assert await asyncio.wait_for(asyncio.gather(first, second), 1) == [True, True]
    await asyncio.sleep(0)
    assert not other.done()
    other.cancel()


async def test_timed_out_and_cancelled_waiters_leave_nothing_behind(engine: Engine) -> None:
    await deploy(engine, ONE_TASK)
    assert await engine.wait_for_jobs("work", 0.01) is False
    cancelled = asyncio.create_task(engine.wait_for_jobs("work", 5))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    assert engine._job_waiters.get("work", []) == []

    waiter = asyncio.create_task(engine.wait_for_jobs("work", 5))
    await asyncio.sleep(0)
    await engine.create_process_instance(bpmn_process_id="p")
    assert await asyncio.wait_for(waiter, 1) is True
    assert "work" not in engine._job_waiters
