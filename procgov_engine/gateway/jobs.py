"""Long polling and job streaming: who gets the next activatable job of a type.

Zeebe's gateway parks an ActivateJobs request that found nothing until a job of its type becomes
activatable or the request's long-polling timeout passes (Zeebe docs, "Job workers" → "Long polling"),
and a StreamActivatedJobs stream receives jobs as they appear ("Job streaming"). Both are served here
by one dispatcher task per job type that waits on :meth:`procgov_engine.api.EngineApi.wait_for_jobs` (an
engine event, no sleep-polling) and then hands jobs to the waiting requests in arrival order. A
request that was served goes to the back of the line (a stream re-queues, a poll ends), so several
workers polling the same type share the jobs fairly instead of the fastest one taking everything.

Jobs activated for a request whose client has gone away in the meantime are given back at once
(FailJob with unchanged retries and no back-off) so that another worker can take them, instead of
waiting out the job timeout.

Adaptive batching (:class:`Batching`): while the engine has spare capacity a parked long poll is
answered as soon as a job appears (activation latency ≈ one loop pass). Each answer costs a whole
gRPC round trip and one more activation command, though, and those dominate the engine's CPU per job
(bench/README.md). So only while the event loop is saturated does the dispatcher let a long poll's
jobs gather for a short, bounded window before answering: there latency is queueing anyway, and
bigger batches mean fewer RPCs and commands per job, i.e. more capacity. The window never runs into
the poll's own timeout (which is already bounded by the client's gRPC deadline), and replies still
go out only after the activation's commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from procgov_engine.api import ActivatedJob, EngineApi, Rejection

log = logging.getLogger(__name__)

STREAM_BATCH = 32
"""Jobs handed to one stream per turn; a stream is re-queued behind other waiters after each turn."""

_MIN_IDLE_PASS_S = 0.05
"""Pause when wake-ups repeatedly find activatable jobs that none of the waiting requests may take."""

_IDLE_WAIT_S = 60.0
"""How long the dispatcher waits for news while only streams (which have no deadline) are waiting."""


class LoopLoad:
    """How busy the event loop has been lately: the loop thread's CPU time over wall time, per window.

    A loop with spare capacity sleeps in ``epoll`` between requests; a saturated one hardly ever does
    and its thread is on the CPU most of the time. The share is recomputed when asked and at least ``window_s``
    has passed since the last computation (so a burst shorter than a window hardly counts, and after
    an idle spell the first question already sees the idle time); in between the last value stands.
    Must be asked on the loop's thread (``time.thread_time`` measures the calling thread).
    """

    def __init__(
        self,
        window_s: float = 0.05,
        *,
        cpu: Callable[[], float] = time.thread_time,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_s = window_s
        self._cpu = cpu
        self._wall = wall
        self._since: tuple[float, float] | None = None  # (wall, cpu) at the start of the window
        self._share = 0.0

    def share(self) -> float:
        """The loop thread's share of busy time (0..1) over the last completed window."""
        wall = self._wall()
        if self._since is None:
            self._since = (wall, self._cpu())
            return self._share
        elapsed = wall - self._since[0]
        if elapsed >= self._window_s:
            cpu = self._cpu()
            self._share = min(1.0, max(0.0, (cpu - self._since[1]) / elapsed))
            self._since = (wall, cpu)
        return self._share


@dataclass(frozen=True)
class Batching:
    """When and how long a long poll's jobs may gather before the answer (see the module docstring).

    ``busy_share``: the loop's busy share (:class:`LoopLoad`) from which the engine counts as saturated.
    The defaults come from bench/README.md ("Adaptive activation batching"): on the 2-core bench host
    the loop thread is busy 35–60 % of the time at 40–120 instances/s and 80–90 % at saturation (it
    never reaches 100 %: grpcio's poller and the WAL checkpoint threads take their share of the GIL).
    ``linger_s``: the longest a parked long poll waits, once the dispatcher would serve it, for more
    jobs to join its batch; the same span is kept free before the poll's own timeout, for the
    activation and its commit. ``linger_s == 0`` turns adaptive batching off.

    Measured trade-off (bench/README.md): with commits on the loop thread, batches grew from ~2 to
    ~14 jobs at saturation and jobs/s by 18–35 %; idle and 40 instances/s were unchanged (~1.4 ms).
    Since group commits run on their own thread (engine/core/commit.py), activations gather while a
    commit is in flight anyway (~17 jobs per answer at saturation with or without lingering), and an
    A/B of ``linger_s`` 0 vs 0.02 shows no difference beyond noise in jobs/s or latency.
    """

    busy_share: float = 0.75
    linger_s: float = 0.02


@dataclass(frozen=True)
class ActivationRequest:
    """What one ActivateJobs/StreamActivatedJobs request asks the engine for."""

    job_type: str
    worker: str
    timeout_ms: int
    max_jobs: int
    fetch_variables: tuple[str, ...] = ()
    tenant_ids: tuple[str, ...] = ()


@dataclass(eq=False)
class _Waiter:
    request: ActivationRequest
    deliver: Callable[[list[ActivatedJob]], bool]
    """Hands jobs over; returns False if the receiver has gone (the jobs are then given back)."""
    deadline: float | None  # loop time; None for streams
    persistent: bool  # a stream stays in line after being served
    on_close: Callable[[], None] | None = None  # ends a stream when the gateway shuts down
    idle: bool = True  # False while the dispatcher is activating jobs for this waiter
    settled: asyncio.Future[None] | None = None  # set when that activation ends (``idle`` again)


@dataclass(eq=False)
class _Line:
    job_type: str
    waiters: deque[_Waiter] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class JobDispatcher:
    """Serves long polls and job streams of every job type from the engine's activatable jobs."""

    def __init__(
        self, engine: EngineApi, batching: Batching | None = None, load: Callable[[], float] | None = None
    ) -> None:
        """``load`` returns the loop's busy share (0..1); by default a :class:`LoopLoad` of the loop thread."""
        self._engine = engine
        self._batching = batching if batching is not None else Batching()
        self._load = load if load is not None else LoopLoad().share
        self._lines: dict[str, _Line] = {}
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()

    async def activate(self, request: ActivationRequest, long_poll_s: float) -> list[ActivatedJob]:
        """Activate up to ``request.max_jobs`` jobs, waiting up to ``long_poll_s`` for the first ones.

        ``long_poll_s <= 0`` answers at once with whatever is activatable (possibly nothing).
        """
        line = self._line(request.job_type)
        if long_poll_s <= 0 or self._closed:
            return await self._activate_now(request)
        if not line.waiters and not self._saturated():
            # Nobody is queued ahead of this request: take what is activatable now. (Saturated, it
            # queues instead, so that the dispatcher lets its batch gather: see ``_gather``.)
            jobs = await self._activate_now(request)
            if jobs:
                return jobs
        loop = asyncio.get_running_loop()
        result: asyncio.Future[list[ActivatedJob]] = loop.create_future()

        def deliver(jobs: list[ActivatedJob]) -> bool:
            if result.done():
                return False
            result.set_result(jobs)
            return True

        waiter = _Waiter(request, deliver, deadline=loop.time() + long_poll_s, persistent=False)
        self._enqueue(line, waiter)
        try:
            await asyncio.wait({result}, timeout=long_poll_s)
            if not result.done() and not waiter.idle:
                # The dispatcher is activating jobs for this request right now: take them rather than
                # leaving them activated for nobody (or end empty as soon as it found none).
                settled: asyncio.Future[None] = loop.create_future()
                waiter.settled = settled
                either: set[asyncio.Future[Any]] = {result, settled}
                await asyncio.wait(either, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
            if result.done():
                return result.result()
            return []
        finally:
            # Also on cancellation (the client went away): jobs activated for this request from now on
            # are refused by ``deliver`` and given back.
            if not result.done():
                result.cancel()
            self._remove(line, waiter)

    async def stream(self, request: ActivationRequest) -> AsyncGenerator[ActivatedJob, None]:
        """Yield jobs of ``request.job_type`` as they become activatable, until the consumer stops."""
        line = self._line(request.job_type)
        queue: asyncio.Queue[ActivatedJob | None] = asyncio.Queue()  # None: the gateway is closing
        open_ = True

        def deliver(jobs: list[ActivatedJob]) -> bool:
            if not open_:
                return False
            for job in jobs:
                queue.put_nowait(job)
            return True

        waiter = _Waiter(request, deliver, deadline=None, persistent=True, on_close=lambda: queue.put_nowait(None))
        self._enqueue(line, waiter)
        try:
            while (job := await queue.get()) is not None:
                yield job
        finally:
            open_ = False
            self._remove(line, waiter)
            undelivered = []
            while not queue.empty():
                if (job := queue.get_nowait()) is not None:
                    undelivered.append(job)
            if undelivered:
                self.give_back_later(undelivered)

    def give_back_later(self, jobs: Sequence[ActivatedJob]) -> None:
        """Make ``jobs`` activatable again (FailJob, unchanged retries, no back-off) from a task of its
        own: the caller is typically being cancelled, and a reference is kept until the task is done."""
        task = asyncio.get_running_loop().create_task(self._give_back(jobs))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Stop every dispatcher task (server shutdown)."""
        self._closed = True
        for line in self._lines.values():
            for waiter in list(line.waiters):
                if waiter.on_close is not None:
                    waiter.on_close()
                elif not waiter.persistent:
                    waiter.deliver([])  # a pending long poll ends empty, as if its timeout had passed
        tasks = [line.task for line in self._lines.values() if line.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- internals -------------------------------------------------------------------------------

    def _line(self, job_type: str) -> _Line:
        line = self._lines.get(job_type)
        if line is None:
            line = self._lines[job_type] = _Line(job_type)
        return line

    def _enqueue(self, line: _Line, waiter: _Waiter) -> None:
        line.waiters.append(waiter)
        if line.task is None and not self._closed:
            line.task = asyncio.get_running_loop().create_task(
                self._dispatch(line), name=f"job-dispatcher:{line.job_type}"
            )

    @staticmethod
    def _remove(line: _Line, waiter: _Waiter) -> None:
        # Test first: a served long poll was already removed by ``_serve``, and a failing
        # ``deque.remove`` formats the waiter's dataclass repr into its ValueError (seen in profiles).
        if waiter in line.waiters:
            line.waiters.remove(waiter)

    async def _activate_now(self, request: ActivationRequest, max_jobs: int | None = None) -> list[ActivatedJob]:
        """Activate jobs for ``request``. The activation is processed at once but answered only after
        its commit; a caller cancelled in between (the client went away) would leave the jobs
        activated for nobody, so the activation runs on in a task of its own and its jobs are given
        back when it ends."""
        activation = asyncio.ensure_future(self._activate_committed(request, max_jobs))
        try:
            return await asyncio.shield(activation)
        except asyncio.CancelledError:
            activation.add_done_callback(self._give_back_result)
            raise

    def _give_back_result(self, activation: asyncio.Future[list[ActivatedJob]]) -> None:
        if not activation.cancelled() and activation.exception() is None and activation.result():
            self.give_back_later(activation.result())

    async def _activate_committed(self, request: ActivationRequest, max_jobs: int | None) -> list[ActivatedJob]:
        return await self._engine.activate_jobs(
            job_type=request.job_type,
            worker=request.worker,
            timeout_ms=request.timeout_ms,
            max_jobs=max_jobs or request.max_jobs,
            fetch_variables=request.fetch_variables,
            tenant_ids=request.tenant_ids,
        )

    async def _dispatch(self, line: _Line) -> None:
        loop = asyncio.get_running_loop()
        try:
            empty_wakes = 0  # wake-ups in a row after which nobody could be served
            while line.waiters:
                await self._gather(line)
                if await self._serve(line):
                    empty_wakes = 0
                if not line.waiters:
                    break
                deadlines = [w.deadline for w in line.waiters if w.deadline is not None]
                wait_s = max(deadlines) - loop.time() if len(deadlines) == len(line.waiters) else _IDLE_WAIT_S
                if wait_s <= 0:
                    await asyncio.sleep(0)  # every waiter's time is up; they leave on their own timeout
                    continue
                if empty_wakes >= 2:
                    # The engine keeps reporting activatable jobs that nobody waiting may take (e.g.
                    # another tenant's): pause instead of spinning on them.
                    await asyncio.sleep(_MIN_IDLE_PASS_S)
                if await self._engine.wait_for_jobs(line.job_type, wait_s):
                    empty_wakes += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job dispatcher for type %r failed; waiting requests are answered empty", line.job_type)
            for waiter in list(line.waiters):
                if not waiter.persistent:
                    waiter.deliver([])
        finally:
            line.task = None

    def _saturated(self) -> bool:
        return self._batching.linger_s > 0 and self._load() >= self._batching.busy_share

    async def _gather(self, line: _Line) -> None:
        """While the loop is saturated, let jobs gather for ``linger_s`` before a pass serves long polls.

        Only long polls wait: each answer is one ActivateJobs round trip, so batching them saves RPCs;
        a stream receives one message per job either way. The window ends at the latest ``linger_s``
        before the earliest waiting poll's own timeout (itself kept back from the client's gRPC
        deadline by the servicer), so batching never turns an answer with jobs into a timed-out empty
        one; a poll that close to its timeout is served at once.
        """
        linger_s = self._batching.linger_s
        deadlines = [w.deadline for w in line.waiters if not w.persistent and w.deadline is not None]
        if not deadlines or not self._saturated():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        until = min(now + linger_s, min(deadlines) - linger_s)
        if until > now:
            await asyncio.sleep(until - now)

    async def _serve(self, line: _Line) -> bool:
        """One pass over the line in arrival order, until the activatable jobs run out; True if any served."""
        served = False
        exhausted: set[tuple[str, ...]] = set()  # tenant selections that found fewer jobs than asked
        for waiter in list(line.waiters):
            if waiter not in line.waiters or waiter.request.tenant_ids in exhausted:
                continue
            batch = waiter.request.max_jobs if not waiter.persistent else STREAM_BATCH
            waiter.idle = False
            try:
                jobs = await self._activate_now(waiter.request, batch)
            except Rejection as rejection:
                log.warning("activation for %r rejected: %s", waiter.request.job_type, rejection.reason)
                jobs = []
            finally:
                waiter.idle = True
                if waiter.settled is not None and not waiter.settled.done():
                    waiter.settled.set_result(None)  # its poll resumes after the ``deliver`` below
            if len(jobs) < batch:
                exhausted.add(waiter.request.tenant_ids)
            if not jobs:
                continue
            if not waiter.deliver(jobs):
                await self._give_back(jobs)
                continue
            served = True
            self._remove(line, waiter)
            if waiter.persistent:
                line.waiters.append(waiter)  # back of the line: other waiters get the next jobs
        return served

    async def _give_back(self, jobs: Sequence[ActivatedJob]) -> None:
        for job in jobs:
            try:
                await self._engine.fail_job(
                    job.key,
                    retries=job.retries,
                    error_message="job was activated for a request whose client has gone away; made activatable again",
                    retry_backoff_ms=0,
                )
            except Rejection as rejection:  # completed or cancelled meanwhile: nothing to give back
                log.info("could not give back job %d: %s", job.key, rejection.reason)
