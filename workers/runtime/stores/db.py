"""Engines for the store URL, with the schema migrated to Alembic ``head`` before first use."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workers.runtime.settings import DEFAULT_STORE_URL

__all__ = [
    "DEFAULT_STORE_URL",
    "MIGRATION_LOCK_KEY",
    "begin_write",
    "create_store_engine",
    "dispose_all",
    "migrate",
    "open_engine",
]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: The PostgreSQL advisory lock key every replica takes around ``upgrade head`` (any fixed 64-bit number
#: works; this one is "procgov" in ASCII, so it is recognisable in ``pg_locks``).
MIGRATION_LOCK_KEY = 0x70726F63676F76
_SQLITE_IMMEDIATE = "procgov_begin_immediate"

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (audit) work while a worker appends; busy_timeout makes writers queue up
    # instead of failing with "database is locked". The driver's own transaction handling is turned
    # off (SQLAlchemy emits BEGIN itself, see _sqlite_begin) so SAVEPOINTs and locking work as written.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # A migration asks for BEGIN IMMEDIATE: it takes SQLite's write lock before reading the schema, so a
    # second process waits (busy_timeout) instead of both seeing "not migrated" and racing the DDL.
    immediate = connection.get_execution_options().get(_SQLITE_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def begin_write(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that reads and then writes (e.g. an upsert by lookup). On SQLite it starts as a
    writer (``BEGIN IMMEDIATE``): a plain ``BEGIN`` that reads first cannot become a writer once another
    connection has committed meanwhile, and fails at once with "database is locked" instead of waiting
    out ``busy_timeout``. On PostgreSQL it is an ordinary transaction."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(**{_SQLITE_IMMEDIATE: True})
        with connection.begin():
            yield connection


def create_store_engine(url: str, **kwargs: Any) -> sa.Engine:
    """A new engine for ``url`` (SQLite files get their directory created and WAL turned on)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def migrate(engine: sa.Engine) -> None:
    """Run the store migrations up to ``head``; idempotent, and safe when several replicas start at once.

    Without a lock, two replicas starting together both read "no alembic_version yet" and both run the
    DDL; one fails with "relation already exists" and the replica crash-loops. So the upgrade runs in
    one transaction that first takes a lock, and whoever comes second waits, then finds the schema at
    head and does nothing:

    - PostgreSQL: ``pg_advisory_xact_lock(MIGRATION_LOCK_KEY)``, the transaction-scoped form of
      ``pg_advisory_lock``: released by the commit or rollback, so a replica that dies mid-migration
      never leaves the lock held.
    - SQLite: ``BEGIN IMMEDIATE``, SQLite's write lock, taken before Alembic reads the schema.
    """
    from alembic import command  # imported here: only a start-up needs it, not every CLI call
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    backend = engine.dialect.name
    with engine.connect() as connection:
        if backend == "sqlite":
            connection = connection.execution_options(**{_SQLITE_IMMEDIATE: True})
        with connection.begin():
            if backend == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def open_engine(url: str = DEFAULT_STORE_URL) -> sa.Engine:
    """The process-wide engine for ``url``, migrated on first use."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_store_engine(url)
            migrate(engine)
            _engines[url] = engine
        return engine


def dispose_all() -> None:
    """Close every cached engine (tests and worker shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
