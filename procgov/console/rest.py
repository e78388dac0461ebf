"""The console's client of the Orchestration Cluster REST API (v2), authenticated as the workers are.

Only documented endpoints are used (Camunda docs, "Orchestration Cluster API"), so the console works
against the embedded engine and a Camunda 8.8+ cluster alike. Authentication follows the workers'
``PROCGOV_TRANSPORT``: ``basic`` sends the same ``Authorization: Basic`` header their gRPC channel sends
(:meth:`workers.runtime.settings.BasicAuthSettings.authorization`); ``oauth`` and ``camunda-cloud`` fetch
a client-credentials token from the same authorization server with the same client, and renew it before
it expires; ``plaintext``/``tls`` send none.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from workers.runtime.settings import WorkerSettings

CAMUNDA_CLOUD_TOKEN_URL = "https://login.cloud.camunda.io/oauth/token"
CAMUNDA_CLOUD_AUDIENCE = "zeebe.camunda.io"
TOKEN_MARGIN_S = 30  # renew this long before the token expires
Json = dict[str, Any]


class RestError(Exception):
    """The API refused or failed a request; ``str()`` is one line: status, title and detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status, self.title, self.detail = status, title, detail


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials (RFC 6749 §4.4) with the token cached until shortly before it expires."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, audience: str | None,
                 scope: str | None) -> None:
        self._token_url = token_url
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        if audience:
            self._form["audience"] = audience
        if scope:
            self._form["scope"] = scope
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("the console's REST client is asynchronous")

    async def _fetch(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires:
                async with httpx.AsyncClient(timeout=30) as client:
                    response = await client.post(self._token_url, data=self._form)
                if response.status_code != 200:
                    raise RestError(response.status_code, "token request refused",
                                    f"the authorization server {self._token_url} did not issue a token")
                body = response.json()
                self._token = str(body["access_token"])
                self._expires = time.monotonic() + float(body.get("expires_in", 300)) - TOKEN_MARGIN_S
            return self._token

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self._fetch()}"
        response = yield request
        if response.status_code == 401:  # revoked early: one fresh token, one retry
            self._token = None
            request.headers["Authorization"] = f"Bearer {await self._fetch()}"
            yield request


class _Header(httpx.Auth):
    def __init__(self, value: str) -> None:
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._value
        yield request


def rest_auth(settings: WorkerSettings) -> httpx.Auth | None:
    """The authentication the workers' ``transport`` setting names, for HTTP."""
    oauth = settings.oauth
    secret = oauth.client_secret.get_secret_value() if oauth.client_secret else ""
    if settings.transport == "basic":
        return _Header(settings.basic.authorization())
    if settings.transport == "oauth":
        return ClientCredentials(oauth.authorization_server_url or "", oauth.client_id or "", secret,
                                 oauth.audience, oauth.scope)
    if settings.transport == "camunda-cloud":
        return ClientCredentials(oauth.authorization_server_url or CAMUNDA_CLOUD_TOKEN_URL, oauth.client_id or "",
                                 secret, oauth.audience or CAMUNDA_CLOUD_AUDIENCE, oauth.scope)
    return None


class ClusterApi:
    """The endpoints the console uses, each a thin call; answers are the API's JSON documents."""

    def __init__(self, rest_url: str, auth: httpx.Auth | None = None, *, verify: Any = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.rest_url = rest_url
        self._http = httpx.AsyncClient(base_url=f"{rest_url}/v2", auth=auth, timeout=30, verify=verify,
                                       transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Json | None = None) -> Any:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise RestError(502, "REST API unreachable", f"{self.rest_url}: {type(error).__name__} {error}") from None
        if response.status_code >= 400:
            title, detail = response.reason_phrase, ""
            try:
                problem = response.json()
                title, detail = str(problem.get("title") or title), str(problem.get("detail") or "")
            except ValueError:
                detail = response.text[:200]
            raise RestError(response.status_code, title, detail)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def search_page(self, resource: str, filter: Json | None = None, sort: list[Json] | None = None,
                          limit: int = 100) -> tuple[list[Json], int]:
        """``POST /v2/{resource}/search``: the first ``limit`` items and how many match in all."""
        body: Json = {"filter": filter or {}, "page": {"limit": limit}}
        if sort:
            body["sort"] = sort
        answer = await self._call("POST", f"/{resource}/search", body)
        items = list(answer.get("items", []))
        return items, int((answer.get("page") or {}).get("totalItems", len(items)))

    async def search(self, resource: str, filter: Json | None = None, sort: list[Json] | None = None,
                     limit: int = 100) -> list[Json]:
        """The first ``limit`` items of :meth:`search_page`."""
        return (await self.search_page(resource, filter, sort, limit))[0]

    # -- user tasks (Camunda docs, "Orchestration Cluster API" → "User task") --------------------------
    async def user_task(self, key: str) -> Json:
        return dict(await self._call("GET", f"/user-tasks/{key}"))

    async def user_task_form(self, key: str) -> Json | None:
        """The linked Camunda Form (``schema`` parsed), or None when the task has none (204)."""
        form = await self._call("GET", f"/user-tasks/{key}/form")
        if not form:
            return None
        form = dict(form)
        form["schema"] = json.loads(form["schema"]) if isinstance(form.get("schema"), str) else form.get("schema")
        return form

    async def user_task_variables(self, key: str) -> Json:
        """The variables the task sees, innermost scope first, values decoded from their JSON text."""
        items = await self.search(f"user-tasks/{key}/variables", limit=1000)
        task = await self.user_task(key)
        inner = str(task.get("elementInstanceKey"))
        items.sort(key=lambda item: str(item.get("scopeKey")) != inner)  # the task's own scope wins
        variables: Json = {}
        for item in items:
            variables.setdefault(item["name"], decode_value(item.get("value")))
        return variables

    async def assign(self, key: str, assignee: str) -> None:
        await self._call("POST", f"/user-tasks/{key}/assignment", {"assignee": assignee, "allowOverride": False})

    async def unassign(self, key: str) -> None:
        await self._call("DELETE", f"/user-tasks/{key}/assignee")

    async def complete(self, key: str, variables: Json) -> None:
        await self._call("POST", f"/user-tasks/{key}/completion", {"variables": variables})

    # -- process instances, definitions, incidents, jobs ------------------------------------------------
    async def process_instance(self, key: str) -> Json:
        return dict(await self._call("GET", f"/process-instances/{key}"))

    async def process_definition_xml(self, key: str) -> str:
        try:
            response = await self._http.get(f"/process-definitions/{key}/xml")
        except httpx.HTTPError as error:
            raise RestError(502, "REST API unreachable", f"{self.rest_url}: {type(error).__name__} {error}") from None
        if response.status_code >= 400:
            raise RestError(response.status_code, response.reason_phrase, f"process definition {key}: no XML")
        return response.text

    async def update_job_retries(self, job_key: str, retries: int) -> None:
        await self._call("PATCH", f"/jobs/{job_key}", {"changeset": {"retries": retries}})

    async def resolve_incident(self, key: str) -> None:
        await self._call("POST", f"/incidents/{key}/resolution")

    async def incident(self, key: str) -> Json:
        return dict(await self._call("GET", f"/incidents/{key}"))


def decode_value(text: Any) -> Any:
    """A variable's value: the API gives it as JSON text (possibly truncated; then the text as it is)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
