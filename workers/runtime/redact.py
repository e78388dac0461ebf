"""Structural redaction: secrets recognised by their *shape*, not only by a configured value.

Text bound for a log line, an incident message or a record passes :func:`redact_text`, which masks

- URLs: user:password, every query value (WeCom ``key=``, DingTalk ``access_token=``, ``sign=`` …),
  and the path after a webhook provider's token marker (Slack ``/services/T…/B…/token``, Feishu
  ``/hook/<token>``, Discord ``/api/webhooks/<id>/<token>``, a ``/bot<token>`` …) or any path segment
  that looks like a token (long, mixing letters and digits; a UUID);
- ``Authorization`` credentials: ``Bearer …``, ``Basic <base64 of id:secret>``, ``token …``;
- ``name=value`` and ``"name": "value"`` pairs whose name is a credential (``client_secret``,
  ``password``, ``access_token``, ``refresh_token``, ``id_token``, ``client_assertion``, ``secret``,
  ``api_key`` …), as in form-encoded OAuth bodies, JSON token responses and dict reprs;
- JSON Web Tokens (``eyJ….….…``);
- the target of an HTTP request line in an access log (``POST /services/T…/B…/token HTTP/1.1``), as
  URLs.

Enough stays for an operator to know *which* server (scheme, host, port, the path's plain words).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "**********"

#: Path segments after which a webhook URL's remaining path is a credential.
TOKEN_MARKERS = frozenset({"services", "hook", "hooks", "webhook", "webhooks", "robot", "token", "key"})
_CREDENTIAL_NAMES = (
    r"client_secret|clientsecret|password|passwd|pwd|access_token|refresh_token|id_token|client_assertion"
    r"|assertion|secret|api_key|apikey|x-api-key|private_key|token|auth_token|session_token|signature|sign"
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()\[\]{}|\\^`]+")
_AUTH = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_PAIR = re.compile(
    rf"(?i)([\"']?\b(?:{_CREDENTIAL_NAMES})\b[\"']?\s*(?:=|:)\s*)(b?[\"']?)([^\"'&\s,;}}\]]+)"
)
_REQUEST_LINE = re.compile(r"\b((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) )(/[^\s\"']*)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _tokenish(segment: str) -> bool:
    """A path segment that is a credential rather than a word: a UUID, a ``bot<token>``, or long and
    mixing letters with digits."""
    if _UUID.match(segment) or (segment.lower().startswith("bot") and len(segment) > 12):
        return True
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    wordy = segment == segment.lower() and "_" in segment  # snake_case names (a test's tmp dir) are words
    return len(segment) >= 20 and has_digit and has_alpha and not wordy


def redact_url(url: str) -> str:
    """``url`` with its credentials masked (see the module docstring); unparseable text is masked whole."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    if not parts.netloc:  # a file path (sqlite:////var/x.db) carries no credentials of its own
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc}"
    path, query = _redact_path(parts.path), _redact_query(parts.query)
    return urlunsplit((parts.scheme, netloc, path, query, MASK if parts.fragment else ""))


def _redact_path(path: str) -> str:
    masked: list[str] = []
    after_marker = False
    for segment in path.split("/"):
        if not segment:
            masked.append(segment)
        elif after_marker or _tokenish(segment):
            if not masked or masked[-1] != MASK:
                masked.append(MASK)
        else:
            masked.append(segment)
            after_marker = segment.lower() in TOKEN_MARKERS
    return "/".join(masked)


def _redact_query(query: str) -> str:
    return "&".join(f"{pair.partition('=')[0]}={MASK}" if "=" in pair else MASK for pair in query.split("&") if pair)


def _redact_target(match: re.Match[str]) -> str:
    """An HTTP request line's target (``POST /services/T/B/token?x=1 HTTP/1.1`` in an access log)."""
    path, _, query = match.group(2).partition("?")
    return f"{match.group(1)}{_redact_path(path)}{'?' + _redact_query(query) if query else ''}"


def _credential(value: str) -> bool:
    """What follows ``Bearer``/``Basic`` is a credential, not a word ("Basic authentication"): it has a
    digit, a base64/JWT punctuation mark, or capitals after its first letter."""
    return value != MASK and (any(c.isdigit() or c in "=+/._-" for c in value) or value[1:] != value[1:].lower())


def redact_text(text: str) -> str:
    """``text`` with every credential-shaped part masked."""
    if not text:
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _REQUEST_LINE.sub(_redact_target, text)
    text = _JWT.sub(MASK, text)
    text = _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}" if _credential(m.group(3)) else m.group(0), text)
    return _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
