"""Measuring indicators: SQL over the business database, and durations from the engine's record log.

This is the I/O edge of the KPI check; the verdict (:mod:`workers.slm.indicators`) never sees a
connection. SQL runs through SQLAlchemy so the same dictionary works on SQLite (default) and
PostgreSQL; engine durations come from the ``records`` table of the engine's log (docs/contracts.md,
"Records"), opened read-only, so the measurement works for whichever engine wrote it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from workers.slm.deadlines import parse_month
from workers.slm.indicators import Actual, EngineSource, Indicator, SqlSource

UNIT_SECONDS = {"days": Decimal(86400), "hours": Decimal(3600), "minutes": Decimal(60), "seconds": Decimal(1)}
PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Period:
    """A reporting period in local time: ``start`` inclusive, ``end`` exclusive (naive, company time zone)."""

    start: datetime
    end: datetime

    @classmethod
    def month(cls, review_month: str) -> Period:
        year, month = parse_month(review_month)
        start = datetime(year, month, 1)
        end = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)
        return cls(start, end)

    def utc_ms(self, timezone: str) -> tuple[int, int]:
        zone = ZoneInfo(timezone)
        return (int(self.start.replace(tzinfo=zone).timestamp() * 1000),
                int(self.end.replace(tzinfo=zone).timestamp() * 1000))


def _number(value: object) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(PLACES)


class SqlKpiSource:
    """Runs each SQL indicator's query for a period; the first column of the first row is the actual."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def measure(self, indicator: Indicator, period: Period) -> Actual:
        if not isinstance(indicator.source, SqlSource):
            raise TypeError(f"indicator {indicator.id!r} is not measured by SQL")
        statement = sa.text(indicator.source.query_for(self.dialect)).bindparams(
            sa.bindparam("period_start", type_=sa.DateTime), sa.bindparam("period_end", type_=sa.DateTime))
        try:
            with self.engine.connect() as connection:
                value = connection.execute(statement, {"period_start": period.start, "period_end": period.end}).scalar()
        except sa.exc.DBAPIError as exc:
            raise RuntimeError(f"indicator {indicator.id!r}: its SQL query failed on {self.dialect}: "
                               f"{exc.orig}") from exc
        return Actual(indicator=indicator.id, value=_number(value))

    def close(self) -> None:
        self.engine.dispose()


class EngineHistorySource:
    """Mean durations of process instances (or of one step) completed in a period, from ``records.db``."""

    def __init__(self, records_db: str | Path, timezone: str) -> None:
        self.records_db = Path(records_db)
        self.timezone = timezone

    def durations(self, source: EngineSource, period: Period) -> list[timedelta]:
        if not self.records_db.exists():
            raise FileNotFoundError(f"engine record log {self.records_db} does not exist")
        start_ms, end_ms = self.utc_ms(period)
        uri = f"file:{self.records_db.resolve()}?mode=ro"
        with sqlite3.connect(uri, uri=True) as connection:
            rows = connection.execute(
                "SELECT key, intent, timestamp, json FROM records WHERE value_type = 'PROCESS_INSTANCE' "
                "AND record_type = 'EVENT' AND intent IN ('ELEMENT_ACTIVATED', 'ELEMENT_COMPLETED') "
                "AND timestamp < ? ORDER BY position", (end_ms,)).fetchall()
        return list(_completed_durations(rows, source, start_ms, end_ms))

    def utc_ms(self, period: Period) -> tuple[int, int]:
        return period.utc_ms(self.timezone)

    def measure(self, indicator: Indicator, period: Period) -> Actual:
        if not isinstance(indicator.source, EngineSource):
            raise TypeError(f"indicator {indicator.id!r} is not measured from the engine's history")
        return actual_from_durations(indicator, self.durations(indicator.source, period))


def _completed_durations(rows: Iterable[tuple[int, str, int, str]], source: EngineSource, start_ms: int,
                         end_ms: int) -> Iterable[timedelta]:
    activated: dict[int, int] = {}
    for key, intent, timestamp, text in rows:
        value = json.loads(text).get("value", {})
        if value.get("bpmnProcessId") != source.bpmn_process_id:
            continue
        if source.element_id is None and value.get("bpmnElementType") != "PROCESS":
            continue
        if source.element_id is not None and value.get("elementId") != source.element_id:
            continue
        if intent == "ELEMENT_ACTIVATED":
            activated[key] = timestamp
        elif key in activated and start_ms <= timestamp < end_ms:
            yield timedelta(milliseconds=timestamp - activated.pop(key))


def actual_from_durations(indicator: Indicator, durations: list[timedelta]) -> Actual:
    """The mean of ``durations`` in the indicator's unit (hours, days …); no durations → no data."""
    unit = UNIT_SECONDS.get(indicator.unit)
    if unit is None:
        raise ValueError(f"indicator {indicator.id!r}: unit {indicator.unit!r} is no duration unit "
                         f"({', '.join(UNIT_SECONDS)})")
    if not durations:
        return Actual(indicator=indicator.id, value=None, samples=0)
    total = sum((Decimal(str(d.total_seconds())) for d in durations), Decimal(0))
    return Actual(indicator=indicator.id, value=_number(total / len(durations) / unit), samples=len(durations))


