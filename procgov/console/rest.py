"""The console's client of the Orchestration Cluster REST API (v2), authenticated as the workers are.

Only documented endpoints are used (Camunda docs, "Orchestration Cluster API"; every request is checked
against Camunda's OpenAPI description by tests/console/test_console_spec.py), so the console works
against the embedded engine and a Camunda 8.8+ cluster alike. User tasks go through
:class:`procgov.tasklist.Tasklist`, the client ``procgov tasks`` uses, on the same HTTP client; so does
the authentication (:func:`procgov.tasklist.rest_auth`: the workers' ``PROCGOV_TRANSPORT``, basic or an
OAuth client-credentials token).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from procgov.tasklist import Tasklist, TasklistError, rest_auth
from workers.runtime.settings import WorkerSettings

Json = dict[str, Any]
UNREACHABLE = 502


class RestError(Exception):
    """The API refused or failed a request; ``str()`` is one line saying what and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _from_tasklist(error: TasklistError) -> RestError:
    return RestError(error.status or UNREACHABLE, str(error))


class ClusterApi:
    """The endpoints the console uses, each a thin call; answers are the API's JSON documents."""

    def __init__(self, rest_url: str, auth: httpx.Auth | None = None, *, verify: Any = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.rest_url = rest_url
        self._http = httpx.AsyncClient(base_url=rest_url, auth=auth, timeout=30, verify=verify, transport=transport)
        self.tasks = Tasklist(self._http, rest_url)

    @classmethod
    def for_settings(cls, settings: WorkerSettings) -> ClusterApi:
        """On ``settings.rest_url`` with the workers' transport and TLS roots."""
        verify: Any = True
        if settings.tls_root_certificates:
            verify = ssl.create_default_context(cafile=settings.tls_root_certificates)
        return cls(settings.rest_url.removesuffix("/v2"), rest_auth(settings), verify=verify)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: Json | None = None) -> httpx.Response:
        try:
            response = await self._http.request(method, f"/v2{path}", json=body)
        except TasklistError as error:  # raised by the OAuth flow: the token was refused
            raise _from_tasklist(error) from None
        except httpx.HTTPError as error:
            raise RestError(UNREACHABLE,
                            f"REST API {self.rest_url} unreachable: {type(error).__name__} {error}") from None
        if response.status_code >= 400:
            title, detail = response.reason_phrase, ""
            try:
                problem = response.json()
                title, detail = str(problem.get("title") or title), str(problem.get("detail") or "")
            except ValueError:
                detail = response.text[:200]
            raise RestError(response.status_code, f"{response.status_code} {title}" + (f": {detail}" if detail else ""))
        return response

    async def _call(self, method: str, path: str, body: Json | None = None) -> Any:
        response = await self._request(method, path, body)
        return response.json() if response.status_code != 204 and response.content else None

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
        try:
            return await self.tasks.get(key)
        except TasklistError as error:
            raise _from_tasklist(error) from None

    async def user_task_form(self, key: str) -> Json | None:
        """The linked Camunda Form's schema, or None when the task links none."""
        try:
            return await self.tasks.form(key)
        except TasklistError as error:
            raise _from_tasklist(error) from None

    async def user_task_variables(self, key: str) -> Json:
        """The variables the task sees, full values (what form-js gets as its data)."""
        try:
            return await self.tasks.variables(key)
        except TasklistError as error:
            raise _from_tasklist(error) from None

    async def assign(self, key: str, assignee: str) -> None:
        """Assign to ``assignee``; refused (409) while someone else has it: unassign first, as in Tasklist."""
        try:
            await self.tasks.assign(key, assignee, allow_override=False)
        except TasklistError as error:
            raise _from_tasklist(error) from None

    async def unassign(self, key: str) -> None:
        try:
            await self.tasks.unassign(key)
        except TasklistError as error:
            raise _from_tasklist(error) from None

    async def complete(self, key: str, variables: Json) -> None:
        try:
            await self.tasks.complete(key, variables)
        except TasklistError as error:
            raise _from_tasklist(error) from None

    async def topology(self) -> Json:
        """``GET /v2/topology``: whether the API answers (and accepts the credentials)."""
        return dict(await self._call("GET", "/topology"))

    # -- process instances, definitions, incidents, jobs ------------------------------------------------
    async def process_instance(self, key: str) -> Json:
        return dict(await self._call("GET", f"/process-instances/{key}"))

    async def process_definition_xml(self, key: str) -> str:
        return (await self._request("GET", f"/process-definitions/{key}/xml")).text

    async def update_job_retries(self, job_key: str, retries: int) -> None:
        await self._call("PATCH", f"/jobs/{job_key}", {"changeset": {"retries": retries}})

    async def resolve_incident(self, key: str) -> None:
        await self._call("POST", f"/incidents/{key}/resolution")

    async def incident(self, key: str) -> Json:
        return dict(await self._call("GET", f"/incidents/{key}"))

