"""Verify the decision log's hash chain: any edit, deletion or reordering of a record shows.

Each record's ``hash`` is ``decision_hash(prev_hash, fields)`` (workers.runtime.stores.decisions, the
one definition), and ``prev_hash`` is the hash of the record before it. So:

* a changed field (outputs, inputs, rule version, ...) no longer matches the record's own hash;
* a deleted or moved record leaves the next record's ``prev_hash`` pointing at a hash that is not the
  one before it (and a gap in ``seq``);
* deleted records at the end are caught by the chain head (``decision_chain_head``), which the
  appender updates in the same transaction as every append.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workers.runtime.stores.decisions import GENESIS_HASH, HASHED_FIELDS, DecisionRecord, decision_hash

EDITED = "edited"  # the record's content does not match its own hash
BROKEN_LINK = "broken-link"  # prev_hash is not the hash of the record before it
SEQ_GAP = "seq-gap"  # a seq number is missing or out of order
HEAD_MISMATCH = "head-mismatch"  # the chain head names a different last record


@dataclass(frozen=True)
class ChainHead:
    """The last appended record as the store's head row names it."""

    seq: int
    hash: str


def content_hash(record: DecisionRecord) -> str:
    """What the record's hash must be, by the store's own :func:`decision_hash` (this reads the hashed
    fields directly: ``DecisionRecord.hash_fields`` deep-copies them, which dominates a 100k replay)."""
    return decision_hash(record.prev_hash, {name: getattr(record, name) for name in HASHED_FIELDS})


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str
    detail: str


def verify_chain(records: Iterable[DecisionRecord], head: ChainHead | None = None) -> list[ChainProblem]:
    """Every problem in the chain, in seq order; an empty list means the chain is intact.

    ``records`` must be the whole log in seq order (the chain is global: checking one instance's
    records alone cannot tell a deletion from a record of another instance).
    """
    problems: list[ChainProblem] = []
    prev_hash = GENESIS_HASH
    prev_seq = 0
    for record in records:
        if record.seq != prev_seq + 1:
            missing = "" if record.seq <= prev_seq else f" (records {prev_seq + 1}..{record.seq - 1} missing)"
            problems.append(
                ChainProblem(record.seq, SEQ_GAP, f"seq {record.seq} follows seq {prev_seq}{missing}")
            )
        expected = content_hash(record)
        if expected != record.hash:
            problems.append(
                ChainProblem(
                    record.seq,
                    EDITED,
                    f"record {record.seq} (job {record.job_key}) was changed after it was recorded: "
                    f"stored hash {record.hash[:12]}…, its content hashes to {expected[:12]}…",
                )
            )
        if record.prev_hash != prev_hash:
            problems.append(
                ChainProblem(
                    record.seq,
                    BROKEN_LINK,
                    f"record {record.seq} links to {record.prev_hash[:12]}…, but the record before it "
                    f"(seq {prev_seq}) has hash {prev_hash[:12]}…: a record was deleted, inserted or moved",
                )
            )
        prev_hash, prev_seq = record.hash, record.seq
    if head is not None and (head.seq != prev_seq or head.hash != prev_hash):
        problems.append(
            ChainProblem(
                head.seq,
                HEAD_MISMATCH,
                f"the chain head names record {head.seq} ({head.hash[:12]}…) but the log ends at record "
                f"{prev_seq} ({prev_hash[:12]}…): records at the end were deleted",
            )
        )
    return problems
