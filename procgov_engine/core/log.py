"""The durable record log: SQLite in WAL mode at ``DATA_DIR/records.db``.

Two tables are written in one transaction per group commit:

- ``records`` — every record in Zeebe's exporter shape (the table docs/contracts.md fixes; audit and
  the exporter read it without importing engine code);
- ``commands`` — the commands that entered the engine from outside (client requests and the clock's
  triggers: timer due, job time-out, back-off elapsed, message expired), with their arguments and the
  timestamp and first record position they were processed at: a record of what was asked (and the
  snapshot's bookkeeping), never re-run.

State is the fold of the ``records`` table's events: opening applies every EVENT record in position order
through the event appliers (engine/core/state/appliers/), after the snapshot's position if there is one,
which is Zeebe's "state is what applying the log's events gives". A command and all of its records commit
in one transaction, so no logged command is ever left unprocessed.

Tamper evidence: ``record_chain`` holds one row per group commit that wrote records: the last position
of the batch and ``hash = sha256(prev_hash + batch)``, where ``batch`` is the JSON array of the batch's
rows exactly as inserted (``orjson`` of ``[position, value_type, intent, record_type, key,
process_instance_key, timestamp, json]`` per row; the first ``prev_hash`` is 64 zeros). One hash per
commit over bytes already built costs next to nothing; audit re-serialises the rows, checks every link
and signs the head outside this file (docs/contracts.md "Engine log chain"). A log written before the
chain existed has records below the first chain row: audit reports them as unchained.

Durability: ``journal_mode=WAL`` with ``synchronous=NORMAL``. A commit appends to the WAL file with a
``write()`` and returns; the WAL is fsynced at checkpoints. Against a *process* crash (``kill -9``)
this loses nothing: the written pages live in the OS page cache and the next open reads the WAL.
Only a power loss/OS crash can lose the last transactions, which is the trade-off Zeebe makes for a
single broker without replication as well. Each command's result is returned only after the
transaction holding its records committed, so an acknowledged command is never lost, and a command
whose transaction did not commit left no trace (nothing duplicated on restart).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    position INTEGER PRIMARY KEY,
    value_type TEXT NOT NULL,
    intent TEXT NOT NULL,
    record_type TEXT NOT NULL,
    key INTEGER NOT NULL,
    process_instance_key INTEGER,
    timestamp INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_instance ON records (process_instance_key, position);
CREATE INDEX IF NOT EXISTS records_deployments ON records (position)
    WHERE value_type IN ('PROCESS', 'DECISION_REQUIREMENTS', 'DECISION', 'FORM', 'DEPLOYMENT');
CREATE TABLE IF NOT EXISTS record_chain (
    seq INTEGER PRIMARY KEY,
    last_position INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""

# Records go in as multi-row INSERTs of up to 64 rows: the commit thread hands the GIL back and forth
# once per statement, not once per row (``executemany``; under load the per-row hand-off made every
# commit wait for the busy loop thread, row by row), and SQLite takes bound values instead of parsing
# each row's JSON (``INSERT … SELECT … FROM json_each(?)``: about twice the CPU per record, bench/README).
ROWS_PER_INSERT = 64
_RECORD_ROW = "(" + ", ".join("?" * 8) + ")"


@functools.cache
def _insert_records(rows: int) -> str:
    return "INSERT INTO records VALUES " + ", ".join([_RECORD_ROW] * rows)


_INSERT_COMMANDS = "INSERT INTO commands (position, timestamp, kind, payload) SELECT {} FROM json_each(?)".format(
    ", ".join(f"json_extract(value, '$[{i}]')" for i in range(4))
)

CHECKPOINT_EVERY_COMMITS = 200
CHAIN_GENESIS = "0" * 64
RecordRow = tuple[int, str, str, str, int, int, int, str]
CommandRow = tuple[int, int, str, str]  # position, timestamp, kind, payload


class RecordLog:
    """Append-only storage of records and the commands they came from."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "records.db"
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (which fsync) run off the event loop, see checkpoint(); commits only append to the WAL.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(SCHEMA)
        # Reads get a connection of their own: appends may run on the commit thread at the same time
        # (engine/core/commit.py), and a reader sees committed transactions only.
        self._reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        last = self._db.execute("SELECT hash FROM record_chain ORDER BY seq DESC LIMIT 1").fetchone()
        self._chain_hash: str = last[0] if last else CHAIN_GENESIS
        self._commits_since_checkpoint = 0
        self._checkpointer: sqlite3.Connection | None = None
        self.checkpointing = False

    def append(self, records: list[RecordRow], commands: list[CommandRow]) -> None:
        """Write one group commit: all rows in one transaction. One writer at a time (the engine's
        commit thread, or the loop thread once that thread has nothing left to write)."""
        db = self._db
        chain_hash = self._chain_hash
        db.execute("BEGIN")
        try:
            if records:
                chain_hash = hashlib.sha256(chain_hash.encode() + orjson.dumps(records)).hexdigest()
                for start in range(0, len(records), ROWS_PER_INSERT):
                    chunk = records[start : start + ROWS_PER_INSERT]
                    db.execute(_insert_records(len(chunk)), list(itertools.chain.from_iterable(chunk)))
                db.execute("INSERT INTO record_chain (last_position, hash) VALUES (?, ?)", (records[-1][0], chain_hash))
            if commands:
                db.execute(_INSERT_COMMANDS, (orjson.dumps(commands).decode(),))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._chain_hash = chain_hash
        self._commits_since_checkpoint += 1

    def wants_checkpoint(self) -> bool:
        return not self.checkpointing and self._commits_since_checkpoint >= CHECKPOINT_EVERY_COMMITS

    def checkpoint(self) -> None:
        """Copy the WAL into the database file (PASSIVE: never blocks the writer). Runs in a worker
        thread on its own connection; the flag keeps one checkpoint at a time."""
        self._commits_since_checkpoint = 0
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self.checkpointing = False

    def commands(self, *, after: int = 0, upto: int | None = None, kind: str | None = None) -> Iterator[CommandRow]:
        """The logged commands in order; ``after``/``upto`` bound their ``seq`` (1, 2, … in log order)."""
        sql = "SELECT position, timestamp, kind, payload FROM commands WHERE seq > ?"
        params: list[Any] = [after]
        if upto is not None:
            sql += " AND seq <= ?"
            params.append(upto)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        yield from self._reader.execute(sql + " ORDER BY seq", params)

    def events(self, *, after: int = 0, upto: int | None = None) -> Iterator[tuple[str, str, str, int, str]]:
        """The EVENT and COMMAND records with positions in (``after``, ``upto``], in order: (record type,
        value type, intent, key, json); the JSON of a command is not read (an empty string)."""
        sql = (
            "SELECT record_type, value_type, intent, key, CASE record_type WHEN 'EVENT' THEN json ELSE '' END "
            "FROM records WHERE position > ? AND record_type IN ('EVENT', 'COMMAND')"
        )
        params: list[Any] = [after]
        if upto is not None:
            sql += " AND position <= ?"
            params.append(upto)
        yield from self._reader.execute(sql + " ORDER BY position", params)

    def deployment_events(self, *, upto: int) -> Iterator[tuple[str, str, str, int, str]]:
        """The deployment events (what the deployment part of the state is folded from) up to ``upto``, in
        order, as :meth:`events` gives them; a partial index holds just their positions."""
        yield from self._reader.execute(
            "SELECT record_type, value_type, intent, key, json FROM records WHERE value_type IN ('PROCESS', "
            "'DECISION_REQUIREMENTS', 'DECISION', 'FORM', 'DEPLOYMENT') AND position <= ? AND record_type = 'EVENT' "
            "ORDER BY position",
            (upto,),
        )

    def command_count(self) -> int:
        row = self._reader.execute("SELECT COUNT(*) FROM commands").fetchone()
        return int(row[0])

    def last_command(self) -> tuple[int, int] | None:
        """The ``(position, timestamp)`` of the newest logged command."""
        row = self._reader.execute("SELECT position, timestamp FROM commands ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def command_at(self, seq: int) -> tuple[int, int] | None:
        """The ``(position, timestamp)`` of the ``seq``-th command, or None if the log is shorter."""
        row = self._reader.execute("SELECT position, timestamp FROM commands WHERE seq = ?", (seq,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def last_position(self) -> int:
        row = self._reader.execute("SELECT MAX(position) FROM records").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def last_key(self, since_position: int = 0) -> int:
        """The largest key among the events from ``since_position`` on (a range of the primary key:
        the whole table is a full scan, ~60 ms per 500,000 records). Only events: a command or its
        rejection carries whatever key the client sent (``CompleteJob(jobKey=2**63-1)``), and taking
        that for an engine key made the next key overflow int64 after a restart."""
        row = self._reader.execute(
            "SELECT MAX(key) FROM records WHERE position >= ? AND record_type = 'EVENT'", (since_position,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._reader.execute(sql, params).fetchall()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._reader.close()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
