"""Run a side effect once per key, across retries, re-deliveries, worker crashes and replicas.

A key is claimed (``running``) before the action runs and marked ``done`` with the action's JSON
result after; a failed action deletes the claim so a retry may try again. The claim records the job
activation that made it (job key and the activation's deadline, on the engine's clock) and the effect's
own reference (a mail's Message-ID …) *before* the action runs.

Who may run the action when a claim exists:

- ``done``: nobody; the recorded result is returned.
- ``running``, made by an activation whose deadline lies before the asking activation's start: that
  activation is over (its worker died or was cut off), so the claim is taken over at once. Whether the
  effect happened is unknown. If the channel recognises a repeat by its own means (``redo_safe``: a
  mail re-sent with the same Message-ID, a webhook with the same ``Idempotency-Key``), the action runs
  again with the same reference; otherwise the claim becomes ``uncertain`` and
  :class:`UncertainEffectError` (an incident) says so: it is never silently repeated.
- ``running``, held by a live activation: re-checked for a short while (``wait_s``), then
  :class:`InProgressError`, which fails the job with the SAME retries and a back-off until the holder's
  deadline (:class:`~workers.runtime.errors.RetryLaterError`): waiting never spends a retry.
- ``uncertain``: :class:`UncertainEffectError` again, until an operator settles it
  (``procgov effects settle``, :meth:`IdempotencyStore.settle`).

An action that fails with :class:`~workers.runtime.errors.MaybeDoneError` (the request went out, no
answer came back) releases its claim only when ``redo_safe``; otherwise the claim becomes ``uncertain``
at once. Any other failure releases the claim, so a retry may try again.

Claims made without a job (older rows, callers outside a job) fall back to a wall-clock lease.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite

from workers.runtime.errors import MaybeDoneError, PermanentError, RetryLaterError
from workers.runtime.stores.tables import idempotency_keys

log = structlog.get_logger("workers.runtime.stores.idempotency")


class ActivationLike(Protocol):
    """What the store needs of a job (a :class:`~workers.runtime.context.JobContext` fits)."""

    @property
    def key(self) -> int: ...

    @property
    def deadline(self) -> Any: ...

    @property
    def activated_at(self) -> Any: ...


class InProgressError(RetryLaterError):
    """A live activation holds the key right now; the job comes back later without spending a retry."""


class UncertainEffectError(PermanentError):
    """An earlier activation started the effect and ended without recording whether it happened, and
    the channel cannot recognise a repeat: an incident whose message says the outcome is uncertain."""


@dataclass(frozen=True)
class _Claim:
    job_key: int | None
    deadline_ms: int | None
    activated_ms: int | None


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _claim_of(job: ActivationLike | None) -> _Claim:
    if job is None:
        return _Claim(None, None, None)
    return _Claim(int(job.key), _ms(job.deadline), _ms(job.activated_at) if job.deadline is not None else None)


_PENDING = object()


class IdempotencyStore:
    """``lease_s``: how long a claim made *without* a job counts as live; ``wait_s``: how long a claim
    held by a live activation is re-checked before the job is handed back for later."""

    def __init__(self, engine: sa.Engine, *, lease_s: float = 300.0, wait_s: float = 2.0,
                 poll_s: float = 0.2) -> None:
        self._engine = engine
        self._lease_s = lease_s
        self._wait_s = wait_s
        self._poll_s = poll_s

    @property
    def engine(self) -> sa.Engine:
        """The database the keys live in (the workers' store, which other stores share)."""
        return self._engine

    def _insert_claim(self, key: str, now: float, claim: _Claim, effect_ref: str | None) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING``: the transaction's first statement is a write, so on
        SQLite it waits for the write lock (busy_timeout) instead of failing on a stale read snapshot."""
        values = {"key": key, "status": "running", "claimed_at": now, "job_key": claim.job_key,
                  "job_deadline_ms": claim.deadline_ms, "effect_ref": effect_ref}
        statement: Any
        if self._engine.dialect.name == "postgresql":
            statement = postgresql.insert(idempotency_keys).values(**values).on_conflict_do_nothing()
        elif self._engine.dialect.name == "sqlite":
            statement = sqlite.insert(idempotency_keys).values(**values).on_conflict_do_nothing()
        else:
            raise NotImplementedError(f"idempotency store on {self._engine.dialect.name!r}: use SQLite or PostgreSQL")
        # RETURNING tells whether the row was inserted (rowcount is not reliable for ON CONFLICT).
        return statement.returning(idempotency_keys.c.key)

    def _expired(self, row: Any, claim: _Claim, now: float) -> bool:
        """Whether the activation holding ``row`` is over (see the module docstring)."""
        if row.job_deadline_ms is not None and claim.activated_ms is not None:
            return bool(row.job_deadline_ms <= claim.activated_ms)
        return now - row.claimed_at >= self._lease_s

    def _retry_after_ms(self, row: Any, claim: _Claim, now: float) -> int:
        if row.job_deadline_ms is not None and claim.activated_ms is not None:
            return int(row.job_deadline_ms - claim.activated_ms)
        return int((self._lease_s - (now - row.claimed_at)) * 1000)

    def _claim(self, key: str, claim: _Claim, effect_ref: str | None, redo_safe: bool) -> Any:
        """Claim ``key``: returns ``_PENDING`` when this caller must run the action, else the stored
        result; raises :class:`InProgressError` or :class:`UncertainEffectError`."""
        now = time.time()
        with self._engine.begin() as conn:
            if conn.execute(self._insert_claim(key, now, claim, effect_ref)).first() is not None:
                return _PENDING
            row = conn.execute(sa.select(idempotency_keys).where(idempotency_keys.c.key == key)).one()
            if row.status == "done":
                return json.loads(row.result) if row.result is not None else None
            if row.status == "uncertain":
                raise UncertainEffectError(_uncertain_text(key, row.effect_ref, _earlier(row.job_key)))
            if not self._expired(row, claim, now):
                raise InProgressError(
                    f"side effect {key!r} is in progress in another activation (job {row.job_key}); "
                    "waiting for it without spending a retry",
                    retry_after_ms=self._retry_after_ms(row, claim, now),
                )
            same_claim = sa.and_(idempotency_keys.c.key == key, idempotency_keys.c.claimed_at == row.claimed_at)
            if redo_safe:
                values: dict[str, Any] = {"claimed_at": now, "job_key": claim.job_key,
                                          "job_deadline_ms": claim.deadline_ms,
                                          "effect_ref": effect_ref or row.effect_ref}
            else:
                values = {"status": "uncertain"}
            changed = conn.execute(sa.update(idempotency_keys).where(same_claim).values(**values)).rowcount
        # Raised after the commit, so the verdict "uncertain" (or the take-over) is kept.
        if changed != 1:
            raise InProgressError(f"side effect {key!r} was just taken over by another worker", retry_after_ms=1_000)
        if not redo_safe:
            log.warning("side effect outcome uncertain: not repeated", key=key, effect_ref=row.effect_ref,
                        previous_job_key=row.job_key)
            raise UncertainEffectError(_uncertain_text(key, row.effect_ref, _earlier(row.job_key)))
        log.info("taking over a side effect its earlier activation left unfinished; repeating it with the same "
                 "reference so the receiver recognises a repeat", key=key, effect_ref=row.effect_ref,
                 previous_job_key=row.job_key)
        return _PENDING

    async def _claim_waiting(self, key: str, claim: _Claim, effect_ref: str | None, redo_safe: bool) -> Any:
        """:meth:`_claim`, re-checking a live claim for up to ``wait_s`` before giving the job back."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self._wait_s
        while True:
            try:
                return await asyncio.to_thread(self._claim, key, claim, effect_ref, redo_safe)
            except InProgressError:
                if loop.time() + self._poll_s > until:
                    raise
                await asyncio.sleep(self._poll_s)

    def _finish(self, key: str, result_json: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(idempotency_keys)
                .where(idempotency_keys.c.key == key)
                .values(status="done", result=result_json)
            )

    def _mark_uncertain(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.update(idempotency_keys)
                         .where(idempotency_keys.c.key == key, idempotency_keys.c.status == "running")
                         .values(status="uncertain"))

    def _release(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(idempotency_keys).where(idempotency_keys.c.key == key, idempotency_keys.c.status == "running")
            )

    async def run_once(
        self,
        key: str,
        action: Callable[[], Awaitable[Any]] | Callable[[], Any],
        *,
        job: ActivationLike | None = None,
        effect_ref: str | None = None,
        redo_safe: bool = False,
    ) -> Any:
        """Run ``action`` unless ``key`` already ran; return its (JSON round-tripped) result either way.

        ``job``: the activation running it (ties the claim to its deadline); ``effect_ref``: the
        effect's own id, recorded before the action runs; ``redo_safe``: the channel recognises a repeat
        by that id, so an unfinished earlier attempt may be repeated. The result must be
        JSON-serialisable (a pydantic model: return ``model.model_dump(mode="json")``).
        """
        claimed = await self._claim_waiting(key, _claim_of(job), effect_ref, redo_safe)
        if claimed is not _PENDING:
            return claimed
        try:
            result = action()
            if inspect.isawaitable(result):
                result = await result
            result_json = json.dumps(result, ensure_ascii=False)
        except MaybeDoneError as error:
            if redo_safe:  # the retry repeats it under the same reference
                await asyncio.shield(asyncio.to_thread(self._release, key))
                raise
            await asyncio.shield(asyncio.to_thread(self._mark_uncertain, key))
            why = f"got no answer ({error}), so whether it happened is unknown"
            raise UncertainEffectError(_uncertain_text(key, effect_ref, why)) from error
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._release, key))
            raise
        await asyncio.to_thread(self._finish, key, result_json)
        return json.loads(result_json)

    def status(self, key: str) -> str | None:
        """``"running"``, ``"done"``, ``"uncertain"`` or None (never claimed / released)."""
        with self._engine.connect() as conn:
            value = conn.execute(sa.select(idempotency_keys.c.status).where(idempotency_keys.c.key == key)).scalar()
        return None if value is None else str(value)

    def claims(self, status: str | None = None) -> list[EffectClaim]:
        """The claims with ``status`` (every claim when None), oldest claim first."""
        table = idempotency_keys
        query = sa.select(table.c.key, table.c.status, table.c.job_key, table.c.effect_ref, table.c.claimed_at)
        if status is not None:
            query = query.where(table.c.status == status)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(table.c.claimed_at, table.c.key)).all()
        return [EffectClaim(str(r.key), str(r.status), None if r.job_key is None else int(r.job_key),
                            r.effect_ref, float(r.claimed_at)) for r in rows]

    def settle(self, key: str, *, happened: bool) -> bool:
        """An operator's verdict on an uncertain effect: ``happened`` marks it done (never repeated);
        otherwise the claim is dropped and the job's retry runs the effect. False when ``key`` was not
        uncertain (unknown, running or done): nothing is changed."""
        with self._engine.begin() as conn:
            where = sa.and_(idempotency_keys.c.key == key, idempotency_keys.c.status == "uncertain")
            if happened:
                changed = conn.execute(sa.update(idempotency_keys).where(where).values(status="done", result="null"))
            else:
                changed = conn.execute(sa.delete(idempotency_keys).where(where))
        return bool(changed.rowcount == 1)


@dataclass(frozen=True)
class EffectClaim:
    """One row of the store as an operator sees it (``procgov effects list``)."""

    key: str
    status: str  # "running" | "done" | "uncertain"
    job_key: int | None  # the job whose activation made (or last took over) the claim
    effect_ref: str | None  # the effect's own id: a mail's Message-ID, a webhook's Idempotency-Key
    claimed_at: float  # epoch seconds of the claim


def _earlier(job_key: int | None) -> str:
    return f"was started by an earlier activation of job {job_key} that ended before recording whether it happened"


def _shell_quoted(text: str) -> str:
    """``text`` in single quotes, as a shell takes it back verbatim (the operator pastes the command)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _uncertain_text(key: str, effect_ref: str | None, why: str) -> str:
    ref = f" ({effect_ref})" if effect_ref else ""
    settle = f"procgov effects settle {_shell_quoted(key)}"
    return (f"outcome uncertain: side effect {key!r}{ref} {why}, and the channel cannot recognise a repeat, so it "
            f"is not repeated automatically; check with the receiver, then run `{settle} --happened` "
            "(or `--not-happened`) and retry the job (`procgov incidents retry <incident key>`)")
