"""Shared test set-up: optional suites skip with a reason, unless CI requires them all; PostgreSQL stores
on a fresh schema each."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

REQUIRE_ALL = os.environ.get("PROCGOV_TEST_REQUIRE_ALL") == "1"

pytest_plugins = ["procgov_engine.testing.pytest_plugin", "workers.runtime.testing"]


def skip_or_fail(reason: str) -> None:
    """Skip a test whose external part is missing; in CI (PROCGOV_TEST_REQUIRE_ALL=1) fail instead."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


PG_URL_ENV = "PROCGOV_TEST_PG_URL"


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema`` (usable by a worker subprocess too)."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        skip_or_fail(f"{PG_URL_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    assert base is not None
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


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
