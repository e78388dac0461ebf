"""E-mail over SMTP (aiosmtplib): connection problems, timeouts and 4xx replies are transient (RFC 5321
§4.2.1: "transient negative completion"); 5xx replies are permanent (:class:`MailRefused`, an incident
at once), e.g. a recipient the server does not know (550). A message refused for some recipients only
(``SMTPRecipientsRefused`` lists each) is classified by the worst reply: any 5xx makes it permanent.

The Message-ID is derived from the notification's idempotency key (:func:`message_id`), not random: a
message repeated after a worker crash (sent, but the worker died before recording it) carries the same
Message-ID, by which mail servers and clients recognise one message (RFC 5322 §3.6.4: a Message-ID
names exactly one message), and the idempotency store records it before sending."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

import aiosmtplib

from workers.runtime.errors import PermanentError, TransientError


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "procgov@example.com"
    sender_name: str = "流程管理部 Process Office"
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    use_tls: bool = False
    timeout_s: float = 10.0

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"


class MailRefused(PermanentError):
    """The server refused the message for good (5xx, e.g. unknown mailbox): needs a person to fix."""


def message_id(key: str, domain: str) -> str:
    """``<procgov.<sha256 of key, 32 hex>@domain>``: the same on every attempt of one notification."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<procgov.{digest}@{domain or 'localhost'}>"


def build_message(smtp: SmtpSettings, to_name: str, to_address: str, subject: str, body: str,
                  key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((smtp.sender_name, smtp.sender))
    message["To"] = formataddr((to_name, to_address))
    message["Subject"] = subject
    message["Message-ID"] = message_id(key, smtp.sender.rpartition("@")[2])
    message["X-Procgov-Notification"] = key  # the idempotency key: lets a reader spot a duplicate
    message.set_content(body, charset="utf-8")
    return message


async def send_mail(smtp: SmtpSettings, message: EmailMessage) -> None:
    try:
        await aiosmtplib.send(message, hostname=smtp.host, port=smtp.port, username=smtp.username,
                              password=smtp.password, start_tls=smtp.start_tls, use_tls=smtp.use_tls,
                              timeout=smtp.timeout_s)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        replies = "; ".join(f"{r.recipient} refused with {r.code} {r.message}" for r in exc.recipients)
        text = f"{smtp.where}: {replies}"
        if any(r.code >= 500 for r in exc.recipients):
            raise MailRefused(f"{text} (permanent: fix the address in the organisation directory)") from exc
        raise TransientError(text) from exc
    except aiosmtplib.SMTPResponseException as exc:
        text = f"{smtp.where} answered {exc.code} {exc.message}"
        if 400 <= exc.code < 500:
            raise TransientError(text) from exc
        raise MailRefused(f"{text} (permanent: retrying will not help)") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientError(f"{smtp.where} unreachable: {exc.__class__.__name__}: {exc}") from exc
