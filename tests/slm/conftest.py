"""Shared fixtures for the slm tests: the shipped rule files, and for process tests the embedded engine
at a known date, the real slm workers and a real SMTP server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from slm_process_helpers import MODELS, REPO

from procgov.demo._sinks import MailSink
from procgov_engine.clock import ControlledClock
from procgov_engine.testing.embedded import EmbeddedEngine
from procgov_engine.testing.external import CLOCK_REASON
from procgov_engine.testing.pytest_plugin import require_embedded
from workers.audit import AuditDeps, AuditSettings
from workers.runtime.decisions import RuleSet
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores import IdempotencyStore, open_engine
from workers.slm.deps import SlmDeps
from workers.slm.indicators import KPI_CHECK, IndicatorDictionary
from workers.slm.kpi_sample import load_sample
from workers.slm.mail import SmtpTarget
from workers.slm.penalties import PENALTY_CALCULATION
from workers.slm.penalty_rules import PenaltyRules
from workers.slm.store import SlmStore

DATA = REPO / "data" / "slm"


@pytest.fixture(scope="session")
def penalty_rules() -> RuleSet[PenaltyRules]:
    return RuleSet.from_file(PENALTY_CALCULATION, DATA / "penalty-rules.yaml")


@pytest.fixture(scope="session")
def indicator_rules() -> RuleSet[IndicatorDictionary]:
    return RuleSet.from_file(KPI_CHECK, DATA / "indicators.yaml")


# -- process tests: the embedded engine at a known date, the real workers, a real SMTP server ------------



# Thursday 2 April 2026, 09:00 in Shanghai: Friday works, Saturday to Monday is Qingming (清明).
START = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def zeebe(tmp_path: Path) -> AsyncIterator[EmbeddedEngine]:
    """The plug-in's engine, but with the clock at a known date so the business calendar is fixed."""
    require_embedded(f"starts the engine's clock at {START:%Y-%m-%d} so the business calendar is fixed; {CLOCK_REASON}")
    async with EmbeddedEngine(tmp_path / "engine", clock=ControlledClock(START)) as engine:
        yield engine


@pytest_asyncio.fixture
async def mail() -> AsyncIterator[MailSink]:
    sink = MailSink()
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()


@pytest.fixture
def kpi_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    load_sample(url, "2026-03", DATA / "kpi-sample.yaml")
    return url


@pytest.fixture
def slm_deps(tmp_path: Path, mail: MailSink, kpi_url: str) -> SlmDeps:
    store_engine = open_engine(f"sqlite:///{tmp_path / 'slm-store.db'}")
    return SlmDeps.from_files(
        penalty_rules=DATA / "penalty-rules.yaml", indicators=DATA / "indicators.yaml",
        directory=DATA / "departments.yaml", store=SlmStore(store_engine), once=IdempotencyStore(store_engine),
        smtp=SmtpTarget(host=mail.host, port=mail.port, sender="procgov-test@localhost"), kpi_url=kpi_url,
        engine_records=tmp_path / "engine" / "records.db", report_dir=tmp_path / "reports")


@pytest.fixture
def audit_deps(zeebe: EmbeddedEngine, tmp_path: Path) -> AuditDeps:
    """The audit group as a deployment runs it: ``audit.file-history`` ends each slm model's normal path,
    replaying the slm decisions recorded in the runtime's store (``run_workers``' default SQLite file)."""
    from workers.slm import DECISIONS

    return AuditDeps.from_settings(
        WorkerSettings(_env_file=None, store_url=f"sqlite:///{tmp_path / 'workers.db'}"),  # type: ignore[call-arg]
        AuditSettings(_env_file=None, data_dir=zeebe.data_dir, archive_dir=tmp_path / "audit"),  # type: ignore[call-arg]
        registry={decision.name: decision for decision in DECISIONS})


@pytest_asyncio.fixture
async def slm(zeebe: EmbeddedEngine, run_workers, slm_deps: SlmDeps, audit_deps: AuditDeps) -> AsyncIterator[object]:
    """Models deployed, the slm and audit workers running; yields the people who do the user tasks."""
    from slm_process_helpers import People

    from workers.audit import build_router as build_audit_router
    from workers.slm import build_router

    await zeebe.deploy(*MODELS, *sorted((REPO / "bpmn").glob("slm-*.form")))
    await run_workers(build_router(slm_deps), build_audit_router(audit_deps), retry={"base_ms": 100, "max_ms": 1000})
    people = People(zeebe)
    try:
        yield people
    finally:
        with contextlib.suppress(Exception):
            await people.close()
