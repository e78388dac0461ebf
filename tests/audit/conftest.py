"""Audit test set-up: a real decision store (SQLite, migrated by the runtime) with recorded decisions."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium.webdriver.remote.webdriver import WebDriver

from tests.audit.exam_decision import EXAM_KEY_V1, EXAM_KEY_V2, GRADE_EXAM, ExamInput
from workers.runtime.decisions import RuleSet
from workers.runtime.stores.db import create_store_engine, migrate
from workers.runtime.stores.decisions import DecisionLog

BPMN_DIR = Path(__file__).with_name("bpmn")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store_engine(store_url: str) -> Iterator[sa.Engine]:
    engine = create_store_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()


def record_exam(log: DecisionLog, *, job_key: int, instance: int, answers: dict[str, str], key_text: str) -> None:
    """Record one grading exactly as the runtime's decision task does: evaluate, then append."""
    rules = RuleSet.from_text(GRADE_EXAM, key_text)
    exam = ExamInput(employee=f"employee-{job_key}", answers=answers)
    output = GRADE_EXAM.evaluate(exam, rules.rules)
    log.append(
        job_key=job_key,
        process_instance_key=instance,
        bpmn_process_id="audit-test-grade",
        element_id="grade",
        decision=GRADE_EXAM.name,
        rule_version=rules.version,
        rule_text=rules.text,
        worker_version="test-1",
        inputs=exam.model_dump(mode="json", by_alias=True),
        outputs=output.model_dump(mode="json", by_alias=True),
    )


@pytest.fixture
def recorded_log(store_engine: sa.Engine) -> DecisionLog:
    """Four decisions over two instances and two rule versions."""
    log = DecisionLog(store_engine)
    record_exam(log, job_key=11, instance=100, answers={"q1": "owner", "q2": "pilot", "q3": "x"}, key_text=EXAM_KEY_V1)
    record_exam(log, job_key=12, instance=100, answers={"q1": "owner", "q2": "x", "q3": "x"}, key_text=EXAM_KEY_V1)
    record_exam(log, job_key=21, instance=200, answers={"q1": "owner", "q2": "pilot", "q3": "x"}, key_text=EXAM_KEY_V2)
    record_exam(log, job_key=22, instance=200, answers={"q1": "Owner", "q2": "pilot", "q3": "cutover"},
                key_text=EXAM_KEY_V2)
    return log


def skip_or_fail_missing(reason: str) -> None:
    """The project's skip_or_fail (tests/conftest.py): skip locally, fail in CI."""
    from tests.conftest import skip_or_fail

    skip_or_fail(reason)


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        skip_or_fail_missing("headless chromium (Debian packages chromium, chromium-driver) is not installed")
    assert browser and driver
    return browser, driver


@pytest.fixture
def chrome() -> Iterator[WebDriver]:
    """Headless Chromium with the CI flags and a fresh profile (skip_or_fail when it is missing)."""
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="procgov-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
