"""``ExternalEngine``: the test API of :class:`~procgov_engine.testing.EmbeddedEngine` against a gateway that runs
elsewhere — a Camunda 8.8+ cluster or a ``procgov engine`` started as a separate process.

The environment chooses it (see :func:`external_target`)::

    PROCGOV_TEST_GATEWAY=host:port        # the Zeebe gRPC gateway (Camunda: 26500)
    PROCGOV_TEST_REST_URL=http://host:8080 # optional: Camunda's REST API (v2), for instance assertions
    PROCGOV_TEST_RECORDS_DB=path           # optional: a procgov engine's records.db, read-only

Commands go over the gateway protocol, as any client's do. What a test *observes* needs a read side the
gateway protocol does not have: Camunda's REST search (``/v2/process-instances``, ``/v2/element-instances``,
``/v2/incidents``, ``/v2/variables``; eventually consistent, which the waiting assertions absorb), or the
exported records of a procgov engine (docs/contracts.md, Records; read-only, as audit reads them).

What only the in-process engine gives — its controlled clock, restarting it, its internals — is not
here: tests that need it carry ``@pytest.mark.embedded_only(reason)`` and are skipped with that reason
when an external gateway is set (:mod:`procgov_engine.testing.pytest_plugin`). Calling such a method anyway
raises :class:`EmbeddedEngineOnlyError`, so a test that lacks the marker fails loudly instead of passing.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import grpc
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.clock import Clock, SystemClock
from procgov_engine.testing.assertions import InstanceAssert
from procgov_engine.testing.read_sides import RecordFileViews, RestViews

GATEWAY_ENV = "PROCGOV_TEST_GATEWAY"
REST_URL_ENV = "PROCGOV_TEST_REST_URL"
RECORDS_DB_ENV = "PROCGOV_TEST_RECORDS_DB"

CLOCK_REASON = (
    "moves the embedded engine's controlled clock (EmbeddedEngine.increase_time); Camunda 8.8 offers the "
    "same through POST /v2/clock when started with ZEEBE_CLOCK_CONTROLLED=true (not wired into this API yet)"
)
FRESH_ENGINE_REASON = (
    "needs an engine on which the suite's models were never deployed (the embedded fixture is a fresh engine "
    "per test); on a shared external engine earlier tests have deployed them"
)
RESTART_REASON = "restarts the engine on its data directory, which only the embedded engine lets a test do"


class EmbeddedEngineOnlyError(RuntimeError):
    """A test used what only the embedded engine has; it should carry ``@pytest.mark.embedded_only``."""


@dataclass(frozen=True)
class ExternalTarget:
    """Where the external engine is and which read side it offers."""

    gateway: str
    rest_url: str | None = None
    records_db: Path | None = None


def external_target(environ: dict[str, str] | None = None) -> ExternalTarget | None:
    """The external engine the environment names, or None to run the embedded engine in-process."""
    env = os.environ if environ is None else environ
    gateway = env.get(GATEWAY_ENV, "").strip()
    if not gateway:
        return None
    rest_url = env.get(REST_URL_ENV, "").strip().rstrip("/") or None
    records_db = env.get(RECORDS_DB_ENV, "").strip()
    return ExternalTarget(gateway, rest_url, Path(records_db) if records_db else None)


# -- the engine ----------------------------------------------------------------------------------------


class ExternalEngine:
    """The parts of :class:`~procgov_engine.testing.EmbeddedEngine`'s API a remote gateway can serve.

    On exit it cancels the root instances still active that the test created (when its read side can
    list them), so the jobs they hold are not handed to the next test's workers.
    """

    def __init__(self, target: ExternalTarget, *, assert_timeout_s: float = 10.0) -> None:
        self.target = target
        self._assert_timeout_s = assert_timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._views: RecordFileViews | RestViews | None = None
        self._started = datetime.now(UTC)
        self._clock: Clock = SystemClock()

    async def __aenter__(self) -> ExternalEngine:
        self._channel = grpc.aio.insecure_channel(self.target.gateway)
        self._started = datetime.now(UTC) - timedelta(seconds=1)  # same host as the cluster; a little slack
        if self.target.records_db is not None:
            probe = RecordFileViews(self.target.records_db)
            self._views = RecordFileViews(self.target.records_db, after_position=probe.last_position())
        elif self.target.rest_url is not None:
            self._views = RestViews(self.target.rest_url)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._channel is None:
            return
        try:
            if isinstance(self._views, RecordFileViews):
                await self._cancel(self._views.active_root_instances())
            elif isinstance(self._views, RestViews):
                await self._cancel(self._views.active_root_instances(self._started))
        finally:
            await self._channel.close()
            self._channel = None

    async def _cancel(self, keys: Iterable[int]) -> None:
        stub = GatewayStub(self._channel)
        for key in keys:
            try:
                await stub.CancelProcessInstance(pb.CancelProcessInstanceRequest(processInstanceKey=key))
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:  # ended meanwhile: nothing to clean up
                    raise

    # -- what a remote gateway serves ------------------------------------------------------------

    @property
    def address(self) -> str:
        return self.target.gateway

    async def deploy(self, *paths: str | Path) -> pb.DeployResourceResponse:
        """Deploy BPMN/DMN/form files in one DeployResource call."""
        if not paths:
            raise ValueError("deploy needs at least one resource path")
        contents = [await asyncio.to_thread(Path(p).read_bytes) for p in paths]
        resources = [pb.Resource(name=Path(p).name, content=c) for p, c in zip(paths, contents, strict=True)]
        try:
            response: pb.DeployResourceResponse = await GatewayStub(self._channel).DeployResource(
                pb.DeployResourceRequest(resources=resources)
            )
        except grpc.aio.AioRpcError as error:
            raise as_rejection(error) from error
        return response

    @property
    def data_dir(self) -> Path:
        """The engine's data directory (what audit reads), when PROCGOV_TEST_RECORDS_DB names its log."""
        if self.target.records_db is None:
            self._embedded_only("the engine's data directory needs PROCGOV_TEST_RECORDS_DB (a procgov engine's log)")
        return self.target.records_db.parent

    def instance(self, process_instance_key: int) -> InstanceAssert:
        views = self._views
        if views is None:
            self._embedded_only(
                "waiting assertions on an instance need a read side: set PROCGOV_TEST_REST_URL (Camunda's "
                "REST API) or PROCGOV_TEST_RECORDS_DB (a procgov engine's records.db)"
            )
        return InstanceAssert(lambda: views, process_instance_key, timeout_s=self._assert_timeout_s)

    def records(self) -> list[dict[str, Any]]:
        """The records exported since the test began, when PROCGOV_TEST_RECORDS_DB names the log."""
        if not isinstance(self._views, RecordFileViews):
            self._embedded_only("reading the record log needs PROCGOV_TEST_RECORDS_DB (a procgov engine's log)")
        return self._views.records()

    # -- what it does not ------------------------------------------------------------------------

    @staticmethod
    def _embedded_only(what: str) -> NoReturn:
        raise EmbeddedEngineOnlyError(
            f"{what}; mark the test @pytest.mark.embedded_only(reason) to skip it against an external gateway"
        )

    async def increase_time(self, delta: timedelta) -> None:
        self._embedded_only(CLOCK_REASON)

    async def restart(self) -> None:
        self._embedded_only(RESTART_REASON)

    @property
    def clock(self) -> Clock:
        """The external engine's clock, read-only: the wall clock (nothing here moves it; Camunda's
        ``/v2/clock`` pin is not used), so reading "today" works and moving time is embedded-only."""
        return self._clock

    @property
    def engine(self) -> NoReturn:
        self._embedded_only("the in-process engine object exists only for the embedded engine")


_REJECTED = re.compile(r"Command '\w+' rejected with code '(\w+)': (.*)", re.DOTALL)


def as_rejection(error: grpc.aio.AioRpcError) -> Exception:
    """A gateway's rejection as the :class:`~procgov_engine.api.Rejection` the embedded ``deploy`` raises.

    Zeebe's gateway words it ``Command 'CREATE' rejected with code 'INVALID_ARGUMENT': <reason>``
    (engine/gateway/errors.py follows it); other errors stay what they are.
    """
    found = _REJECTED.match(error.details() or "")
    if found is None or found.group(1) not in RejectionType.__members__:
        return error
    return Rejection(RejectionType[found.group(1)], found.group(2))
