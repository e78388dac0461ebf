"""Chat incoming webhooks: one payload shape per platform, and their ways of saying "failed".

- WeCom (企业微信群机器人): ``{"msgtype": "markdown", "markdown": {"content": …}}``; replies ``errcode``.
- DingTalk (钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; replies ``errcode``.
- Feishu (飞书自定义机器人): ``{"msg_type": "text", "content": {"text": …}}``; replies ``code``.
- Slack-compatible (Slack, Mattermost, Rocket.Chat …): ``{"text": …}``; replies ``ok`` or JSON ``ok``.

The platforms answer HTTP 200 with an error code in the body when a message is refused; that is
reported as a failure naming the platform's code and message. A failed connection, HTTP 5xx, 408
(request timeout) and 429 (rate limited) are transient (the runtime retries with back-off); a timeout or
dropped connection after the request went out is :class:`MaybeDoneError`: the message may have been
delivered, so it is repeated only where the receiver recognises a repeat (see the notifier); any
other 4xx, or a refusal in the body, is permanent (:class:`ChatRefused`, an incident at once): a wrong
URL or key does not fix itself.

A webhook secret from the deployment settings signs the message the way the platform checks it:
DingTalk ``timestamp``/``sign`` query parameters, Feishu ``timestamp``/``sign`` body fields; WeCom and
Slack-compatible webhooks carry their key in the URL, so they get an ``X-Procgov-Signature`` header
(HMAC-SHA256 of the body) a receiving proxy may check.

Every message carries an ``Idempotency-Key`` header (IETF draft "The Idempotency-Key HTTP Header
Field") derived from the notification's idempotency key: a repeat after a worker crash carries the same
key, so a receiver that honours it (a relay, a proxy) drops the repeat. The public chat platforms do not
honour it; for them an unfinished earlier attempt is an "uncertain" outcome, not a silent repeat (see
:mod:`workers.rollout.notify.notifier`).

The webhook URL itself is a credential (Slack's ``/services/T…/B…/<token>``, Feishu's
``/hook/<token>``, WeCom's ``key=``, DingTalk's ``access_token=``): messages name it only through
:func:`workers.runtime.redact.redact_url`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import aiohttp
from yarl import URL

from workers.runtime.errors import MaybeDoneError, PermanentError, TransientError
from workers.runtime.redact import redact_text, redact_url

#: HTTP statuses below 500 that mean "try again later" rather than "this request is wrong".
TRANSIENT_4XX = frozenset({408, 429})
BODY_EXCERPT_CHARS = 200


def chat_payload(kind: str, title: str, text: str) -> dict[str, Any]:
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{text}"}}
    if kind == "feishu":
        return {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
    if kind == "slack":
        return {"text": f"*{title}*\n{text}"}
    raise ValueError(f"unknown chat kind {kind!r} (wecom, dingtalk, feishu, slack)")


class ChatRefused(PermanentError):
    """The platform answered but refused the message (bad key, bad payload): retrying will not help."""


def sign(kind: str, url: str, payload: dict[str, Any], secret: str,
         *, now_ms: int | None = None) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The URL, payload and extra headers of a message signed with ``secret`` for platform ``kind``."""
    timestamp_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if kind == "dingtalk":  # DingTalk robot "加签": HMAC-SHA256(secret, "<ms>\n<secret>"), base64, in the query
        digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
        signed = URL(url).update_query(timestamp=str(timestamp_ms), sign=base64.b64encode(digest).decode())
        return str(signed), payload, {}
    if kind == "feishu":  # Feishu robot "签名校验": HMAC-SHA256 keyed "<s>\n<secret>" of b"", in the body
        seconds = timestamp_ms // 1000
        digest = hmac.new(f"{seconds}\n{secret}".encode(), b"", hashlib.sha256).digest()
        return url, {"timestamp": str(seconds), "sign": base64.b64encode(digest).decode(), **payload}, {}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return url, payload, {"X-Procgov-Signature": f"sha256={signature}"}


def _excerpt(body: str) -> str:
    text = redact_text(" ".join(body.split()))
    return text if len(text) <= BODY_EXCERPT_CHARS else text[: BODY_EXCERPT_CHARS - 1] + "…"


def _refusal(kind: str, status: int, body: str) -> str | None:
    """The platform's own error, if the reply carries one."""
    try:
        reply = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError:
        reply = {}
    if not isinstance(reply, dict):
        return None
    if kind in ("wecom", "dingtalk") and reply.get("errcode", 0) != 0:
        return f"errcode {reply.get('errcode')}: {reply.get('errmsg', '')}"
    if kind == "feishu" and reply.get("code", reply.get("StatusCode", 0)) != 0:
        return f"code {reply.get('code', reply.get('StatusCode'))}: {reply.get('msg', reply.get('StatusMessage', ''))}"
    if kind == "slack" and reply.get("ok") is False:
        return f"error: {reply.get('error', '')}"
    return None


def _where(kind: str, url: str) -> str:
    """The webhook as an operator recognises it (scheme, host, port, the path's plain words), without
    its credentials: the path token, the query's key/access_token."""
    return f"{kind} webhook {redact_url(url)}"


#: Namespace of the ``Idempotency-Key`` values (a UUID v5 of the notification's idempotency key).
IDEMPOTENCY_NAMESPACE = uuid.UUID("9d3c1f3e-5b4a-4c1e-9a57-70726f63676f")


def idempotency_key_header(key: str) -> str:
    """The ``Idempotency-Key`` header value for the notification ``key``: the same on every attempt."""
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, key))


async def post_chat(session: aiohttp.ClientSession, kind: str, url: str, payload: dict[str, Any],
                    *, timeout_s: float = 10.0, secret: str | None = None, idempotency_key: str | None = None) -> None:
    """POST one message; raises :class:`TransientError` (retry) or :class:`ChatRefused` (incident).

    ``idempotency_key``: the value of the ``Idempotency-Key`` header (:func:`idempotency_key_header`)."""
    where = _where(kind, url)
    headers: dict[str, str] = {}
    if secret:
        url, payload, headers = sign(kind, url, payload, secret)
    if idempotency_key:
        headers = {**headers, "Idempotency-Key": idempotency_key}
    try:
        async with session.post(url, json=payload, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            body = await response.text()
            status = response.status
            if status >= 500 or status in TRANSIENT_4XX:
                raise TransientError(f"{where} answered HTTP {status} {response.reason or ''}: {_excerpt(body)}")
            if status >= 400:
                raise ChatRefused(f"{where} refused the message with HTTP {status} {response.reason or ''} "
                                  f"(a client error: check the webhook URL/key; retrying will not help): "
                                  f"{_excerpt(body)}")
            refusal = _refusal(kind, response.status, body)
            if refusal:
                raise ChatRefused(f"{where} refused the message: {refusal}")
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:  # no connection: nothing sent
        raise TransientError(f"{where} unreachable: {exc.__class__.__name__}: {redact_text(str(exc))}") from exc
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
        # the request may have reached the platform: whether the message went out is unknown
        raise MaybeDoneError(f"{where} did not answer: {exc.__class__.__name__}: "
                             f"{redact_text(str(exc)) or 'timed out'}") from exc
