"""The ``rollout.notify`` handler: render a template per recipient and deliver it by mail and chat.

Which template is the task header ``template`` in the model (e.g. ``announcement``); recipients are
person ids resolved in the organisation directory (e-mail address, chat channel, language). Each
delivery runs once per (process instance, element instance, recipient, channel) through the
idempotency store, so a job delivered twice, or retried after one server failed, never notifies anyone
twice (the element *instance* is in the key so that a retake invitation in a loop is a new message).
Every delivery is attempted; if any was refused for good (a 4xx webhook answer, a 5xx SMTP reply, a
recipient or channel the configuration lacks) the job raises :class:`PermanentError` (an incident at
once) naming each server and reason; if any failed transiently it fails with back-off, and the retry
sends only what is missing; if the only hold-up is a delivery another live activation is still making,
the job comes back later without spending a retry (:class:`RetryLaterError`).

After a worker crash a delivery may have gone out without being recorded. The idempotency claim is
tied to the job's activation, so the next activation takes it over at once and repeats the delivery
under the same identity: mail with the same Message-ID (recorded in the store before sending), chat
with the same ``Idempotency-Key`` header. A chat endpoint that does not honour that header (the public
platforms; ``WebhookEndpoint.deduplicates`` says whether it does) cannot recognise the repeat, so the
delivery is reported as *uncertain* in the incident instead of being sent twice.

Chat webhook endpoints are deployment settings: ``PROCGOV_WEBHOOKS__<CHANNEL>__URL`` / ``__SECRET``
(the runtime's ``WorkerSettings.webhooks``) win over a ``url`` in the organisation directory, which
names channels by key and their platform; matching ignores case and treats ``-`` and ``_`` alike, since
environment variable names cannot carry ``-``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp
from pydantic import Field

from workers.rollout._data import CamelModel
from workers.rollout.notify.chat import chat_payload, idempotency_key_header, post_chat
from workers.rollout.notify.mail import SmtpSettings, build_message, send_mail
from workers.rollout.notify.templates import Templates
from workers.rollout.org_directory import OrgDirectory, Person
from workers.runtime.context import JobContext
from workers.runtime.errors import PermanentError, RetryLaterError, TransientError


class OnceStore(Protocol):
    async def run_once(self, key: str, action: Callable[[], Awaitable[Any]] | Callable[[], Any], *,
                       job: JobContext | None = None, effect_ref: str | None = None,
                       redo_safe: bool = False) -> Any: ...


class NotifyRequest(CamelModel):
    recipients: list[str] = Field(min_length=1, description="person ids from the organisation directory")
    process_name: str = Field(min_length=1)
    process_id: str = ""
    owner: dict[str, Any] | None = None
    notification_data: dict[str, Any] = Field(default_factory=dict)


class Delivery(CamelModel):
    recipient: str
    channel: str
    status: Literal["sent", "already-sent", "no-address"]


class NotificationReceipt(CamelModel):
    template: str
    deliveries: list[Delivery]


class NotifyResult(CamelModel):
    notification_receipt: NotificationReceipt


class NotificationFailed(PermanentError):
    """A delivery failed for good (refused address or key): an incident naming the server and reason."""


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where a chat channel's messages go, from the deployment settings; ``secret`` signs them;
    ``deduplicates``: the receiver drops a repeat carrying the same ``Idempotency-Key`` header."""

    url: str
    secret: str | None = None
    deduplicates: bool = False


def channel_key(name: str) -> str:
    """``order-rollout-wecom`` and ``ORDER_ROLLOUT_WECOM`` (an env variable's spelling) are one channel."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


class Notifier:
    def __init__(self, directory: OrgDirectory, templates: Templates, smtp: SmtpSettings, store: OnceStore,
                 *, webhooks: Mapping[str, WebhookEndpoint] | None = None, http_timeout_s: float = 10.0) -> None:
        self.directory = directory
        self.webhooks = {channel_key(name): endpoint for name, endpoint in (webhooks or {}).items()}
        self.templates = templates
        self.smtp = smtp
        self.store = store
        self.http_timeout_s = http_timeout_s

    def _people(self, ids: list[str]) -> list[Person]:
        unknown = [pid for pid in ids if self.directory.find(pid) is None]
        if unknown:
            raise NotificationFailed(f"recipients not in the organisation directory: {', '.join(unknown)}")
        return [self.directory.get(pid) for pid in dict.fromkeys(ids)]

    def _context(self, request: NotifyRequest, person: Person) -> dict[str, Any]:
        context: dict[str, Any] = {
            "processName": request.process_name,
            "processId": request.process_id,
            "recipient": person.model_dump(),
            "data": request.notification_data,
        }
        if request.owner is not None:
            context["owner"] = request.owner
        employee = request.notification_data.get("employee")
        if isinstance(employee, str) and self.directory.find(employee) is not None:
            context["employee"] = self.directory.get(employee).model_dump()
        return context

    async def notify(self, request: NotifyRequest, job: JobContext) -> NotifyResult:
        template = job.custom_headers.get("template", "")
        if template not in self.templates.names:
            raise NotificationFailed(f"task {job.element_id!r}: header 'template' is {template!r}; known templates: "
                                     f"{', '.join(sorted(self.templates.names))}")
        people = self._people(request.recipients)
        deliveries: list[Delivery] = []
        transient: list[str] = []
        permanent: list[str] = []
        waiting: list[tuple[str, int]] = []  # deliveries another live activation holds, and for how long
        async with aiohttp.ClientSession() as session:
            for person in people:
                message = self.templates.render(template, person.language, self._context(request, person))
                base = f"rollout.notify:{job.process_instance_key}:{job.element_instance_key}:{person.id}"
                sends: list[_Send] = []
                if person.email:
                    email = build_message(self.smtp, person.name, person.email, message.subject, message.body,
                                          f"{base}:email")
                    sends.append(_Send("email", lambda email=email: send_mail(self.smtp, email),  # type: ignore[misc]
                                       f"Message-ID {email['Message-ID']}", redo_safe=True))
                if person.chat:
                    kind, endpoint = self._channel(person.chat)
                    payload = chat_payload(kind, message.subject, f"@{person.name}\n{message.body}")
                    header = idempotency_key_header(f"{base}:chat:{person.chat}")
                    sends.append(_Send(
                        f"chat:{person.chat}",
                        lambda kind=kind, endpoint=endpoint, payload=payload, header=header: post_chat(  # type: ignore[misc]
                            session, kind, endpoint.url, payload, timeout_s=self.http_timeout_s,
                            secret=endpoint.secret, idempotency_key=header),
                        f"Idempotency-Key {header}", redo_safe=endpoint.deduplicates))
                if not sends:
                    deliveries.append(Delivery(recipient=person.id, channel="-", status="no-address"))
                for send in sends:
                    channel_name = send.channel
                    try:
                        status = await self._once(f"{base}:{channel_name}", send, job)
                    except RetryLaterError as exc:
                        waiting.append((f"{person.id} via {channel_name}: {exc}", exc.retry_after_ms))
                        continue
                    except TransientError as exc:
                        transient.append(f"{person.id} via {channel_name}: {exc}")
                        continue
                    except PermanentError as exc:  # refused for good: collected, reported together below
                        permanent.append(f"{person.id} via {channel_name}: {exc}")
                        continue
                    deliveries.append(Delivery(recipient=person.id, channel=channel_name, status=status))
        if permanent:
            raise NotificationFailed(f"{template!r} not delivered: " + "; ".join(permanent + transient))
        if transient:
            raise TransientError(f"{template!r} not yet delivered: " + "; ".join(transient))
        if waiting:
            raise RetryLaterError(f"{template!r} not yet delivered: " + "; ".join(text for text, _ in waiting),
                                  retry_after_ms=max(ms for _, ms in waiting))
        return NotifyResult(notification_receipt=NotificationReceipt(template=template, deliveries=deliveries))

    def _channel(self, name: str) -> tuple[str, WebhookEndpoint]:
        """The chat channel's kind and endpoint: the deployment's webhook settings win; the directory's
        ``url`` is only a fallback (a sample or a test)."""
        channel = self.directory.channels[name]
        endpoint = self.webhooks.get(channel_key(name))
        if endpoint is None and channel.url is not None:
            endpoint = WebhookEndpoint(url=str(channel.url))
        if endpoint is None:
            raise NotificationFailed(f"chat channel {name!r} has no webhook URL: set "
                                     f"PROCGOV_WEBHOOKS__{channel_key(name).upper()}__URL (and __SECRET if the "
                                     f"robot signs) in the deployment settings")
        return channel.kind, endpoint

    async def _once(self, key: str, send: _Send, job: JobContext) -> Literal["sent", "already-sent"]:
        ran = False

        async def action() -> str:
            nonlocal ran
            await send.run()
            ran = True
            return "sent"

        await self.store.run_once(key, action, job=job, effect_ref=send.effect_ref, redo_safe=send.redo_safe)
        return "sent" if ran else "already-sent"


@dataclass(frozen=True)
class _Send:
    """One delivery: its channel name, the call, its identity on the channel and whether the channel
    recognises a repeat by that identity."""

    channel: str
    run: Callable[[], Awaitable[None]]
    effect_ref: str
    redo_safe: bool
