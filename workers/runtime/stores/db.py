"""Engines for the store URL, with the schema migrated to Alembic ``head`` before first use."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workers.runtime.settings import DEFAULT_STORE_URL

__all__ = ["DEFAULT_STORE_URL", "create_store_engine", "dispose_all", "migrate", "open_engine"]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

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
    connection.exec_driver_sql("BEGIN")


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
    """Run the store migrations up to ``head`` (idempotent; safe when replicas start together on
    PostgreSQL because Alembic's version table update and the DDL share one transaction)."""
    from alembic import command  # imported here: only a start-up needs it, not every CLI call
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
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
