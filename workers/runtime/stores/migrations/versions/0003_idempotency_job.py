"""Idempotency claims tied to the job: the claiming job's key and activation deadline, the effect's
own reference (e.g. the mail's Message-ID, recorded before sending).

Revision ID: 0003
Revises: 0002

A claim used to count as abandoned after a fixed lease; now it is abandoned when the activation that
made it has timed out (its deadline, on the engine's clock, lies before the activation asking), so a
re-delivered job takes over at once instead of spending its retries on "in progress". Existing rows
keep NULLs there and fall back to the lease.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.add_column(sa.Column("job_key", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("job_deadline_ms", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("effect_ref", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("effect_ref")
        table.drop_column("job_deadline_ms")
        table.drop_column("job_key")
