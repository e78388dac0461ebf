"""No secret anywhere after a failing run at DEBUG: every log line (the workers', the engine's and the
third-party libraries', the OAuth library included), every incident message, every engine record,
``procgov engine export`` and the worker store are grepped for every secret."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
import structlog
from aiohttp import web
from pyzeebe.credentials.oauth import Oauth2ClientCredentialsMetadataPlugin

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.faults import NOTIFY_ONCE, email_only_directory, outcome, start_notifications, wait_until
from tests.rollout.servers import SmtpServer, WebhookSink, free_port
from workers.rollout import RolloutDeps, build_router
from workers.rollout.deps import RolloutSettings
from workers.runtime.logs import configure_logging
from workers.runtime.testing import test_settings

ROOT = Path(__file__).resolve().parents[2]
SLACK_TOKEN = "xq7Rk2LmP9vN4sT8wZ1yB3cD"  # the credential in a Slack incoming-webhook URL's path
WECOM_KEY = "693a91f6-7a2c-4b1e-9f3d-5c8e2a1b0d4f"  # WeCom carries its robot key in the query
WEBHOOK_SECRET = "SECwh-0a1b2c3d4e5f6g7h8i9j"  # signs the messages (DingTalk/Feishu style)
SMTP_PASSWORD = "smtp-Pa55word-k9X2"
CLIENT_ID = "procgov-workers"
CLIENT_SECRET = "oauth-Cl1ent-Secret-7Hq3"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwcm9jZ292In0.c2lnbmF0dXJlLXZhbHVlLTEyMw"


def secrets() -> list[str]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    forms = [SLACK_TOKEN, WECOM_KEY, WEBHOOK_SECRET, SMTP_PASSWORD, CLIENT_SECRET, ACCESS_TOKEN, basic]
    return forms + [quote(s, safe="") for s in forms if quote(s, safe="") != s]


@pytest_asyncio.fixture
async def token_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A real OAuth token endpoint: refuses the first request (401 invalid_client), then issues a token."""
    seen: list[str] = []

    async def token(request: web.Request) -> web.Response:
        seen.append((await request.text()) + request.headers.get("Authorization", ""))
        if len(seen) == 1:
            return web.json_response({"error": "invalid_client", "error_description": "try again"}, status=401)
        return web.json_response({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/oauth/token", seen
    finally:
        await runner.cleanup()


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    structlog.contextvars.clear_contextvars()
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_procgov", False)]
    root.setLevel(logging.WARNING)


def _sign(plugin: Oauth2ClientCredentialsMetadataPlugin) -> list[Any]:
    """What gRPC does before each call on an OAuth channel: ask the plugin for the call's metadata."""
    signed: list[Any] = []
    plugin(None, lambda metadata, error: signed.append((metadata, error)))  # type: ignore[arg-type]
    return signed


def _export(data_dir: Path, out: Path) -> str:
    subprocess.run([sys.executable, "-c", "from procgov.cli import main; main()", "engine", "export",
                    "--data", str(data_dir), "-o", str(out)], check=True, cwd=ROOT, capture_output=True, timeout=60)
    return out.read_text(encoding="utf-8")


async def test_a_failing_run_at_debug_leaks_no_secret(
        zeebe: EmbeddedEngine, run_workers: Any, smtp: SmtpServer, webhooks: WebhookSink,
        token_server: tuple[str, list[str]], debug_log: io.StringIO, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    token_url, token_requests = token_server
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test's token endpoint is plain HTTP on loopback
    directory, _ = email_only_directory(tmp_path)
    directory.write_text(directory.read_text(encoding="utf-8").replace(
        "  email: anna.schmidt@example.com\n", "  email: anna.schmidt@example.com\n  chat: pmo-slack\n").replace(
        "  email: li.ming@example.com\n", "  email: li.ming@example.com\n  chat: order-rollout-wecom\n"),
        encoding="utf-8")
    slack_path = f"/services/T0A1B2C3D/B0E4F5G6H/{SLACK_TOKEN}"
    webhooks.replies[slack_path] = [(404, {"ok": False, "error": "no_service"})]
    webhooks.replies["/cgi-bin/webhook/send"] = [(503, {"errmsg": "busy"})] * 10
    overrides: dict[str, Any] = {
        "log_level": "DEBUG",
        "smtp": {"host": "127.0.0.1", "port": smtp.sink.port, "user": "procgov", "password": SMTP_PASSWORD,
                 "timeout_s": 5},
        "webhooks": {
            "pmo-slack": {"url": webhooks.base_url + slack_path, "secret": WEBHOOK_SECRET},
            "order-rollout-wecom": {"url": f"{webhooks.base_url}/cgi-bin/webhook/send?key={WECOM_KEY}"},
        },
        "oauth": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "authorization_server_url": token_url},
    }
    settings = test_settings(zeebe.address, tmp_path, **overrides)
    configure_logging("DEBUG", json=True, stream=debug_log, secrets=settings.secret_values())

    # The OAuth library at DEBUG: a refused token request, then a token (real HTTP to the endpoint).
    plugin = Oauth2ClientCredentialsMetadataPlugin(CLIENT_ID, CLIENT_SECRET, token_url)
    refused = await asyncio.to_thread(_sign, plugin)
    granted = await asyncio.to_thread(_sign, plugin)
    assert refused[0][1] is not None and granted == [((("authorization", f"Bearer {ACCESS_TOKEN}"),), None)]
    assert len(token_requests) == 2

    # The workers: mail refused (the server offers no AUTH for the password), Slack 404, WeCom 503.
    deps = RolloutDeps.from_settings(settings, RolloutSettings(org_directory=directory))
    await run_workers(build_router(deps), **overrides)
    await zeebe.deploy(NOTIFY_ONCE)
    keys = await start_notifications(zeebe, ["anna.schmidt", "li.ming"], 2)

    async def advance() -> None:  # spend li.ming's retries (back-offs on the engine clock)
        await zeebe.increase_time(timedelta(seconds=30))

    await wait_until(lambda: len(outcome(zeebe, smtp.sink, keys).incidents) == 2, 30, "two incidents", tick=advance)
    incidents = outcome(zeebe, smtp.sink, keys).incidents
    assert any("slack webhook" in m and "/services/**********" in m and "HTTP 404" in m for m in incidents)
    assert any(m.startswith("no retries left: ") and "wecom webhook" in m and "key=**********" in m
               for m in incidents)

    logs = debug_log.getvalue()
    records = json.dumps(zeebe.records(), ensure_ascii=False)
    exported = await asyncio.to_thread(_export, zeebe.data_dir, tmp_path / "export.jsonl")
    store = await asyncio.to_thread((tmp_path / "workers.db").read_bytes)
    oauth_lines = [line for line in logs.splitlines() if '"logger": "requests_oauthlib' in line]
    # the OAuth library did log its token traffic at DEBUG: headers, body, the token it got
    assert any("Basic **********" in line for line in oauth_lines)
    assert any("client_secret" in line or "access_token" in line for line in oauth_lines)
    found = {
        where: [s for s in secrets() if s in text]
        for where, text in {"logs": logs, "incidents": "\n".join(incidents), "records": records,
                            "export": exported, "store": store.decode("utf-8", errors="replace")}.items()
    }
    leaking = [line for line in logs.splitlines() if any(s in line for s in secrets())]
    assert leaking == []
    assert found == {"logs": [], "incidents": [], "records": [], "export": [], "store": []}
