"""slm worker tables: filed process versions, the optimisation log, rectifications, monthly KPI results.

Revision ID: 0002
Revises: 0001

Owned by the slm worker group (``workers/slm/store.py`` maps the same tables; a test in ``tests/slm``
keeps the two in step). The columns are written out here rather than imported, so this revision stays
what it was when later revisions change the tables.

Stores created before this migration got these tables from the slm store's ``create_all``, with exactly
these columns: an existing table is adopted as it is (after checking it has every column), so upgrading
such a store works instead of failing with "table already exists".
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tables() -> list[tuple[str, list[sa.Column[Any]]]]:
    return [
        ("slm_process_versions", [
            sa.Column("process_id", sa.String(120), primary_key=True),
            sa.Column("version", sa.String(20), primary_key=True),
            sa.Column("process_name", sa.String(200), nullable=False),
            sa.Column("published_on", sa.Date, nullable=False),
            sa.Column("previous_version", sa.String(20), nullable=False),
            sa.Column("change_request", sa.String(40), nullable=False),
            sa.Column("scope", sa.String(20), nullable=False),
            sa.Column("department", sa.String(120), nullable=False),
        ]),
        ("slm_optimisation_log", [
            sa.Column("entry_key", sa.String(80), primary_key=True),
            sa.Column("logged_on", sa.Date, nullable=False),
            sa.Column("process_id", sa.String(120), nullable=False),
            sa.Column("process_name", sa.String(200), nullable=False),
            sa.Column("background", sa.Text, nullable=False),
            sa.Column("measures", sa.Text, nullable=False),
            sa.Column("effect", sa.Text, nullable=False),
            sa.Column("owner", sa.String(120), nullable=False),
            sa.Column("remarks", sa.Text, nullable=False),
        ]),
        ("slm_rectifications", [
            sa.Column("review_month", sa.String(7), primary_key=True),
            sa.Column("department", sa.String(120), primary_key=True),
            sa.Column("problem", sa.String(200), primary_key=True),
            sa.Column("process_id", sa.String(120), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
        ]),
        ("slm_kpi_results", [
            sa.Column("review_month", sa.String(7), primary_key=True),
            sa.Column("indicator", sa.String(120), primary_key=True),
            sa.Column("verdict", sa.String(20), nullable=False),
            sa.Column("actual", sa.String(40)),
            sa.Column("target", sa.String(40), nullable=False),
            sa.Column("unit", sa.String(20), nullable=False),
            sa.Column("owner_department", sa.String(120), nullable=False),
        ]),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, columns in _tables():
        if name not in existing:
            op.create_table(name, *columns)
            continue
        # adopted from an older slm worker's create_all: only if it really is that table
        found = {column["name"] for column in inspector.get_columns(name)}
        missing = [column.name for column in columns if column.name not in found]
        if missing:
            raise RuntimeError(f"cannot adopt the existing table {name!r}: it lacks the columns {missing}; "
                               "it was not created by the slm store, rename or drop it and migrate again")


def downgrade() -> None:
    for name, _columns in reversed(_tables()):
        op.drop_table(name)
