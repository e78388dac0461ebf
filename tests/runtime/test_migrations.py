"""``upgrade head`` when several worker replicas start at once against one fresh store.

Each replica is its own process (as in a deployment: Alembic keeps per-process state, so threads would
not show the race), connected first and then released together by a barrier, so the upgrades really
overlap: on PostgreSQL they serialise on the advisory lock, on SQLite on ``BEGIN IMMEDIATE``. Without
the lock the losers fail ("relation … already exists" / "database is locked").
"""

from __future__ import annotations

import multiprocessing

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.runtime.migrate_replica import migrate_replica
from workers.runtime.stores.db import MIGRATIONS_DIR, create_store_engine
from workers.runtime.stores.tables import metadata

REPLICAS = 4


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def test_replicas_starting_together_all_migrate_and_the_schema_is_at_head(store_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter each, like separate pods
    barrier = spawn.Barrier(REPLICAS)
    errors = spawn.Queue()
    replicas = [spawn.Process(target=migrate_replica, args=(store_url, barrier, errors), name=f"replica-{n}")
                for n in range(REPLICAS)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=120)
    stuck = [r.name for r in replicas if r.is_alive()]
    for replica in replicas:
        if replica.is_alive():
            replica.kill()
    assert not stuck, f"replicas still migrating after 120 s (a lock never released?): {stuck}"
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == [], f"replicas failed to migrate: {failures}"
    assert [r.exitcode for r in replicas] == [0] * REPLICAS

    engine = create_store_engine(store_url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == _head()
            assert set(metadata.tables) <= set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
