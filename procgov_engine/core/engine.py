"""``Engine``: the command surface of engine/api.py over the command processors (engine/core/processing),
the record log and the clock.

Each command is processed synchronously on the event loop (processing is single-threaded, like a
Zeebe partition), its records go into the writer's buffer, and the coroutine then awaits the group
commit: one SQLite transaction holding the records of every command processed since the previous one
was handed to the commit thread (engine/core/commit.py), which writes while the loop goes on
processing. The result is returned only after that commit, so an acknowledged command is durable.

Time-driven work (timers, job time-outs, retry back-offs, message expiry) enters as commands too: the
engine keeps the next due time from the engine state; on a :class:`SystemClock` a loop timer wakes it, on
a :class:`ControlledClock` :meth:`increase_time` (or any move of the clock) processes what became due.
Those commands are processed and logged like client commands.

Every event a processor writes is applied to the state at once (engine/core/state/appliers/); opening
restores the snapshot and folds the events after it through the same appliers (:meth:`Engine._recover`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from procgov_engine.api import (
    DEFAULT_TENANT,
    ActivatedJob,
    DecisionEvaluationResult,
    Deployment,
    JsonObject,
    ProcessInstanceCreated,
    ProcessInstanceResult,
    Rejection,
    RejectionType,
    RequestTimeout,
    Resource,
    Topology,
)
from procgov_engine.clock import Clock, ControlledClock, PinnableClock, SystemClock, from_epoch_ms
from procgov_engine.core import snapshot
from procgov_engine.core.behaviours.context import instance_tags
from procgov_engine.core.commit import CommitThread
from procgov_engine.core.log import RecordLog
from procgov_engine.core.processing import EngineProcessing
from procgov_engine.core.query import Query
from procgov_engine.core.records import KEY_BASE, RecordWriter
from procgov_engine.core.state import ElementInstance, Job

log = logging.getLogger(__name__)


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _resolve_commits(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for waiter in waiters:
        if waiter.done():  # its request was cancelled
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


class Engine:
    """The embedded Zeebe-compatible engine (implements :class:`procgov_engine.api.EngineApi`)."""

    def __init__(self, data_dir: Path, clock: Clock, broker_port: int) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.broker_port = broker_port
        self.log = RecordLog(data_dir)
        self.writer = RecordWriter()
        self.processing = EngineProcessing(self.writer)
        self.state = self.processing.state
        self.query = Query(self.log, self.state, self._flush_now)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._commit_waiters: list[asyncio.Future[None]] = []  # answered by the next batch
        self._committer: CommitThread | None = None
        self._flush_scheduled = False
        self._writing = False  # a batch is with the commit thread
        self._log_failure: BaseException | None = None  # set once a commit failed: the engine stops
        self.on_log_failure: Callable[[BaseException], None] | None = None  # e.g. health → NOT_SERVING
        self._job_waiters: dict[str, list[asyncio.Future[bool]]] = {}
        self._jobs_announced: set[str] = set()  # job types made activatable since the last batch
        self._result_waiters: dict[int, list[asyncio.Future[dict[str, Any] | None]]] = {}
        self._due_handle: asyncio.TimerHandle | None = None
        self._due_at: int | None = None
        self._closed = False
        self._checkpoint_task: asyncio.Future[None] | None = None
        self.replayed_commands = 0  # commands whose events were folded on open (after the snapshot, if any)
        self.snapshot_commands = 0  # commands the snapshot restored on open covered
        self.folded_events = 0  # events applied on open (after the snapshot)
        self._snapshot_every = snapshot.SNAPSHOT_EVERY_COMMANDS
        self._commands_logged = 0  # commands in the log, committed or on their way
        self._commands_at_snapshot = 0
        self._last_command = (0, 0)  # (position, timestamp) of the newest logged command
        # no command is run again on open (the state is the fold of the events), so none can diverge;
        # kept at 0 for the callers that check it
        self.replay_divergences = 0
        # command kind (as logged) → its processor (engine/core/processing); activate is wrapped here to
        # answer with the jobs' variables
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = self.processing.handlers()
        self._handlers["activate"] = self._h_activate
        self._handlers["clock"] = self._h_clock
        hooks = self.processing.hooks
        hooks.on_jobs_available = self._jobs_available
        hooks.on_due_added = self._due_added
        hooks.on_process_ended = self._process_ended
        hooks.on_user_task_done = self._user_task_done
        self._user_task_waiters: dict[int, list[asyncio.Future[Rejection | None]]] = {}

    # ------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        data_dir: Path,
        clock: Clock | None = None,
        *,
        broker_port: int = 26500,
        snapshot_every: int = snapshot.SNAPSHOT_EVERY_COMMANDS,
    ) -> Engine:
        """Open (or create) the engine in ``data_dir``: restore its snapshot, if any, and replay the
        command log after it. ``snapshot_every``: commands between snapshots (0: none, and none read)."""
        if snapshot_every < 0:
            raise ValueError(f"snapshot_every must be 0 (no snapshots) or a number of commands, not {snapshot_every}")
        loop = asyncio.get_running_loop()
        engine = cls(Path(data_dir), clock or SystemClock(), broker_port)
        engine._snapshot_every = snapshot_every
        engine._loop = loop
        try:
            engine._recover(use_snapshot=snapshot_every > 0)
        except snapshot.SnapshotError as exc:
            log.warning("ignoring the snapshot in %s (%s); folding the whole log", data_dir, exc)
            engine.log.close()
            engine = cls(Path(data_dir), engine.clock, broker_port)
            engine._snapshot_every = snapshot_every
            engine._loop = loop
            engine._recover(use_snapshot=False)
        engine._restore_clock()
        engine._committer = CommitThread(engine.log, loop)
        log.info(
            "opened %s: %d commands restored from the snapshot, %d replayed from the log (their %d events folded: "
            "no command is run again)",
            data_dir,
            engine.snapshot_commands,
            engine.replayed_commands,
            engine.folded_events,
        )
        if isinstance(engine.clock, ControlledClock):
            engine.clock.add_listener(engine._clock_moved)
        engine._schedule_due()
        return engine

    def _recover(self, *, use_snapshot: bool) -> None:
        """The state is the fold of the logged events: restore the snapshot (the state at its record
        position P), then apply every event after P through the same appliers that built it (engine/core/
        state/appliers/). No processor runs: what a command did is what its events say, so a log written
        by other engine code opens to the state it recorded."""
        after = 0
        restored = snapshot.read(self.data_dir) if use_snapshot else None
        if restored is not None and self.log.command_at(restored.commands) != restored.last_command:
            log.warning("the snapshot does not belong to this command log (or is ahead of it): folding the log")
            restored = None
        if restored is not None:
            self._fold(self.log.deployment_events(upto=restored.position))  # deployments are rebuilt, not restored
            restored.restore(self.state)
            after = restored.position
            self._last_command = restored.last_command
            self.snapshot_commands = restored.commands
        self.folded_events = self._fold(self.log.events(after=after))
        total = self.log.command_count()
        self.replayed_commands = total - self.snapshot_commands
        self._commands_logged = total
        self._commands_at_snapshot = self.snapshot_commands  # a folded tail is worth a snapshot on close
        last = self.log.last_command()
        if last is not None:
            self._last_command = last
            if last[0] > self.log.last_position():  # cannot happen: a command commits with its records
                log.warning("the command at position %d has no records; it is not processed again", last[0])
        w = self.writer
        # positions and keys go on from the log: its last position, and beyond the largest key an event
        # carries (or the snapshot's counter)
        w.position = self.log.last_position()
        key_counter = restored.key_counter if restored is not None else 0
        w.key_counter = max(key_counter, self.log.last_key(since_position=after + 1) - KEY_BASE)

    def _fold(self, records: Iterator[tuple[str, str, str, int, str]]) -> int:
        """Apply ``records`` (engine/core/log.py ``events``) through the appliers; the events applied."""
        appliers = self.processing.appliers
        table, key_only, command = appliers.table, appliers.KEY_ONLY, appliers.command
        count = 0
        no_value: dict[str, Any] = {}
        for record_type, value_type, intent, key, text in records:
            if record_type == "COMMAND":
                command()
                continue
            count += 1
            applier = table.get((value_type, intent))
            if applier is not None:  # an event without an applier changes nothing: its JSON is not read
                applier(key, no_value if (value_type, intent) in key_only else orjson.loads(text)["value"])
        appliers.opened()
        return count

    async def close(self) -> None:
        if self._closed:
            return
        self._flush_now()
        self._closed = True
        closing = Rejection(
            RejectionType.PROCESSING_ERROR,
            "the engine closed before the user task's transition ended; it goes on when the engine is open again",
        )
        for key in list(self._user_task_waiters):
            self._user_task_done(key, closing)
        if isinstance(self.clock, ControlledClock):
            self.clock.remove_listener(self._clock_moved)
        if self._due_handle is not None:
            self._due_handle.cancel()
        if self._committer is not None:
            self._committer.close()
        if self._snapshot_every and self._log_failure is None and self._commands_logged > self._commands_at_snapshot:
            try:  # everything is committed now: the state on close is a snapshot for the next open
                snapshot.write(self.data_dir, self._snapshot_bytes())
            except Exception:
                log.exception("could not write a snapshot on close; the next open replays the log")
        if self._checkpoint_task is not None:
            await asyncio.wait([self._checkpoint_task])
        self.log.close()

    def topology(self) -> Topology:
        return Topology(broker_port=self.broker_port)

    # ------------------------------------------------------------------------------------------
    # command execution and group commit
    # ------------------------------------------------------------------------------------------
    def _execute(self, kind: str, args: dict[str, Any]) -> Any:
        if self._closed:
            raise Rejection(RejectionType.PROCESSING_ERROR, "the engine is closed")
        if self._log_failure is not None:
            raise Rejection(
                RejectionType.PROCESSING_ERROR,
                f"the engine could not write its record log ({type(self._log_failure).__name__}: "
                f"{self._log_failure}) and takes no more commands; fix the cause (e.g. disk space) and restart "
                "it: it recovers the state of every acknowledged command from the log",
            )
        w = self.writer
        w.now = self.clock.now_ms()
        w.source_position = -1
        start_position = w.position + 1
        key_counter = w.key_counter
        try:
            result = self._handlers[kind](args)
            self.processing.drain()
        except Rejection:
            self.processing.clear_queue()
            self._schedule_commit()
            raise
        except Exception as exc:
            # State may be partly changed: its events are committed (the fold gives that state again) and the
            # command is logged with them.
            log.exception("processing %s failed", kind)
            self.processing.clear_queue()
            w.log_command(start_position, kind, dict(args, _key=key_counter))
            self._commands_logged += 1
            self._last_command = (start_position, w.now)
            self._schedule_commit()
            raise Rejection(RejectionType.PROCESSING_ERROR, f"Failed to process {kind} command: {exc}") from exc
        w.log_command(start_position, kind, dict(args, _key=key_counter))
        self._commands_logged += 1
        self._last_command = (start_position, w.now)
        return result

    def _schedule_commit(self) -> None:
        """Make sure what was processed gets committed, without waiting for it."""
        if not self._flush_scheduled and not self._writing:  # while writing, _written flushes
            assert self._loop is not None
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _committed(self) -> asyncio.Future[None]:
        """A future of the caller's own, done once everything processed so far is committed. One per
        caller: a cancelled request cancels only its own (no ``asyncio.shield``, one loop pass less)."""
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._commit_waiters.append(waiter)
        self._schedule_commit()
        return waiter

    def _flush(self) -> None:
        """Hand everything processed since the last batch to the commit thread."""
        self._flush_scheduled = False
        if self._writing:
            return
        waiters, self._commit_waiters = self._commit_waiters, []
        rows, commands = self.writer.take()
        announced, self._jobs_announced = self._jobs_announced, set()
        if self._closed or not (rows or commands):  # close() already committed everything
            _resolve_commits(waiters, None)
            self._announce_jobs(announced)
            return
        assert self._committer is not None
        self._writing = True
        try:
            self._committer.submit(rows, commands, lambda error: self._written(waiters, error, announced))
        except RuntimeError as exc:
            self._writing = False
            _resolve_commits(waiters, exc)
            return
        if self._snapshot_every and self._commands_logged - self._commands_at_snapshot >= self._snapshot_every:
            self._snapshot_behind_batch()

    def _snapshot_bytes(self) -> bytes:
        self._commands_at_snapshot = self._commands_logged  # also on failure: no retry at every batch
        w = self.writer
        return snapshot.dumps(self.state, self._commands_logged, self._last_command, w.position, w.key_counter)

    def _snapshot_behind_batch(self) -> None:
        """Everything processed so far was just handed over: take the state now, write it once that
        batch is committed (never a snapshot holding a command the log lacks)."""
        assert self._committer is not None
        try:
            data = self._snapshot_bytes()
        except Exception:
            log.exception("could not take a snapshot; the next open replays more of the log")
            return
        self._committer.submit_after(lambda: snapshot.write(self.data_dir, data), "writing the snapshot")

    def _written(self, waiters: list[asyncio.Future[None]], error: BaseException | None, announced: set[str]) -> None:
        self._writing = False
        _resolve_commits(waiters, error)
        if error is not None:
            self._stop_on_log_failure(error)
            return
        self._announce_jobs(announced)
        if self.log.wants_checkpoint() and self._loop is not None and not self._closed:
            self.log.checkpointing = True
            self._checkpoint_task = self._loop.run_in_executor(None, self.log.checkpoint)
        if self._commit_waiters or self.writer.rows or self.writer.command_rows:
            self._flush()  # what was processed while this batch was being written

    def _flush_now(self) -> None:
        """Commit pending records immediately (readers such as ``query`` need them in the log)."""
        if self._committer is not None:
            self._committer.wait_written()  # the thread is idle from here on: append on this one
        rows, commands = self.writer.take()
        announced, self._jobs_announced = self._jobs_announced, set()
        error: BaseException | None = None
        if rows or commands:
            try:
                self.log.append(rows, commands)
            except Exception as exc:
                error = exc
        waiters, self._commit_waiters = self._commit_waiters, []
        _resolve_commits(waiters, error)
        if error is not None:
            self._stop_on_log_failure(error)
            raise error
        self._announce_jobs(announced)

    def _stop_on_log_failure(self, error: BaseException) -> None:
        """Fail-stop. The engine state is now ahead of the log, and whatever it processes next
        builds on commands the log does not have, so nothing more may be written or acknowledged: the
        commands waiting for the next batch fail too, and later ones are rejected. A restart rebuilds
        the state of every acknowledged command from the log."""
        first = self._log_failure is None
        self._log_failure = error
        if first:
            log.error("the record log could not be written; the engine takes no more commands", exc_info=error)
            if self.on_log_failure is not None:
                self.on_log_failure(error)
        self.writer.take()
        waiters, self._commit_waiters = self._commit_waiters, []
        _resolve_commits(waiters, error)

    async def _run(self, kind: str, args: dict[str, Any]) -> Any:
        try:
            return self._execute(kind, args)
        finally:  # a rejection is answered only once its record is committed, too
            await self._committed()

    # ------------------------------------------------------------------------------------------
    # time
    # ------------------------------------------------------------------------------------------
    def _due_added(self, due: int) -> None:
        if self._due_at is None or due < self._due_at:
            self._loop_call_soon(self._schedule_due)

    def _loop_call_soon(self, callback: Callable[[], None]) -> None:
        if self._loop is not None and not self._closed and self._committer is not None:  # not while opening
            self._loop.call_soon(callback)

    def _schedule_due(self) -> None:
        if self._closed:
            return
        due = self.processing.behaviours.due.next()
        if due is None:
            self._due_at = None
            return
        if isinstance(self.clock, ControlledClock):
            self._due_at = due
            if due <= self.clock.now_ms():
                self._process_due()
            return
        if self._due_at == due and self._due_handle is not None:
            return
        if self._due_handle is not None:
            self._due_handle.cancel()
        assert self._loop is not None
        delay = max(0.0, (due - self.clock.now_ms()) / 1000)
        self._due_at = due
        self._due_handle = self._loop.call_later(delay, self._on_due_timer)

    def _on_due_timer(self) -> None:
        self._due_handle = None
        self._due_at = None
        self._process_due()

    def _process_due(self) -> None:
        """Run every command that is due now (each logged, like a client command)."""
        if self._closed:
            return
        processed = False
        while True:
            item = self.processing.behaviours.due.pop(self.clock.now_ms())
            if item is None:
                break
            kind, key = item
            try:
                self._execute(kind, {"key": key})
            except Rejection as exc:
                log.error("time-triggered %s for %d failed: %s", kind, key, exc.reason)
            processed = True
        if processed:
            self._schedule_commit()
        self._due_at = None
        if not isinstance(self.clock, ControlledClock):
            self._schedule_due()

    def _clock_moved(self) -> None:
        self._loop_call_soon(self._process_due)

    async def increase_time(self, delta: timedelta) -> None:
        """Advance the controlled clock and process every timer, time-out and back-off that became due."""
        if not isinstance(self.clock, ControlledClock):
            raise TypeError("increase_time needs the engine to run on a ControlledClock")
        self.clock.advance(delta)
        self._process_due()
        await self._committed()

    async def pin_clock(self, epoch_ms: int) -> None:
        """Camunda's clock pin: stand still at ``epoch_ms`` and process whatever became due by then.

        A logged command (CLOCK PIN → PINNED, as Zeebe's ClockProcessor writes it), so the pin outlives a
        restart until :meth:`reset_clock`. A :class:`ControlledClock` (tests) can only move forwards; a
        :class:`SystemClock` cannot be pinned.
        """
        if isinstance(self.clock, ControlledClock) and epoch_ms < self.clock.now_ms():
            moment = from_epoch_ms(epoch_ms)
            raise Rejection(
                RejectionType.INVALID_ARGUMENT, f"ControlledClock cannot move backwards (to {moment.isoformat()})"
            )
        if not isinstance(self.clock, PinnableClock | ControlledClock):
            raise Rejection(RejectionType.INVALID_STATE, "the engine runs on the system clock, which cannot be pinned")
        await self._clock_command({"intent": "PIN", "time": epoch_ms})

    async def reset_clock(self) -> None:
        """Back to system time (CLOCK RESET → RESETTED; a no-op on a clock that was never pinned)."""
        if isinstance(self.clock, ControlledClock):
            raise Rejection(RejectionType.INVALID_STATE, "a controlled test clock cannot be reset to system time")
        await self._clock_command({"intent": "RESET", "time": 0})

    async def _clock_command(self, args: dict[str, Any]) -> None:
        try:
            self._execute("clock", args)
        except Rejection:
            await self._committed()  # its rejection record, too
            raise
        self._replan_due()
        await self._committed()

    def _h_clock(self, a: dict[str, Any]) -> None:
        """CLOCK PIN → PINNED, RESET → RESETTED with the value ``{time}`` (epoch ms; 0 for a reset), as Zeebe
        8.8's ClockProcessor writes them; a negative pin is refused as Zeebe refuses it. The event's applier
        keeps the pin in the state (``clock_pin``); opening the engine sets the clock from it
        (:meth:`_restore_clock`)."""
        w = self.writer
        intent, value = a["intent"], {"time": a["time"]}
        w.command("CLOCK", intent, -1, value)
        if intent == "PIN" and value["time"] < 0:
            reason = f"Expected pin time to be not negative but it was {value['time']}"
            w.rejection("CLOCK", intent, -1, value, RejectionType.INVALID_ARGUMENT.value, reason)
            raise Rejection(RejectionType.INVALID_ARGUMENT, reason)
        w.event("CLOCK", "PINNED" if intent == "PIN" else "RESETTED", w.next_key(), value)
        if isinstance(self.clock, PinnableClock):
            if intent == "PIN":
                self.clock.pin(value["time"])
            else:
                self.clock.reset()
        elif isinstance(self.clock, ControlledClock) and intent == "PIN":
            self.clock.set(from_epoch_ms(value["time"]))

    def _restore_clock(self) -> None:
        """A pinned clock outlives a restart, as in Zeebe (its pin is engine state there): the folded
        state's ``clock_pin`` (snapshot + CLOCK events) decides. Only a :class:`PinnableClock` is set; a
        test's :class:`ControlledClock` stays where the test put it."""
        if not isinstance(self.clock, PinnableClock):
            return
        if self.state.clock_pin < 0:
            self.clock.reset()
        else:
            self.clock.pin(self.state.clock_pin)

    def _replan_due(self) -> None:
        if self._due_handle is not None:
            self._due_handle.cancel()
            self._due_handle = None
        self._due_at = None
        self._process_due()
        self._schedule_due()

    # ------------------------------------------------------------------------------------------
    # waiting
    # ------------------------------------------------------------------------------------------
    def _jobs_available(self, job_type: str) -> None:
        """Jobs of ``job_type`` became activatable: parked waiters hear of it once the batch holding
        that change is committed, as Zeebe notifies job workers in a post-commit task. Told at once, a
        parked worker could take and complete a job before its creator even had the answer that
        created it (pyzeebe's integration suite cancels an instance it has just started and failed
        1 run in 3 on that)."""
        self._jobs_announced.add(job_type)

    def _announce_jobs(self, job_types: set[str]) -> None:
        for job_type in job_types:
            for waiter in self._job_waiters.pop(job_type, ()):
                if not waiter.done():
                    waiter.set_result(True)

    def _process_ended(self, root: ElementInstance, variables: dict[str, Any] | None) -> None:
        waiters = self._result_waiters.pop(root.key, None)
        if not waiters:
            return

        def answer(commit: asyncio.Future[None]) -> None:  # only once the completion is committed
            error = None if commit.cancelled() else commit.exception()
            for future in waiters:
                if future.done():
                    continue
                if error is None:
                    future.set_result(variables)
                else:
                    future.set_exception(error)

        self._committed().add_done_callback(answer)

    async def wait_for_jobs(self, job_type: str, timeout_s: float) -> bool:
        # A bare future and one timer handle: ``asyncio.wait_for(event.wait())`` costs an extra task per
        # wait, and the job dispatcher waits once per activation batch (bench/README.md, profile).
        if self.processing.behaviours.jobs.has_activatable(job_type):
            return True
        assert self._loop is not None
        waiter: asyncio.Future[bool] = self._loop.create_future()
        waiters = self._job_waiters.setdefault(job_type, [])
        waiters.append(waiter)
        timer = self._loop.call_later(max(0.0, timeout_s), _resolve, waiter, False)
        try:
            return await waiter
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):  # still listed unless _jobs_available took the list
                self._job_waiters.get(job_type, []).remove(waiter)

    # ------------------------------------------------------------------------------------------
    # commands (engine/api.py)
    # ------------------------------------------------------------------------------------------
    async def deploy(self, resources: Sequence[Resource], tenant_id: str = DEFAULT_TENANT) -> Deployment:
        encoded = [{"name": r.name, "content": base64.b64encode(r.content).decode()} for r in resources]
        result: Deployment = await self._run("deploy", {"resources": encoded, "tenant_id": tenant_id})
        return result

    def _create_args(
        self,
        bpmn_process_id: str | None,
        process_definition_key: int | None,
        version: int,
        variables: JsonObject | None,
        start_element_ids: Sequence[str],
        tenant_id: str,
        tags: Sequence[str],
    ) -> dict[str, Any]:
        args: dict[str, Any] = {
            "bpmn_process_id": bpmn_process_id,
            "process_definition_key": process_definition_key,
            "version": version,
            "variables": variables or {},
            "start_element_ids": list(start_element_ids),
            "tenant_id": tenant_id or DEFAULT_TENANT,
        }
        if tags:  # only when given: the logged commands of untagged creations stay as they were
            args["tags"] = list(tags)
        return args

    async def create_process_instance(
        self,
        *,
        bpmn_process_id: str | None = None,
        process_definition_key: int | None = None,
        version: int = -1,
        variables: JsonObject | None = None,
        start_element_ids: Sequence[str] = (),
        tenant_id: str = DEFAULT_TENANT,
        tags: Sequence[str] = (),
    ) -> ProcessInstanceCreated:
        args = self._create_args(
            bpmn_process_id, process_definition_key, version, variables, start_element_ids, tenant_id, tags
        )
        result: ProcessInstanceCreated = await self._run("create", args)
        return result

    async def create_process_instance_with_result(
        self,
        *,
        bpmn_process_id: str | None = None,
        process_definition_key: int | None = None,
        version: int = -1,
        variables: JsonObject | None = None,
        start_element_ids: Sequence[str] = (),
        tenant_id: str = DEFAULT_TENANT,
        request_timeout_ms: int = 0,
        fetch_variables: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> ProcessInstanceResult:
        assert self._loop is not None
        args = self._create_args(
            bpmn_process_id, process_definition_key, version, variables, start_element_ids, tenant_id, tags
        )
        future: asyncio.Future[dict[str, Any] | None] = self._loop.create_future()
        try:
            created: ProcessInstanceCreated = self._execute("create", args)
        except Rejection:
            await self._committed()
            raise
        if created.process_instance_key in self.state.instances:
            self._result_waiters.setdefault(created.process_instance_key, []).append(future)
        else:  # completed within the creating command
            future.set_result(self.query.instance_variables(created.process_instance_key))
        await self._committed()
        timeout = request_timeout_ms / 1000 if request_timeout_ms > 0 else None
        try:
            variables_out = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise RequestTimeout(
                f"Expected to complete process instance '{created.process_instance_key}' within "
                f"{request_timeout_ms} ms, but it did not"
            ) from exc
        if variables_out is None:
            raise Rejection(
                RejectionType.INVALID_STATE,
                f"Expected to complete process instance '{created.process_instance_key}', but it was terminated",
            )
        if fetch_variables:
            wanted = set(fetch_variables)
            variables_out = {k: v for k, v in variables_out.items() if k in wanted}
        return ProcessInstanceResult(
            created.process_definition_key,
            created.bpmn_process_id,
            created.version,
            created.process_instance_key,
            created.tenant_id,
            variables_out,
        )

    async def cancel_process_instance(self, process_instance_key: int) -> None:
        await self._run("cancel", {"key": process_instance_key})

    def _h_activate(self, a: dict[str, Any]) -> list[ActivatedJob]:
        jobs: list[Job] = self.processing.processors["activate"].process(a)
        fetch = set(a["fetch"]) if a["fetch"] else None
        result = []
        for job in jobs:
            inst = job.element_instance
            process = inst.process
            variables = self.processing.behaviours.vars.visible(inst)
            if fetch is not None:
                variables = {k: v for k, v in variables.items() if k in fetch}
            variables = self.processing.behaviours.user_tasks.listener_job_variables(job, variables, fetch)
            result.append(
                ActivatedJob(
                    key=job.key,
                    type=job.type,
                    process_instance_key=inst.process_instance_key,
                    bpmn_process_id=process.bpmn_process_id,
                    process_definition_version=process.version,
                    process_definition_key=process.key,
                    element_id=inst.element.id,
                    element_instance_key=inst.key,
                    custom_headers=dict(job.custom_headers),
                    worker=job.worker,
                    retries=job.retries,
                    deadline=job.deadline,
                    variables=variables,
                    tenant_id=job.tenant_id,
                    kind=job.kind,
                    listener_event_type=job.listener_event_type,
                    tags=tuple(instance_tags(inst).get("tags", ())),
                )
            )
        return result

    async def activate_jobs(
        self,
        *,
        job_type: str,
        worker: str,
        timeout_ms: int,
        max_jobs: int,
        fetch_variables: Sequence[str] = (),
        tenant_ids: Sequence[str] = (),
    ) -> list[ActivatedJob]:
        if not self.processing.behaviours.jobs.has_activatable(job_type):
            return []  # nothing to activate: no command, no record (Zeebe's gateway also skips empty batches)
        args = {
            "type": job_type,
            "worker": worker,
            "timeout": timeout_ms,
            "max": max_jobs,
            "fetch": list(fetch_variables),
            "tenant_ids": list(tenant_ids),
        }
        result: list[ActivatedJob] = await self._run("activate", args)
        return result

    async def complete_job(
        self, job_key: int, variables: JsonObject | None = None, *, result: JsonObject | None = None
    ) -> None:
        args: dict[str, Any] = {"key": job_key, "variables": variables or {}}
        if result is not None:
            args["result"] = result
        await self._run("complete", args)

    # -- user tasks: each command answers once its transition ended (its task listeners included) -----
    def _user_task_done(self, key: int, rejection: Rejection | None) -> None:
        for waiter in self._user_task_waiters.pop(key, []):
            if not waiter.done():
                waiter.set_result(rejection)

    async def _user_task_command(self, kind: str, args: dict[str, Any], timeout_ms: int) -> None:
        assert self._loop is not None
        key = args["key"]
        waiter: asyncio.Future[Rejection | None] = self._loop.create_future()
        self._user_task_waiters.setdefault(key, []).append(waiter)
        try:
            self._execute(kind, args)
        except Rejection:
            self._forget_waiter(key, waiter)
            await self._committed()
            raise
        await self._committed()
        try:
            rejection = await asyncio.wait_for(asyncio.shield(waiter), timeout_ms / 1000 if timeout_ms > 0 else None)
        except TimeoutError as exc:
            self._forget_waiter(key, waiter)
            raise RequestTimeout(
                f"Expected the user task with key '{key}' to finish the {kind.split('_')[0]} within {timeout_ms} ms "
                "(its task listeners have not completed yet); the transition goes on"
            ) from exc
        if rejection is not None:
            raise rejection

    def _forget_waiter(self, key: int, waiter: asyncio.Future[Rejection | None]) -> None:
        waiters = self._user_task_waiters.get(key, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._user_task_waiters.pop(key, None)

    async def complete_user_task(
        self, user_task_key: int, variables: JsonObject | None = None, *, action: str = "", timeout_ms: int = 0
    ) -> None:
        args = {"key": user_task_key, "variables": variables or {}, "action": action}
        await self._user_task_command("complete_user_task", args, timeout_ms)

    async def assign_user_task(
        self, user_task_key: int, assignee: str, *, action: str = "", allow_override: bool = True, timeout_ms: int = 0
    ) -> None:
        args = {"key": user_task_key, "assignee": assignee, "action": action, "allow_override": allow_override}
        await self._user_task_command("assign_user_task", args, timeout_ms)

    async def update_user_task(
        self, user_task_key: int, changes: JsonObject, *, action: str = "", timeout_ms: int = 0
    ) -> None:
        args = {"key": user_task_key, "changes": changes, "action": action}
        await self._user_task_command("update_user_task", args, timeout_ms)

    async def fail_job(
        self,
        job_key: int,
        *,
        retries: int,
        error_message: str = "",
        retry_backoff_ms: int = 0,
        variables: JsonObject | None = None,
    ) -> None:
        await self._run(
            "fail",
            {
                "key": job_key,
                "retries": retries,
                "message": error_message,
                "backoff": retry_backoff_ms,
                "variables": variables or {},
            },
        )

    async def throw_error(
        self, job_key: int, *, error_code: str, error_message: str = "", variables: JsonObject | None = None
    ) -> None:
        await self._run(
            "throw_error", {"key": job_key, "code": error_code, "message": error_message, "variables": variables or {}}
        )

    async def update_job_retries(self, job_key: int, retries: int) -> None:
        await self._run("update_retries", {"key": job_key, "retries": retries})

    async def update_job_timeout(self, job_key: int, timeout_ms: int) -> None:
        await self._run("update_timeout", {"key": job_key, "timeout": timeout_ms})

    async def set_variables(self, element_instance_key: int, variables: JsonObject, *, local: bool) -> int:
        result: int = await self._run(
            "set_variables", {"key": element_instance_key, "variables": variables, "local": local}
        )
        return result

    async def resolve_incident(self, incident_key: int) -> None:
        await self._run("resolve", {"key": incident_key})

    async def publish_message(
        self,
        *,
        name: str,
        correlation_key: str,
        time_to_live_ms: int,
        message_id: str = "",
        variables: JsonObject | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> int:
        result: int = await self._run(
            "publish",
            {
                "name": name,
                "correlation_key": correlation_key,
                "ttl": max(0, time_to_live_ms),
                "message_id": message_id,
                "variables": variables or {},
                "tenant_id": tenant_id or DEFAULT_TENANT,
            },
        )
        return result

    async def broadcast_signal(self, signal_name: str, variables: JsonObject | None = None) -> int:
        result: int = await self._run("signal", {"name": signal_name, "variables": variables or {}})
        return result

    async def evaluate_decision(
        self,
        *,
        decision_key: int | None = None,
        decision_id: str | None = None,
        variables: JsonObject | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> DecisionEvaluationResult:
        result: DecisionEvaluationResult = await self._run(
            "decision",
            {
                "decision_key": decision_key,
                "decision_id": decision_id,
                "variables": variables or {},
                "tenant_id": tenant_id or DEFAULT_TENANT,
            },
        )
        return result
