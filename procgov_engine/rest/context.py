"""What every route handler shares: the engine's command surface, its read views, and small helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from procgov_engine.api import DEFAULT_TENANT, EngineApi, Rejection
from procgov_engine.rest.problems import from_rejection, invalid

if TYPE_CHECKING:
    from procgov_engine.core.query import Query
    from procgov_engine.gateway.jobs import JobDispatcher


@dataclass
class RestContext:
    """Held in ``app.state.procgov``. ``healthy`` turns False when the engine stops taking commands."""

    engine: EngineApi
    query: Query
    jobs: JobDispatcher
    healthy: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def context(request: Request) -> RestContext:
    ctx: RestContext = request.app.state.procgov
    return ctx


def path_key(request: Request, name: str) -> int:
    """A LongKey path parameter; anything else is Camunda's 400 for an invalid key."""
    raw = request.path_params[name]
    try:
        key = int(raw)
    except ValueError:
        raise invalid(f"The provided {name} '{raw}' is not a valid key. Expected a numeric value.") from None
    if not -(2**63) <= key < 2**63:
        raise invalid(f"The provided {name} '{raw}' is not a valid key. Expected a 64-bit number.")
    return key


def body_key(value: str | None) -> int | None:
    if value is None:
        return None
    key = int(value)
    if not -(2**63) <= key < 2**63:
        raise invalid(f"The key '{value}' is not a valid 64-bit key")
    return key


def tenant(value: str | None) -> str:
    return value or DEFAULT_TENANT


def iso(epoch_ms: int | None) -> str | None:
    """Camunda's date format: ISO 8601 with milliseconds and offset."""
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def key_str(key: int | None) -> str | None:
    return None if key is None or key < 0 else str(key)


@asynccontextmanager
async def command(intent: str) -> AsyncIterator[None]:
    """Run one engine command; a rejection becomes the problem Camunda answers with."""
    try:
        yield
    except Rejection as rejection:
        raise from_rejection(rejection, intent) from None


def ok(document: Any) -> JSONResponse:
    return JSONResponse(document)


def no_content() -> Response:
    return Response(status_code=204)
