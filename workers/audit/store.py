"""Reading the decision log for audit: its records, its chain head and its rule snapshots.

Audit reads through :class:`workers.runtime.stores.decisions.DecisionLog` (the one owner of that
schema) and never writes; it does not run migrations either, so pointing it at the wrong database
gives a clear error instead of an empty, freshly created log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from workers.audit.chain import ChainHead
from workers.runtime.stores.db import create_store_engine
from workers.runtime.stores.decisions import DecisionLog, DecisionRecord
from workers.runtime.stores.tables import decision_chain_head


class DecisionStoreError(RuntimeError):
    """The decision store cannot be read (missing file, missing tables)."""


class DecisionStore:
    """Read-only view of the decision log for replay and chain verification."""

    def __init__(self, engine: sa.Engine, *, description: str = "decision store") -> None:
        self._engine = engine
        self._log = DecisionLog(engine)
        self.description = description
        tables = set(sa.inspect(engine).get_table_names())
        missing = {"decision_records", "rule_snapshots", "decision_chain_head"} - tables
        if missing:
            raise DecisionStoreError(f"{description} has no {', '.join(sorted(missing))} table(s): not a procgov store")

    @classmethod
    def open(cls, url: str) -> DecisionStore:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not Path(database).is_file():
                raise DecisionStoreError(f"no decision store at {database} (from store URL {url!r})")
        description = f"decision store {parsed.render_as_string(hide_password=True)}"
        return cls(create_store_engine(url), description=description)

    def records(self, process_instance_key: int | None = None) -> Iterator[DecisionRecord]:
        """Records in chain order, optionally of one instance only."""
        return self._log.iter_records(process_instance_key)

    def head(self) -> ChainHead | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(decision_chain_head.c.seq, decision_chain_head.c.hash).where(decision_chain_head.c.id == 1)
            ).first()
        return None if row is None else ChainHead(seq=int(row.seq), hash=str(row.hash))

    def rule_text(self, version: str) -> str:
        """The snapshotted rule text; ``KeyError`` naming the version when it was never recorded."""
        return self._log.rule_text(version)

    def dispose(self) -> None:
        self._engine.dispose()
