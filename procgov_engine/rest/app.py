"""The Starlette application: every router under ``/v2``, problem+json for every error.

Routers are modules with a ``routes`` list (``cluster``, ``resources``, ``instances``, ``jobs``,
``messages``); a new one (e.g. user tasks) is added to :data:`ROUTERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import ModuleType

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from procgov_engine.rest import cluster, instances, jobs, messages, resources, usertasks
from procgov_engine.rest.context import RestContext
from procgov_engine.rest.problems import Problem, problem_response

log = logging.getLogger(__name__)

ROUTERS: Sequence[ModuleType] = (cluster, resources, instances, jobs, messages, usertasks)

_HTTP_TITLES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.status_code != 404 else f"No endpoint {request.method} {request.url.path}"
    problem = Problem(exc.status_code, _HTTP_TITLES.get(exc.status_code, "Bad Request"), str(detail))
    response = problem_response(request, problem)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _internal(request: Request, exc: Exception) -> Response:
    log.exception("REST %s %s failed inside the engine", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, Problem(500, "INTERNAL", f"The request failed inside the engine: {type(exc).__name__}")
    )


def create_app(ctx: RestContext, routers: Sequence[ModuleType] = ROUTERS) -> Starlette:
    routes: list[BaseRoute] = [route for router in routers for route in router.routes]
    app = Starlette(
        routes=[Mount("/v2", routes=routes)],
        exception_handlers={Problem: _problem, HTTPException: _http_error, Exception: _internal},
    )
    app.state.procgov = ctx
    return app
