"""Alembic environment: migrations run on the connection :func:`workers.runtime.stores.db.migrate`
passes in (``config.attributes["connection"]``), or on ``sqlalchemy.url`` when run from the CLI."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from workers.runtime.stores.tables import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///var/procgov.db")
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
