"""An uncertain chat notification, end to end: a worker killed mid-delivery leaves its claim; the next
activation raises an incident that names the commands; the operator settles the effect with
``procgov effects settle … --not-happened`` and retries with ``procgov incidents retry``; the webhook
gets the message exactly once.

Camunda docs, Concepts > Incidents (docs.camunda.io/docs/components/concepts/incidents), "Resolving a
job-related incident": increase the job's remaining retries, then resolve the incident; the job is
activated again.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from procgov.cli import app
from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.faults import NOTIFY_ONCE, start_notifications, wait_until
from tests.rollout.servers import DATA, SmtpServer, WebhookSink, webhooks_for
from workers.rollout import RolloutDeps, build_router
from workers.rollout.notify.mail import SmtpSettings
from workers.runtime import IdempotencyStore, open_engine

pytestmark = pytest.mark.record_log  # the job's element instance and `incidents retry --data` read the log


async def procgov(store_url: str, *args: str) -> Result:
    """The CLI as an operator runs it: the store from PROCGOV_STORE_URL, as the workers read it."""
    env = {"PROCGOV_STORE_URL": store_url, "PROCGOV_OTLP_ENDPOINT": None, "ZEEBE_ADDRESS": None, "COLUMNS": "250"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


def _notify_job(zeebe: EmbeddedEngine, instance: int) -> dict[str, Any] | None:
    return next((r["value"] for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "CREATED"
                 and r["value"]["processInstanceKey"] == instance), None)


async def test_an_uncertain_chat_message_is_settled_not_happened_retried_and_sent_once(
        zeebe: EmbeddedEngine, run_workers: Any, smtp: SmtpServer, webhooks: WebhookSink, tmp_path: Path) -> None:
    await zeebe.deploy(NOTIFY_ONCE)
    [instance] = await start_notifications(zeebe, ["anna.schmidt"], 1)
    await wait_until(lambda: _notify_job(zeebe, instance) is not None, 10, "the notify job")
    job = _notify_job(zeebe, instance)
    assert job is not None
    chat_key = f"rollout.notify:{instance}:{job['elementInstanceKey']}:anna.schmidt:chat:pmo-slack"
    store_url = f"sqlite:///{tmp_path / 'workers.db'}"
    engine = open_engine(store_url)
    with engine.begin() as conn:  # what a worker SIGKILLed between claiming and posting leaves behind
        conn.execute(sa.text("INSERT INTO idempotency_keys (key, status, claimed_at, job_key, job_deadline_ms, "
                             "effect_ref) VALUES (:k, 'running', 0, 1, 0, 'Idempotency-Key x')"), {"k": chat_key})
    deps = RolloutDeps.from_files(
        org_directory=DATA / "org-directory.yaml", webhooks=webhooks_for(webhooks), exams_dir=DATA / "exams",
        templates=DATA / "notifications.yaml", smtp=SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5),
        store=IdempotencyStore(engine))
    await run_workers(build_router(deps), store_url=store_url)

    incident = await zeebe.instance(instance).wait_incident("outcome uncertain")
    quoted = f"'{chat_key}'"
    assert (f"check with the receiver, then run `procgov effects settle {quoted} --happened` (or `--not-happened`) "
            "and retry the job (`procgov incidents retry <incident key>`)") in incident.error_message
    assert webhooks.to("/slack/pmo") == []  # never silently repeated
    assert len(smtp.sink.messages) == 1  # mail tells a repeat by its Message-ID: it went out

    listed = await procgov(store_url, "effects", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["key"] for line in listed.stdout.splitlines()] == [chat_key]
    settled = await procgov(store_url, "effects", "settle", chat_key, "--not-happened")
    assert settled.exit_code == 0, settled.output
    again = await procgov(store_url, "effects", "settle", chat_key, "--not-happened")
    assert again.exit_code == 2 and "no such side effect" in again.output

    retried = await procgov(store_url, "incidents", "retry", str(incident.key), "--data", str(zeebe.data_dir),
                            "--gateway", zeebe.address)
    assert retried.exit_code == 0, retried.output
    await zeebe.instance(instance).wait_completed()
    [post] = webhooks.posts
    assert post.path == "/slack/pmo" and re.search("anna|Anna", json.dumps(post.body, ensure_ascii=False))
    assert len(smtp.sink.messages) == 1  # the retried job did not send the mail again
    done = await procgov(store_url, "effects", "list", "--status", "done", "--json")
    assert {json.loads(line)["key"] for line in done.stdout.splitlines()} >= {chat_key}
