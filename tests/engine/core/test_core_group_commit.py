"""Group commit on the commit thread (engine/core/commit.py): order, durability before the answer,
pipelining while a batch is being written, failures handed back, and readers that see everything."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from core_helpers import activate, bpmn, chain, deploy, service

from procgov_engine.api import Rejection
from procgov_engine.clock import ControlledClock
from procgov_engine.core import Engine
from procgov_engine.core.commit import CommitThread, Written
from procgov_engine.core.log import CommandRow, RecordLog, RecordRow

ONE_TASK = bpmn(
    '<bpmn:startEvent id="start" />'
    + service("work", "w")
    + '<bpmn:endEvent id="end" />'
    + chain("start", "work", "end"),
    "one",
)


def _row(position: int) -> RecordRow:
    return (position, "JOB", "CREATED", "EVENT", position, -1, 0, "{}")


def _command(position: int) -> CommandRow:
    return (position, 0, "complete", "{}")


def _committed_positions(db_path: Path) -> list[int]:
    """What another connection (another process, after a crash) sees in the log."""
    db = sqlite3.connect(db_path)
    try:
        return [int(p) for (p,) in db.execute("SELECT position FROM records ORDER BY position")]
    finally:
        db.close()


async def test_batches_are_written_in_order_and_reported_once_committed(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    committer = CommitThread(log, asyncio.get_running_loop())
    seen: list[tuple[int, list[int]]] = []
    done = asyncio.Event()

    def written(batch: int) -> Written:
        def callback(error: BaseException | None) -> None:
            assert error is None
            seen.append((batch, _committed_positions(log.path)))
            if len(seen) == 3:
                done.set()

        return callback

    for batch in range(3):
        rows = [_row(batch * 10 + i) for i in range(1, 4)]
        committer.submit(rows, [_command(batch * 10 + 1)], written(batch))
    await asyncio.wait_for(done.wait(), 5)
    committer.close()
    assert [batch for batch, _ in seen] == [0, 1, 2]
    for batch, visible in seen:  # each callback ran after its own rows were on disk
        assert {batch * 10 + i for i in range(1, 4)} <= set(visible)
    log.close()


async def test_a_failed_batch_is_rolled_back_reported_and_later_batches_still_commit(tmp_path: Path) -> None:
    log = RecordLog(tmp_path)
    committer = CommitThread(log, asyncio.get_running_loop())
    results: list[BaseException | None] = []
    committer.submit([_row(1)], [], results.append)
    committer.submit([_row(2), _row(1)], [], results.append)  # position 1 again: the primary key refuses it
    committer.submit([_row(3)], [], results.append)
    committer.wait_written()
    await asyncio.sleep(0.05)  # the callbacks come through the loop
    committer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert _committed_positions(log.path) == [1, 3]  # batch 2 left no trace
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit([_row(4)], [], results.append)
    log.close()


class SlowLog:
    """Makes every append of ``log`` on the commit thread take ``delay_s`` longer, and counts them."""

    def __init__(self, log: RecordLog, delay_s: float) -> None:
        self.appends = 0
        self.writing = threading.Event()
        self._append = log.append
        self._delay_s = delay_s
        self._loop_thread = threading.get_ident()
        log.append = self.append  # type: ignore[method-assign]

    def append(self, records: list[RecordRow], commands: list[CommandRow]) -> None:
        self.appends += 1
        if threading.get_ident() != self._loop_thread:
            self.writing.set()
            time.sleep(self._delay_s)
        self._append(records, commands)


async def test_commands_gather_while_a_batch_is_written_and_each_answer_follows_its_commit(tmp_path: Path) -> None:
    engine = await Engine.open(tmp_path / "d", ControlledClock())
    await deploy(engine, ONE_TASK)
    slow = SlowLog(engine.log, 0.05)
    db = tmp_path / "d" / "records.db"

    async def create() -> list[int]:
        created = await engine.create_process_instance(bpmn_process_id="one")
        # the answer means durable: another connection already sees the creation record
        sql = "SELECT position FROM records WHERE value_type='PROCESS_INSTANCE_CREATION' AND intent='CREATED' AND key=?"
        conn = sqlite3.connect(db)
        try:
            return [p for (p,) in conn.execute(sql, (created.process_instance_key,))]
        finally:
            conn.close()

    first = asyncio.create_task(create())
    await asyncio.sleep(0.01)  # the first batch is with the commit thread now
    rest = await asyncio.gather(*(create() for _ in range(20)))
    seen = [await first, *rest]
    assert all(len(positions) == 1 for positions in seen)
    # 21 creations, written while the first batch was still being written: far fewer transactions
    assert slow.appends <= 3, slow.appends
    await engine.close()


async def test_a_reader_sees_the_batch_being_written_and_the_commands_behind_it(tmp_path: Path) -> None:
    engine = await Engine.open(tmp_path / "d", ControlledClock())
    await deploy(engine, ONE_TASK)
    slow = SlowLog(engine.log, 0.2)
    first = asyncio.create_task(engine.create_process_instance(bpmn_process_id="one"))
    assert await asyncio.to_thread(slow.writing.wait, 5)  # the batch is with the commit thread
    second = asyncio.create_task(engine.create_process_instance(bpmn_process_id="one"))
    await asyncio.sleep(0)  # processed, waiting for the next batch
    assert not first.done() and not second.done()
    created = list(engine.query.records(value_type="PROCESS_INSTANCE_CREATION", intent="CREATED"))
    assert len(created) == 2
    keys = {(await first).process_instance_key, (await second).process_instance_key}
    assert keys == {r["key"] for r in created}
    assert len(await activate(engine, "w")) == 2
    await engine.close()


async def test_close_commits_what_is_being_written_and_what_waits(tmp_path: Path) -> None:
    engine = await Engine.open(tmp_path / "d", ControlledClock())
    await deploy(engine, ONE_TASK)
    slow = SlowLog(engine.log, 0.1)
    tasks = [asyncio.create_task(engine.create_process_instance(bpmn_process_id="one"))]
    assert await asyncio.to_thread(slow.writing.wait, 5)  # the batch is with the commit thread
    tasks += [asyncio.create_task(engine.create_process_instance(bpmn_process_id="one")) for _ in range(4)]
    await asyncio.sleep(0)  # the four are processed and wait for the next batch
    await engine.close()
    await asyncio.gather(*tasks)
    reopened = await Engine.open(tmp_path / "d", ControlledClock())
    assert len(await activate(reopened, "w")) == 5
    await reopened.close()


async def test_variables_that_only_the_fallback_encoder_takes_are_committed_and_replayed(tmp_path: Path) -> None:
    """A lone surrogate (``"\\ud800"`` in a client's JSON) and an integer beyond 64 bits: orjson refuses
    both; the batch must still commit, and replay must rebuild the same variables."""
    engine = await Engine.open(tmp_path / "d", ControlledClock())
    await deploy(engine, ONE_TASK)
    created = await engine.create_process_instance(bpmn_process_id="one", variables={"big": 2**70})
    [job] = await activate(engine, "w")
    await engine.complete_job(job.key, {"note": "\ud800 and 中文"})
    expected = {"big": 2**70, "note": "\ud800 and 中文"}
    assert engine.query.instance_variables(created.process_instance_key) == expected
    await engine.close()
    reopened = await Engine.open(tmp_path / "d", ControlledClock())
    assert reopened.query.instance_variables(created.process_instance_key) == expected
    await reopened.close()


async def test_a_log_that_cannot_be_written_stops_the_engine_and_a_restart_recovers(tmp_path: Path) -> None:
    """The disk filling up (injected: it cannot be made to happen here) fails the commands of that
    batch and of the batch behind it; later commands are rejected with a message that says what to
    do; nothing unacknowledged reaches the log, and a restart carries on from the last good commit."""
    engine = await Engine.open(tmp_path / "d", ControlledClock())
    await deploy(engine, ONE_TASK)
    good = await engine.create_process_instance(bpmn_process_id="one")
    append = engine.log.append
    loop_thread = threading.get_ident()

    def full_disk(records: list[RecordRow], commands: list[CommandRow]) -> None:
        if threading.get_ident() != loop_thread:
            time.sleep(0.05)  # long enough for a second command to queue behind this batch
            raise sqlite3.OperationalError("database or disk is full")
        append(records, commands)

    engine.log.append = full_disk  # type: ignore[method-assign]
    first = asyncio.create_task(engine.create_process_instance(bpmn_process_id="one"))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(engine.create_process_instance(bpmn_process_id="one"))
    for task in (first, second):
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            await task
    with pytest.raises(Rejection, match=r"could not write its record log .*restart"):
        await engine.create_process_instance(bpmn_process_id="one")
    await engine.close()

    reopened = await Engine.open(tmp_path / "d", ControlledClock())
    created = list(reopened.query.records(value_type="PROCESS_INSTANCE_CREATION", intent="CREATED"))
    assert [r["key"] for r in created] == [good.process_instance_key]
    assert len(await activate(reopened, "w")) == 1
    await reopened.create_process_instance(bpmn_process_id="one")  # takes commands again
    await reopened.close()
