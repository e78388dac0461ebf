"""The report store: where audit records and SLA reports are kept, shared by every worker replica.

``PROCGOV_REPORTS_URL`` names it: a directory (a path or ``file:///path``) on a volume every replica
mounts (docker-compose: the named volume ``reports``; Kubernetes: the ``procgov-reports``
PersistentVolumeClaim, ReadWriteMany). Unset, each group keeps its own directory as before
(``PROCGOV_AUDIT_ARCHIVE_DIR``, ``PROCGOV_SLM_REPORT_DIR``). S3-compatible object storage is not
implemented: an ``s3://`` URL is refused with a message saying so (see the README).

Reports are named by a relative key (``audit/procgov-rollout/2251799813685615.html``); a key is a
plain relative path, never absolute and never with ``..``, so no report can be written outside the
store. Writes are atomic (temporary file + rename in the same directory): a retried job, or two
replicas filing the same report, replace a complete file with a complete file, and a reader never
sees half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import unquote, urlparse

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REPORTS_URL = "var/reports"


class ReportStoreSettings(BaseSettings):
    """``PROCGOV_REPORTS_URL``: the shared report store; empty: each group's own directory."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_REPORTS_", extra="ignore")

    url: str = ""


class ReportStoreError(ValueError):
    """A bad store URL or report key; the message names it and says what is accepted."""


@dataclass(frozen=True)
class StoredReport:
    key: str  # relative to the store, with "/" separators
    size: int  # bytes
    modified: datetime  # UTC
    location: str  # where a person or program opens it: an absolute path for a directory store

    @property
    def kind(self) -> str:
        """What the report is, from its first path segment (``audit``, ``sla-review``) or its name."""
        head = self.key.split("/", 1)[0]
        return head if "/" in self.key else head.rsplit("-", 2)[0]


class ReportStore(Protocol):
    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key`` (replacing it); returns the report's location."""
        ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> list[StoredReport]:
        """Every report whose key starts with ``prefix``, by key."""
        ...

    def describe(self) -> str: ...


def check_key(key: str) -> str:
    """The key as a normalised relative path; absolute keys, ``..`` and empty segments are refused."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in {"", ".", ".."} for part in key.split("/")):
        raise ReportStoreError(f"report key {key!r} must be a relative path without '.', '..' or empty parts")
    return str(path)


class DirectoryStore:
    """Reports as files under one directory (a volume shared by the replicas)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"directory {self.root.resolve()}"

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> str:
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(target.resolve())

    def get(self, key: str) -> bytes:
        try:
            return self.path_of(key).read_bytes()
        except FileNotFoundError:
            raise ReportStoreError(f"no report {key!r} in {self.describe()}") from None

    def _files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):  # temporary files of writes under way
                yield path

    def list(self, prefix: str = "") -> list[StoredReport]:
        reports = []
        for path in self._files():
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                reports.append(StoredReport(key=key, size=stat.st_size, location=str(path.resolve()),
                                            modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC)))
        return sorted(reports, key=lambda r: r.key)


class PrefixedStore:
    """A store seen through a key prefix: a group files under ``audit/`` or ``sla-review/``."""

    def __init__(self, store: ReportStore, prefix: str) -> None:
        self.store, self.prefix = store, check_key(prefix) + "/"

    def describe(self) -> str:
        return f"{self.store.describe()}, under {self.prefix}"

    def put(self, key: str, data: bytes) -> str:
        return self.store.put(self.prefix + check_key(key), data)

    def get(self, key: str) -> bytes:
        return self.store.get(self.prefix + check_key(key))

    def list(self, prefix: str = "") -> list[StoredReport]:
        return self.store.list(self.prefix + prefix)


def open_report_store(url: str) -> ReportStore:
    """``/path``, ``relative/path`` or ``file:///path``: a directory store."""
    parsed = urlparse(url)
    if parsed.scheme in {"", "file"}:
        path = unquote(parsed.path) if parsed.scheme == "file" else url
        if not path:
            raise ReportStoreError(f"report store URL {url!r} names no directory")
        return DirectoryStore(Path(path))
    if parsed.scheme == "s3":
        raise ReportStoreError(
            f"report store {url!r}: S3-compatible object storage is not implemented yet; use a directory on a "
            "volume every replica mounts (e.g. PROCGOV_REPORTS_URL=/app/var/reports)")
    raise ReportStoreError(f"report store URL {url!r}: expected a directory path or file:///path")


def configured_store(prefix: str, fallback: Path) -> ReportStore:
    """The group's store: ``PROCGOV_REPORTS_URL`` under ``prefix`` when set, else its own ``fallback`` directory."""
    url = ReportStoreSettings().url.strip()
    if not url:
        return DirectoryStore(fallback)
    return PrefixedStore(open_report_store(url), prefix)
