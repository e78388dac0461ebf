"""Notices to the people 100104 holds responsible (overdue reminders, fines, returned forms), by e-mail.

Each notice is sent once per job and recipient through the runtime's idempotency store, so a retried
or re-delivered job never mails anyone twice. A server that is down or answers 4xx is a
:class:`TransientError` (retry with back-off); a 5xx refusal needs a person and becomes an incident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

import aiosmtplib
import structlog

from workers.runtime.errors import TransientError
from workers.slm.directory import Directory

log = structlog.get_logger("workers.slm.mail")


class OnceStore(Protocol):
    async def run_once(self, key: str, action: Callable[[], Awaitable[Any]] | Callable[[], Any]) -> Any: ...


@dataclass(frozen=True)
class SmtpTarget:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "procgov@localhost"
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    timeout_s: float = 30.0


class MailRefused(RuntimeError):
    """The SMTP server refused the message for good (5xx)."""


@dataclass
class Mailer:
    smtp: SmtpTarget
    once: OnceStore
    directory: Directory

    async def notify(self, key: str, person_ids: list[str], subject: str, body: str) -> list[str]:
        """Mail ``person_ids`` (directory ids); returns the ids that have no address (reported, not dropped)."""
        unreachable: list[str] = []
        for person_id in dict.fromkeys(person_ids):
            person = self.directory.person(person_id)
            if person is None:
                log.warning("no e-mail address in the directory: not notified", person=person_id, notice=key)
                unreachable.append(person_id)
                continue
            message = EmailMessage()
            message["From"] = formataddr(("企划部 Planning Office", self.smtp.sender))
            message["To"] = formataddr((person.name, person.email))
            message["Subject"] = subject
            message["Message-ID"] = make_msgid(domain=self.smtp.sender.rpartition("@")[2] or None)
            message["X-Procgov-Notification"] = f"{key}:{person_id}"
            message.set_content(body, charset="utf-8")
            await self.once.run_once(f"{key}:{person_id}", lambda m=message: self._send(m))
        return unreachable

    async def _send(self, message: EmailMessage) -> bool:
        where = f"SMTP server {self.smtp.host}:{self.smtp.port}"
        try:
            await aiosmtplib.send(message, hostname=self.smtp.host, port=self.smtp.port, username=self.smtp.username,
                                  password=self.smtp.password, start_tls=self.smtp.start_tls,
                                  timeout=self.smtp.timeout_s)
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise TransientError(f"{where} answered {exc.code} {exc.message}") from exc
            raise MailRefused(f"{where} answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"{where} unreachable: {type(exc).__name__}: {exc}") from exc
        return True
