"""Replay and chain verification against a PostgreSQL decision store (several worker replicas' setup)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.audit.conftest import record_exam, skip_or_fail_missing
from tests.audit.exam_decision import EXAM_KEY_V1, REGISTRY
from workers.audit.chain import BROKEN_LINK
from workers.audit.replay import MISMATCH, ReplayReport, replay_log
from workers.audit.store import DecisionStore
from workers.runtime.stores.db import create_store_engine, migrate
from workers.runtime.stores.decisions import DecisionLog

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get("PROCGOV_TEST_PG_URL")
    if not base:
        skip_or_fail_missing("PROCGOV_TEST_PG_URL is not set (PostgreSQL decision store)")
    assert base is not None
    schema = f"audit_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield str(sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}))
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _replay(url: str) -> ReplayReport:
    store = DecisionStore.open(url)
    try:
        return replay_log(store.records(), registry=REGISTRY, rule_text=store.rule_text, head=store.head())
    finally:
        store.dispose()


def test_replay_on_postgresql(pg_url: str) -> None:
    engine = create_store_engine(pg_url)
    migrate(engine)
    log = DecisionLog(engine)
    for job in (1, 2, 3):
        record_exam(log, job_key=job, instance=10, answers={"q1": "owner", "q2": "pilot"}, key_text=EXAM_KEY_V1)
    report = _replay(pg_url)
    assert report.ok

    with engine.begin() as conn:  # JSON column on PostgreSQL: edit it the way a forger would, in SQL
        conn.execute(sa.text("UPDATE decision_records SET outputs = jsonb_set(outputs::jsonb, '{score}', '100')::json "
                             "WHERE seq = 2"))
        conn.execute(sa.text("DELETE FROM decision_records WHERE seq = 1"))
    engine.dispose()
    report = _replay(pg_url)
    verdicts = {v.seq: v.status for v in report.verdicts}
    assert verdicts[2] == MISMATCH
    assert any(p.kind == BROKEN_LINK and p.seq == 2 for p in report.chain_problems)
