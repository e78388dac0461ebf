"""The stores on real SQLite and PostgreSQL: hash-chained decision log, idempotency keys, migrations."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from workers.runtime.stores import GENESIS_HASH, DecisionLog, IdempotencyStore, InProgressError, decision_hash
from workers.runtime.stores.db import begin_write, create_store_engine, migrate
from workers.runtime.stores.decisions import HASHED_FIELDS
from workers.runtime.stores.idempotency import UncertainEffectError


def append(log: DecisionLog, job_key: int, *, instance: int = 1, score: int = 80, version: str = "sha256:v1") -> Any:
    return log.append(
        job_key=job_key,
        process_instance_key=instance,
        bpmn_process_id="procgov-rollout",
        element_id="grade-exam",
        decision="rollout.exam-grade",
        rule_version=version,
        rule_text=f"pass mark 60 ({version})",
        worker_version="0.1.0",
        inputs={"employee": "李伟", "score": score},
        outputs={"passed": score >= 60},
    )


def test_migrations_are_idempotent(store_engine: sa.Engine) -> None:
    migrate(store_engine)  # a second replica starting: nothing to do, nothing broken
    names = set(sa.inspect(store_engine).get_table_names())
    assert {"decision_records", "rule_snapshots", "idempotency_keys", "alembic_version"} <= names


def test_records_chain_from_genesis(store_engine: sa.Engine) -> None:
    log = DecisionLog(store_engine)
    first = append(log, 101)
    second = append(log, 102, instance=2, score=40)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    for record in log.iter_records():
        assert record.hash == decision_hash(record.prev_hash, record.hash_fields())
    assert [r.job_key for r in log.iter_records(process_instance_key=2)] == [102]
    assert log.get_by_job(102) == second
    assert log.get_by_job(999) is None


def test_hash_covers_every_field_and_the_previous_hash(store_engine: sa.Engine) -> None:
    record = append(DecisionLog(store_engine), 7)
    fields = record.hash_fields()
    assert set(fields) == set(HASHED_FIELDS)
    for name in HASHED_FIELDS:
        changed = dict(fields)
        changed[name] = {"tampered": True}
        assert decision_hash(record.prev_hash, changed) != record.hash, name
    assert decision_hash("f" * 64, fields) != record.hash


def test_a_redelivered_job_gets_the_recorded_decision(store_engine: sa.Engine) -> None:
    log = DecisionLog(store_engine)
    original = append(log, 55, score=90)
    again = append(log, 55, score=10)  # same job key: nothing new is recorded
    assert again == original
    assert again.outputs == {"passed": True}
    assert [r.seq for r in log.iter_records()] == [1]


def test_rule_text_is_snapshotted_once_per_version(store_engine: sa.Engine) -> None:
    log = DecisionLog(store_engine)
    append(log, 1, version="sha256:a")
    append(log, 2, version="sha256:a")
    append(log, 3, version="sha256:b")
    assert log.rule_text("sha256:a") == "pass mark 60 (sha256:a)"
    assert log.rule_text("sha256:b") == "pass mark 60 (sha256:b)"
    with pytest.raises(KeyError, match="sha256:zzz"):
        log.rule_text("sha256:zzz")


def test_concurrent_appends_keep_one_unbroken_chain(store_url: str, store_engine: sa.Engine) -> None:
    """Several writers (threads with their own connections, as replicas would be) never fork the chain."""
    from workers.runtime.stores.db import create_store_engine

    engines = [create_store_engine(store_url) for _ in range(4)]
    errors: list[BaseException] = []

    def writer(index: int, engine: sa.Engine) -> None:
        log = DecisionLog(engine)
        try:
            for n in range(10):
                append(log, index * 1000 + n, instance=index)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i, e)) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert not errors
    records = list(DecisionLog(store_engine).iter_records())
    assert [r.seq for r in records] == list(range(1, 41))
    prev = GENESIS_HASH
    for record in records:
        assert record.prev_hash == prev
        assert record.hash == decision_hash(prev, record.hash_fields())
        prev = record.hash


async def test_run_once_runs_a_side_effect_once(store_engine: sa.Engine) -> None:
    store = IdempotencyStore(store_engine)
    sent: list[str] = []

    async def send() -> dict[str, str]:
        sent.append("mail")
        return {"messageId": "<1@procgov>"}

    first = await store.run_once("rollout.notify:1:mail", send)
    second = await store.run_once("rollout.notify:1:mail", send)
    assert sent == ["mail"]
    assert first == second == {"messageId": "<1@procgov>"}
    assert store.status("rollout.notify:1:mail") == "done"


async def test_a_failed_action_releases_the_key(store_engine: sa.Engine) -> None:
    store = IdempotencyStore(store_engine)
    attempts = 0

    def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("smtp down")
        return "sent"

    with pytest.raises(ConnectionError):
        await store.run_once("k", flaky)
    assert store.status("k") is None
    assert await store.run_once("k", flaky) == "sent"
    assert attempts == 2


async def test_a_live_claim_elsewhere_is_waited_for_and_an_old_unjobbed_one_is_uncertain(
    store_engine: sa.Engine,
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "first"

    store = IdempotencyStore(store_engine, wait_s=0.3, poll_s=0.1)
    holder = asyncio.create_task(store.run_once("k", slow))
    await started.wait()
    with pytest.raises(InProgressError, match="in progress in another activation") as raised:
        await store.run_once("k", lambda: "second")
    assert raised.value.retry_after_ms > 0
    # re-checked while waiting: a holder that finishes meanwhile hands over its result
    waiting = asyncio.create_task(IdempotencyStore(store_engine, wait_s=5, poll_s=0.05).run_once("k", lambda: "x"))
    await asyncio.sleep(0.2)
    release.set()
    assert await holder == "first"
    assert await waiting == "first"

    # A worker died holding a claim made outside any job: after the lease the outcome is uncertain.
    with store_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO idempotency_keys (key, status, claimed_at) VALUES ('dead', 'running', 0)"))
    with pytest.raises(UncertainEffectError, match="outcome uncertain: side effect 'dead'"):
        await IdempotencyStore(store_engine, lease_s=60).run_once("dead", lambda: "again")
    assert IdempotencyStore(store_engine).status("dead") == "uncertain"
    IdempotencyStore(store_engine).settle("dead", happened=False)
    assert await IdempotencyStore(store_engine).run_once("dead", lambda: "sent once") == "sent once"


@dataclass(frozen=True)
class Activation:
    key: int
    deadline: datetime | None
    activated_at: datetime


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def activation(at_s: float, timeout_s: float = 60, key: int = 42) -> Activation:
    start = T0 + timedelta(seconds=at_s)
    return Activation(key, start + timedelta(seconds=timeout_s), start)


async def _die_holding(store: IdempotencyStore, key: str, job: Activation, **kwargs: Any) -> None:
    """A worker SIGKILLed mid-effect: its claim stays ``running`` (a cancel would release it, a kill
    cannot). The claim is made by the store itself; the action never ends, and its task is abandoned
    after the row is written, as a killed process abandons it."""
    started, never = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        started.set()
        await never.wait()

    task = asyncio.create_task(store.run_once(key, hold, job=job, **kwargs))
    await started.wait()
    assert store.status(key) == "running"
    abandoned.append(task)  # never awaited, never cancelled during the test


abandoned: list[asyncio.Task[Any]] = []


async def test_a_claim_of_a_timed_out_activation_is_taken_over_at_once_when_the_channel_can_tell(
    store_engine: sa.Engine,
) -> None:
    """The claim is tied to the activation: the job re-activated after its deadline (engine clock) takes
    over at once, with the recorded reference (the Message-ID), instead of waiting out a lease."""
    store = IdempotencyStore(store_engine, lease_s=3600)
    await _die_holding(store, "mail", activation(0), effect_ref="Message-ID <a@x>", redo_safe=True)
    # the same job, activated again while the first activation still held the lock: waits, no retry spent
    with pytest.raises(InProgressError) as raised:
        await IdempotencyStore(store_engine, wait_s=0).run_once("mail", lambda: "dup", job=activation(30),
                                                                   redo_safe=True)
    assert raised.value.retry_after_ms == 30_000  # until the holder's deadline
    sent: list[str] = []
    result = await store.run_once("mail", lambda: sent.append("resent") or "sent", job=activation(61),
                                  effect_ref="Message-ID <a@x>", redo_safe=True)
    assert result == "sent" and sent == ["resent"] and store.status("mail") == "done"


async def test_a_claim_of_a_timed_out_activation_is_uncertain_when_the_channel_cannot_tell(
    store_engine: sa.Engine,
) -> None:
    store = IdempotencyStore(store_engine)
    await _die_holding(store, "chat", activation(0), effect_ref="Idempotency-Key 1234")
    with pytest.raises(UncertainEffectError) as raised:
        await store.run_once("chat", lambda: "dup", job=activation(61))
    assert "outcome uncertain" in raised.value.message and "Idempotency-Key 1234" in raised.value.message
    assert "job 42" in raised.value.message
    with pytest.raises(UncertainEffectError):  # a retry of the incident before it is settled: still not sent
        await store.run_once("chat", lambda: "dup", job=activation(200))
    store.settle("chat", happened=True)
    assert await store.run_once("chat", lambda: "dup", job=activation(300)) is None
    assert store.status("chat") == "done"


def test_racing_claims_run_the_action_once(store_url: str, store_engine: sa.Engine) -> None:
    """Replicas claiming one key at the same moment: one runs the action, the others see it in progress
    (transient: their job is retried later) or, once done, get its result."""
    from workers.runtime.stores.db import create_store_engine

    runs: list[int] = []
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def replica(index: int) -> None:
        engine = create_store_engine(store_url)
        store = IdempotencyStore(engine)

        def send() -> str:
            runs.append(index)
            return "sent"

        barrier.wait()
        try:
            outcomes.append(asyncio.run(store.run_once("rollout.notify:9:mail", send)))
        except InProgressError:
            outcomes.append("in progress")
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1
    assert set(outcomes) <= {"in progress", "sent"} and len(outcomes) == 4
    assert outcomes.count("sent") >= 1
    assert IdempotencyStore(store_engine).status("rollout.notify:9:mail") == "done"


def _read_then_write_while_another_commits(engine: sa.Engine, begin: Any) -> None:
    """Transaction A reads, another connection commits a write meanwhile (or waits for A, if A already
    holds the write lock), then A writes. A gives the other writer half a second to go first."""
    table = sa.Table("upserts", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True))
    table.metadata.create_all(engine)
    read_done, other_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other() -> None:
        read_done.wait(5)
        try:
            with engine.begin() as connection:
                connection.execute(sa.insert(table).values(k=2))
        except BaseException as exc:
            errors.append(exc)
        other_done.set()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        with begin(engine) as connection:
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            read_done.set()
            other_done.wait(0.5)
            connection.execute(sa.insert(table).values(k=1))
    finally:
        read_done.set()
        thread.join(10)
    assert not errors
    with engine.connect() as connection:
        assert sorted(connection.execute(sa.select(table.c.k)).scalars()) == [1, 2]


def test_a_read_then_write_transaction_on_sqlite_waits_for_the_other_writer(tmp_path: Any) -> None:
    """begin_write: the upsert-by-lookup of the slm store failed with "database is locked" when another
    worker thread committed between its read and its write (seen in CI); BEGIN IMMEDIATE queues it."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    _read_then_write_while_another_commits(engine, begin_write)
    # the plain transaction in the same situation: the failure begin_write exists for
    plain = create_store_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        _read_then_write_while_another_commits(plain, lambda e: e.begin())
