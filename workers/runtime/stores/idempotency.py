"""Run a side effect once per key, across retries, re-deliveries and worker replicas.

A key is claimed (``running``) before the action runs and marked ``done`` with the action's JSON
result after; a failed action deletes the claim so a retry may try again. A claim older than
``lease_s`` counts as abandoned (its worker died mid-action) and may be taken over.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from workers.runtime.errors import TransientError
from workers.runtime.stores.tables import idempotency_keys


class InProgressError(TransientError):
    """Another worker holds the key right now; the job is retried later (transient)."""


_PENDING = object()


class IdempotencyStore:
    def __init__(self, engine: sa.Engine, *, lease_s: float = 300.0) -> None:
        self._engine = engine
        self._lease_s = lease_s

    def _insert_claim(self, key: str, now: float) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING``: the transaction's first statement is a write, so on
        SQLite it waits for the write lock (busy_timeout) instead of failing on a stale read snapshot."""
        values = {"key": key, "status": "running", "claimed_at": now}
        statement: Any
        if self._engine.dialect.name == "postgresql":
            statement = postgresql.insert(idempotency_keys).values(**values).on_conflict_do_nothing()
        elif self._engine.dialect.name == "sqlite":
            statement = sqlite.insert(idempotency_keys).values(**values).on_conflict_do_nothing()
        else:
            raise NotImplementedError(f"idempotency store on {self._engine.dialect.name!r}: use SQLite or PostgreSQL")
        # RETURNING tells whether the row was inserted (rowcount is not reliable for ON CONFLICT).
        return statement.returning(idempotency_keys.c.key)

    def _claim(self, key: str) -> Any:
        """Claim ``key``: returns ``_PENDING`` when this caller must run the action, else the stored
        result; raises :class:`InProgressError` when a live claim exists."""
        now = time.time()
        with self._engine.begin() as conn:
            if conn.execute(self._insert_claim(key, now)).first() is not None:
                return _PENDING
            row = conn.execute(sa.select(idempotency_keys).where(idempotency_keys.c.key == key)).one()
            if row.status == "done":
                return json.loads(row.result) if row.result is not None else None
            if now - row.claimed_at < self._lease_s:
                raise InProgressError(f"side effect {key!r} is running in another worker")
            taken = conn.execute(
                sa.update(idempotency_keys)
                .where(idempotency_keys.c.key == key, idempotency_keys.c.claimed_at == row.claimed_at)
                .values(claimed_at=now)
            ).rowcount
            if taken != 1:
                raise InProgressError(f"side effect {key!r} was just taken over by another worker")
            return _PENDING

    def _finish(self, key: str, result_json: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(idempotency_keys)
                .where(idempotency_keys.c.key == key)
                .values(status="done", result=result_json)
            )

    def _release(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(idempotency_keys).where(idempotency_keys.c.key == key, idempotency_keys.c.status == "running")
            )

    async def run_once(self, key: str, action: Callable[[], Awaitable[Any]] | Callable[[], Any]) -> Any:
        """Run ``action`` unless ``key`` already ran; return its (JSON round-tripped) result either way.

        The result must be JSON-serialisable (a pydantic model: return ``model.model_dump(mode="json")``).
        """
        claimed = await asyncio.to_thread(self._claim, key)
        if claimed is not _PENDING:
            return claimed
        try:
            result = action()
            if inspect.isawaitable(result):
                result = await result
            result_json = json.dumps(result, ensure_ascii=False)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._release, key))
            raise
        await asyncio.to_thread(self._finish, key, result_json)
        return json.loads(result_json)

    def status(self, key: str) -> str | None:
        """``"running"``, ``"done"`` or None (never claimed / released)."""
        with self._engine.connect() as conn:
            value = conn.execute(sa.select(idempotency_keys.c.status).where(idempotency_keys.c.key == key)).scalar()
        return None if value is None else str(value)
