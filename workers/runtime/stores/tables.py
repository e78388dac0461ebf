"""Table definitions of the stores (the migrations create exactly these; keep them in step)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # "running" | "done" | "uncertain"
    sa.Column("claimed_at", sa.Float, nullable=False),  # epoch seconds of the current claim
    sa.Column("result", sa.Text, nullable=True),  # JSON of the action's result once done
    sa.Column("job_key", sa.BigInteger, nullable=True),  # the job whose activation holds the claim
    sa.Column("job_deadline_ms", sa.BigInteger, nullable=True),  # that activation's deadline (engine clock)
    sa.Column("effect_ref", sa.String(512), nullable=True),  # the effect's own id (Message-ID …), before it runs
)

decision_records = sa.Table(
    "decision_records",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("job_key", sa.BigInteger, nullable=False, unique=True),
    sa.Column("process_instance_key", sa.BigInteger, nullable=False, index=True),
    sa.Column("bpmn_process_id", sa.String(255), nullable=False),
    sa.Column("element_id", sa.String(255), nullable=False),
    sa.Column("decision", sa.String(255), nullable=False),
    sa.Column("rule_version", sa.String(80), nullable=False),
    sa.Column("worker_version", sa.String(80), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

rule_snapshots = sa.Table(
    "rule_snapshots",
    metadata,
    sa.Column("version", sa.String(80), primary_key=True),
    sa.Column("decision", sa.String(255), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

# One row (id=1): the last appended record. Appenders lock it first, so the chain never forks.
decision_chain_head = sa.Table(
    "decision_chain_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
