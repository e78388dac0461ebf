"""The process registry (流程清单, seed 002 template 1): every governed process with its tier (core /
support / management, seed 002 "核心流程-支持流程-管理流程"), owner, current version, lifecycle state,
version history and the events that changed it.

Change requests, rollouts and reviews read and update it **in one transaction with a version check**:

* :meth:`ProcessRegistry.publish_change` moves a process from the version a change request was raised
  on to the next one only if that version is still the current one; a change on V2.1 when V2.2 exists is
  refused with a :class:`RegistryConflict` naming who published V2.2 (never an overwrite of its filing);
* :meth:`ProcessRegistry.begin_rollout` lets one rollout per process run at a time;
* the owner changes only through :meth:`ProcessRegistry.reappoint_owner`, which records who, why and by
  whom; a rollout naming another owner than the registered one is refused.

The row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), so two
concurrent requests serialise: one wins, the other sees its result and is refused. Schema: migration
``0004_process_registry``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa

from workers.runtime.stores.db import begin_write

Tier = Literal["core", "support", "management"]
State = Literal["draft", "pilot", "issued", "in force", "under change", "retired"]
TIERS: tuple[str, ...] = get_args(Tier)
STATES: tuple[str, ...] = get_args(State)

METADATA = sa.MetaData()
processes = sa.Table(
    "process_registry", METADATA,
    sa.Column("process_id", sa.String(120), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("tier", sa.String(20), nullable=True),
    sa.Column("owner", sa.String(120), nullable=True),
    sa.Column("department", sa.String(120), nullable=True),
    sa.Column("current_version", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("rollout_instance", sa.String(40), nullable=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
versions = sa.Table(
    "process_registry_versions", METADATA,
    sa.Column("process_id", sa.String(120), primary_key=True),
    sa.Column("version", sa.String(20), primary_key=True),
    sa.Column("previous_version", sa.String(20), nullable=True),
    sa.Column("change_request", sa.String(40), nullable=True),
    sa.Column("published_on", sa.String(10), nullable=True),
    sa.Column("recorded_at", sa.String(40), nullable=False),
)
events = sa.Table(
    "process_registry_events", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("process_id", sa.String(120), nullable=False, index=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("instance", sa.String(40), nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
)


class RegistryConflict(Exception):
    """A registry update was refused (stale version, a rollout already running, an owner change without a
    re-appointment); the message says what is current and what to do."""


@dataclass(frozen=True)
class ProcessEntry:
    process_id: str
    name: str
    tier: str | None
    owner: str | None
    department: str | None
    current_version: str
    state: str
    rollout_instance: str | None
    revision: int
    updated_at: str


@dataclass(frozen=True)
class Published:
    version: str
    previous_version: str
    already: bool  # this change request had published it before (a re-delivered job)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class ProcessRegistry:
    """Reads and version-checked updates of the registry tables in the workers' store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- reads ---------------------------------------------------------------------------------
    def get(self, process_id: str) -> ProcessEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(processes).where(processes.c.process_id == process_id)).first()
        return None if row is None else ProcessEntry(**row._mapping)

    def entries(self) -> list[ProcessEntry]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(processes).order_by(processes.c.tier, processes.c.process_id)).all()
        return [ProcessEntry(**row._mapping) for row in rows]

    def versions(self, process_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(versions).where(versions.c.process_id == process_id)
                                      .order_by(versions.c.recorded_at)).all()
        return [dict(row._mapping) for row in rows]

    def events(self, process_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(events).where(events.c.process_id == process_id)
                                      .order_by(events.c.id)).all()
        return [{**row._mapping, "detail": json.loads(row.detail)} for row in rows]

    # -- the transaction every update runs in ------------------------------------------------------
    @staticmethod
    def _locked(connection: sa.Connection, process_id: str) -> ProcessEntry | None:
        query = sa.select(processes).where(processes.c.process_id == process_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).first()
        return None if row is None else ProcessEntry(**row._mapping)

    @staticmethod
    def _event(connection: sa.Connection, process_id: str, kind: str, instance: str | None, **detail: Any) -> None:
        connection.execute(sa.insert(events).values(process_id=process_id, at=_now(), kind=kind, instance=instance,
                                                    detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))

    @staticmethod
    def _update(connection: sa.Connection, entry: ProcessEntry, **values: Any) -> None:
        done = connection.execute(sa.update(processes).where(processes.c.process_id == entry.process_id,
                                                             processes.c.revision == entry.revision)
                                  .values(revision=entry.revision + 1, updated_at=_now(), **values))
        if done.rowcount != 1:  # cannot happen under the row lock; a guard against a missing lock
            raise RegistryConflict(f"{entry.process_id} changed while it was being updated (revision "
                                   f"{entry.revision}); try again")

    def register(self, process_id: str, *, name: str, version: str, tier: str | None = None,
                 owner: str | None = None, department: str | None = None, state: str = "in force",
                 note: str = "registered") -> ProcessEntry:
        """Add a process (idempotent: an existing entry is returned unchanged)."""
        _check(tier, state)
        with begin_write(self.engine) as connection:
            existing = self._locked(connection, process_id)
            if existing is not None:
                return existing
            self._insert(connection, process_id, name=name, version=version, tier=tier, owner=owner,
                         department=department, state=state, note=note)
            found = self._locked(connection, process_id)
            assert found is not None
            return found

    def _insert(self, connection: sa.Connection, process_id: str, *, name: str, version: str, tier: str | None,
                owner: str | None, department: str | None, state: str, note: str) -> None:
        connection.execute(sa.insert(processes).values(
            process_id=process_id, name=name, tier=tier, owner=owner, department=department, current_version=version,
            state=state, rollout_instance=None, revision=1, updated_at=_now()))
        connection.execute(sa.insert(versions).values(process_id=process_id, version=version, previous_version=None,
                                                      change_request=None, published_on=None, recorded_at=_now()))
        self._event(connection, process_id, "registered", None, note=note, version=version, tier=tier, owner=owner,
                    state=state)

    # -- change requests (100104 §2.3) ------------------------------------------------------------
    def publish_change(self, process_id: str, *, name: str, from_version: str, new_version: str,
                       change_request: str, published_on: str, department: str | None = None,
                       also: Callable[[sa.Connection], None] | None = None) -> Published:
        """Move ``process_id`` from ``from_version`` to ``new_version`` for ``change_request``, and run
        ``also`` (the filing and optimisation-log rows) in the same transaction.

        A process not yet registered is registered at ``from_version`` (tier and owner unset: classify
        it). Refused with :class:`RegistryConflict` when ``from_version`` is no longer current.
        """
        refusal: str | None = None
        with begin_write(self.engine) as connection:  # one transaction, the row locked throughout
            entry = self._locked(connection, process_id)
            if entry is None:
                self._insert(connection, process_id, name=name, version=from_version, tier=None, owner=None,
                             department=department, state="in force",
                             note=f"registered by change request {change_request} (tier and owner to classify)")
                entry = self._locked(connection, process_id)
                assert entry is not None
            filed = connection.execute(sa.select(versions).where(versions.c.process_id == process_id,
                                                                 versions.c.version == new_version)).first()
            if filed is not None and filed.change_request == change_request:
                return Published(new_version, from_version, already=True)
            if entry.current_version != from_version or filed is not None:
                current = connection.execute(sa.select(versions.c.change_request).where(
                    versions.c.process_id == process_id, versions.c.version == entry.current_version)).scalar()
                by = current or (filed.change_request if filed is not None else None)
                refusal = (f"100104 §2.3: change request {change_request} was raised on {process_id} "
                           f"{from_version}, but {entry.current_version} is current"
                           + (f" (published by change request {by})" if by else "")
                           + f": refused, nothing overwritten; raise the change again on {entry.current_version}")
                current_version = entry.current_version
            else:
                connection.execute(sa.insert(versions).values(
                    process_id=process_id, version=new_version, previous_version=from_version,
                    change_request=change_request, published_on=published_on, recorded_at=_now()))
                self._update(connection, entry, current_version=new_version, state="in force")
                self._event(connection, process_id, "version-published", change_request, from_version=from_version,
                            new_version=new_version, published_on=published_on)
                if also is not None:
                    also(connection)
                return Published(new_version, from_version, already=False)
        with begin_write(self.engine) as connection:  # the refusal is recorded on its own
            self._event(connection, process_id, "change-refused", change_request, from_version=from_version,
                        current_version=current_version)
        raise RegistryConflict(refusal)

    # -- rollouts (000A) ----------------------------------------------------------------------------
    def begin_rollout(self, process_id: str, *, instance: str, name: str, version: str, owner: str,
                      tier: str | None = None, department: str | None = None) -> ProcessEntry:
        """Start (or, for the same instance, confirm) the one rollout of ``process_id``; the owner must be
        the registered one unless there is none yet (000A step 1)."""
        _check(tier, "draft")
        refusal = ""
        with begin_write(self.engine) as connection:
            entry = self._locked(connection, process_id)
            if entry is None:
                self._insert(connection, process_id, name=name, version=version, tier=tier, owner=owner,
                             department=department, state="draft", note=f"registered by rollout {instance}")
                entry = self._locked(connection, process_id)
                assert entry is not None
            if entry.rollout_instance == instance:
                return entry
            if entry.rollout_instance is not None:
                self._event(connection, process_id, "rollout-refused", instance, running=entry.rollout_instance)
                refusal = (f"000A: rollout {instance} of {process_id} refused: rollout {entry.rollout_instance} "
                           "of the same process is still running (one rollout per process at a time)")
            elif entry.owner is not None and entry.owner != owner:
                self._event(connection, process_id, "owner-change-refused", instance, owner=entry.owner,
                            nominee=owner)
                refusal = (f"000A step 1: {process_id} is owned by {entry.owner}; rollout {instance} names "
                           f"{owner}: re-appoint the owner first (procgov processes reappoint)")
            else:
                self._update(connection, entry, rollout_instance=instance, owner=owner, state="draft")
                self._event(connection, process_id, "rollout-started", instance, owner=owner, version=version)
                return self._locked(connection, process_id) or entry
        raise RegistryConflict(refusal)

    def set_state(self, process_id: str, state: str, *, instance: str) -> None:
        """Lifecycle step of the running rollout (pilot, issued, in force); refused for another instance."""
        _check(None, state)
        with begin_write(self.engine) as connection:
            entry = self._locked(connection, process_id)
            if entry is None or entry.rollout_instance != instance:
                raise RegistryConflict(f"{process_id}: instance {instance} is not its running rollout")
            if entry.state != state:
                self._update(connection, entry, state=state)
                self._event(connection, process_id, "state", instance, state=state, was=entry.state)

    def end_rollout(self, process_id: str, *, instance: str) -> None:
        with begin_write(self.engine) as connection:
            entry = self._locked(connection, process_id)
            if entry is None or entry.rollout_instance != instance:
                return  # ended before (a re-delivered job)
            self._update(connection, entry, rollout_instance=None, state="in force")
            self._event(connection, process_id, "rollout-ended", instance)

    # -- owner ----------------------------------------------------------------------------------------
    def reappoint_owner(self, process_id: str, *, owner: str, reason: str, by: str) -> ProcessEntry:
        """The one way the owner changes: recorded with the previous owner, the reason and who decided."""
        if not reason.strip() or not by.strip():
            raise RegistryConflict("a re-appointment needs a reason and who decided it")
        with begin_write(self.engine) as connection:
            entry = self._locked(connection, process_id)
            if entry is None:
                raise RegistryConflict(f"{process_id} is not in the registry")
            self._update(connection, entry, owner=owner)
            self._event(connection, process_id, "owner-reappointed", None, previous=entry.owner, owner=owner,
                        reason=reason, by=by)
            found = self._locked(connection, process_id)
            assert found is not None
            return found


def _check(tier: str | None, state: str) -> None:
    if tier is not None and tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, got {tier!r}")
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
