"""The process registry (流程清单, seed 002 template 1): governed processes, their versions and events.

Revision ID: 0004
Revises: 0003

Owned by ``workers/runtime/stores/registry.py`` (which maps the same tables; a test keeps them in step).
Columns are written out here, not imported, so this revision stays what it was when later ones change
the tables. (Linearised after 0003_idempotency_job when main was merged in.)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _tables() -> list[tuple[str, list[Any]]]:
    return [
        ("process_registry", [
            sa.Column("process_id", sa.String(120), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("tier", sa.String(20), nullable=True),
            sa.Column("owner", sa.String(120), nullable=True),
            sa.Column("department", sa.String(120), nullable=True),
            sa.Column("current_version", sa.String(20), nullable=False),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("rollout_instance", sa.String(40), nullable=True),
            sa.Column("revision", sa.Integer, nullable=False),
            sa.Column("updated_at", sa.String(40), nullable=False),
        ]),
        ("process_registry_versions", [
            sa.Column("process_id", sa.String(120), primary_key=True),
            sa.Column("version", sa.String(20), primary_key=True),
            sa.Column("previous_version", sa.String(20), nullable=True),
            sa.Column("change_request", sa.String(40), nullable=True),
            sa.Column("published_on", sa.String(10), nullable=True),
            sa.Column("recorded_at", sa.String(40), nullable=False),
        ]),
        ("process_registry_events", [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("process_id", sa.String(120), nullable=False, index=True),
            sa.Column("at", sa.String(40), nullable=False),
            sa.Column("kind", sa.String(40), nullable=False),
            sa.Column("instance", sa.String(40), nullable=True),
            sa.Column("detail", sa.Text, nullable=False),
        ]),
    ]


def upgrade() -> None:
    for name, columns in _tables():
        op.create_table(name, *columns)


def downgrade() -> None:
    for name, _columns in reversed(_tables()):
        op.drop_table(name)
