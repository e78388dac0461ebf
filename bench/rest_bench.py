"""REST job activation + completion, as a ratio to a bare HTTP round trip on loopback in the same run.

The engine runs as ``python -m engine.server`` in a subprocess on a fresh data directory, serving gRPC
and the REST API on free ports; this process drives it with httpx over loopback, as Camunda's REST
clients do. Lines:

- *HTTP round trip*: sequential ``GET /v2/status`` (204, no body, no engine work): the floor of any
  request through the same server stack (uvicorn + Starlette) on this host;
- *activate + complete, sequential*: ``POST /v2/jobs/activation`` (``maxJobsToActivate`` 1) then
  ``POST /v2/jobs/{key}/completion`` for one job at a time: the cost of working one job over REST;
- *jobs/s, batches of 32*: activation of up to 32 jobs, then their completions 32 in flight.

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
ACTIVATE = {"type": "bench-rest", "timeout": 60_000, "worker": "bench", "requestTimeout": 2_000}


async def _start_engine(data: Path) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine.server", "--port", "0", "--rest-port", "0", "--data", str(data),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            raise RuntimeError("the engine exited before serving REST")
        if match := re.search(r"REST API on (\S+)/v2", line):
            return process, match.group(1)


async def _create(client: httpx.AsyncClient, count: int) -> None:
    for start in range(0, count, 64):
        await asyncio.gather(
            *(
                client.post("/process-instances", json={"processDefinitionId": "bench-rest"})
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
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rest", description=__doc__)
    parser.add_argument("--round-trips", type=int, default=1_000)
    parser.add_argument("--sequential", type=int, default=300, help="jobs worked one at a time")
    parser.add_argument("--batched", type=int, default=1_000, help="jobs worked in batches of 32")
    return asyncio.run(measure(parser.parse_args(argv)))
