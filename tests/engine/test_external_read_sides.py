"""The parts of the external-gateway switch the subprocess run does not reach: choosing the target from the
environment, gateway rejections as ``Rejection``, the loud failure of an unmarked embedded-only call, and
the REST read side's requests and mapping.

Camunda cannot run here (no Docker), so :class:`RestViews` talks to a real HTTP server on loopback that
answers in the documented shapes of the Orchestration Cluster API (8.8): Get process instance
(https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/get-process-instance/),
Search element instances, Search incidents, Search variables (…/search-element-instances/,
…/search-incidents/, …/search-variables/): keys as strings, ``filter`` + ``page.limit`` in the request,
``items`` in the answer, 404 for what secondary storage does not have yet. The workflow
(.github/workflows/camunda.yml) runs the same code against Camunda itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest

from procgov_engine.api import Rejection, RejectionType
from procgov_engine.testing.external import (
    EmbeddedEngineOnlyError,
    ExternalEngine,
    ExternalTarget,
    as_rejection,
    external_target,
)
from procgov_engine.testing.read_sides import RestViews

PIK = 2251799813685249


class FakeRpcError(grpc.aio.AioRpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


class CamundaShapedApi:
    """What the REST read side asks, and the documented answers it gets (the instance appears after a lag)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.exported = False
        self.roots: list[dict[str, Any]] = [
            {"processInstanceKey": str(PIK), "state": "ACTIVE"},
            {"processInstanceKey": "99", "parentProcessInstanceKey": str(PIK), "state": "ACTIVE"},
        ]

    def answer(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path, body))
        if path == f"/v2/process-instances/{PIK}":
            if not self.exported:
                return 404, {"title": "NOT_FOUND", "status": 404}
            return 200, {
                "processInstanceKey": str(PIK),
                "processDefinitionId": "bh-one-task",
                "processDefinitionVersion": 2,
                "processDefinitionKey": "2251799813685248",
                "state": "ACTIVE",
                "hasIncident": True,
                "tenantId": "<default>",
            }
        items: dict[str, list[dict[str, Any]]] = {
            "/v2/element-instances/search": [
                {"elementInstanceKey": "11", "elementId": "start", "type": "START_EVENT", "state": "COMPLETED"},
                {"elementInstanceKey": "12", "elementId": "work", "type": "SERVICE_TASK", "state": "ACTIVE"},
                {"elementInstanceKey": str(PIK), "elementId": "bh-one-task", "type": "PROCESS", "state": "ACTIVE"},
            ],
            "/v2/incidents/search": [
                {
                    "incidentKey": "21",
                    "errorType": "JOB_NO_RETRIES",
                    "errorMessage": "printer offline",
                    "elementId": "work",
                    "elementInstanceKey": "12",
                    "jobKey": "13",
                    "processInstanceKey": str(PIK),
                    "state": "ACTIVE",
                },
            ],
            "/v2/variables/search": [
                {"name": "order", "value": '{"id": "A-1", "lines": 3}', "scopeKey": str(PIK), "isTruncated": False},
            ],
            "/v2/process-instances/search": self.roots,
        }
        if method == "POST" and path in items:
            return 200, {"items": items[path], "page": {"totalItems": len(items[path])}}
        return 404, {"title": "NOT_FOUND"}


@pytest.fixture
def camunda_api() -> Iterator[tuple[str, CamundaShapedApi]]:
    api = CamundaShapedApi()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = api.answer(method, self.path, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        server.shutdown()
        server.server_close()


def test_the_environment_chooses_the_target() -> None:
    assert external_target({}) is None
    assert external_target({"PROCGOV_TEST_GATEWAY": " "}) is None
    assert external_target({"PROCGOV_TEST_GATEWAY": "localhost:26500", "PROCGOV_TEST_REST_URL": "http://h:8080/"}) == (
        ExternalTarget("localhost:26500", "http://h:8080", None)
    )
    target = external_target({"PROCGOV_TEST_GATEWAY": "127.0.0.1:1", "PROCGOV_TEST_RECORDS_DB": "/d/records.db"})
    assert target == ExternalTarget("127.0.0.1:1", None, Path("/d/records.db"))


def test_a_gateway_rejection_becomes_the_rejection_the_embedded_deploy_raises() -> None:
    """Zeebe's gateway words a rejected command ``Command 'CREATE' rejected with code '<type>': <reason>``."""
    reason = "Expected to deploy new resources, but encountered the following errors:\n'x.bpmn': Element: a: no"
    rejection = as_rejection(
        FakeRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, f"Command 'CREATE' rejected with code 'INVALID_ARGUMENT': {reason}"
        )
    )
    assert isinstance(rejection, Rejection)
    assert (rejection.type, rejection.reason) == (RejectionType.INVALID_ARGUMENT, reason)
    other = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
    assert as_rejection(other) is other


async def test_an_unmarked_embedded_only_call_fails_naming_the_marker() -> None:
    async with ExternalEngine(ExternalTarget("127.0.0.1:1")) as zeebe:
        with pytest.raises(EmbeddedEngineOnlyError, match=r"/v2/clock.*mark the test @pytest.mark.embedded_only"):
            await zeebe.increase_time(timedelta(hours=1))
        with pytest.raises(EmbeddedEngineOnlyError, match="PROCGOV_TEST_REST_URL"):
            zeebe.instance(PIK)
        with pytest.raises(EmbeddedEngineOnlyError, match="PROCGOV_TEST_RECORDS_DB"):
            zeebe.records()
        assert abs(zeebe.clock.now() - datetime.now(UTC)) < timedelta(seconds=5)  # reading the clock is fine


async def test_rest_read_side_waits_through_the_export_lag_and_maps_the_documented_shapes(
    camunda_api: tuple[str, CamundaShapedApi],
) -> None:
    url, api = camunda_api
    async with ExternalEngine(ExternalTarget("127.0.0.1:1", rest_url=url)) as zeebe:
        instance = zeebe.instance(PIK)
        assert instance.snapshot().state == ""  # 404: not in secondary storage yet
        api.exported = True
        incident = await instance.wait_incident("printer offline", timeout_s=5)
        snapshot = instance.snapshot()
        api.roots = []  # nothing left to cancel: there is no gateway behind this address to cancel it on

    assert (incident.key, incident.error_type, incident.element_id, incident.job_key) == (
        21,
        "JOB_NO_RETRIES",
        "work",
        13,
    )
    assert snapshot.state == "ACTIVE"
    assert snapshot.active_elements == ["work"] and snapshot.passed_elements == {"start"}
    assert snapshot.variables == {"order": {"id": "A-1", "lines": 3}}
    searches = {path: body for method, path, body in api.requests if method == "POST"}
    assert searches["/v2/element-instances/search"] == {
        "filter": {"processInstanceKey": str(PIK)},
        "page": {"limit": RestViews.PAGE_LIMIT},
    }
    assert searches["/v2/incidents/search"]["filter"] == {"processInstanceKey": str(PIK), "state": "ACTIVE"}
    assert searches["/v2/variables/search"]["filter"] == {"processInstanceKey": str(PIK), "scopeKey": str(PIK)}
    cleanup = searches["/v2/process-instances/search"]["filter"]
    assert cleanup["state"] == "ACTIVE" and "$gte" in cleanup["startDate"]  # only the instances of this test


def test_rest_read_side_lists_only_root_instances_for_cleanup(camunda_api: tuple[str, CamundaShapedApi]) -> None:
    url, _ = camunda_api
    assert RestViews(url).active_root_instances(datetime.now(UTC)) == [PIK]
