"""The console's pages and actions (Starlette + Jinja2), every one answered from the REST API.

Pages are rendered on the server; the two pieces only a browser can draw run there: the diagram
(bpmn-js, with markers and overlays from the element instances and incidents) and the task's Camunda
Form (form-js). Actions are ``POST /api/…`` calls from the page's script, each carrying the session's CSRF
token in ``X-Console-CSRF`` (a header a cross-site form cannot send). The browser talks only to the
console, so the REST API needs no CORS and its credentials never reach the browser.
"""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from procgov.console.passwords import verify_password
from procgov.console.rest import ClusterApi, Json, RestError
from procgov.console.sessions import COOKIE, Session, SessionSigner
from procgov.console.settings import ConsoleSettings, is_loopback
from workers.runtime.reports import ReportStore, ReportStoreError

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CSRF_HEADER = "X-Console-CSRF"
OPEN_PATHS = ("/login", "/static/")
TASK_STATES = ("CREATED", "COMPLETED", "CANCELED")
INSTANCE_STATES = ("ACTIVE", "COMPLETED", "TERMINATED")

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
STATE_NAMES = {"ACTIVE": "运行中", "COMPLETED": "已完成", "TERMINATED": "已终止", "CREATED": "待办",
               "CANCELED": "已取消", "RESOLVED": "已解决", "PENDING": "处理中", "MIGRATED": "已迁移"}


def state_badge(state: str | None) -> Markup:
    """A state as a badge: its Chinese name and the API's value (``已完成 COMPLETED``)."""
    value = state or "UNKNOWN"
    name = STATE_NAMES.get(value)
    label = Markup('{} <span class="en">{}</span>').format(name, value) if name else Markup("{}").format(value)
    return Markup('<span class="badge {}">{}</span>').format(value, label)


_templates.globals["state_badge"] = state_badge


class Console:
    """What every request needs: settings, the REST client, the report store, the session signer."""

    def __init__(self, settings: ConsoleSettings, api: ClusterApi, reports: ReportStore | None) -> None:
        self.settings, self.api, self.reports = settings, api, reports
        self.login_required = settings.login_configured or not is_loopback(settings.host)
        secret = settings.session_secret.get_secret_value().encode() if settings.session_secret else None
        self.signer = SessionSigner(secret or secrets.token_bytes(32), settings.session_hours * 3600)
        self.zone = ZoneInfo(settings.timezone)
        self.local_csrf = secrets.token_urlsafe(24)  # without login: one token per start, in every page

    def session(self, request: Request) -> Session | None:
        if not self.login_required:
            return Session(user=self.settings.user, expires=float("inf"), csrf=self.local_csrf)
        return self.signer.load(request.cookies.get(COOKIE))

    def when(self, iso: str | None) -> str:
        """An API time (ISO 8601, UTC) in the console's zone with its offset: ``2026-12-02 09:05 +08:00``."""
        if not iso:
            return ""
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(self.zone)
        offset = moment.strftime("%z")
        return moment.strftime("%Y-%m-%d %H:%M:%S ") + f"{offset[:3]}:{offset[3:]}"


def _key(request: Request) -> str:
    """The path's key (digits only: the routes' ``int`` convertor) as the API's key strings."""
    return str(request.path_params["key"])


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    console = _console(request)
    session: Session | None = request.state.session if hasattr(request.state, "session") else None
    html = _templates.get_template(template).render(
        session=session, login_required=console.login_required, when=console.when, rest_url=console.api.rest_url,
        path=request.url.path, **values)
    return HTMLResponse(html, status_code=status)


def _error_page(request: Request, error: RestError) -> HTMLResponse:
    status = error.status if 400 <= error.status < 600 else 502
    return _page(request, "error.html.j2", status=status, error=str(error))


class _Guard(BaseHTTPMiddleware):
    """Login (where required) for every page and action, and the CSRF token for every action."""

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        console = _console(request)
        path = request.url.path
        if path.startswith(OPEN_PATHS):
            return await call_next(request)
        session = console.session(request)
        if session is None:
            if path.startswith("/api/"):
                return JSONResponse({"error": "not logged in / 未登录"}, status_code=401)
            return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
        sent = request.headers.get(CSRF_HEADER, "")
        if request.method not in ("GET", "HEAD") and not secrets.compare_digest(sent, session.csrf):
            return JSONResponse({"error": f"missing or wrong {CSRF_HEADER} header"}, status_code=403)
        request.state.session = session
        return await call_next(request)


# -- login ------------------------------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Where to go after login: a path of this console only (no ``//host`` or ``/\\host``: no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) and "\\" not in value:
        return value
    return "/tasks"


async def login_page(request: Request) -> Response:
    if not _console(request).login_required:
        return RedirectResponse("/tasks", status_code=303)
    return _page(request, "login.html.j2", next=_safe_next(request.query_params.get("next")), failed=False)


def _authenticate(console: Console, form: Any) -> str | None:
    """The user name the submitted form logs in as, or None."""
    settings = console.settings
    token = str(form.get("token") or "")
    if token and settings.token is not None:
        return settings.token_user if secrets.compare_digest(token, settings.token.get_secret_value()) else None
    name, password = str(form.get("username") or ""), str(form.get("password") or "")
    encoded = settings.users.get(name)
    if encoded is None:
        return None
    return name if verify_password(password, encoded) else None


async def login(request: Request) -> Response:
    console = _console(request)
    if not console.login_required:
        return RedirectResponse("/tasks", status_code=303)
    origin = request.headers.get("origin")
    if origin and origin not in (f"{request.url.scheme}://{request.url.netloc}", "null"):
        return JSONResponse({"error": "cross-site login refused"}, status_code=403)
    form = await request.form()
    user = _authenticate(console, form)
    target = _safe_next(str(form.get("next") or ""))
    if user is None:
        return _page(request, "login.html.j2", status=401, next=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, console.signer.dump(console.signer.new(user)), max_age=int(console.signer.lifetime_s),
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    response = JSONResponse({"done": True})
    response.delete_cookie(COOKIE)
    return response


# -- task inbox -------------------------------------------------------------------------------------------


async def inbox(request: Request) -> Response:
    console, session = _console(request), request.state.session
    state = request.query_params.get("state", "CREATED")
    mine = request.query_params.get("assignee", "all")
    text = request.query_params.get("q", "").strip()
    group = request.query_params.get("group", "").strip()
    filter: Json = {}
    if state in TASK_STATES:
        filter["state"] = state
    if mine == "me":
        filter["assignee"] = session.user
    elif mine == "unassigned":
        filter["assignee"] = {"$exists": False}
    if text:
        filter["name"] = {"$like": f"*{text}*"}
    if group:
        filter["candidateGroup"] = group
    try:
        tasks, total = await console.api.search_page("user-tasks", filter, [{"field": "creationDate", "order": "DESC"}])
    except RestError as error:
        return _error_page(request, error)
    done = request.query_params.get("done", "")
    return _page(request, "inbox.html.j2", tasks=tasks, total=total, state=state, assignee=mine, q=text, group=group,
                 states=TASK_STATES,
                 done=done if done.isdigit() else "")


async def task_page(request: Request) -> Response:
    console = _console(request)
    key = _key(request)
    try:
        task = await console.api.user_task(key)
        form = await console.api.user_task_form(key) if task.get("formKey") else None
        variables = await console.api.user_task_variables(key)
    except RestError as error:
        return _error_page(request, error)
    return _page(request, "task.html.j2", task=task, form=form, variables=variables)


async def _act(action: Callable[[], Awaitable[None]]) -> JSONResponse:
    try:
        await action()
    except RestError as error:
        return JSONResponse({"error": str(error)}, status_code=error.status if 400 <= error.status < 600 else 502)
    return JSONResponse({"done": True})


async def claim(request: Request) -> Response:
    key = _key(request)
    return await _act(lambda: _console(request).api.assign(key, request.state.session.user))


async def unclaim(request: Request) -> Response:
    return await _act(lambda: _console(request).api.unassign(_key(request)))


async def complete(request: Request) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "expected a JSON body {\"variables\": {…}}"}, status_code=400)
    variables = body.get("variables") if isinstance(body, dict) else None
    if not isinstance(variables, dict):
        return JSONResponse({"error": "expected a JSON body {\"variables\": {…}}"}, status_code=400)
    return await _act(lambda: _console(request).api.complete(_key(request), variables))


# -- process instances ------------------------------------------------------------------------------------


async def instances(request: Request) -> Response:
    console = _console(request)
    state = request.query_params.get("state", "")
    process = request.query_params.get("process", "").strip()
    incidents_only = request.query_params.get("incidents") == "1"
    filter: Json = {}
    if state in INSTANCE_STATES:
        filter["state"] = state
    if process:
        filter["processDefinitionId"] = {"$like": f"*{process}*"}
    if incidents_only:
        filter["hasIncident"] = True
    try:
        found, total = await console.api.search_page("process-instances", filter,
                                                     [{"field": "startDate", "order": "DESC"}])
    except RestError as error:
        return _error_page(request, error)
    return _page(request, "instances.html.j2", instances=found, total=total, state=state, process=process,
                 incidents_only=incidents_only, states=INSTANCE_STATES)


async def instance_page(request: Request) -> Response:
    console = _console(request)
    key = _key(request)
    api = console.api
    try:
        instance = await api.process_instance(key)
        xml = await api.process_definition_xml(instance["processDefinitionKey"])
        by_instance = {"processInstanceKey": key}
        elements = await api.search("element-instances", by_instance, [{"field": "startDate", "order": "ASC"}],
                                    limit=10_000)
        incidents = await api.search("incidents", by_instance, [{"field": "creationTime", "order": "DESC"}])
        variables = await api.search("variables", by_instance, limit=1000)
        called = await api.search("process-instances", {"parentProcessInstanceKey": key},
                                  [{"field": "startDate", "order": "ASC"}])
    except RestError as error:
        return _error_page(request, error)
    try:
        tasks = await api.search("user-tasks", by_instance, limit=1000)
    except RestError as error:  # an API without user tasks (job-based ones only): the page without them
        if error.status != 404:
            return _error_page(request, error)
        tasks = []
    return _page(request, "instance.html.j2", instance=instance, xml=xml, elements=elements, incidents=incidents,
                 variables=variables, tasks=tasks, called=called)


async def retry_incident(request: Request) -> Response:
    """Give the incident's job its retries back (``PATCH /v2/jobs/{key}``), then resolve the incident."""
    api, key = _console(request).api, _key(request)

    async def retry() -> None:
        incident = await api.incident(key)
        if incident.get("jobKey"):
            await api.update_job_retries(str(incident["jobKey"]), 1)
        await api.resolve_incident(key)

    return await _act(retry)


async def resolve_incident(request: Request) -> Response:
    return await _act(lambda: _console(request).api.resolve_incident(_key(request)))


# -- reports ----------------------------------------------------------------------------------------------


async def reports(request: Request) -> Response:
    store = _console(request).reports
    listed = await asyncio.to_thread(store.list) if store is not None else []  # S3: blocking boto3 calls
    return _page(request, "reports.html.j2", reports=listed, store=store.describe() if store else None)


async def report(request: Request) -> Response:
    store = _console(request).reports
    key = _key(request)
    if store is None:
        return _page(request, "error.html.j2", status=404, error="no report store is configured")
    try:
        data = await asyncio.to_thread(store.get, key)
    except ReportStoreError as error:
        return _page(request, "error.html.j2", status=404, error=str(error))
    kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("json"):
        kind += "; charset=utf-8"
    # The reports carry no scripts; a sandbox keeps it so even if a stored file did.
    return Response(data, media_type=kind, headers={"Content-Security-Policy": "sandbox",
                                                    "X-Content-Type-Options": "nosniff"})


async def home(request: Request) -> Response:
    return RedirectResponse("/tasks", status_code=303)


def create_console_app(console: Console) -> Starlette:
    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/tasks", inbox),
        Route("/tasks/{key:int}", task_page),
        Route("/api/tasks/{key:int}/claim", claim, methods=["POST"]),
        Route("/api/tasks/{key:int}/unclaim", unclaim, methods=["POST"]),
        Route("/api/tasks/{key:int}/complete", complete, methods=["POST"]),
        Route("/instances", instances),
        Route("/instances/{key:int}", instance_page),
        Route("/api/incidents/{key:int}/retry", retry_incident, methods=["POST"]),
        Route("/api/incidents/{key:int}/resolve", resolve_incident, methods=["POST"]),
        Route("/reports", reports),
        Route("/reports/{key:path}", report),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(_Guard)]
    if is_loopback(console.settings.host):  # DNS rebinding: a loopback console answers only loopback names
        loopback_names = ["127.0.0.1", "localhost", "[::1]", "::1"]
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=loopback_names))
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console = console
    return app
