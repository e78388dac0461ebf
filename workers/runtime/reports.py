"""The report store: where audit records and SLA reports are kept, shared by every worker replica.

``PROCGOV_REPORTS_URL`` names it: a directory (a path or ``file:///path``) on a volume every replica
mounts (docker-compose: the named volume ``reports``; Kubernetes: the ``procgov-reports``
PersistentVolumeClaim, ReadWriteMany), or ``s3://bucket[/prefix]``: a bucket of any S3-compatible
object storage (AWS S3, MinIO, Ceph RGW, …; :mod:`workers.runtime.report_s3`), for clusters without
a ReadWriteMany volume. Unset, each group keeps its own directory as before
(``PROCGOV_AUDIT_ARCHIVE_DIR``, ``PROCGOV_SLM_REPORT_DIR``).

Reports are named by a relative key (``audit/procgov-rollout/2251799813685615.html``); a key is a
plain relative path, never absolute and never with ``..``, so no report can be written outside the
store. Writes are atomic (temporary file + rename in the same directory; an object PUT): a retried
job, or two replicas filing the same report, replace a complete report with a complete report, and a
reader never sees half of one. A store that cannot be reached raises :class:`ReportStoreUnavailable`,
a :class:`~workers.runtime.errors.TransientError`: the filing job is failed and retried with back-off
(an incident once its retries are spent), never completed without its report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol
from urllib.parse import unquote, urlparse

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.runtime.errors import TransientError

DEFAULT_REPORTS_URL = "var/reports"


class ReportStoreSettings(BaseSettings):
    """``PROCGOV_REPORTS_URL``: the shared report store; empty: each group's own directory."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_REPORTS_", extra="ignore")

    url: str = ""


class S3Settings(BaseSettings):
    """``PROCGOV_REPORTS__*``: how to reach the bucket named by ``PROCGOV_REPORTS_URL=s3://…``."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_REPORTS__", extra="ignore")

    endpoint_url: str = ""  # empty: AWS S3 for the region; else e.g. http://minio:9000
    region: str = "us-east-1"
    access_key_id: str = ""  # empty (with the secret): boto3's credential chain
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "path"  # path: MinIO/Ceph without bucket DNS names
    connect_timeout: float = 5.0  # seconds; a store that is down is reported quickly, then the job retries
    read_timeout: float = 30.0
    max_attempts: int = 3  # botocore's own retries ("standard" mode) inside one call


class ReportStoreError(ValueError):
    """A bad store URL or report key, or a report that is not there; the message names it."""


class ReportStoreUnavailable(TransientError):
    """The store cannot be reached or refused the request (server down, credentials refused, no
    bucket): worth a retry with back-off; the message names the store, never its credentials."""


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
    """``/path``, ``relative/path`` or ``file:///path``: a directory store; ``s3://bucket[/prefix]``:
    an object store, configured by ``PROCGOV_REPORTS__*`` (:class:`S3Settings`)."""
    parsed = urlparse(url)
    if parsed.scheme in {"", "file"}:
        path = unquote(parsed.path) if parsed.scheme == "file" else url
        if not path:
            raise ReportStoreError(f"report store URL {url!r} names no directory")
        return DirectoryStore(Path(path))
    if parsed.scheme == "s3":
        from workers.runtime.report_s3 import S3Store  # boto3 is loaded only where S3 is configured

        return S3Store.from_url(url)
    raise ReportStoreError(f"report store URL {url!r}: expected a directory path, file:///path or s3://bucket/prefix")


def configured_store(prefix: str, fallback: Path) -> ReportStore:
    """The group's store: ``PROCGOV_REPORTS_URL`` under ``prefix`` when set, else its own ``fallback`` directory."""
    url = ReportStoreSettings().url.strip()
    if not url:
        return DirectoryStore(fallback)
    return PrefixedStore(open_report_store(url), prefix)
