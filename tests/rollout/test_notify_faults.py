"""Fault tests of ``rollout.notify`` with the real parts: the embedded engine over gRPC, the worker as
its own process (``procgov workers -g rollout``), aiosmtpd.

Camunda 8 docs, "Job workers" → "Timeouts": a job whose worker does not complete it within its
activation timeout is made activatable again, so another worker gets it (at-least-once delivery);
"Dealing with problems and exceptions" → "Retrying": FailJob with ``retries`` and ``retryBackOff`` makes
the job wait before it is retried, and an incident is raised when no retries are left. The engine's
timeouts and back-offs run on its controlled clock, which these tests move (engine time), so minutes of
engine time take seconds of wall time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.faults import (
    NOTIFY_ONCE,
    SlowMailSink,
    email_only_directory,
    outcome,
    start_notifications,
    wait_until,
)
from tests.rollout.servers import DATA, SmtpServer
from workers.rollout import RolloutDeps, build_router
from workers.rollout.notify.mail import SmtpSettings
from workers.runtime import IdempotencyStore, open_engine

ROOT = Path(__file__).resolve().parents[2]
KILL_AT = (30, 65)  # mails received when the worker is SIGKILLed
NOTIFY_TIMEOUT = timedelta(milliseconds=60_000)  # rollout.notify's activation timeout (workers/rollout/router.py)


@pytest.fixture
def slow_smtp() -> Any:
    server = SmtpServer()
    server.sink = SlowMailSink(port=server.sink.port)
    server.start()
    yield server
    server.stop()


def _worker_env(zeebe: EmbeddedEngine, tmp_path: Path, smtp_port: int, directory: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PROCGOV_", "ZEEBE_", "CAMUNDA_"))},
        "PYTHONPATH": str(ROOT),
        "PROCGOV_GATEWAY_ADDRESS": zeebe.address,
        "PROCGOV_HEALTH_HOST": "127.0.0.1",
        "PROCGOV_HEALTH_PORT": "0",
        "PROCGOV_STORE_URL": f"sqlite:///{tmp_path / 'workers.db'}",
        "PROCGOV_REQUEST_TIMEOUT_MS": "500",
        "PROCGOV_SMTP__HOST": "127.0.0.1",
        "PROCGOV_SMTP__PORT": str(smtp_port),
        "PROCGOV_SMTP__TIMEOUT_S": "5",
        "PROCGOV_ROLLOUT_ORG_DIRECTORY": str(directory),
        "PROCGOV_LOG_JSON": "true",
    }


async def _spawn(env: dict[str, str], tmp_path: Path, n: int) -> asyncio.subprocess.Process:
    log = (tmp_path / f"worker-{n}.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from procgov.cli import main; main()", "workers", "-g", "rollout",
        cwd=tmp_path, env=env, stdout=log, stderr=log)


def _worker_logs(tmp_path: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("worker-*.log")))


async def test_killing_the_worker_mid_delivery_loses_and_doubles_nothing(
        zeebe: EmbeddedEngine, slow_smtp: SmtpServer, tmp_path: Path) -> None:
    """100 notifications, the worker SIGKILLed twice while delivering: every mail arrives, none
    under two Message-IDs, no incident. A mail the killed worker had sent without recording it is sent
    again by the next activation under the SAME Message-ID (a repeat its mailbox recognises)."""
    await zeebe.deploy(NOTIFY_ONCE)
    directory, people = email_only_directory(tmp_path)
    env = _worker_env(zeebe, tmp_path, slow_smtp.sink.port, directory)
    workers = [await _spawn(env, tmp_path, 0)]
    try:
        keys = await start_notifications(zeebe, people, 100)
        # two kills (the 2–3): each worker start costs seconds of imports on a busy machine
        for n, threshold in enumerate(KILL_AT, start=1):
            await wait_until(lambda t=threshold: len(slow_smtp.sink.messages) >= t, 60, f"{threshold} mails")
            workers[-1].send_signal(signal.SIGKILL)
            await workers[-1].wait()
            # the dead worker's jobs come back once their activation times out (engine clock)
            await zeebe.increase_time(NOTIFY_TIMEOUT + timedelta(seconds=1))
            workers.append(await _spawn(env, tmp_path, n))

        async def nudge() -> None:  # a job handed back "in progress" waits on the engine clock
            await zeebe.increase_time(timedelta(seconds=5))

        await wait_until(lambda: outcome(zeebe, slow_smtp.sink, keys).completed == 100, 90,
                         "all 100 instances completed", tick=nudge)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    result = outcome(zeebe, slow_smtp.sink, keys)
    takeovers = _worker_logs(tmp_path).count("taking over a side effect")
    print(f"kills={len(KILL_AT)} mails={result.arrivals} notifications={len(result.notifications)} "
          f"repeats-same-Message-ID={result.repeats} takeovers={takeovers} incidents={len(result.incidents)}")
    assert [w.returncode for w in workers[:-1]] == [-signal.SIGKILL] * len(KILL_AT)
    assert result.incidents == []
    assert result.missing == 0
    assert result.duplicates == 0  # no notification under two Message-IDs
    assert result.repeats <= takeovers  # a repeat only where a claim of a dead activation was taken over


async def test_a_mail_server_down_for_a_minute_heals_without_an_operator(
        zeebe: EmbeddedEngine, run_workers: Any, smtp: SmtpServer, tmp_path: Path) -> None:
    """The default retry budget (PROCGOV_RETRY__BUDGET_MS = 10 min: 5 retries wait 40, 80, 160, 300 s)
    outlasts a 60 s outage: 0 incidents, 0 missing, 0 duplicates, and no failure message claims to be
    the last."""
    await zeebe.deploy(NOTIFY_ONCE)
    directory, people = email_only_directory(tmp_path)
    store_url = f"sqlite:///{tmp_path / 'workers.db'}"
    deps = RolloutDeps.from_files(
        org_directory=directory, exams_dir=DATA / "exams", templates=DATA / "notifications.yaml",
        smtp=SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=2),
        store=IdempotencyStore(open_engine(store_url)))
    defaults = {"budget_ms": 600_000, "max_ms": 300_000}  # the settings' defaults (run_workers has its own)
    await run_workers(build_router(deps), store_url=store_url, retry=defaults)
    smtp.stop()
    keys = await start_notifications(zeebe, people, 40)

    def failed() -> list[dict[str, Any]]:
        return [r["value"] for r in zeebe.records() if r["valueType"] == "JOB" and r["intent"] == "FAILED"]

    await wait_until(lambda: len(failed()) >= 40, 30, "every job failed once")
    for _ in range(6):  # 60 s of engine time with the server down: the 40 s retry fails again
        await zeebe.increase_time(timedelta(seconds=10))
        await asyncio.sleep(0.1)
    await wait_until(lambda: len(failed()) >= 80, 30, "every job failed twice")
    smtp.start()

    async def advance() -> None:
        await zeebe.increase_time(timedelta(seconds=20))

    await wait_until(lambda: outcome(zeebe, smtp.sink, keys).completed == 40, 60, "all 40 completed", tick=advance)
    result = outcome(zeebe, smtp.sink, keys)
    assert result.incidents == [] and result.missing == 0 and result.duplicates == 0 and result.repeats == 0
    messages = {f["errorMessage"] for f in failed()}
    assert all(f"SMTP server 127.0.0.1:{smtp.sink.port} unreachable" in m for m in messages)
    assert not any("no retries left" in m or "will retry" in m for m in messages)
    assert sorted({f["retries"] for f in failed()}) == [3, 4]  # two of five retries spent
    assert sorted({f["retryBackoff"] for f in failed()}) == [40_000, 80_000]
