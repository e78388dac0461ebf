"""``procgov tasks`` authenticates to the REST API with the workers' transport: basic authentication
(Camunda 8.8's default) or an OAuth client-credentials token (Camunda docs, "Orchestration Cluster REST
API" > "Authentication"). Checked over real HTTP: a guard in front of the embedded engine's REST API
refuses a request without the right ``Authorization`` header (401, as Camunda does), and a real token
endpoint hands out the token for the client's credentials."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from click.testing import Result
from typer.testing import CliRunner

from procgov.cli import app
from tests.user_tasks import rest_api

SIGNOFF = Path(__file__).resolve().parents[1] / "runtime" / "bpmn"
USER, PASSWORD = "procgov-workers", "s3cret:with-colon"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
CLIENT_ID, CLIENT_SECRET, TOKEN = "procgov-cli", "client-s3cret", "token-for-procgov-cli"


async def procgov(*args: str, env: dict[str, str | None]) -> Result:
    clean: dict[str, str | None] = {"PROCGOV_OTLP_ENDPOINT": None, "ZEEBE_ADDRESS": None, "PROCGOV_REST_URL": None,
                                    **env}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=clean)


async def _serve(handler: Any) -> tuple[web.AppRunner, str]:
    server = web.Application()
    server.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def guarded(zeebe: Any) -> AsyncIterator[tuple[str, str, list[str | None], list[dict[str, str]]]]:
    """(guarded REST URL, token URL, Authorization headers seen, token requests seen)."""
    seen: list[str | None] = []
    grants: list[dict[str, str]] = []
    async with rest_api(zeebe) as upstream, ClientSession() as http:

        async def guard(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization")
            seen.append(header)
            if header not in (BASIC, f"Bearer {TOKEN}"):
                return web.json_response({"type": "about:blank", "title": "Unauthorized", "status": 401,
                                          "detail": "no valid credentials"}, status=401,
                                         content_type="application/problem+json")
            async with http.request(request.method, upstream + request.path_qs, data=await request.read(),
                                    headers={"Content-Type": request.headers.get("Content-Type", "")}) as reply:
                return web.Response(status=reply.status, body=await reply.read(),
                                    content_type=reply.content_type)

        async def token(request: web.Request) -> web.StreamResponse:
            form = dict(await request.post())
            grants.append({k: str(v) for k, v in form.items()})
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                return web.json_response({"error": "invalid_client"}, status=401)
            return web.json_response({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300})

        guard_runner, guard_url = await _serve(guard)
        token_runner, token_url = await _serve(token)
        try:
            yield guard_url, token_url + "/oauth/token", seen, grants
        finally:
            await guard_runner.cleanup()
            await token_runner.cleanup()


async def _open_task(zeebe: Any) -> int:
    await zeebe.deploy(SIGNOFF / "signoff.bpmn", SIGNOFF / "signoff.form")
    started = await procgov("start", "runtime-signoff", "--var", "document=SOP-1", "--gateway", zeebe.address, env={})
    key = int(json.loads(started.stdout)["processInstanceKey"])
    await zeebe.instance(key).wait_element_active("review")
    return key


async def test_basic_authentication_on_every_rest_call(zeebe: Any, guarded: Any) -> None:
    url, _, seen, _ = guarded
    key = await _open_task(zeebe)
    env = {"PROCGOV_TRANSPORT": "basic", "PROCGOV_BASIC__USERNAME": USER, "PROCGOV_BASIC__PASSWORD": PASSWORD,
           "PROCGOV_REST_URL": url}
    listed = await procgov("tasks", "list", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    (task,) = json.loads(listed.stdout)
    done = await procgov("tasks", "complete", task["userTaskKey"], "--var", "verdict=approve", env=env)
    assert done.exit_code == 0, done.output
    await zeebe.instance(key).wait_completed()
    assert seen and set(seen) == {BASIC}

    refused = await procgov("tasks", "list", env={"PROCGOV_REST_URL": url})  # plaintext: no credentials
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"procgov: searching user tasks: {url} answered HTTP 401: Unauthorized")
    assert seen[-1] is None


async def test_an_oauth_token_is_fetched_once_and_sent_as_bearer(zeebe: Any, guarded: Any) -> None:
    url, token_url, seen, grants = guarded
    await _open_task(zeebe)
    env = {"PROCGOV_TRANSPORT": "oauth", "PROCGOV_OAUTH__CLIENT_ID": CLIENT_ID,
           "PROCGOV_OAUTH__CLIENT_SECRET": CLIENT_SECRET, "PROCGOV_OAUTH__AUTHORIZATION_SERVER_URL": token_url,
           "PROCGOV_OAUTH__AUDIENCE": "orchestration-api", "PROCGOV_REST_URL": url}
    listed = await procgov("tasks", "list", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    (task,) = json.loads(listed.stdout)
    shown = await procgov("tasks", "show", task["userTaskKey"], env=env)  # three calls, one token
    assert shown.exit_code == 0, shown.output
    assert grants == [{"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "audience": "orchestration-api"}] * 2  # one per command
    assert set(seen) == {f"Bearer {TOKEN}"} and len(seen) == 4

    wrong = await procgov("tasks", "list", env={**env, "PROCGOV_OAUTH__CLIENT_SECRET": "nope"})
    assert wrong.exit_code == 1
    assert f"the authorization server {token_url} refused the client credentials (HTTP 401)" in wrong.stderr
    assert "nope" not in wrong.output
