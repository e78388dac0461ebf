"""Indicator actuals measured by SQL over the sample schema (SQLite and PostgreSQL) and from engine records."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import skip_or_fail
from workers.slm.indicators import KPI_CHECK, KpiInput, SqlSource
from workers.slm.kpi_sample import load_sample
from workers.slm.kpi_sources import EngineHistorySource, Period, SqlKpiSource

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "slm" / "kpi-sample.yaml"
SEED_002 = {"order-fulfilment-cycle": Decimal("2.8"), "process-exception-rate": Decimal("1.5"),
            "complaint-first-resolution-rate": Decimal("96"), "order-receipt-time": Decimal("28"),
            "order-receipt-completeness": Decimal("100"), "inventory-accuracy": Decimal("98.5"),
            "production-scheduling-time": Decimal("3.8333"), "production-scheduling-on-time": Decimal("100")}


def measure_all(url: str, indicator_rules) -> dict[str, Decimal | None]:
    source = SqlKpiSource(url)
    try:
        return {i.id: source.measure(i, Period.month("2026-10")).value
                for i in indicator_rules.rules.indicators.values() if isinstance(i.source, SqlSource)}
    finally:
        source.close()


def check_seed_002_actuals(actuals: dict[str, Decimal | None]) -> None:
    for indicator, expected in SEED_002.items():
        assert actuals[indicator] is not None
        assert abs(actuals[indicator] - expected) < Decimal("0.001"), indicator
    assert Decimal("1.88") < actuals["inventory-check-time"] < Decimal("1.90")


def test_sqlite_sample_reproduces_the_seed_002_actuals(tmp_path, indicator_rules):
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    load_sample(url, "2026-10", SAMPLE)
    load_sample(url, "2026-09", SAMPLE)  # another month must not leak into October's figures
    check_seed_002_actuals(measure_all(url, indicator_rules))


def test_a_month_without_data_measures_no_data_and_the_verdict_says_so(tmp_path, indicator_rules):
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    load_sample(url, "2026-09", SAMPLE)
    actuals = measure_all(url, indicator_rules)
    assert actuals["order-fulfilment-cycle"] is None
    out = KPI_CHECK.evaluate(KpiInput.model_validate({"actuals": [
        {"indicator": "order-fulfilment-cycle", "value": None}]}), indicator_rules.rules)
    assert out.kpi_results[0].verdict.value == "no-data"


@pytest.mark.postgres
def test_postgresql_sample_reproduces_the_seed_002_actuals(indicator_rules):
    base = os.environ.get("PROCGOV_TEST_PG_URL")
    if not base:
        skip_or_fail("PROCGOV_TEST_PG_URL is not set")
    schema = f"slm_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = str(sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        load_sample(url, "2026-10", SAMPLE)
        check_seed_002_actuals(measure_all(url, indicator_rules))
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def write_records(path: Path, events: list[tuple[int, str, str, str, datetime]]) -> None:
    """A records table in the shape of docs/contracts.md, with PROCESS_INSTANCE events."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE records(position INTEGER PRIMARY KEY, value_type TEXT, intent TEXT, "
                           "record_type TEXT, key INTEGER, process_instance_key INTEGER, timestamp INTEGER, json TEXT)")
        for position, (key, intent, element_id, element_type, at) in enumerate(events, start=1):
            ms = int(at.timestamp() * 1000)
            record = {"position": position, "key": key, "timestamp": ms, "recordType": "EVENT",
                      "valueType": "PROCESS_INSTANCE", "intent": intent,
                      "value": {"bpmnProcessId": "procgov-change-request", "elementId": element_id,
                                "bpmnElementType": element_type, "processInstanceKey": key // 10 * 10}}
            connection.execute("INSERT INTO records VALUES (?, 'PROCESS_INSTANCE', ?, 'EVENT', ?, ?, ?, ?)",
                               (position, intent, key, key // 10 * 10, ms, json.dumps(record)))


def test_cycle_time_from_the_engine_record_log(tmp_path, indicator_rules):
    db = tmp_path / "records.db"
    write_records(db, [
        (10, "ELEMENT_ACTIVATED", "procgov-change-request", "PROCESS", datetime(2026, 10, 1, 2, tzinfo=UTC)),
        (11, "ELEMENT_ACTIVATED", "publish-change", "USER_TASK", datetime(2026, 10, 2, 2, tzinfo=UTC)),
        (11, "ELEMENT_COMPLETED", "publish-change", "USER_TASK", datetime(2026, 10, 3, 2, tzinfo=UTC)),
        (10, "ELEMENT_COMPLETED", "procgov-change-request", "PROCESS", datetime(2026, 10, 5, 2, tzinfo=UTC)),
        (20, "ELEMENT_ACTIVATED", "procgov-change-request", "PROCESS", datetime(2026, 10, 10, 2, tzinfo=UTC)),
        (20, "ELEMENT_COMPLETED", "procgov-change-request", "PROCESS", datetime(2026, 10, 12, 2, tzinfo=UTC)),
        (30, "ELEMENT_ACTIVATED", "procgov-change-request", "PROCESS", datetime(2026, 10, 30, 2, tzinfo=UTC)),
        (30, "ELEMENT_COMPLETED", "procgov-change-request", "PROCESS", datetime(2026, 11, 2, 2, tzinfo=UTC)),
    ])
    source = EngineHistorySource(db, "Asia/Shanghai")
    october = Period.month("2026-10")
    cycle = source.measure(indicator_rules.rules.get("change-request-cycle"), october)
    assert (cycle.value, cycle.samples) == (Decimal("3.0000"), 2)  # (4 d + 2 d) / 2; the November one is not counted
    step = source.measure(indicator_rules.rules.get("change-publication-time"), october)
    assert (step.value, step.samples) == (Decimal("1.0000"), 1)
