"""One worker replica's start-up migration, run in its own process by ``test_migrations``.

Kept apart from the test module so a spawned process imports only this (and the store code), as a
replica would.
"""

from __future__ import annotations

from typing import Any

from workers.runtime.stores.db import create_store_engine, migrate


def migrate_replica(store_url: str, barrier: Any, errors: Any) -> None:
    """Connect, wait until every replica is connected, then ``upgrade head``; report any failure."""
    engine = create_store_engine(store_url)
    try:
        with engine.connect():  # connect first, so the barrier releases only the migrations
            pass
        barrier.wait(timeout=60)
        migrate(engine)
    except BaseException as error:  # reported to the test, which names every failure
        errors.put(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()
