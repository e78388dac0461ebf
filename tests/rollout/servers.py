"""Real servers the rollout tests talk to: an SMTP server (aiosmtpd) and a chat webhook endpoint (aiohttp).

Nothing is mocked: the workers open real connections; the tests read what actually arrived.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from workers.rollout.notify.notifier import WebhookEndpoint

DATA = Path(__file__).resolve().parents[2] / "data" / "rollout"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class MailSink:
    """Collects every message the SMTP server accepts."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # address → the SMTP reply refusing it at RCPT

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # aiosmtpd hook
                          rcpt_options: list[str]) -> str:
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler hook
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class SmtpServer:
    """aiosmtpd on a fixed free port, so it can be stopped and started again (a mail server outage)."""

    def __init__(self) -> None:
        self.sink = MailSink(port=free_port())
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.sink.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Post:
    path: str
    body: dict[str, Any]
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class WebhookSink:
    """An HTTP endpoint for every chat platform; ``replies`` scripts failures per path."""

    base_url: str = ""
    posts: list[Post] = field(default_factory=list)
    replies: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        scripted = self.replies.get(request.path)
        status, reply = scripted.pop(0) if scripted else (200, {"errcode": 0, "errmsg": "ok", "code": 0})
        if status == 200 and reply.get("errcode", 0) == 0 and reply.get("code", 0) == 0:
            self.posts.append(Post(request.path, await request.json(), dict(request.query), dict(request.headers)))
        return web.json_response(reply, status=status)

    def to(self, path: str) -> list[dict[str, Any]]:
        return [p.body for p in self.posts if p.path == path]


@asynccontextmanager
async def webhook_server() -> AsyncIterator[WebhookSink]:
    sink = WebhookSink()
    app = web.Application()
    app.router.add_post("/{tail:.*}", sink.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    sink.base_url = f"http://127.0.0.1:{port}"
    try:
        yield sink
    finally:
        await runner.cleanup()


#: The sample directory's chat channels and the path each posts to on the test's webhook endpoint.
CHANNEL_PATHS = {
    "order-rollout-wecom": "/wecom/order-rollout",
    "sales-dingtalk": "/dingtalk/sales",
    "warehouse-feishu": "/feishu/warehouse",
    "pmo-slack": "/slack/pmo",
}


def webhooks_for(sink: WebhookSink, secrets: dict[str, str] | None = None) -> dict[str, WebhookEndpoint]:
    """Deployment webhook settings pointing the sample directory's channels at ``sink``."""
    return {name: WebhookEndpoint(url=sink.base_url + path, secret=(secrets or {}).get(name))
            for name, path in CHANNEL_PATHS.items()}


def chat_text(body: dict[str, Any]) -> str:
    """The text of a chat message in any of the four formats."""
    return json.dumps(body, ensure_ascii=False)
