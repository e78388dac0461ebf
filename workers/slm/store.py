"""What the slm workers remember between instances: filed versions, the optimisation log, open
rectifications (verified in next month's check, 100104 §2.2.3) and each month's KPI results (read by the
annual review).

Tables live in the workers' store database (``PROCGOV_STORE_URL``) under an ``slm_`` prefix. Their schema
is owned by the store migrations (``workers/runtime/stores/migrations/versions/0002_slm_tables.py``, run by
the runtime when it opens the store); the tables below only map it, and must match it. Every write is keyed
so a re-delivered job does not write twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from workers.runtime.stores.db import begin_write

METADATA = sa.MetaData()

process_versions = sa.Table(
    "slm_process_versions", METADATA,
    sa.Column("process_id", sa.String(120), primary_key=True),
    sa.Column("version", sa.String(20), primary_key=True),
    sa.Column("process_name", sa.String(200), nullable=False),
    sa.Column("published_on", sa.Date, nullable=False),
    sa.Column("previous_version", sa.String(20), nullable=False),
    sa.Column("change_request", sa.String(40), nullable=False),  # process instance key: the filing (备案) ref
    sa.Column("scope", sa.String(20), nullable=False),
    sa.Column("department", sa.String(120), nullable=False),
)

# seed 002 template 4: date, process, background, measures, effect, owner, remarks
optimisation_log = sa.Table(
    "slm_optimisation_log", METADATA,
    sa.Column("entry_key", sa.String(80), primary_key=True),
    sa.Column("logged_on", sa.Date, nullable=False),
    sa.Column("process_id", sa.String(120), nullable=False),
    sa.Column("process_name", sa.String(200), nullable=False),
    sa.Column("background", sa.Text, nullable=False),
    sa.Column("measures", sa.Text, nullable=False),
    sa.Column("effect", sa.Text, nullable=False),
    sa.Column("owner", sa.String(120), nullable=False),
    sa.Column("remarks", sa.Text, nullable=False),
)

rectifications = sa.Table(
    "slm_rectifications", METADATA,
    sa.Column("review_month", sa.String(7), primary_key=True),
    sa.Column("department", sa.String(120), primary_key=True),
    sa.Column("problem", sa.String(200), primary_key=True),  # the finding's problem code, e.g. "wrong-form"
    sa.Column("process_id", sa.String(120), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open → verified | repeated
)

kpi_results = sa.Table(
    "slm_kpi_results", METADATA,
    sa.Column("review_month", sa.String(7), primary_key=True),
    sa.Column("indicator", sa.String(120), primary_key=True),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("actual", sa.String(40)),
    sa.Column("target", sa.String(40), nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("owner_department", sa.String(120), nullable=False),
)


@dataclass(frozen=True)
class Rectification:
    review_month: str
    department: str
    problem: str
    process_id: str
    description: str
    status: str


class StoreNotMigratedError(RuntimeError):
    """The store database lacks slm tables: it was not migrated to head (``open_engine`` does that)."""


class SlmStore:
    def __init__(self, engine: sa.Engine) -> None:
        """Use ``engine``'s migrated schema; fail at start, naming the tables, rather than at the first job."""
        self.engine = engine
        present = set(sa.inspect(engine).get_table_names())
        missing = sorted(name for name in METADATA.tables if name not in present)
        if missing:
            raise StoreNotMigratedError(
                f"the store {engine.url.render_as_string(hide_password=True)} has no tables {missing}: run the "
                "store migrations to head (workers.runtime.stores.open_engine / migrate, which the worker runtime "
                "runs at start; or `alembic upgrade head` in workers/runtime/stores/migrations)")

    def _upsert(self, table: sa.Table, row: dict[str, Any], connection: sa.Connection | None = None) -> None:
        """Insert or update by primary key; in ``connection``'s transaction when given (the registry's)."""
        if connection is None:
            with begin_write(self.engine) as own:  # reads, then writes: see begin_write
                self._upsert(table, row, own)
            return
        keys = {c.name: row[c.name] for c in table.primary_key.columns}
        where = [table.c[name] == value for name, value in keys.items()]
        if connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar():
            connection.execute(sa.update(table).where(*where).values(**row))
        else:
            connection.execute(sa.insert(table).values(**row))

    # -- change requests ------------------------------------------------------------------------
    def file_version(self, *, process_id: str, version: str, process_name: str, published_on: date,
                     previous_version: str, change_request: str, scope: str, department: str,
                     connection: sa.Connection | None = None) -> None:
        """File (备案) a published version; filing the same version again for the same request is a no-op."""
        self._upsert(process_versions, {"process_id": process_id, "version": version, "process_name": process_name,
                                        "published_on": published_on, "previous_version": previous_version,
                                        "change_request": change_request, "scope": scope, "department": department},
                     connection)

    def filed_versions(self, process_id: str) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(process_versions.c.version).where(
                process_versions.c.process_id == process_id).order_by(process_versions.c.published_on)).scalars())

    def log_optimisation(self, entry_key: str, connection: sa.Connection | None = None, **row: Any) -> None:
        self._upsert(optimisation_log, {"entry_key": entry_key, **row}, connection)

    def optimisation_entries(self, process_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            result = connection.execute(sa.select(optimisation_log).where(optimisation_log.c.process_id == process_id))
            return [dict(r._mapping) for r in result]

    # -- monthly reviews ------------------------------------------------------------------------
    def open_rectifications(self, review_month: str) -> list[Rectification]:
        """Last month's findings still to verify this month (100104 §2.2.3)."""
        with self.engine.connect() as connection:
            result = connection.execute(sa.select(rectifications).where(
                rectifications.c.review_month == review_month, rectifications.c.status == "open"))
            return [Rectification(**r._mapping) for r in result]

    def record_rectifications(self, items: Sequence[Rectification]) -> None:
        for item in items:
            self._upsert(rectifications, item.__dict__)

    def close_rectifications(self, review_month: str, repeated: set[tuple[str, str]]) -> None:
        """Mark last month's findings verified, or repeated when this month's check found them again."""
        for item in self.open_rectifications(review_month):
            status = "repeated" if (item.department, item.problem) in repeated else "verified"
            self._upsert(rectifications, {**item.__dict__, "status": status})

    def record_kpi_results(self, review_month: str, results: Sequence[dict[str, Any]]) -> None:
        for result in results:
            self._upsert(kpi_results, {"review_month": review_month, **result})

    def kpi_results_for_year(self, year: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            result = connection.execute(sa.select(kpi_results).where(
                kpi_results.c.review_month.like(f"{year:04d}-%")).order_by(kpi_results.c.review_month))
            return [dict(r._mapping) for r in result]
