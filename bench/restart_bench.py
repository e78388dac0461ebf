"""Engine start-up: opening a data directory by folding all of its events vs from a snapshot.

The benchmark builds its own log in-process (no gRPC: the subject is the open, not the gateway):
``--instances`` (default 5,000) instances of the 10-service-task process of engine_bench.py, each
worked to the end, plus ``--live`` (default 1,000) instances left waiting at their third task, so that
the snapshot carries real runtime state, and ``--incidents`` (default 10) instances of a second process
stuck in an open incident at their task's activation (a job type expression without its variable),
whose retry step the snapshot must hold too. It then measures, in the same run and on the same files:

* baseline: ``Engine.open(snapshot_every=0)``, every event of the log folded through the event appliers
  (engine/core/state/appliers/; no command processor runs);
* snapshot: ``Engine.open()`` restoring the snapshot written on close plus the (empty) tail;
* the snapshot's size and the time to take it (pickling on the loop thread).

Both opens must give the same live state (checked), else the benchmark fails.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bench.engine_bench import PROCESS_ID, TASKS, ten_task_process
from procgov_engine.api import Resource
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine, snapshot

INCIDENT_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://procgov.bench">
  <bpmn:process id="bench-incident" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="=kind" />
    </bpmn:extensionElements></bpmn:serviceTask>
  </bpmn:process>
</bpmn:definitions>"""


async def build_log(data: Path, instances: int, live: int, incidents: int = 0) -> int:
    """Work ``instances`` to the end, leave ``live`` waiting and ``incidents`` in an open incident;
    returns the commands logged."""
    engine = await Engine.open(data, ControlledClock(), snapshot_every=0)
    await engine.deploy([Resource("bench.bpmn", ten_task_process()), Resource("incident.bpmn", INCIDENT_PROCESS)])
    for _ in range(incidents):
        await engine.create_process_instance(bpmn_process_id="bench-incident", variables={})

    async def work(task: int, count: int) -> None:
        remaining = count
        while remaining:
            jobs = await engine.activate_jobs(
                job_type=f"bench.t{task}", worker="bench", timeout_ms=600_000, max_jobs=min(remaining, 100)
            )
            # concurrently, so that they share group commits as a loaded engine's commands do
            await asyncio.gather(*(engine.complete_job(job.key, {"step": task}) for job in jobs))
            remaining -= len(jobs)

    for start in range(0, instances + live, 100):
        await asyncio.gather(
            *(
                engine.create_process_instance(bpmn_process_id=PROCESS_ID, variables={"order": "x" * 40})
                for _ in range(min(100, instances + live - start))
            )
        )
    for task in range(TASKS):
        await work(task, instances + live if task < 2 else instances)
    commands = engine._commands_logged
    await engine.close()
    return commands


def live_state(engine: Engine) -> tuple[int, int, int, int, int]:
    p = engine.state
    return (engine.writer.position, len(p.instances), len(p.jobs), len(p.variables.values), len(p.incidents))


async def measure(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="procgov-restart-") as tmp:
        data = Path(tmp) / "engine"
        started = time.perf_counter()
        commands = await build_log(data, args.instances, args.live, args.incidents)
        print(f"log: {commands:,} commands, built in {time.perf_counter() - started:.1f} s")

        replays, restores = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            replayed = await Engine.open(data, ControlledClock(), snapshot_every=0)
            replays.append(time.perf_counter() - t0)
            expected = live_state(replayed)
            events = replayed.folded_events
            t0 = time.perf_counter()
            taken = snapshot.dumps(
                replayed.state,
                replayed._commands_logged,
                replayed._last_command,
                replayed.writer.position,
                replayed.writer.key_counter,
            )
            take_s = time.perf_counter() - t0
            await replayed.close()  # snapshots off: writes none
            snapshot.write(data, taken)

            t0 = time.perf_counter()
            restored = await Engine.open(data, ControlledClock())
            restores.append(time.perf_counter() - t0)
            state = live_state(restored)
            covered = restored.snapshot_commands
            await restored.close()
            (data / snapshot.SNAPSHOT_FILE).unlink()
            if state != expected or covered != commands:
                print(f"FAILED: snapshot state {state} (covering {covered}) != folded {expected}")
                return 1
        replay_s, restore_s = min(replays), min(restores)
        print(
            f"live state: {expected[1]:,} element instances, {expected[2]:,} jobs, {expected[3]:,} variable scopes, "
            f"{expected[4]:,} open incidents"
        )
        print(f"{'open':<40}{'seconds (best of ' + str(args.repeat) + ')':>24}{'ratio':>10}")
        print(f"{'fold the whole log (baseline)':<40}{replay_s:>24.3f}{1.0:>9.2f}x")
        print(f"{'restore the snapshot':<40}{restore_s:>24.3f}{restore_s / replay_s:>9.3f}x")
        print(
            f"snapshot: {len(taken) / 1e6:.1f} MB, taken in {take_s * 1000:.0f} ms; "
            f"fold rate {events / replay_s:,.0f} events/s ({commands / replay_s:,.0f} commands/s)"
        )
        shutil.rmtree(data, ignore_errors=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench restart", description=__doc__)
    parser.add_argument("--instances", type=int, default=5_000, help="instances worked to the end")
    parser.add_argument("--live", type=int, default=1_000, help="instances left waiting (runtime state)")
    parser.add_argument("--incidents", type=int, default=10, help="instances left in an open incident")
    parser.add_argument("--repeat", type=int, default=3)
    return asyncio.run(measure(parser.parse_args(argv)))
