"""Engine benchmark: throughput and job activation latency over the real gateway protocol.

The engine runs in a subprocess (``python -m procgov_engine.server``, its own interpreter and core); this
process drives it with pyzeebe exactly as the workers do. One run measures:

1. the floor: a bare unary gRPC round trip on loopback (Topology): latency of sequential calls, and
   calls/s with as many calls in flight as the load phase creates instances (each job costs at least
   one unary RPC, CompleteJob, so jobs/s cannot exceed this);
2. load: process instances of 10 service tasks (10 job types), created with bounded concurrency and
   worked by no-op pyzeebe tasks → instances/s and jobs/s;
3. latency, job created → handler invoked: ``handler time - JOB CREATED record timestamp``, both from
   the wall clock of this host; the record timestamp has millisecond resolution (floored), so each
   sample can be up to 1 ms too high. Measured idle (one instance at a time, the worker long-polling:
   the wake-up path), at a steady rate below capacity, and under the full load of (2), where it is
   mostly queueing behind the other jobs.

Targets (brief): 2,000 jobs/s, 200 instances/s, p50 latency < 5 ms.
"""

# No ``from __future__ import annotations`` here: pyzeebe finds a handler's ``job: Job`` parameter by
# comparing the runtime annotation with the Job class, which a string annotation never equals.

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub
from pyzeebe import Job, ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

TASKS = 10
PROCESS_ID = "bench-ten-tasks"
TARGET_JOBS_PER_S = 2_000
TARGET_INSTANCES_PER_S = 200
TARGET_P50_MS = 5.0


def ten_task_process() -> bytes:
    tasks = "".join(
        f'<bpmn:serviceTask id="t{i}"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="bench.t{i}" /></bpmn:extensionElements></bpmn:serviceTask>'
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"start" if i == 0 else f"t{i - 1}"}" targetRef="t{i}" />'
        for i in range(TASKS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench" targetNamespace="http://procgov/bench">'
        f'<bpmn:process id="{PROCESS_ID}" isExecutable="true"><bpmn:startEvent id="start" />{tasks}'
        f'<bpmn:sequenceFlow id="fend" sourceRef="t{TASKS - 1}" targetRef="end" /><bpmn:endEvent id="end" />'
        "</bpmn:process></bpmn:definitions>"
    ).encode()


@dataclass
class Measurements:
    unary_p50_ms: float = 0.0
    unary_p99_ms: float = 0.0
    unary_per_s: float = 0.0
    unary_concurrent_per_s: float = 0.0
    unary_engine_cpu_us: float = 0.0  # engine CPU per unary call with calls in flight
    op_costs_us: dict[str, tuple[float, float]] = field(default_factory=dict)  # --op-costs: (engine, loop) µs
    instances: int = 0
    jobs: int = 0
    load_s: float = 0.0
    idle_latencies_ms: list[float] = field(default_factory=list)
    steady_latencies_ms: list[float] = field(default_factory=list)
    load_latencies_ms: list[float] = field(default_factory=list)
    steady_instances: int = 0
    load_batches: int = 0  # ActivateJobs answers (JOB_BATCH ACTIVATED) during the load phase
    load_batched_jobs: int = 0
    engine_cpu_s: float = 0.0  # CPU time of the engine process during the load phase
    client_cpu_s: float = 0.0  # CPU time of this process (pyzeebe client + worker) during the load phase
    engine_threads_cpu_s: dict[str, float] = field(default_factory=dict)  # engine_cpu_s by thread role

    @property
    def instances_per_s(self) -> float:
        return self.instances / self.load_s if self.load_s else 0.0

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.load_s if self.load_s else 0.0


class Tally:
    """A counter one can wait on."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    async def add(self) -> None:
        async with self._changed:
            self.count += 1
            self._changed.notify_all()

    async def reach(self, target: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.count >= target)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def engine_process(data_dir: Path, port: int, profile: Path | None, native: bool = False) -> AsyncIterator[int]:
    command = [sys.executable, "-m", "procgov_engine.server", "--port", str(port), "--rest-port", "0"]
    command += ["--data", str(data_dir)]
    if profile is not None:
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        output_format = "speedscope" if profile.suffix == ".json" else "raw"  # raw: collapsed stacks
        extra = ["--native", "--threads"] if native else []
        command = [py_spy, "record", *extra, "-o", str(profile), "--format", output_format, "--", *command]
    log = (data_dir.parent / "engine.log").open("wb")
    process = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=log)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            for _ in range(400):
                if process.returncode is not None:
                    raise RuntimeError(f"engine exited: see {log.name}")
                with contextlib.suppress(grpc.aio.AioRpcError):
                    await HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                    break
                await asyncio.sleep(0.05)
        yield process.pid
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT if profile is not None else signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def measure_unary(
    address: str, calls: int, concurrency: int, engine_pid: int
) -> tuple[float, float, float, float, float]:
    """The floor every RPC pays: Topology round trips on loopback.

    Returns p50 and p99 (ms) and calls/s of sequential calls, and calls/s with ``concurrency`` calls in
    flight (the most unary RPCs per second this host serves; each job costs at least one), and the
    engine's CPU µs per call in the concurrent phase (what one RPC costs the server in gRPC alone).
    """
    async with grpc.aio.insecure_channel(address) as channel:
        stub = GatewayStub(channel)
        for _ in range(50):  # warm-up
            await stub.Topology(pb.TopologyRequest())
        samples = []
        started = time.perf_counter()
        for _ in range(calls):
            t0 = time.perf_counter()
            await stub.Topology(pb.TopologyRequest())
            samples.append((time.perf_counter() - t0) * 1000)
        sequential_per_s = calls / (time.perf_counter() - started)

        async def caller(n: int) -> None:
            for _ in range(n):
                await stub.Topology(pb.TopologyRequest())

        started = time.perf_counter()
        cpu_before = process_cpu_s(engine_pid)
        await asyncio.gather(*(caller(calls // concurrency) for _ in range(concurrency)))
        done = (calls // concurrency) * concurrency
        concurrent_per_s = done / (time.perf_counter() - started)
        server_us = (process_cpu_s(engine_pid) - cpu_before) / done * 1e6
    return percentile(samples, 0.5), percentile(samples, 0.99), sequential_per_s, concurrent_per_s, server_us


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds per thread of a process, keyed ``name:tid`` (Linux /proc; empty elsewhere)."""
    result = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        result[f"{name}:{task.name}"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return result


def _threads_by_role(pid: int, before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds between two :func:`thread_cpu_s` readings, per role: ``loop`` (the main thread, whose
    id is the process id), ``commit`` (named ``engine-commit`` by the engine), ``py`` (the other Python
    threads: grpcio's completion-queue poller, checkpoints) and ``core`` (grpcio's named C threads)."""
    roles = {"loop": 0.0, "commit": 0.0, "py": 0.0, "core": 0.0}
    for key, cpu in after.items():
        name, tid = key.rsplit(":", 1)
        if tid == str(pid):
            role = "loop"
        elif name == "engine-commit":
            role = "commit"
        else:  # Python threads keep the interpreter's name (the process's comm); grpcio names its own
            role = "py" if name.startswith("python") else "core"
        roles[role] += cpu - before.get(key, 0.0)
    return roles


async def measure_op_costs(
    address: str, count: int, concurrency: int, engine_pid: int
) -> dict[str, tuple[float, float]]:
    """Engine CPU (whole process, and its loop thread) per operation, driven with raw stubs instead of
    pyzeebe: ``3 × count`` Topology calls, ``count`` instance creations, one job type's ``count`` jobs
    activated in as few ActivateJobs calls as the engine answers, then completed; ``concurrency`` calls
    in flight. The shape of the work does not depend on timing (no worker's poll rhythm, so no batch
    sizes that swing with the host's load), which makes these numbers steadier A/B than jobs/s."""
    costs: dict[str, tuple[float, float]] = {}

    async def timed(name: str, n: int, calls: list[Any]) -> list[Any]:
        cpu, loop = process_cpu_s(engine_pid), thread_cpu_s(engine_pid).get(f"python:{engine_pid}", 0.0)
        semaphore = asyncio.Semaphore(concurrency)

        async def one(call: Any) -> Any:
            async with semaphore:  # a call starts when it is awaited: never more than ``concurrency``
                return await call()

        results = await asyncio.gather(*(one(call) for call in calls))
        loop_now = thread_cpu_s(engine_pid).get(f"python:{engine_pid}", 0.0)
        costs[name] = ((process_cpu_s(engine_pid) - cpu) / n * 1e6, (loop_now - loop) / n * 1e6)
        return list(results)

    async with grpc.aio.insecure_channel(address) as channel:
        stub = GatewayStub(channel)
        await timed("Topology", 3 * count, [lambda: stub.Topology(pb.TopologyRequest())] * (3 * count))
        create = pb.CreateProcessInstanceRequest(bpmnProcessId=PROCESS_ID, version=-1)
        await timed("CreateProcessInstance", count, [lambda: stub.CreateProcessInstance(create)] * count)
        jobs: list[Any] = []

        async def activate() -> None:
            while len(jobs) < count:
                request = pb.ActivateJobsRequest(
                    type="bench.t0", worker="op-costs", timeout=300_000, maxJobsToActivate=count - len(jobs)
                )
                async for response in stub.ActivateJobs(request):
                    jobs.extend(response.jobs)

        await timed("ActivateJobs, per job", count, [activate])
        await timed(
            "CompleteJob",
            count,
            [lambda key=job.key: stub.CompleteJob(pb.CompleteJobRequest(jobKey=key, variables="{}")) for job in jobs],
        )
    return costs


def _query(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """The rows of one read-only query against the engine's log."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def job_created_ms(db_path: Path) -> dict[int, int]:
    rows = _query(
        db_path,
        "SELECT key, timestamp FROM records WHERE value_type='JOB' AND intent='CREATED' AND record_type='EVENT'",
    )
    return {int(key): int(ts) for key, ts in rows}


def activation_batches(db_path: Path, since_ms: float) -> tuple[int, int]:
    """JOB_BATCH ACTIVATED records since ``since_ms`` (wall clock): (batches, jobs in them). Each batch is
    one ActivateJobs answer with jobs (or a share of a job stream), so jobs / batches is the batching
    the load achieved: every batch costs the engine an activation command, a record and an RPC."""
    [(batches, jobs)] = _query(
        db_path,
        "SELECT COUNT(*), COALESCE(SUM(json_array_length(json, '$.value.jobKeys')), 0) FROM records "
        "WHERE value_type='JOB_BATCH' AND intent='ACTIVATED' AND record_type='EVENT' AND timestamp >= ?",
        (int(since_ms),),
    )
    return int(batches), int(jobs)


def last_job_key(db_path: Path) -> int:
    """The newest job's key: keys only grow, so it splits the jobs of one phase from the next."""
    [(key,)] = _query(db_path, "SELECT COALESCE(MAX(key), 0) FROM records WHERE value_type='JOB'")
    return int(key)


def completed_instances(db_path: Path) -> int:
    [(count,)] = _query(
        db_path,
        "SELECT COUNT(*) FROM records WHERE value_type='PROCESS_INSTANCE' AND intent='ELEMENT_COMPLETED' "
        "AND record_type='EVENT' AND key = process_instance_key",
    )
    return int(count)


async def wait_completed(db_path: Path, count: int) -> None:
    """Wait until ``count`` instances are completed in the log (the last CompleteJob was processed)."""
    while completed_instances(db_path) < count:  # noqa: ASYNC110 - the log is in another process: poll it
        await asyncio.sleep(0.005)


def bench_worker(
    channel: grpc.aio.Channel, args: argparse.Namespace, invoked: dict[int, float], finished: Tally | None
) -> ZeebeWorker:
    """A pyzeebe worker for the ten job types whose no-op handlers note when they ran."""
    worker = ZeebeWorker(channel, name="bench", request_timeout=10_000, stream_enabled=args.stream)

    def register(index: int) -> None:
        last = index == TASKS - 1

        # pyzeebe's sync-or-async ``Function`` union defeats mypy's ParamSpec inference
        @worker.task(  # type: ignore[arg-type]
            task_type=f"bench.t{index}",
            max_jobs_to_activate=args.max_jobs,
            max_running_jobs=10_000,  # far above max_jobs_to_activate: pyzeebe never idles 5 s
            timeout_ms=60_000,
        )
        async def handler(job: Job) -> dict[str, Any]:
            invoked[job.key] = time.time() * 1000
            if last and finished is not None:
                await finished.add()
            return {}

    for i in range(TASKS):
        register(i)
    return worker


async def start_worker_process(address: str, args: argparse.Namespace, out: Path) -> asyncio.subprocess.Process:
    """A worker in its own interpreter (``--run-worker``), so the client side gets a core of its own."""
    command = [sys.executable, "-m", "bench.engine_bench", "--run-worker", str(out), "--address", address]
    command += ["--max-jobs", str(args.max_jobs), *(["--stream"] if args.stream else [])]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    await process.stdout.readline()  # "ready": its pollers are started
    return process


async def stop_worker_process(process: asyncio.subprocess.Process, out: Path) -> dict[int, float]:
    process.send_signal(signal.SIGTERM)
    await process.wait()
    return read_invoked(out)


def read_invoked(out: Path) -> dict[int, float]:
    return {int(key): at for key, at in json.loads(out.read_text()).items()}


async def run_worker(address: str, args: argparse.Namespace) -> dict[int, float]:
    """``--run-worker``: work the bench's job types until SIGTERM; returns ``{job key: handler ms}``."""
    invoked: dict[int, float] = {}
    channel = create_insecure_channel(grpc_address=address)
    worker = bench_worker(channel, args, invoked, None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(worker.work())
    print("ready", flush=True)
    await stop.wait()
    await worker.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await channel.close()
    return invoked


async def run(args: argparse.Namespace) -> Measurements:
    m = Measurements()
    with tempfile.TemporaryDirectory(prefix="procgov-bench-") as tmp:
        data_dir = Path(tmp) / "engine"
        port = _free_port()
        address = f"127.0.0.1:{port}"
        profile = Path(args.profile) if args.profile else None
        async with engine_process(data_dir, port, profile, args.profile_native) as engine_pid:
            (
                m.unary_p50_ms,
                m.unary_p99_ms,
                m.unary_per_s,
                m.unary_concurrent_per_s,
                m.unary_engine_cpu_us,
            ) = await measure_unary(address, args.unary_calls, args.concurrency, engine_pid)

            channel = create_insecure_channel(grpc_address=address)
            client = ZeebeClient(channel)
            bpmn = Path(tmp) / "bench.bpmn"
            bpmn.write_bytes(ten_task_process())
            await client.deploy_resource(bpmn)

            invoked: dict[int, float] = {}  # job key -> wall-clock ms when the handler ran
            finished = Tally()  # instances whose last task's handler ran (in-process worker only)
            db = data_dir / "records.db"
            worker: ZeebeWorker | None = None
            worker_task: asyncio.Task[None] | None = None
            processes: list[tuple[asyncio.subprocess.Process, Path]] = []
            if args.worker_processes:
                for n in range(args.worker_processes):
                    out = Path(tmp) / f"worker-{n}.json"
                    processes.append((await start_worker_process(address, args, out), out))
            else:
                worker = bench_worker(channel, args, invoked, finished)
                worker_task = asyncio.create_task(worker.work())

            async def done(count: int) -> None:
                if worker is not None:
                    await finished.reach(count)
                await wait_completed(db, count)

            def cpu_client() -> float:
                if processes:
                    return time.process_time() + sum(process_cpu_s(p.pid) for p, _ in processes)
                return time.process_time()

            try:
                # (3a) idle latency: one instance at a time, each waited for.
                for n in range(args.idle_instances):
                    await client.run_process(PROCESS_ID)
                    await done(n + 1)
                last_idle_job = last_job_key(db)

                # (3b) latency at a steady rate below capacity: no queueing in front of the worker.
                loop = asyncio.get_running_loop()
                steady = []
                t0 = loop.time()
                for n in range(int(args.steady_rate * args.steady_seconds)):
                    await asyncio.sleep(max(0.0, t0 + n / args.steady_rate - loop.time()))  # pacing
                    steady.append(asyncio.create_task(client.run_process(PROCESS_ID)))
                await asyncio.gather(*steady)
                steady_done = args.idle_instances + len(steady)
                await done(steady_done)
                last_steady_job = last_job_key(db)
                m.steady_instances = len(steady)

                # (2) load: as fast as the engine and the worker go
                semaphore = asyncio.Semaphore(args.concurrency)

                async def create() -> None:
                    async with semaphore:
                        await client.run_process(PROCESS_ID)

                started = time.perf_counter()
                started_wall_ms = time.time() * 1000
                cpu_engine, cpu_client_before = process_cpu_s(engine_pid), cpu_client()
                threads_before = thread_cpu_s(engine_pid)
                deadline = started + args.max_seconds
                creations = []
                for _ in range(args.instances):
                    if time.perf_counter() > deadline:
                        break
                    await semaphore.acquire()
                    semaphore.release()
                    creations.append(asyncio.create_task(create()))
                await asyncio.gather(*creations)
                await done(steady_done + len(creations))
                m.load_s = time.perf_counter() - started
                m.engine_cpu_s = process_cpu_s(engine_pid) - cpu_engine
                m.engine_threads_cpu_s = _threads_by_role(engine_pid, threads_before, thread_cpu_s(engine_pid))
                m.client_cpu_s = cpu_client() - cpu_client_before
                m.instances = len(creations)
                m.jobs = m.instances * TASKS
            finally:
                if worker is not None and worker_task is not None:
                    await worker.stop()
                    worker_task.cancel()
                    await asyncio.gather(worker_task, return_exceptions=True)
                for process, out in processes:
                    invoked.update(await stop_worker_process(process, out))
                await channel.close()

            m.load_batches, m.load_batched_jobs = activation_batches(db, started_wall_ms)
            created = job_created_ms(db)
            for key, at in invoked.items():
                if key in created:  # the phase a job belongs to: keys grow with creation
                    phase = (
                        m.idle_latencies_ms
                        if key <= last_idle_job
                        else m.steady_latencies_ms
                        if key <= last_steady_job
                        else m.load_latencies_ms
                    )
                    phase.append(at - created[key])
            if args.op_costs:
                m.op_costs_us = await measure_op_costs(address, args.op_costs, args.concurrency, engine_pid)
    return m


def report(m: Measurements, args: argparse.Namespace) -> str:
    idle50, idle99 = percentile(m.idle_latencies_ms, 0.5), percentile(m.idle_latencies_ms, 0.99)
    steady50, steady99 = percentile(m.steady_latencies_ms, 0.5), percentile(m.steady_latencies_ms, 0.99)
    load50, load99 = percentile(m.load_latencies_ms, 0.5), percentile(m.load_latencies_ms, 0.99)
    rows = [
        ("metric", "measured", "target", "vs target", "vs unary floor"),
        ("unary gRPC round trip p50 (Topology)", f"{m.unary_p50_ms:.2f} ms", "", "", "1.00x"),
        ("unary gRPC round trip p99", f"{m.unary_p99_ms:.2f} ms", "", "", ""),
        ("unary gRPC calls/s, sequential", f"{m.unary_per_s:,.0f}/s", "", "", ""),
        (f"unary gRPC calls/s, {args.concurrency} in flight", f"{m.unary_concurrent_per_s:,.0f}/s", "", "", "1.00x"),
        (
            f"instances/s ({TASKS} service tasks)",
            f"{m.instances_per_s:,.1f}/s",
            f"{TARGET_INSTANCES_PER_S}/s",
            f"{m.instances_per_s / TARGET_INSTANCES_PER_S:.2f}x",
            f"{m.instances_per_s / m.unary_concurrent_per_s:.3f}x",
        ),
        (
            "jobs/s",
            f"{m.jobs_per_s:,.0f}/s",
            f"{TARGET_JOBS_PER_S}/s",
            f"{m.jobs_per_s / TARGET_JOBS_PER_S:.2f}x",
            f"{m.jobs_per_s / m.unary_concurrent_per_s:.3f}x",
        ),
        (
            "activation latency p50, idle",
            f"{idle50:.2f} ms",
            f"< {TARGET_P50_MS:g} ms",
            "met" if idle50 < TARGET_P50_MS else "missed",
            f"{idle50 / m.unary_p50_ms:.1f}x",
        ),
        ("activation latency p99, idle", f"{idle99:.2f} ms", "", "", f"{idle99 / m.unary_p50_ms:.1f}x"),
        (
            f"activation latency p50, steady {args.steady_rate:g} inst/s",
            f"{steady50:.2f} ms",
            f"< {TARGET_P50_MS:g} ms",
            "met" if steady50 < TARGET_P50_MS else "missed",
            f"{steady50 / m.unary_p50_ms:.1f}x",
        ),
        (
            f"activation latency p99, steady {args.steady_rate:g} inst/s",
            f"{steady99:.2f} ms",
            "",
            "",
            f"{steady99 / m.unary_p50_ms:.1f}x",
        ),
        (
            "activation latency p50, full load",
            f"{load50:.2f} ms",
            f"< {TARGET_P50_MS:g} ms",
            "met" if load50 < TARGET_P50_MS else "missed",
            f"{load50 / m.unary_p50_ms:.1f}x",
        ),
        ("activation latency p99, full load", f"{load99:.2f} ms", "", "", f"{load99 / m.unary_p50_ms:.1f}x"),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    summary = (
        f"load: {m.instances} instances / {m.jobs} jobs in {m.load_s:.2f} s "
        f"(concurrency {args.concurrency}, maxJobsToActivate {args.max_jobs}); "
        f"latency samples: {len(m.idle_latencies_ms)} idle, {len(m.steady_latencies_ms)} steady, "
        f"{len(m.load_latencies_ms)} under full load; activation batches under load: {m.load_batches} "
        f"({m.load_batched_jobs / max(m.load_batches, 1):.1f} jobs each); "
        f"CPU during load: engine {m.engine_cpu_s:.1f} s "
        f"({m.engine_cpu_s / m.load_s:.0%} of a core, {m.engine_cpu_s / m.jobs * 1e6:,.0f} µs/job: "
        + ", ".join(f"{role} {cpu / m.jobs * 1e6:,.0f}" for role, cpu in m.engine_threads_cpu_s.items())
        + "), "
        f"client+worker {m.client_cpu_s:.1f} s ({m.client_cpu_s / m.load_s:.0%}, "
        f"{m.client_cpu_s / m.jobs * 1e6:,.0f} µs/job); engine CPU per bare unary RPC "
        f"{m.unary_engine_cpu_us:,.0f} µs; "
        f"host: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    if m.op_costs_us:
        topology = m.op_costs_us["Topology"][0]
        summary += "\nengine CPU per operation (raw stubs, --op-costs): " + "; ".join(
            f"{name} {cpu:,.0f} µs (loop thread {loop:,.0f}, {cpu / topology:.2f}x Topology)"
            for name, (cpu, loop) in m.op_costs_us.items()
        )
    return "\n".join([*lines, summary])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench engine --", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=1_000, help="instances in the load phase (upper bound)")
    parser.add_argument("--max-seconds", type=float, default=25.0, help="stop creating instances after this")
    parser.add_argument("--concurrency", type=int, default=64, help="instance creations in flight")
    parser.add_argument("--max-jobs", type=int, default=32, help="maxJobsToActivate per poll")
    parser.add_argument("--idle-instances", type=int, default=30, help="sequential instances for idle latency")
    parser.add_argument("--steady-rate", type=float, default=40.0, help="instances/s in the steady-rate phase")
    parser.add_argument("--steady-seconds", type=float, default=4.0)
    parser.add_argument("--unary-calls", type=int, default=2_000)
    parser.add_argument(
        "--op-costs",
        type=int,
        default=0,
        metavar="N",
        help="after the load: engine CPU per Topology, CreateProcessInstance, activated job and CompleteJob, "
        "driven with raw stubs (N of each; 0: skip)",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="workers also open a job stream (StreamActivatedJobs, pyzeebe stream_enabled) besides long polling",
    )
    parser.add_argument(
        "--profile", help="run the engine under py-spy; write FILE.json (speedscope) or FILE.txt (collapsed stacks)"
    )
    parser.add_argument(
        "--profile-native",
        action="store_true",
        help="with --profile: also sample native frames (grpcio's C core, SQLite) and name the threads",
    )
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="run the pyzeebe worker in N separate processes instead of in this one (0: in-process)",
    )
    parser.add_argument("--run-worker", metavar="OUT", help=argparse.SUPPRESS)  # internal: a worker process
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv or [])
    if args.run_worker:
        Path(args.run_worker).write_text(json.dumps(asyncio.run(run_worker(args.address, args))))
        return 0
    measurements = asyncio.run(run(args))
    print(report(measurements, args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
