"""Where the demo's notifications go: a real SMTP server (aiosmtpd) and a real HTTP webhook receiver
(aiohttp), both on loopback ports the OS picks, both on the demo's own event loop.

Workers send to them exactly as they send to Mailpit or a chat webhook in production, so the demo
proves the notification path end to end; the summary shows what arrived. (Leading underscore: not a
scenario module.)
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

LOOPBACK = "127.0.0.1"
ACCEPTED_REPLY = {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success", "ok": True}


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    body: str


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    payload: Any  # decoded JSON, or the raw text when the body is not JSON


class _MailHandler:
    """aiosmtpd handler: keep every message, accept it (250)."""

    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        content = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        message = message_from_bytes(content, policy=policy.default)
        body = ""
        if isinstance(message, EmailMessage):
            part = message.get_body(preferencelist=("plain", "html"))
            body = part.get_content() if part is not None else ""
        self._sink.messages.append(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                recipients=tuple(envelope.rcpt_tos),
                subject=str(message.get("Subject", "")),
                body=body,
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class MailSink:
    """An SMTP server on loopback that keeps what it receives."""

    messages: list[ReceivedMail] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def host(self) -> str:
        return LOOPBACK

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        handler = _MailHandler(self)
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="procgov-demo", loop=loop), LOOPBACK, self.port
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@dataclass
class WebhookSink:
    """An HTTP endpoint on loopback taking POSTs on any path; keeps each request and answers 200 with
    the body every supported chat platform reads as success (WeCom/DingTalk ``errcode``, Feishu
    ``code``, Slack ``ok``), so notifiers treat it like the real thing."""

    requests: list[ReceivedWebhook] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, name: str) -> str:
        """The URL a webhook called ``name`` should post to."""
        return f"http://{LOOPBACK}:{self.port}/hooks/{name}"

    async def _receive(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            payload: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = text
        self.requests.append(ReceivedWebhook(path=request.path, headers=dict(request.headers), payload=payload))
        return web.json_response(ACCEPTED_REPLY)

    async def start(self) -> int:
        """Listen on ``port``; if that port is taken, on a free one (``port`` then says which)."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, self.port)
        try:
            await site.start()
        except OSError:
            if self.port == 0:
                raise
            site = web.TCPSite(self._runner, LOOPBACK, 0)
            await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
