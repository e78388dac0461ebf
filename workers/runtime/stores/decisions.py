"""The decision log: every recorded decision, append-only and hash-chained.

``hash = sha256(prev_hash + canonical JSON of the other fields)`` (docs/contracts.md), so altering,
removing or reordering a record breaks every later hash. Audit verifies and replays the chain with
:func:`decision_hash` and :meth:`DecisionRecord.hash_fields`; keep both the only definition of it.

Appends lock the chain head row first (an ``UPDATE`` on ``decision_chain_head``: a row lock on
PostgreSQL, the database write lock on SQLite), so concurrent replicas never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from workers.runtime.stores.tables import decision_chain_head, decision_records, rule_snapshots

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "seq",
    "recorded_at",
    "job_key",
    "process_instance_key",
    "bpmn_process_id",
    "element_id",
    "decision",
    "rule_version",
    "worker_version",
    "inputs",
    "outputs",
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 kept as is: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decision_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of a record: sha256 hex of ``prev_hash`` + canonical JSON of its other fields
    (``HASHED_FIELDS``; any other key in ``fields`` is ignored)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DecisionRecord:
    seq: int
    recorded_at: str
    job_key: int
    process_instance_key: int
    bpmn_process_id: str
    element_id: str
    decision: str
    rule_version: str
    worker_version: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    prev_hash: str
    hash: str

    def hash_fields(self) -> dict[str, Any]:
        """The fields that :func:`decision_hash` covers."""
        return {name: getattr(self, name) for name in HASHED_FIELDS}

    def expected_hash(self) -> str:
        return decision_hash(self.prev_hash, self.hash_fields())


def _record(row: sa.Row[Any]) -> DecisionRecord:
    m = row._mapping
    return DecisionRecord(**{name: m[name] for name in DecisionRecord.__dataclass_fields__})


def timestamp_text(at: datetime | None = None) -> str:
    """``recorded_at`` text: UTC ISO 8601 with microseconds and ``Z`` (now, without ``at``)."""
    return (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class DecisionLog:
    """Append-only store of decision records and the rule texts they were decided with."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def append(
        self,
        *,
        job_key: int,
        process_instance_key: int,
        bpmn_process_id: str,
        element_id: str,
        decision: str,
        rule_version: str,
        rule_text: str,
        worker_version: str,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Any],
        recorded_at: datetime | None = None,
    ) -> DecisionRecord:
        """Record a decision once per job key and return the record.

        ``recorded_at`` is the engine's clock at the job's activation when the runtime records it (so
        audit can hold it against the engine's records); the wall clock when not given.

        A re-delivered job (same key) gets the record already stored, unchanged, so its outputs are
        what the process sees again. The rule text is snapshotted under its version on first use.
        """
        inputs_doc = json.loads(canonical_json(dict(inputs)))
        outputs_doc = json.loads(canonical_json(dict(outputs)))
        with self._engine.begin() as conn:
            # Lock the chain head first: everything below is serialised across replicas.
            conn.execute(
                sa.update(decision_chain_head)
                .where(decision_chain_head.c.id == 1)
                .values(seq=decision_chain_head.c.seq)
            )
            existing = conn.execute(sa.select(decision_records).where(decision_records.c.job_key == job_key)).first()
            if existing is not None:
                return _record(existing)
            head = conn.execute(
                sa.select(decision_chain_head.c.seq, decision_chain_head.c.hash).where(decision_chain_head.c.id == 1)
            ).one()
            known = conn.execute(
                sa.select(rule_snapshots.c.version).where(rule_snapshots.c.version == rule_version)
            ).first()
            if known is None:
                conn.execute(sa.insert(rule_snapshots).values(version=rule_version, decision=decision, text=rule_text))
            fields: dict[str, Any] = {
                "seq": int(head.seq) + 1,
                "recorded_at": timestamp_text(recorded_at),
                "job_key": int(job_key),
                "process_instance_key": int(process_instance_key),
                "bpmn_process_id": bpmn_process_id,
                "element_id": element_id,
                "decision": decision,
                "rule_version": rule_version,
                "worker_version": worker_version,
                "inputs": inputs_doc,
                "outputs": outputs_doc,
            }
            record = DecisionRecord(**fields, prev_hash=head.hash, hash=decision_hash(head.hash, fields))
            conn.execute(sa.insert(decision_records).values(**asdict(record)))
            conn.execute(
                sa.update(decision_chain_head)
                .where(decision_chain_head.c.id == 1)
                .values(seq=record.seq, hash=record.hash)
            )
            return record

    def get_by_job(self, job_key: int) -> DecisionRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(decision_records).where(decision_records.c.job_key == job_key)).first()
        return None if row is None else _record(row)

    def iter_records(self, process_instance_key: int | None = None) -> Iterator[DecisionRecord]:
        """Records in chain order (``seq``), optionally of one process instance only."""
        query = sa.select(decision_records).order_by(decision_records.c.seq)
        if process_instance_key is not None:
            query = query.where(decision_records.c.process_instance_key == process_instance_key)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            yield _record(row)

    def rule_text(self, version: str) -> str:
        """The rule text a record was decided with; ``KeyError`` naming the version if unknown."""
        with self._engine.connect() as conn:
            text = conn.execute(sa.select(rule_snapshots.c.text).where(rule_snapshots.c.version == version)).scalar()
        if text is None:
            raise KeyError(f"no rule snapshot for version {version!r}")
        return str(text)
