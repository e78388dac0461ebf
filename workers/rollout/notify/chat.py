"""Chat incoming webhooks: one payload shape per platform, and their ways of saying "failed".

- WeCom (企业微信群机器人): ``{"msgtype": "markdown", "markdown": {"content": …}}``; replies ``errcode``.
- DingTalk (钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; replies ``errcode``.
- Feishu (飞书自定义机器人): ``{"msg_type": "text", "content": {"text": …}}``; replies ``code``.
- Slack-compatible (Slack, Mattermost, Rocket.Chat …): ``{"text": …}``; replies ``ok`` or JSON ``ok``.

The platforms answer HTTP 200 with an error code in the body when a message is refused; that is
reported as a failure naming the platform's code and message. HTTP 5xx, 429 and connection errors
are transient (the runtime retries with back-off); other 4xx are not.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from workers.runtime.errors import TransientError


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


class ChatRefused(RuntimeError):
    """The platform answered but refused the message (bad key, bad payload): retrying will not help."""


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


async def post_chat(session: aiohttp.ClientSession, kind: str, url: str, payload: dict[str, Any],
                    *, timeout_s: float = 10.0) -> None:
    """POST one message; raises :class:`TransientError` (retry) or :class:`ChatRefused` (incident)."""
    where = f"{kind} webhook {url}"
    try:
        async with session.post(url, json=payload, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            body = await response.text()
            if response.status >= 500 or response.status == 429:
                raise TransientError(f"{where} answered HTTP {response.status}: {body[:200]}")
            if response.status >= 400:
                raise ChatRefused(f"{where} refused the message: HTTP {response.status}: {body[:200]}")
            refusal = _refusal(kind, response.status, body)
            if refusal:
                raise ChatRefused(f"{where} refused the message: {refusal}")
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        raise TransientError(f"{where} unreachable: {exc.__class__.__name__}: {exc}") from exc
