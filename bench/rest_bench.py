"""REST job activation + completion, as a ratio to a bare HTTP round trip on loopback in the same run.

The engine runs as ``python -m procgov_engine.server`` in a subprocess on a fresh data directory, serving gRPC
and the REST API on free ports; this process drives it with httpx over loopback, as Camunda's REST
clients do. Lines:

- *HTTP round trip*: sequential ``GET /v2/status`` (204, no body, no engine work): the floor of any
  request through the same server stack (uvicorn + Starlette) on this host;
- *activate + complete, sequential*: ``POST /v2/jobs/activation`` (``maxJobsToActivate`` 1) then
  ``POST /v2/jobs/{key}/completion`` for one job at a time: the cost of working one job over REST;
- *jobs/s, batches of 32*: activation of up to 32 jobs, then their completions 32 in flight;
- *user task search*: ``POST /v2/user-tasks/search`` (filter state CREATED, candidate group, page of 10)
  with ``--user-tasks`` Camunda user tasks open: what a task list's refresh costs;
- *user task completion, sequential*: ``POST /v2/user-tasks/{key}/completion`` with variables, one task
  at a time (the element then completes through its output mapping).

Each is reported with its ratio to the round trip (latency: × round-trip p50; throughput: ÷ round
trips/s). Note ``uptime`` beside the result: the host is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench-rest-defs" targetNamespace="http://procgov.bench">
  <bpmn:process id="bench-rest" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work">
      <bpmn:extensionElements><zeebe:taskDefinition type="bench-rest" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
USER_TASK_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench-ut-defs" targetNamespace="http://procgov.bench">
  <bpmn:process id="bench-user-task" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:assignmentDefinition candidateGroups="reviewers" />
        <zeebe:ioMapping><zeebe:output source="=approved" target="approved" /></zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
USER_TASK_SEARCH = {"filter": {"state": "CREATED", "candidateGroup": "reviewers"}, "page": {"limit": 10}}
ACTIVATE = {"type": "bench-rest", "timeout": 60_000, "worker": "bench", "requestTimeout": 2_000}


async def _start_engine(data: Path) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "procgov_engine.server", "--port", "0", "--rest-port", "0", "--data", str(data),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            raise RuntimeError("the engine exited before serving REST")
        if match := re.search(r"REST API on (\S+)/v2", line):
            return process, match.group(1)


async def _create(client: httpx.AsyncClient, count: int, process_id: str = "bench-rest") -> None:
    for start in range(0, count, 64):
        await asyncio.gather(
            *(
                client.post("/process-instances", json={"processDefinitionId": process_id})
                for _ in range(min(64, count - start))
            )
        )


async def measure(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="rest-bench-") as tmp:
        process, address = await _start_engine(Path(tmp))
        try:
            async with httpx.AsyncClient(base_url=f"{address}/v2", timeout=30) as client:
                deployed = await client.post("/deployments", files=[("resources", ("bench-rest.bpmn", PROCESS))])
                deployed.raise_for_status()

                for _ in range(50):  # warm-up
                    await client.get("/status")
                trips = []
                for _ in range(args.round_trips):
                    t0 = time.perf_counter()
                    await client.get("/status")
                    trips.append(time.perf_counter() - t0)
                trip_p50 = statistics.median(trips)
                trips_per_s = len(trips) / sum(trips)

                await _create(client, args.sequential)
                pairs = []
                for _ in range(args.sequential):
                    t0 = time.perf_counter()
                    jobs = (await client.post("/jobs/activation", json=ACTIVATE | {"maxJobsToActivate": 1})).json()
                    (await client.post(f"/jobs/{jobs['jobs'][0]['jobKey']}/completion")).raise_for_status()
                    pairs.append(time.perf_counter() - t0)
                pair_p50 = statistics.median(pairs)
                pair_p99 = sorted(pairs)[int(len(pairs) * 0.99) - 1]

                await _create(client, args.batched)
                done, t0 = 0, time.perf_counter()
                while done < args.batched:
                    jobs = (await client.post("/jobs/activation", json=ACTIVATE | {"maxJobsToActivate": 32})).json()
                    keys = [j["jobKey"] for j in jobs["jobs"]]
                    await asyncio.gather(*(client.post(f"/jobs/{k}/completion") for k in keys))
                    done += len(keys)
                jobs_per_s = done / (time.perf_counter() - t0)

                user_task_resource = [("resources", ("bench-user-task.bpmn", USER_TASK_PROCESS))]
                (await client.post("/deployments", files=user_task_resource)).raise_for_status()
                await _create(client, args.user_tasks, "bench-user-task")
                searches, keys = [], []
                for _ in range(args.searches):
                    t0 = time.perf_counter()
                    found = await client.post("/user-tasks/search", json=USER_TASK_SEARCH)
                    searches.append(time.perf_counter() - t0)
                    found.raise_for_status()
                    keys = [t["userTaskKey"] for t in found.json()["items"]]
                assert len(keys) == 10, keys
                search_p50 = statistics.median(searches)
                all_keys = [
                    t["userTaskKey"]
                    for t in (
                        await client.post(
                            "/user-tasks/search", json={"filter": {"state": "CREATED"}, "page": {"limit": 10_000}}
                        )
                    ).json()["items"]
                ]
                completions = []
                for key in all_keys[: args.completions]:
                    t0 = time.perf_counter()
                    done_task = await client.post(
                        f"/user-tasks/{key}/completion", json={"variables": {"approved": True}}
                    )
                    completions.append(time.perf_counter() - t0)
                    done_task.raise_for_status()
                completion_p50 = statistics.median(completions)
        finally:
            process.terminate()
            await process.wait()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"HTTP round trip (GET /v2/status) p50 {trip_p50 * 1e3:.2f} ms, {trips_per_s:,.0f}/s sequential")
    print(
        f"activate + complete, sequential: p50 {pair_p50 * 1e3:.2f} ms (x{pair_p50 / trip_p50:.1f} round trip), "
        f"p99 {pair_p99 * 1e3:.2f} ms"
    )
    print(f"jobs/s, batches of 32: {jobs_per_s:,.0f} ({jobs_per_s / trips_per_s:.2f} x sequential round trips/s)")
    print(
        f"user task search, {args.user_tasks} open, page of 10: p50 {search_p50 * 1e3:.2f} ms "
        f"(x{search_p50 / trip_p50:.1f} round trip)"
    )
    print(
        f"user task completion, sequential ({len(completions)}): p50 {completion_p50 * 1e3:.2f} ms "
        f"(x{completion_p50 / trip_p50:.1f} round trip)"
    )
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rest", description=__doc__)
    parser.add_argument("--round-trips", type=int, default=1_000)
    parser.add_argument("--sequential", type=int, default=300, help="jobs worked one at a time")
    parser.add_argument("--batched", type=int, default=1_000, help="jobs worked in batches of 32")
    parser.add_argument("--user-tasks", type=int, default=300, help="Camunda user tasks open while searching")
    parser.add_argument("--searches", type=int, default=100, help="user task searches measured")
    parser.add_argument("--completions", type=int, default=200, help="user tasks completed one at a time")
    return asyncio.run(measure(parser.parse_args(argv)))
