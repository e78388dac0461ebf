"""Durable stores shared by every worker replica: idempotency keys and the decision log.

One SQLAlchemy engine per store URL (SQLite by default, PostgreSQL for several replicas); the schema
is owned by the Alembic migrations next to this file and brought to ``head`` when a store is opened.
"""

from __future__ import annotations

from workers.runtime.stores.db import DEFAULT_STORE_URL, open_engine
from workers.runtime.stores.decisions import GENESIS_HASH, DecisionLog, DecisionRecord, decision_hash
from workers.runtime.stores.idempotency import IdempotencyStore, InProgressError

__all__ = [
    "DEFAULT_STORE_URL",
    "GENESIS_HASH",
    "DecisionLog",
    "DecisionRecord",
    "IdempotencyStore",
    "InProgressError",
    "decision_hash",
    "open_engine",
]
