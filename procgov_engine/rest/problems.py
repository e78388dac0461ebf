"""Errors as Camunda's REST gateway gives them: RFC 9457 ``application/problem+json`` documents.

Camunda docs, "Orchestration Cluster API" → "Problem detail": every error answer is a ProblemDetail
(``type``, ``title``, ``status``, ``detail``, ``instance``). A rejected command is titled with Zeebe's
rejection type and worded as the gateway words it (``Command 'COMPLETE' rejected with code 'NOT_FOUND':
…``); a request the gateway cannot read is ``400 Bad Request``; a request that fails validation is
``400 INVALID_ARGUMENT`` with the property named.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from procgov_engine.api import Rejection, RejectionType

PROBLEM_JSON = "application/problem+json"

STATUS_BY_REJECTION: dict[RejectionType, int] = {
    RejectionType.NOT_FOUND: 404,
    RejectionType.INVALID_ARGUMENT: 400,
    RejectionType.ALREADY_EXISTS: 409,
    RejectionType.INVALID_STATE: 409,
    RejectionType.PROCESSING_ERROR: 500,
}


class Problem(Exception):
    """An error answer; raised anywhere below a route and rendered by :func:`problem_response`."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def invalid(detail: str) -> Problem:
    """Validation failure, as Camunda's request validators report it."""
    return Problem(400, "INVALID_ARGUMENT", detail)


def bad_request(detail: str) -> Problem:
    """A body the gateway cannot read at all (malformed JSON, a property of the wrong type)."""
    return Problem(400, "Bad Request", detail)


def not_found(detail: str) -> Problem:
    return Problem(404, "NOT_FOUND", detail)


def from_rejection(rejection: Rejection, intent: str) -> Problem:
    return Problem(
        STATUS_BY_REJECTION[rejection.type],
        rejection.type.value,
        f"Command '{intent}' rejected with code '{rejection.type.value}': {rejection.reason}",
    )


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON)
