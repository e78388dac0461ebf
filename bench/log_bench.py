"""The record log's group commit: CPU per record of ``RecordLog.append`` against two other ways to insert.

The engine's commit thread writes every record (~18 per job of the 10-task process) and, on a 2-core
host, its CPU is taken from the loop and the clients (bench/README.md, "Where an engine job's CPU goes").
The benchmark takes the records of a real log (``--instances`` instances of engine_bench.py's process
worked to the end, built in-process) and appends them again in commits of ``--per-commit`` records to
fresh logs, measuring the commit thread's own CPU (``time.thread_time``) per record for:

* ``append``: the engine's ``RecordLog.append`` (multi-row ``INSERT … VALUES`` of up to 64 rows);
* ``json_each``: one ``INSERT … SELECT … FROM json_each(?)`` per commit (the engine's way until 2026-12-03);
* ``executemany``: one bound row at a time (the baseline; it re-takes the GIL per row).

Rounds alternate the order. Every way must leave the same table (checked), else the benchmark fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.restart_bench import build_log
from procgov_engine.core.log import RecordLog, RecordRow

_JSON_EACH = "INSERT INTO records SELECT {} FROM json_each(?)".format(
    ", ".join(f"json_extract(value, '$[{i}]')" for i in range(8))
)
_ONE_ROW = "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

Append = Callable[[RecordLog, list[RecordRow]], None]


def _chained(insert: Callable[[RecordLog, list[RecordRow]], object]) -> Append:
    """``insert`` in a transaction with the log's hash chain row, as ``RecordLog.append`` writes it."""

    def append(log: RecordLog, records: list[RecordRow]) -> None:
        db = log._db
        db.execute("BEGIN")
        chain = hashlib.sha256(log._chain_hash.encode() + orjson.dumps(records)).hexdigest()
        insert(log, records)
        db.execute("INSERT INTO record_chain (last_position, hash) VALUES (?, ?)", (records[-1][0], chain))
        db.execute("COMMIT")
        log._chain_hash = chain

    return append


WAYS: dict[str, Append] = {
    "append": lambda log, records: log.append(records, []),
    "json_each": _chained(lambda log, records: log._db.execute(_JSON_EACH, (orjson.dumps(records).decode(),))),
    "executemany": _chained(lambda log, records: log._db.executemany(_ONE_ROW, records)),
}


def source_records(instances: int) -> list[RecordRow]:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(build_log(Path(tmp), instances, live=0))
        log = RecordLog(Path(tmp))
        rows = log._reader.execute("SELECT * FROM records ORDER BY position").fetchall()
        log.close()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def one_round(way: Append, records: list[RecordRow], per_commit: int) -> tuple[float, list[tuple[object, ...]]]:
    """CPU µs per record of appending ``records`` with ``way``, and the table it left."""
    with tempfile.TemporaryDirectory() as tmp:
        log = RecordLog(Path(tmp))
        batches = [records[i : i + per_commit] for i in range(0, len(records), per_commit)]
        started = time.thread_time()
        for batch in batches:
            way(log, batch)
        spent = time.thread_time() - started
        table = log._reader.execute("SELECT * FROM records ORDER BY position").fetchall()
        log.close()
    return spent / len(records) * 1e6, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench log", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1_000, help="instances worked to the end for the records")
    parser.add_argument("--per-commit", type=int, nargs="+", default=[18, 50, 200], help="records per commit")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    records = source_records(args.instances)
    print(f"{len(records):,} records of {args.instances:,} instances", flush=True)
    failed = False
    for per_commit in args.per_commit:
        spent: dict[str, list[float]] = {name: [] for name in WAYS}
        tables: dict[str, list[tuple[object, ...]]] = {}
        for round_ in range(args.rounds):
            names = list(WAYS) if round_ % 2 == 0 else list(reversed(WAYS))
            for name in names:
                cost, tables[name] = one_round(WAYS[name], records, per_commit)
                spent[name].append(cost)
        if any(table != tables["executemany"] for table in tables.values()):
            print(f"FAILED: the ways left different tables at {per_commit} records per commit")
            failed = True
        median = {name: statistics.median(costs) for name, costs in spent.items()}
        base = median["executemany"]
        print(
            f"{per_commit:4d} records/commit, CPU µs per record (median of {args.rounds}): "
            + ", ".join(f"{name} {cost:.1f} ({cost / base:.2f} ×)" for name, cost in median.items())
        )
    return 1 if failed else 0
