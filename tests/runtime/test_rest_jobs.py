"""workers.runtime.rest_jobs against real HTTP servers: credentials, problems, answers for vanished jobs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from workers.runtime.policy import RetryPolicy
from workers.runtime.rest_jobs import ListenerResult, RestApiError, RestJob, RestJobApi, RestJobWorker, rest_auth
from workers.runtime.settings import load_settings

JOB = {"jobKey": "7", "type": "t", "processInstanceKey": "1", "processDefinitionId": "p", "elementId": "e",
       "elementInstanceKey": "2", "retries": 3, "deadline": 0, "worker": "w", "kind": "TASK_LISTENER",
       "listenerEventType": "COMPLETING", "customHeaders": {}, "variables": {}}


class FakeCluster:
    """An OAuth token endpoint and the three job endpoints, recording what they were sent."""

    def __init__(self) -> None:
        self.tokens = 0
        self.seen: list[tuple[str, str | None, Any]] = []
        self.completion_status = 204
        self.handed_out = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        app.router.add_post("/v2/jobs/activation", self.activate)
        app.router.add_post("/v2/jobs/{key}/completion", self.answer)
        app.router.add_post("/v2/jobs/{key}/failure", self.answer)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "client_credentials" and form["client_secret"] == "s3cret"
        self.tokens += 1
        return web.json_response({"access_token": f"tok-{self.tokens}", "expires_in": 3600})

    async def activate(self, request: web.Request) -> web.Response:
        self.seen.append((request.path, request.headers.get("Authorization"), await request.json()))
        if self.handed_out:
            await asyncio.sleep(0.2)
            return web.json_response({"jobs": []})
        self.handed_out = True
        return web.json_response({"jobs": [JOB]})

    async def answer(self, request: web.Request) -> web.Response:
        self.seen.append((request.path, request.headers.get("Authorization"), await request.json()))
        if self.completion_status == 204:
            return web.Response(status=204)
        return web.json_response({"title": "NOT_FOUND", "detail": "Job with key '7' not found"},
                                 status=self.completion_status, content_type="application/problem+json")


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[FakeCluster, str]]:
    fake = FakeCluster()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_oauth_token_is_fetched_once_and_sent_as_bearer(cluster: tuple[FakeCluster, str]) -> None:
    """Camunda docs, "Orchestration Cluster REST API" → "Authentication": client credentials (RFC 6749
    §4.4) give a bearer token, reused until shortly before it expires."""
    fake, url = cluster
    settings = load_settings(transport="oauth", rest_url=url,
                             oauth={"client_id": "procgov", "client_secret": "s3cret",
                                    "authorization_server_url": f"{url}/oauth/token"})
    async with aiohttp.ClientSession() as session:
        api = RestJobApi(session, settings.rest_url, rest_auth(settings, session))
        jobs = await api.activate("t", worker="w", timeout_ms=1000, max_jobs=1, fetch_variables=["a"],
                                  request_timeout_ms=100)
        await api.complete(jobs[0].key, ListenerResult(denied=True, denied_reason="no"))
    assert fake.tokens == 1
    assert [(path, auth) for path, auth, _ in fake.seen] == [("/v2/jobs/activation", "Bearer tok-1"),
                                                             ("/v2/jobs/7/completion", "Bearer tok-1")]
    assert fake.seen[0][2]["fetchVariable"] == ["a"]
    assert fake.seen[1][2] == {"result": {"type": "userTask", "denied": True, "deniedReason": "no"}}


async def test_basic_credentials_and_problem_detail_in_errors(cluster: tuple[FakeCluster, str]) -> None:
    """Basic authentication as Camunda 8.8's default; an error status raises naming the server and
    Camunda's problem (title: detail)."""
    fake, url = cluster
    fake.completion_status = 404
    settings = load_settings(transport="basic", rest_url=url, basic={"username": "procgov", "password": "pw"})
    async with aiohttp.ClientSession() as session:
        api = RestJobApi(session, settings.rest_url, rest_auth(settings, session))
        with pytest.raises(RestApiError) as raised:
            await api.complete(7)
    assert raised.value.status == 404
    assert str(raised.value) == f"completing job 7: {url} answered HTTP 404: NOT_FOUND: Job with key '7' not found"
    assert fake.seen[0][1] == "Basic cHJvY2dvdjpwdw=="


async def test_handler_failure_is_failjob_with_back_off_and_a_vanished_job_is_dropped(
    cluster: tuple[FakeCluster, str]
) -> None:
    """The runtime's failure policy: a handler's OSError is FailJob(retries-1, retryBackOff) — never an
    answer; the failure answered 404 (the job is gone) is dropped, and the worker keeps polling."""
    fake, url = cluster
    fake.completion_status = 404
    settings = load_settings(rest_url=url)

    async def handler(job: RestJob) -> ListenerResult:
        raise OSError("the record source is down")

    async with aiohttp.ClientSession() as session:
        api = RestJobApi(session, settings.rest_url, rest_auth(settings, session))
        worker = RestJobWorker(api=api, job_type="t", handler=handler, worker="w", poll_ms=100,
                               policy=RetryPolicy(base_ms=500, max_ms=500, initial_retries=3))
        task = asyncio.create_task(worker.run())
        for _ in range(50):
            if any(path.endswith("/failure") for path, _, _ in fake.seen):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # still polling after the dropped answer
        worker.stop()
        await asyncio.wait_for(task, 5)
    [failure] = [body for path, _, body in fake.seen if path == "/v2/jobs/7/failure"]
    assert failure == {"retries": 2, "errorMessage": "OSError: the record source is down", "retryBackOff": 500}
    assert sum(path == "/v2/jobs/activation" for path, _, _ in fake.seen) >= 2
