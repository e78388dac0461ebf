"""The monthly review's KPI checks against a real PostgreSQL business database (the sample schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import skip_or_fail
from workers.slm.kpi_sample import load_sample

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "slm" / "kpi-sample.yaml"


@pytest.fixture
def kpi_url() -> Iterator[str]:
    """Overrides the SQLite KPI database of conftest.py: a fresh PostgreSQL schema with March's sample."""
    base = os.environ.get("PROCGOV_TEST_PG_URL")
    if not base:
        skip_or_fail("PROCGOV_TEST_PG_URL is not set")
    schema = f"slm_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    load_sample(url.render_as_string(hide_password=False), "2026-03", SAMPLE)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


async def test_monthly_review_checks_kpis_on_postgresql(zeebe, slm, slm_deps):
    assert slm_deps.kpi_source.dialect == "postgresql"
    key = await slm.start("procgov-sla-review", {"processId": "order-to-delivery", "ownerDepartment": "销售部 Sales",
                                                 "reviewMonth": "2026-03"})
    await slm.complete("submit-self-check", key, {"selfCheckRuns": "412", "selfCheckKpis": "ok",
                                                  "selfCheckExecution": "ok", "selfCheckDesignProblems": "none",
                                                  "selfCheckCrossDepartment": "ok"})
    await slm.complete("sign-summary", key, {"summaryImprovements": "none"})
    await slm.complete("record-spot-check", key, {"findings": []})
    await zeebe.instance(key).wait_completed()
    variables = zeebe.instance(key).variables()
    actuals = {v["indicator"]: v["actual"] for v in variables["kpiResults"]}
    assert actuals["order-fulfilment-cycle"] == "2.8000" and actuals["process-exception-rate"] == "1.5000"
    assert variables["slaReview"]["missedIndicators"] == ["inventory-accuracy"]
    assert variables["totalFinesYuan"] == "0.00"
