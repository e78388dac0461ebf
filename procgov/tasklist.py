"""A person's task list over Camunda's Orchestration Cluster REST API (v2): find, read, assign, complete.

What Tasklist does for a person, for ``procgov tasks``, the demo and the process tests: search user
tasks (a search never locks a task, unlike activating job-worker user tasks), read a task's linked form
and variables, assign, unassign, complete. Works the same against ``procgov engine`` and a Camunda 8.8
cluster: the address is ``PROCGOV_REST_URL`` (or ``CAMUNDA_REST_ADDRESS``), and the transport the
workers use (``PROCGOV_TRANSPORT``) also authenticates these calls: basic authentication, or an OAuth
client-credentials token (Camunda docs, "Orchestration Cluster REST API", "Authentication").

Endpoints (Camunda 8.8 OpenAPI, "User task"): ``POST /v2/user-tasks/search``, ``GET /v2/user-tasks/{key}``,
``GET /v2/user-tasks/{key}/form`` (204 when no form is linked), ``POST /v2/user-tasks/{key}/variables/search``,
``POST /v2/user-tasks/{key}/assignment``, ``DELETE /v2/user-tasks/{key}/assignee``,
``POST /v2/user-tasks/{key}/completion``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from workers.runtime.settings import WorkerSettings

OPEN_STATES = ("CREATED",)
CAMUNDA_SAAS_TOKEN_URL = "https://login.cloud.camunda.io/oauth/token"
CAMUNDA_SAAS_AUDIENCE = "zeebe.camunda.io"
PAGE = 100


class TasklistError(Exception):
    """A REST call failed; the message says what was asked, of which server, and what it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials (RFC 6749 §4.4): a bearer token, fetched again shortly before it expires."""

    requires_response_body = True

    def __init__(self, settings: WorkerSettings) -> None:
        oauth = settings.oauth
        self._url = oauth.authorization_server_url or CAMUNDA_SAAS_TOKEN_URL
        self._form = {"grant_type": "client_credentials", "client_id": oauth.client_id or "",
                      "client_secret": oauth.client_secret.get_secret_value() if oauth.client_secret else ""}
        audience = oauth.audience or (CAMUNDA_SAAS_AUDIENCE if settings.transport == "camunda-cloud" else None)
        if audience:
            self._form["audience"] = audience
        if oauth.scope:
            self._form["scope"] = oauth.scope
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()  # calls made together (``tasks show``) share one token request

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires:
                response = yield httpx.Request("POST", self._url, data=self._form)
                await response.aread()
                if response.status_code != 200:
                    raise TasklistError(f"the authorization server {self._url} refused the client credentials "
                                        f"(HTTP {response.status_code})", response.status_code)
                body = response.json()
                self._token = str(body["access_token"])
                self._expires = time.monotonic() + max(0.0, float(body.get("expires_in", 300)) - 30)
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class _Basic(httpx.Auth):
    """The cluster user's ``Authorization: Basic …`` (the same value the workers send over gRPC)."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._value = settings.basic.authorization()

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._value
        yield request


def _auth(settings: WorkerSettings) -> httpx.Auth | None:
    if settings.transport == "basic":
        return _Basic(settings)
    if settings.transport in ("oauth", "camunda-cloud"):
        return _ClientCredentials(settings)
    return None


rest_auth = _auth  # the console (procgov/console/rest.py) authenticates its REST calls the same way


def _problem(response: httpx.Response) -> str:
    """The problem detail Camunda answers with (application/problem+json), as one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
        return ": ".join(parts) or json.dumps(body)[:300]
    return json.dumps(body)[:300]


@dataclass(frozen=True)
class TaskFilter:
    """What ``procgov tasks list`` narrows by; None leaves a criterion out."""

    state: str | None = "CREATED"
    assignee: str | None = None
    candidate_group: str | None = None
    process: str | None = None  # BPMN process id
    process_instance_key: int | None = None
    element_id: str | None = None

    def body(self) -> dict[str, Any]:
        found: dict[str, Any] = {"state": self.state, "assignee": self.assignee,
                                 "candidateGroup": self.candidate_group, "processDefinitionId": self.process,
                                 "elementId": self.element_id}
        if self.process_instance_key is not None:
            found["processInstanceKey"] = str(self.process_instance_key)
        return {k: v for k, v in found.items() if v is not None}


class Tasklist:
    """User tasks of one cluster over REST; use :func:`tasklist` to open one."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self.base_url = base_url

    async def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, "/v2" + path, **kwargs)
        except httpx.HTTPError as error:
            raise TasklistError(f"{what}: cannot reach {self.base_url} ({type(error).__name__}: {error}); "
                                "is the engine's REST API there (PROCGOV_REST_URL, --rest-url)?") from None
        if response.status_code >= 400:
            raise TasklistError(f"{what}: {self.base_url} answered HTTP {response.status_code}: {_problem(response)}",
                                response.status_code)
        return response

    async def search(self, where: TaskFilter, limit: int = 1000) -> list[dict[str, Any]]:
        """The user tasks matching ``where``, oldest first, following the search cursor up to ``limit``."""
        found: list[dict[str, Any]] = []
        page: dict[str, Any] = {"limit": min(PAGE, limit)}
        while len(found) < limit:
            body = {"filter": where.body(), "page": page, "sort": [{"field": "creationDate", "order": "ASC"}]}
            result = (await self._call("POST", "/user-tasks/search", "searching user tasks", json=body)).json()
            items = result.get("items", [])
            found += items
            cursor = (result.get("page") or {}).get("endCursor")
            if len(items) < page["limit"] or not cursor:
                break
            page = {"limit": min(PAGE, limit - len(found)), "after": cursor}
        return found[:limit]

    async def get(self, key: int | str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._call("GET", f"/user-tasks/{key}", f"user task {key}")).json()
        return result

    async def form(self, key: int | str) -> dict[str, Any] | None:
        """The linked form's schema (form-js JSON), or None when the task links none (HTTP 204)."""
        response = await self._call("GET", f"/user-tasks/{key}/form", f"the form of user task {key}")
        if response.status_code == 204 or not response.content:
            return None
        schema = response.json().get("schema")
        parsed: dict[str, Any] = json.loads(schema) if isinstance(schema, str) else schema
        return parsed

    async def variables(self, key: int | str) -> dict[str, Any]:
        """The variables the task sees (its own and its scopes'), full values, not truncated."""
        values: dict[str, Any] = {}
        page: dict[str, Any] = {"limit": PAGE}
        while True:
            response = await self._call("POST", f"/user-tasks/{key}/variables/search",
                                        f"the variables of user task {key}",
                                        params={"truncateValues": "false"}, json={"page": page})
            result = response.json()
            items = result.get("items", [])
            for item in items:
                values.setdefault(item["name"], json.loads(item["value"]))
            cursor = (result.get("page") or {}).get("endCursor")
            if len(items) < PAGE or not cursor:
                return values
            page = {"limit": PAGE, "after": cursor}

    async def assign(self, key: int | str, assignee: str, *, allow_override: bool = True) -> None:
        body = {"assignee": assignee, "allowOverride": allow_override}
        await self._call("POST", f"/user-tasks/{key}/assignment", f"assigning user task {key}", json=body)

    async def unassign(self, key: int | str) -> None:
        await self._call("DELETE", f"/user-tasks/{key}/assignee", f"unassigning user task {key}")

    async def complete(self, key: int | str, variables: Mapping[str, Any], action: str | None = None) -> None:
        body: dict[str, Any] = {"variables": dict(variables)}
        if action:
            body["action"] = action
        await self._call("POST", f"/user-tasks/{key}/completion", f"completing user task {key}", json=body)


@asynccontextmanager
async def tasklist(settings: WorkerSettings, timeout_s: float = 30.0) -> AsyncGenerator[Tasklist, None]:
    """A :class:`Tasklist` on ``settings.rest_url`` with the settings' transport."""
    verify: Any = True
    if settings.tls_root_certificates:
        import ssl

        verify = ssl.create_default_context(cafile=settings.tls_root_certificates)
    async with httpx.AsyncClient(base_url=settings.rest_url, auth=_auth(settings), timeout=timeout_s,
                                 verify=verify) as http:
        yield Tasklist(http, settings.rest_url)
