"""The report store on S3-compatible object storage: ``PROCGOV_REPORTS_URL=s3://bucket[/prefix]``.

For clusters without a ReadWriteMany volume: every replica files into one bucket, and a report is
one object under ``prefix/`` named by its key (``audit/procgov-rollout/42.html``). An object PUT is
atomic, so two replicas filing the same report leave one whole report, as the directory store does.

``PROCGOV_REPORTS__*`` configures the client (:class:`workers.runtime.reports.S3Settings`): the
endpoint of a MinIO, Ceph or other S3-compatible server, the region, path-style addressing, and the
access key. Without a key in
the settings boto3's own chain applies (``AWS_ACCESS_KEY_ID``, a web-identity token, an instance
profile), so a Kubernetes service account can carry the permission instead of a secret.

Errors never carry credentials: botocore's messages name the endpoint, bucket and key only, and
every message leaving this module passes :func:`workers.runtime.redact.redact_text` (an endpoint URL
may carry ``user:password@``). The secret key is registered with the log redactor
(:data:`workers.runtime.logs.redactor`), so no log line shows it, botocore's debug lines included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from workers.runtime.redact import redact_text, redact_url
from workers.runtime.reports import ReportStoreError, ReportStoreUnavailable, S3Settings, StoredReport, check_key

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

T = TypeVar("T")

#: S3 error codes that mean "this object is not there" (a report the caller asked for by key).
_MISSING_OBJECT = {"NoSuchKey", "404", "NotFound"}


class S3Store:
    """Reports as objects under ``prefix/`` of one bucket."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "", *, endpoint: str = "") -> None:
        self.client, self.bucket = client, bucket
        self.prefix = (check_key(prefix) + "/") if prefix else ""
        self.endpoint = endpoint

    @classmethod
    def from_url(cls, url: str, settings: S3Settings | None = None) -> S3Store:
        """``s3://bucket[/prefix]`` with the client ``settings`` (default: read ``PROCGOV_REPORTS__*``)."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ReportStoreError(f"report store URL {redact_url(url)!r}: expected s3://bucket[/prefix]")
        if parsed.query or parsed.fragment or "@" in parsed.netloc:
            raise ReportStoreError(f"report store URL {redact_url(url)!r}: give only s3://bucket[/prefix]; the "
                                   "endpoint and credentials go in PROCGOV_REPORTS__ENDPOINT_URL and "
                                   "PROCGOV_REPORTS__ACCESS_KEY_ID / __SECRET_ACCESS_KEY")
        settings = settings or S3Settings()
        return cls(_client(settings), parsed.netloc, parsed.path.strip("/"), endpoint=settings.endpoint_url)

    def describe(self) -> str:
        where = f" (endpoint {redact_url(self.endpoint)})" if self.endpoint else ""
        return f"bucket s3://{self.bucket}/{self.prefix}{where}"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """``call`` with botocore's failures turned into the store's two errors, messages redacted."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                raise ReportStoreUnavailable(f"{self.describe()}: the bucket does not exist (create it, or "
                                             "correct PROCGOV_REPORTS_URL)") from None
            raise ReportStoreUnavailable(redact_text(f"{self.describe()}: {what} refused: {error}")) from None
        except BotoCoreError as error:  # connection refused, timeouts, no credentials
            raise ReportStoreUnavailable(redact_text(f"{self.describe()}: {what} failed: {error}")) from None

    def put(self, key: str, data: bytes) -> str:
        name = self._key(key)
        content_type = _CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
        self._call(f"storing {name}", lambda: self.client.put_object(
            Bucket=self.bucket, Key=name, Body=data, ContentType=content_type))
        return f"s3://{self.bucket}/{name}"

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        name = self._key(key)

        def read() -> bytes:
            try:
                return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
            except ClientError as error:
                if str(error.response.get("Error", {}).get("Code", "")) in _MISSING_OBJECT:
                    raise ReportStoreError(f"no report {key!r} in {self.describe()}") from None
                raise

        return self._call(f"reading {name}", read)

    def list(self, prefix: str = "") -> list[StoredReport]:
        def pages() -> list[dict[str, Any]]:
            paginator = self.client.get_paginator("list_objects_v2")
            objects: list[dict[str, Any]] = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                objects.extend(dict(o) for o in page.get("Contents", ()))
            return objects

        reports = [
            StoredReport(key=o["Key"][len(self.prefix):], size=int(o["Size"]),
                         modified=o["LastModified"].astimezone(UTC), location=f"s3://{self.bucket}/{o['Key']}")
            for o in self._call("listing", pages)
        ]
        return sorted(reports, key=lambda r: r.key)


_CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json", "pdf": "application/pdf",
                  "md": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def _client(settings: S3Settings) -> S3Client:
    import boto3
    from botocore.config import Config

    if bool(settings.access_key_id) != bool(settings.secret_access_key):
        raise ReportStoreError("PROCGOV_REPORTS__ACCESS_KEY_ID and PROCGOV_REPORTS__SECRET_ACCESS_KEY go together: "
                               "give both, or neither to use the AWS credential chain")
    from workers.runtime.logs import redactor

    # Masked in every log line from now on, botocore's own debug logging included.
    redactor.register(secret.get_secret_value() for secret in (settings.secret_access_key, settings.session_token)
                      if secret is not None)
    credentials: dict[str, str] = {}
    if settings.access_key_id and settings.secret_access_key:
        credentials = {"aws_access_key_id": settings.access_key_id,
                       "aws_secret_access_key": settings.secret_access_key.get_secret_value()}
        if settings.session_token:
            credentials["aws_session_token"] = settings.session_token.get_secret_value()
    config = Config(region_name=settings.region, connect_timeout=settings.connect_timeout,
                    read_timeout=settings.read_timeout, s3={"addressing_style": settings.addressing_style},
                    retries={"mode": "standard", "total_max_attempts": max(settings.max_attempts, 1)})
    try:
        return boto3.session.Session().client("s3", endpoint_url=settings.endpoint_url or None, config=config,
                                              **credentials)  # type: ignore[call-overload]
    except ValueError as error:  # an endpoint URL botocore cannot use
        raise ReportStoreError(redact_text(f"PROCGOV_REPORTS__ENDPOINT_URL: {error}")) from None
