"""Initial stores: idempotency keys, hash-chained decision records, rule snapshots.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
    )
    op.create_table(
        "decision_records",
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
    op.create_table(
        "rule_snapshots",
        sa.Column("version", sa.String(80), primary_key=True),
        sa.Column("decision", sa.String(255), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    head = op.create_table(
        "decision_chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    op.drop_table("decision_chain_head")
    op.drop_table("rule_snapshots")
    op.drop_table("decision_records")
    op.drop_table("idempotency_keys")
