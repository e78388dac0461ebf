"""Shared data for the rollout tests: the shipped sample data, parsed as the workers parse it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.rollout.servers import SmtpServer, WebhookSink, webhook_server
from workers.rollout.exams import ExamCatalogue, catalogue_text, parse_exam_catalogue
from workers.rollout.org_directory import OrgDirectory, parse_org_directory

DATA = Path(__file__).resolve().parents[2] / "data" / "rollout"
EXAM_ID = "order-fulfilment-v2"
#: The sample exam's key, as an employee who knows everything would answer.
PERFECT_ANSWERS = {"u1": "B", "u2": "30", "u3": True, "d1": ["A", "C"], "d2": False, "r1": "B", "r2": "2%"}


@pytest.fixture(scope="session")
def directory() -> OrgDirectory:
    return parse_org_directory((DATA / "org-directory.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def catalogue() -> ExamCatalogue:
    return parse_exam_catalogue(catalogue_text(DATA / "exams"))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port; ``smtp.sink.messages`` is what arrived."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def webhooks() -> AsyncIterator[WebhookSink]:
    """A real HTTP endpoint for the WeCom, DingTalk, Feishu and Slack webhooks of the sample directory."""
    async with webhook_server() as sink:
        yield sink
