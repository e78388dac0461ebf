"""A job worker over Camunda's Orchestration Cluster REST API (v2), for jobs whose answer gRPC cannot carry.

Why REST: a user task listener answers its job with a *result* (``denied``, ``deniedReason``,
``corrections``; Camunda docs, "User task listeners", "Deny a lifecycle transition"), which pyzeebe 4.7's
CompleteJobRequest lacks. Camunda's REST API takes it (``POST /v2/jobs/{jobKey}/completion`` with
``result: {type: "userTask", ...}``). Everything else is the runtime's as for the gRPC workers: settings
(``PROCGOV_REST_URL``, the transport's basic/OAuth credentials), the failure policy (FailJob with
``retryBackOff``; a technical failure is never an answer), per-job spans and log context
(:class:`workers.runtime.jobs.JobObserver`), redaction of every message.

Endpoints (Camunda 8.8 OpenAPI, "Job"): ``POST /v2/jobs/activation`` (long polling: ``requestTimeout``),
``POST /v2/jobs/{jobKey}/completion``, ``POST /v2/jobs/{jobKey}/failure`` (``retries``,
``errorMessage``, ``retryBackOff``). A completion or failure answered 404 (the job is gone: timed out
and re-activated, or its task canceled) or 409 is logged and dropped, never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from workers.runtime.errors import TransientError
from workers.runtime.jobs import JobObserver
from workers.runtime.logs import get_logger
from workers.runtime.policy import Complete, Fail, RetryPolicy, decide
from workers.runtime.redact import redact_text
from workers.runtime.settings import WorkerSettings

log = get_logger("workers.runtime.rest_jobs")

DEFAULT_POLL_MS = 10_000  # the gateway's long-polling default (Camunda docs, "Job workers", "Long polling")
CAMUNDA_SAAS_TOKEN_URL = "https://login.cloud.camunda.io/oauth/token"
CAMUNDA_SAAS_AUDIENCE = "zeebe.camunda.io"


class RestApiError(TransientError):
    """A REST call failed: unreachable, or answered with an error status (named, with Camunda's problem)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RestJob:
    """An activated job as the REST API gives it (the attributes :class:`JobObserver` reads included)."""

    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    element_id: str
    element_instance_key: int
    retries: int
    deadline: int
    worker: str
    kind: str = "BPMN_ELEMENT"
    listener_event_type: str = "UNSPECIFIED"
    custom_headers: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    user_task: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RestJob:
        return cls(
            key=int(data["jobKey"]),
            type=str(data["type"]),
            process_instance_key=int(data["processInstanceKey"]),
            bpmn_process_id=str(data.get("processDefinitionId", "")),
            element_id=str(data.get("elementId", "")),
            element_instance_key=int(data.get("elementInstanceKey") or 0),
            retries=int(data.get("retries", 0)),
            deadline=int(data.get("deadline", 0)),
            worker=str(data.get("worker", "")),
            kind=str(data.get("kind") or "BPMN_ELEMENT"),
            listener_event_type=str(data.get("listenerEventType") or "UNSPECIFIED"),
            custom_headers=dict(data.get("customHeaders") or {}),
            variables=dict(data.get("variables") or {}),
            user_task=data.get("userTask"),
        )


@dataclass(frozen=True)
class ListenerResult:
    """A user task listener's answer (``JobResultUserTask``): go on (with corrections), or deny."""

    denied: bool = False
    denied_reason: str = ""
    corrections: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        result: dict[str, Any] = {"type": "userTask", "denied": self.denied}
        if self.denied:
            result["deniedReason"] = self.denied_reason
        if self.corrections:
            result["corrections"] = dict(self.corrections)
        return {"result": result}


Headers = Callable[[], Awaitable[dict[str, str]]]


def rest_auth(settings: WorkerSettings, session: aiohttp.ClientSession) -> Headers:
    """The ``Authorization`` header the transport's credentials give REST calls (none for plaintext/tls):
    basic authentication, or an OAuth 2.0 client-credentials token (RFC 6749 §4.4) fetched again shortly
    before it expires (Camunda docs, "Orchestration Cluster REST API", "Authentication")."""
    if settings.transport == "basic":
        value = settings.basic.authorization()

        async def basic() -> dict[str, str]:
            return {"Authorization": value}

        return basic
    if settings.transport not in ("oauth", "camunda-cloud"):

        async def none() -> dict[str, str]:
            return {}

        return none
    oauth = settings.oauth
    url = oauth.authorization_server_url or CAMUNDA_SAAS_TOKEN_URL
    form = {"grant_type": "client_credentials", "client_id": oauth.client_id or "",
            "client_secret": oauth.client_secret.get_secret_value() if oauth.client_secret else ""}
    audience = oauth.audience or (CAMUNDA_SAAS_AUDIENCE if settings.transport == "camunda-cloud" else None)
    if audience:
        form["audience"] = audience
    if oauth.scope:
        form["scope"] = oauth.scope
    token: dict[str, Any] = {"value": None, "expires": 0.0}
    lock = asyncio.Lock()

    async def bearer() -> dict[str, str]:
        async with lock:
            if token["value"] is None or time.monotonic() > token["expires"]:
                try:
                    async with session.post(url, data=form) as response:
                        if response.status != 200:
                            raise RestApiError(f"the authorization server {url} refused the client credentials "
                                               f"(HTTP {response.status})", response.status)
                        body = await response.json(content_type=None)
                except aiohttp.ClientError as error:
                    raise RestApiError(f"cannot reach the authorization server {url} "
                                       f"({type(error).__name__})") from None
                token["value"] = str(body["access_token"])
                token["expires"] = time.monotonic() + max(0.0, float(body.get("expires_in", 300)) - 30)
        return {"Authorization": f"Bearer {token['value']}"}

    return bearer


def _problem(status: int, text: str) -> str:
    """Camunda's ``application/problem+json`` answer as one line (title: detail), else the text."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(body, dict):
        return ": ".join(str(body[k]) for k in ("title", "detail") if body.get(k)) or text[:300]
    return text[:300]


class RestJobApi:
    """The three job calls a worker makes, on one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, auth: Headers) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._auth = auth

    async def _post(self, path: str, body: Mapping[str, Any], what: str, *, timeout_s: float = 30.0) -> Any:
        headers = await self._auth()
        try:
            async with self._session.post(self.base_url + "/v2" + path, json=dict(body), headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
                text = await response.text()
                if response.status >= 400:
                    raise RestApiError(f"{what}: {self.base_url} answered HTTP {response.status}: "
                                       f"{redact_text(_problem(response.status, text))}", response.status)
                return json.loads(text) if text else None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RestApiError(f"{what}: cannot reach {self.base_url} ({type(error).__name__}); is the REST API "
                               "there (PROCGOV_REST_URL)?") from None

    async def get(self, path: str, what: str) -> Any:
        """A GET's JSON body; None when the answer is empty (204)."""
        headers = await self._auth()
        try:
            async with self._session.get(self.base_url + "/v2" + path, headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=30.0)) as response:
                text = await response.text()
                if response.status >= 400:
                    raise RestApiError(f"{what}: {self.base_url} answered HTTP {response.status}: "
                                       f"{redact_text(_problem(response.status, text))}", response.status)
                return json.loads(text) if text else None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RestApiError(f"{what}: cannot reach {self.base_url} ({type(error).__name__})") from None

    async def activate(self, job_type: str, *, worker: str, timeout_ms: int, max_jobs: int,
                       fetch_variables: Sequence[str] | None, request_timeout_ms: int) -> list[RestJob]:
        body: dict[str, Any] = {"type": job_type, "worker": worker, "timeout": timeout_ms,
                                "maxJobsToActivate": max_jobs, "requestTimeout": request_timeout_ms}
        if fetch_variables is not None:
            body["fetchVariable"] = list(fetch_variables)
        answer = await self._post("/jobs/activation", body, f"activating {job_type} jobs",
                                  timeout_s=request_timeout_ms / 1000 + 10)
        return [RestJob.from_json(job) for job in (answer or {}).get("jobs", [])]

    async def complete(self, job_key: int, result: ListenerResult | None = None) -> None:
        await self._post(f"/jobs/{job_key}/completion", result.body() if result else {}, f"completing job {job_key}")

    async def fail(self, job_key: int, *, retries: int, message: str, retry_back_off_ms: int) -> None:
        body = {"retries": retries, "errorMessage": message, "retryBackOff": retry_back_off_ms}
        await self._post(f"/jobs/{job_key}/failure", body, f"failing job {job_key}")


ListenerHandler = Callable[[RestJob], Awaitable[ListenerResult]]


@dataclass
class RestJobWorker:
    """Activates jobs of one type by long polling and answers each with its handler's result.

    A handler's exception goes through the runtime's failure policy (:func:`workers.runtime.policy.decide`):
    FailJob with the retries left and the exponential ``retryBackOff``, or an incident when none are left.
    A listener job that is never answered blocks its task's transition: so an outage of the handler's
    sources (or of this worker) holds the completion, it never lets it through.
    """

    api: RestJobApi
    job_type: str
    handler: ListenerHandler
    worker: str
    fetch_variables: Sequence[str] | None = None
    timeout_ms: int = 30_000
    max_jobs: int = 8
    poll_ms: int = DEFAULT_POLL_MS
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    observer: JobObserver = field(default_factory=JobObserver)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _running: set[asyncio.Task[None]] = field(default_factory=set)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Poll until :meth:`stop`; an unreachable API is retried with doubling pauses (at most 30 s)."""
        pause = 0.5
        slots = asyncio.Semaphore(self.max_jobs)
        while not self._stopping.is_set():
            try:
                free = max(1, self.max_jobs - len(self._running))
                jobs = await self.api.activate(self.job_type, worker=self.worker, timeout_ms=self.timeout_ms,
                                               max_jobs=free, fetch_variables=self.fetch_variables,
                                               request_timeout_ms=self.poll_ms)
                pause = 0.5
            except RestApiError as error:
                log.warning("job activation failed", job_type=self.job_type, error=str(error))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                pause = min(pause * 2, 30.0)
                continue
            for job in jobs:
                await slots.acquire()
                task = asyncio.create_task(self._handle(job))
                self._running.add(task)
                task.add_done_callback(self._done(slots))
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _done(self, slots: asyncio.Semaphore) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._running.discard(task)
            slots.release()

        return done

    async def _handle(self, job: RestJob) -> None:
        await self.observer.before(job)
        try:
            # the lock this worker asked for, less a margin (as the gRPC runtime): the engine's clock may be
            # a controlled one, so the deadline is not compared with the wall clock
            limit_s = (self.timeout_ms - min(1_000, self.timeout_ms // 10)) / 1000
            try:
                result = await asyncio.wait_for(self.handler(job), limit_s)
            except BaseException as error:  # every failure becomes FailJob, never an answer
                if isinstance(error, asyncio.CancelledError):
                    raise
                if isinstance(error, TimeoutError):
                    error = TransientError(f"handler exceeded the job timeout of {self.timeout_ms} ms")
                command = decide(error, retries=job.retries, policy=self.policy)
                self.observer.record(command, error)
                assert isinstance(command, Fail)
                await self._send(job, self.api.fail(job.key, retries=command.retries, message=command.message,
                                                    retry_back_off_ms=command.retry_back_off_ms))
                return
            self.observer.record(Complete())
            await self._send(job, self.api.complete(job.key, result))
        finally:
            await self.observer.after(job)

    async def _send(self, job: RestJob, call: Awaitable[None]) -> None:
        try:
            await call
        except RestApiError as error:
            if error.status in (404, 409):
                log.warning("job answer dropped: the job is gone", job_key=job.key, error=str(error))
            else:  # the lock runs out and the engine hands the job out again: still never an allow
                log.error("job answer not delivered", job_key=job.key, error=str(error))

