"""The slm tables come from the store migrations (revision 0002), on SQLite and PostgreSQL: a fresh store
migrates to head with them, a store whose slm tables an older worker made with ``create_all`` upgrades
keeping its rows, and a store that was never migrated is refused with an error that says what to do."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.conftest import skip_or_fail
from workers.runtime.stores.db import MIGRATIONS_DIR, create_store_engine, migrate
from workers.slm.store import METADATA, SlmStore, StoreNotMigratedError

FILED = {"process_id": "order-to-delivery", "version": "V2.2", "process_name": "订单履约流程", "published_on":
         date(2026, 4, 7), "previous_version": "V2.1", "change_request": "2251799813685249", "scope": "department",
         "department": "销售部 Sales"}


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty store database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield engine
        engine.dispose()
        return
    base = os.environ.get("PROCGOV_TEST_PG_URL")
    if not base:
        skip_or_fail("PROCGOV_TEST_PG_URL is not set")
    assert base is not None
    schema = f"slm_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = create_store_engine(str(sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_fresh_store_migrates_to_head_with_the_slm_tables_as_the_store_maps_them(store: sa.Engine) -> None:
    migrate(store)
    assert _revision(store) == _head()
    inspector = sa.inspect(store)
    for table in METADATA.tables.values():  # the migration and store.py define the same columns
        reflected = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(reflected) == {c.name for c in table.columns}, table.name
        assert {n: c["nullable"] for n, c in reflected.items()} == {c.name: c.nullable for c in table.columns}
        assert set(inspector.get_pk_constraint(table.name)["constrained_columns"]) == {
            c.name for c in table.primary_key.columns}
    slm = SlmStore(store)
    slm.file_version(**FILED)
    assert slm.filed_versions("order-to-delivery") == ["V2.2"]


def test_a_store_made_by_the_old_create_all_upgrades_and_keeps_its_rows(store: sa.Engine) -> None:
    # what an older slm worker left behind: the runtime's tables at 0001, the slm tables from create_all
    with store.connect() as connection, connection.begin():
        command.upgrade(_config(connection), "0001")
    METADATA.create_all(store)
    with store.begin() as connection:
        connection.execute(sa.insert(METADATA.tables["slm_process_versions"]).values(**FILED))
    assert _revision(store) == "0001"
    migrate(store)
    assert _revision(store) == _head()
    slm = SlmStore(store)
    assert slm.filed_versions("order-to-delivery") == ["V2.2"]  # adopted, not recreated
    slm.record_kpi_results("2026-03", [{"indicator": "order cycle", "verdict": "pass", "actual": "2.5",
                                        "target": "3", "unit": "days", "owner_department": "销售部 Sales"}])
    assert [r["verdict"] for r in slm.kpi_results_for_year(2026)] == ["pass"]


def test_an_unrelated_table_of_the_same_name_is_not_adopted(store: sa.Engine) -> None:
    with store.connect() as connection, connection.begin():
        command.upgrade(_config(connection), "0001")
    with store.begin() as connection:
        connection.execute(sa.text("CREATE TABLE slm_kpi_results (review_month VARCHAR(7) PRIMARY KEY)"))
    with pytest.raises(RuntimeError, match=r"cannot adopt the existing table 'slm_kpi_results'.*'indicator'"):
        migrate(store)
    assert _revision(store) == "0001"  # the whole upgrade rolled back


def test_an_unmigrated_store_is_refused_naming_the_tables_and_the_fix(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        with pytest.raises(StoreNotMigratedError, match=r"no tables \['slm_kpi_results'.*run the store migrations"):
            SlmStore(engine)
    finally:
        engine.dispose()
