"""Runtime test set-up: stores on SQLite and on PostgreSQL (each test in its own schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import skip_or_fail
from workers.runtime.stores.db import create_store_engine, migrate

PG_URL_ENV = "PROCGOV_TEST_PG_URL"


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema`` (usable by a worker subprocess too)."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        skip_or_fail(f"{PG_URL_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    assert base is not None
    return str(sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL on a fresh schema, dropped afterwards."""
    schema = f"procgov_test_{uuid.uuid4().hex[:12]}"
    url = pg_schema_url(schema)
    admin = sa.create_engine(os.environ[PG_URL_ENV])
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store_engine(store_url: str) -> Iterator[sa.Engine]:
    engine = create_store_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()
