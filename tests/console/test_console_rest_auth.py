"""The console authenticates to the REST API as the workers and ``procgov tasks`` do
(``PROCGOV_TRANSPORT``): basic sends the workers' ``Authorization: Basic`` header; oauth fetches a
client-credentials token (RFC 6749 §4.4) once and reuses it. A real HTTP server plays the API and the
authorization server."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from procgov.console.rest import ClusterApi, RestError
from procgov.tasklist import rest_auth
from workers.runtime.settings import BasicAuthSettings, OAuthSettings, WorkerSettings

INSTANCE = {"processInstanceKey": "1", "state": "ACTIVE"}


class _Fake:
    def __init__(self) -> None:
        self.token_requests: list[dict[str, list[str]]] = []
        self.authorizations: list[str] = []
        self.valid = {"Basic " + base64.b64encode(b"procgov:s3cret").decode(), "Bearer token-1"}


@pytest.fixture
def fake() -> Iterator[tuple[_Fake, str]]:
    state = _Fake()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            state.token_requests.append(form)
            if form.get("client_secret") != ["client-s3cret"]:
                self._send(401, {"error": "invalid_client"})
                return
            self._send(200, {"access_token": f"token-{len(state.token_requests)}", "expires_in": 3600})

        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization", "")
            state.authorizations.append(authorization)
            if authorization not in state.valid:
                self._send(401, {"title": "UNAUTHORIZED", "detail": "no valid credentials"})
                return
            self._send(200, INSTANCE)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_basic_sends_the_workers_header(fake: tuple[_Fake, str]) -> None:
    state, url = fake
    basic = BasicAuthSettings(username="procgov", password=SecretStr("s3cret"))
    settings = WorkerSettings(transport="basic", basic=basic)
    api = ClusterApi(url, rest_auth(settings))
    try:
        assert await api.process_instance("1") == INSTANCE
    finally:
        await api.aclose()
    assert state.authorizations == [settings.basic.authorization()]


async def test_oauth_fetches_one_token_and_reuses_it(fake: tuple[_Fake, str]) -> None:
    state, url = fake
    oauth = OAuthSettings(client_id="console", client_secret=SecretStr("client-s3cret"),
                          authorization_server_url=f"{url}/oauth/token", audience="orchestration-api")
    api = ClusterApi(url, rest_auth(WorkerSettings(transport="oauth", oauth=oauth)))
    try:
        assert await api.process_instance("1") == INSTANCE
        assert await api.user_task("1") == INSTANCE  # user tasks go through procgov.tasklist on the same client
    finally:
        await api.aclose()
    assert state.token_requests == [{"grant_type": ["client_credentials"], "client_id": ["console"],
                                     "client_secret": ["client-s3cret"], "audience": ["orchestration-api"]}]
    assert state.authorizations == ["Bearer token-1", "Bearer token-1"]


async def test_a_refused_token_request_is_one_line_without_the_secret(fake: tuple[_Fake, str]) -> None:
    _, url = fake
    oauth = OAuthSettings(client_id="console", client_secret=SecretStr("wrong-secret"),
                          authorization_server_url=f"{url}/oauth/token")
    api = ClusterApi(url, rest_auth(WorkerSettings(transport="oauth", oauth=oauth)))
    try:
        with pytest.raises(RestError, match="refused the client credentials") as error:
            await api.process_instance("1")
    finally:
        await api.aclose()
    assert "wrong-secret" not in str(error.value)


async def test_an_unreachable_api_is_one_line_with_its_address() -> None:
    api = ClusterApi("http://127.0.0.1:9", None)  # nothing listens on the discard port
    try:
        with pytest.raises(RestError, match=r"REST API http://127\.0\.0\.1:9 unreachable") as error:
            await api.process_instance("1")
    finally:
        await api.aclose()
    assert error.value.status == 502
