"""The demo's notification sinks are real servers: SMTP (aiosmtpd) and HTTP (aiohttp) on loopback."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import aiohttp
import aiosmtplib

from procgov.demo._sinks import ACCEPTED_REPLY, MailSink, WebhookSink


async def test_mail_sink_keeps_what_an_smtp_client_sends() -> None:
    sink = MailSink()
    port = await sink.start()
    try:
        message = EmailMessage()
        message["From"] = "procgov@example.com"
        message["To"] = "owner@example.com"
        message["Subject"] = "流程owner任命 / owner appointed"
        message.set_content("请牵头推行新流程。")
        await aiosmtplib.send(message, hostname=sink.host, port=port)
    finally:
        await sink.stop()
    [mail] = sink.messages
    assert mail.recipients == ("owner@example.com",)
    assert mail.subject == "流程owner任命 / owner appointed"
    assert mail.body.strip() == "请牵头推行新流程。"


async def test_webhook_sink_answers_like_a_chat_platform_and_keeps_the_post() -> None:
    sink = WebhookSink()
    await sink.start()
    try:
        async with aiohttp.ClientSession() as session, session.post(sink.url("pmo"), json={"text": "hi"}) as reply:
            assert reply.status == 200
            assert await reply.json() == ACCEPTED_REPLY
    finally:
        await sink.stop()
    [request] = sink.requests
    assert (request.path, request.payload) == ("/hooks/pmo", {"text": "hi"})


async def test_webhook_sink_moves_to_a_free_port_when_its_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        sink = WebhookSink(port=busy_port)
        await sink.start()
        try:
            assert sink.port not in (0, busy_port)
        finally:
            await sink.stop()
