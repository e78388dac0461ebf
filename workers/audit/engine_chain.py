"""Verify the engine log's record chain (``records.db`` ``record_chain``, written by the engine).

The engine appends one chain row per group commit: the batch's last position and
``sha256(prev_hash + batch)``, ``batch`` being the ``orjson`` bytes of the batch's rows
``[position, value_type, intent, record_type, key, process_instance_key, timestamp, json]``
(docs/contracts.md "Engine log chain"). Audit cannot import the engine, so this module re-serialises
the rows the same way and checks every link: an edited, deleted, inserted or moved record breaks the
hash of its batch. A re-hashed log is caught only by a signed checkpoint (workers.runtime.stores.checkpoints).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from workers.runtime.stores.checkpoints import InstanceSummary

GENESIS = "0" * 64
Row = tuple[Any, ...]  # position, value_type, intent, record_type, key, process_instance_key, timestamp, json
_ROWS = ("SELECT position, value_type, intent, record_type, key, process_instance_key, timestamp, json "
         "FROM records ORDER BY position")


@dataclass(frozen=True)
class EngineChain:
    """What the log holds now: its chain head, the problems found, and per-instance summaries."""

    head_seq: int
    head_position: int
    head_hash: str
    records: int
    problems: tuple[str, ...] = ()
    #: instance key → (records, digest) over the instance's rows in position order, and per chain seq
    #: the position it ends at (to re-summarise a prefix for an older checkpoint).
    instances: dict[int, InstanceSummary] = field(default_factory=dict)
    chain: dict[int, tuple[int, str]] = field(default_factory=dict)  # seq → (last_position, hash)
    rows: tuple[Row, ...] = ()

    def instances_upto(self, position: int) -> dict[int, InstanceSummary]:
        return summarise(row for row in self.rows if int(row[0]) <= position)


def summarise(rows: Iterable[Row]) -> dict[int, InstanceSummary]:
    """Per instance: its rows' count and sha256 over their ``orjson`` bytes in position order."""
    digests: dict[int, Any] = {}
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        key = row[5]
        if not isinstance(key, int) or key <= 0:
            continue
        digest = digests.get(key)
        if digest is None:
            digest = digests[key] = hashlib.sha256()
        digest.update(orjson.dumps(row))
        counts[key] += 1
    return {key: InstanceSummary(counts[key], d.hexdigest()) for key, d in digests.items()}


def read_engine_chain(data: str | Path) -> EngineChain:
    """Read ``DATA_DIR/records.db`` read-only and verify its record chain."""
    path = Path(data)
    path = path / "records.db" if path.is_dir() else path
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = tuple(conn.execute(_ROWS).fetchall())
        chain_rows = conn.execute("SELECT seq, last_position, hash FROM record_chain ORDER BY seq").fetchall() \
            if "record_chain" in tables else []
    finally:
        conn.close()
    problems: list[str] = []
    if "record_chain" not in tables:
        problems.append(f"{path} has no record_chain table: the engine log is not hash-chained")
    prev_hash, prev_seq, index = GENESIS, 0, 0
    chain: dict[int, tuple[int, str]] = {}
    for seq, last_position, stored in chain_rows:
        if seq != prev_seq + 1:
            problems.append(f"engine log chain: row {seq} follows row {prev_seq} (chain rows deleted)")
        batch = []
        while index < len(rows) and rows[index][0] <= last_position:
            batch.append(rows[index])
            index += 1
        actual = hashlib.sha256(prev_hash.encode() + orjson.dumps(batch)).hexdigest()
        if actual != stored:
            first = batch[0][0] if batch else last_position
            problems.append(f"engine log chain: the records of commit {seq} (positions {first}..{last_position}) "
                            f"were edited, deleted, inserted or moved: they hash to {actual[:12]}…, "
                            f"the chain says {stored[:12]}…")
        chain[seq] = (last_position, stored)
        prev_hash, prev_seq = stored, seq
    if index < len(rows):
        problems.append(f"engine log chain: {len(rows) - index} record(s) after the last chained commit "
                        f"(positions {rows[index][0]}..{rows[-1][0]}) are not chained")
    head_position = chain[prev_seq][0] if prev_seq else 0
    return EngineChain(prev_seq, head_position, prev_hash, len(rows), tuple(problems), summarise(rows), chain, rows)
