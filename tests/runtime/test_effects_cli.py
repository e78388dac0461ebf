"""``procgov effects list | settle`` on real SQLite and PostgreSQL stores whose rows the idempotency
store itself made: one effect done, one uncertain (no answer from a channel that cannot tell a repeat),
one running (its action still under way while the CLI runs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from procgov.cli import app
from workers.runtime.errors import MaybeDoneError
from workers.runtime.stores import IdempotencyStore
from workers.runtime.stores.idempotency import UncertainEffectError


def procgov(store_url: str, *args: str) -> Result:
    """The CLI with the store from PROCGOV_STORE_URL, the setting the workers read."""
    env = {"PROCGOV_STORE_URL": store_url, "PROCGOV_OTLP_ENDPOINT": None, "COLUMNS": "250"}
    return CliRunner().invoke(app, list(args), env=env)


@dataclass
class Rows:
    store: IdempotencyStore
    release: asyncio.Event


@pytest_asyncio.fixture
async def rows(store_engine: sa.Engine) -> AsyncIterator[Rows]:
    store = IdempotencyStore(store_engine)
    await store.run_once("mail:done", lambda: {"sent": True}, effect_ref="Message-ID <done@example.com>")

    def no_answer() -> None:
        raise MaybeDoneError("the webhook took the POST and never answered")

    with pytest.raises(UncertainEffectError):
        await store.run_once("chat:uncertain", no_answer, effect_ref="Idempotency-Key abc")
    started, release = asyncio.Event(), asyncio.Event()

    async def under_way() -> str:  # runs once the claim is committed
        started.set()
        await release.wait()
        return "posted"

    running = asyncio.create_task(store.run_once("chat:running", under_way, effect_ref="Idempotency-Key def"))
    await started.wait()
    yield Rows(store, release)
    release.set()
    assert await running == "posted"


def _json(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_list_shows_the_uncertain_by_default_and_filters_by_status(store_url: str, rows: Rows) -> None:
    (uncertain,) = _json(await asyncio.to_thread(procgov, store_url, "effects", "list", "--json"))
    assert uncertain["key"] == "chat:uncertain" and uncertain["status"] == "uncertain"
    assert uncertain["effect_ref"] == "Idempotency-Key abc" and uncertain["job_key"] is None
    assert uncertain["claimed_at"].endswith("+00:00")
    every = _json(await asyncio.to_thread(procgov, store_url, "effects", "list", "--status", "all", "--json"))
    assert {r["key"]: r["status"] for r in every} == {
        "mail:done": "done", "chat:uncertain": "uncertain", "chat:running": "running"}
    (running,) = _json(await asyncio.to_thread(procgov, store_url, "effects", "list", "--status", "running", "--json"))
    assert running["key"] == "chat:running"
    table = await asyncio.to_thread(procgov, store_url, "effects", "list", "--status", "done")
    assert table.exit_code == 0 and "mail:done" in table.stdout and "<done@example.com>" in table.stdout
    assert "chat:uncertain" not in table.stdout and "1 side effect(s) done" in table.stdout
    assert [c.key for c in rows.store.claims("uncertain")] == ["chat:uncertain"]


async def test_settle_happened_marks_it_done_and_the_retry_does_not_repeat_it(store_url: str, rows: Rows) -> None:
    settled = await asyncio.to_thread(procgov, store_url, "effects", "settle", "chat:uncertain", "--happened")
    assert settled.exit_code == 0, settled.output
    assert "settled 'chat:uncertain' as done" in settled.stdout and "procgov incidents retry" in settled.stdout
    assert rows.store.status("chat:uncertain") == "done"
    ran: list[str] = []
    await rows.store.run_once("chat:uncertain", lambda: ran.append("again"))
    assert ran == []


async def test_settle_not_happened_lets_the_retry_run_it(store_url: str, rows: Rows) -> None:
    settled = await asyncio.to_thread(procgov, store_url, "effects", "settle", "chat:uncertain", "--not-happened")
    assert settled.exit_code == 0, settled.output
    assert rows.store.status("chat:uncertain") is None
    assert await rows.store.run_once("chat:uncertain", lambda: "posted") == "posted"


@pytest.mark.parametrize(("key", "reason"), [("chat:running", "it is running, not uncertain"),
                                            ("mail:done", "it is done, not uncertain"),
                                            ("nobody:knows", "no such side effect")])
async def test_settle_refuses_what_is_not_uncertain(store_url: str, rows: Rows, key: str, reason: str) -> None:
    before = {c.key: c.status for c in rows.store.claims()}
    refused = await asyncio.to_thread(procgov, store_url, "effects", "settle", key, "--not-happened")
    assert refused.exit_code == 2
    assert f"cannot settle {key!r}: {reason}" in refused.stderr
    assert {c.key: c.status for c in rows.store.claims()} == before


async def test_settle_wants_a_verdict(store_url: str, rows: Rows) -> None:
    refused = await asyncio.to_thread(procgov, store_url, "effects", "settle", "chat:uncertain")
    assert refused.exit_code == 2 and "--happened or --not-happened" in refused.stderr
    assert rows.store.status("chat:uncertain") == "uncertain"


def test_a_store_without_the_table_is_reported_not_created(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    refused = procgov(url, "effects", "list")
    assert refused.exit_code == 2 and "no worker store at" in refused.stderr and "PROCGOV_STORE_URL" in refused.stderr


def test_the_password_of_the_store_url_is_never_printed() -> None:
    url = "postgresql+psycopg://procgov:s3cr3t-pw@127.0.0.1:1/none?connect_timeout=1"
    refused = procgov(url, "effects", "list")
    assert refused.exit_code == 2 and "cannot open the worker store" in refused.stderr
    assert "s3cr3t-pw" not in refused.output
