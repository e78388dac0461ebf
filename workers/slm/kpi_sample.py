"""The sample business schema the indicator queries run against, and a loader for one month of data.

Schema (portable: SQLite and PostgreSQL, created by :func:`create_schema`):

- ``orders(order_id PK, received_at, signed_off_at)``: one row per customer order (seed 002 order cycle)
- ``process_runs(run_id PK, process_id, started_at, ended_at, exception 0/1)``: one row per process run
- ``complaints(complaint_id PK, received_at, resolved_first_contact 0/1)``
- ``step_runs(run_id PK, step, ended_at, duration_minutes, accepted 0/1)``: step runs with the step's
  acceptance standard met (receipt complete, inventory accurate, schedule on time; seed 002 template 2)

Times are naive local times (the company's time zone), as an operational system would store them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from workers.slm.deadlines import parse_month

METADATA = sa.MetaData()

ORDERS = sa.Table(
    "orders", METADATA,
    sa.Column("order_id", sa.String(40), primary_key=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("signed_off_at", sa.DateTime),
)
PROCESS_RUNS = sa.Table(
    "process_runs", METADATA,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("process_id", sa.String(80), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime, nullable=False),
    sa.Column("exception", sa.Integer, nullable=False),
)
COMPLAINTS = sa.Table(
    "complaints", METADATA,
    sa.Column("complaint_id", sa.String(40), primary_key=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("resolved_first_contact", sa.Integer, nullable=False),
)
STEP_RUNS = sa.Table(
    "step_runs", METADATA,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("step", sa.String(80), nullable=False),
    sa.Column("ended_at", sa.DateTime, nullable=False),
    sa.Column("duration_minutes", sa.Numeric(10, 2), nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
)


def create_schema(engine: sa.Engine) -> None:
    METADATA.create_all(engine)


def _spread(month_start: datetime, index: int, count: int) -> datetime:
    """The ``index``-th of ``count`` instants spread over the first 27 days of the month, at 10:00."""
    return month_start + timedelta(days=(index * 27) // max(count, 1), hours=10)


def sample_rows(sample: Mapping[str, Any], month: str) -> dict[sa.Table, list[dict[str, Any]]]:
    """Turn the month-relative sample document into rows of that month."""
    year, number = parse_month(month)
    start = datetime(year, number, 1)
    tag = f"{year:04d}{number:02d}"
    orders = [{"order_id": f"{row['order_id']}-{tag}", "received_at": start + timedelta(days=row["day"] - 1, hours=9),
               "signed_off_at": start + timedelta(days=row["day"] - 1, hours=9)
               + timedelta(days=float(Decimal(str(row["cycle_days"]))))} for row in sample["orders"]]
    runs_spec = sample["process_runs"]
    runs = [{"run_id": f"RUN-{tag}-{i:04d}", "process_id": "order-to-delivery",
             "started_at": _spread(start, i, runs_spec["runs"]) - timedelta(hours=2),
             "ended_at": _spread(start, i, runs_spec["runs"]), "exception": int(i < runs_spec["exceptions"])}
            for i in range(runs_spec["runs"])]
    complaint_spec = sample["complaints"]
    complaints = [{"complaint_id": f"CP-{tag}-{i:04d}", "received_at": _spread(start, i, complaint_spec["complaints"]),
                   "resolved_first_contact": int(i < complaint_spec["resolved_first_contact"])}
                  for i in range(complaint_spec["complaints"])]
    steps: list[dict[str, Any]] = []
    for spec in sample["step_runs"]:
        durations = spec["durations"]
        steps.extend({"run_id": f"{spec['step']}-{tag}-{i:04d}", "step": spec["step"],
                      "ended_at": _spread(start, i, spec["runs"]),
                      "duration_minutes": Decimal(durations[i % len(durations)]),
                      "accepted": int(i < spec["accepted"])} for i in range(spec["runs"]))
    return {ORDERS: orders, PROCESS_RUNS: runs, COMPLAINTS: complaints, STEP_RUNS: steps}


def load_sample(url: str, month: str, sample_path: str | Path) -> dict[str, int]:
    """Create the schema at ``url`` and load the sample for ``month`` (replacing that month's rows)."""
    sample = yaml.safe_load(Path(sample_path).read_text(encoding="utf-8"))
    engine = sa.create_engine(url)
    try:
        create_schema(engine)
        counts: dict[str, int] = {}
        with engine.begin() as connection:
            for table, table_rows in sample_rows(sample, month).items():
                key = next(iter(table.primary_key.columns))
                ids = [row[key.name] for row in table_rows]
                if ids:
                    connection.execute(sa.delete(table).where(key.in_(ids)))
                    connection.execute(sa.insert(table), table_rows)
                counts[table.name] = len(table_rows)
        return counts
    finally:
        engine.dispose()
