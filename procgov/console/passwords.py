"""Password hashes for the console's users: scrypt (RFC 7914) from the standard library.

A hash is ``scrypt$N$r$p$SALT$KEY`` (salt and key in unpadded URL-safe base64), so the cost travels with
it and can be raised later without invalidating the hashes already configured. ``procgov console
hash-password`` prints one for ``PROCGOV_CONSOLE_USERS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # OWASP's minimum for scrypt (cost 2^14, block size 8, parallelism 1): ~30 ms
KEY_BYTES = 32


class PasswordHashError(ValueError):
    """A configured hash is not in the ``scrypt$N$r$p$SALT$KEY`` format."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted hash of ``password``."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=2**26)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def check_hash(encoded: str) -> str:
    """``encoded`` unchanged if it is a well-formed hash; otherwise :class:`PasswordHashError` saying why."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PasswordHashError("expected scrypt$N$r$p$SALT$KEY (make one with `procgov console hash-password`)")
    if not all(part.isdigit() for part in parts[1:4]):
        raise PasswordHashError("scrypt cost parameters N, r and p must be whole numbers")
    n = int(parts[1])
    if n < 2 or n & (n - 1):
        raise PasswordHashError(f"scrypt N must be a power of two above 1, got {n}")
    try:
        _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise PasswordHashError("salt and key must be URL-safe base64") from None
    return encoded


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (compared in constant time)."""
    check_hash(encoded)
    _, n, r, p, salt, key = encoded.split("$")
    expected = _unb64(key)
    actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                            dklen=len(expected), maxmem=2**26)
    return hmac.compare_digest(actual, expected)
