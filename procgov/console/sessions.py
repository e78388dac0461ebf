"""Signed session cookies: who is logged in, until when, and the session's CSRF token.

The cookie is ``BASE64(JSON).BASE64(HMAC-SHA256)`` under the console's session secret: a server keeps no
session table, so replicas behind one secret share logins, and a restart with a random secret ends them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "procgov_console"


@dataclass(frozen=True)
class Session:
    user: str
    expires: float  # Unix time
    csrf: str  # sent back by every state-changing request (header X-Console-CSRF)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: bytes, lifetime_s: float) -> None:
        self._secret, self.lifetime_s = secret, lifetime_s

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def new(self, user: str) -> Session:
        return Session(user=user, expires=time.time() + self.lifetime_s, csrf=secrets.token_urlsafe(24))

    def dump(self, session: Session) -> str:
        payload = _b64(json.dumps({"u": session.user, "e": session.expires, "c": session.csrf}).encode())
        return f"{payload}.{self._mac(payload)}"

    def load(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, or None if it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(user=str(data["u"]), expires=float(data["e"]), csrf=str(data["c"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None
