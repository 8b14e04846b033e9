"""Bronze objects in an S3 bucket (AWS or any S3-compatible endpoint).

* Credentials come from boto3's default chain (environment, profile, task role); none here.
* Every put sends ``ChecksumSHA256`` (the server recomputes it and refuses a mismatch) and
  user metadata ``payload-sha256`` / ``body-sha256``; ``IfNoneMatch="*"`` makes it write-once
  on the server side, and a 412 is resolved by comparing the stored ``payload-sha256``.
* Every get asks for the stored checksum (``ChecksumMode=ENABLED``) and checks the body's
  SHA-256 against the metadata recorded at write time.
* botocore errors are mapped to `StorageError` / `BronzeIntegrityError` with no secrets.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from tasman_etl.errors import BronzeIntegrityError, StorageError
from tasman_etl.redact import mask_url, scrub
from tasman_etl.storage.bronze_key import (
    BronzeKey,
    check_filters,
    check_prefix,
    check_sha256,
    matches_filters,
    sha256_hex,
)
from tasman_etl.storage.bronze_store import PutResult

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = ["S3BronzeStore"]

log = structlog.get_logger(__name__)

META_PAYLOAD_SHA256 = "payload-sha256"
META_BODY_SHA256 = "body-sha256"
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_PRECONDITION = {"412", "PreconditionFailed"}


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _error_code(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    return str(error.get("Code", "")), int(meta.get("HTTPStatusCode", 0) or 0)


class S3BronzeStore:
    """Bronze objects in ``s3://bucket/<key.path>``; see the module docstring."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any | None = None,
        max_attempts: int = 4,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        list_page_size: int = 1000,
    ) -> None:
        """Build the store; ``client`` (a boto3 S3 client) replaces the one made here."""
        if not bucket:
            raise ValueError("bucket must not be empty")
        check_prefix(prefix)
        if not 1 <= list_page_size <= 1000:
            raise ValueError("list_page_size must be in 1..1000")
        self._bucket = bucket
        self._prefix = prefix
        self._endpoint_url = endpoint_url
        self._region = region
        self._page_size = list_page_size
        if client is None:
            config = Config(
                retries={"mode": "standard", "max_attempts": max_attempts},
                connect_timeout=connect_timeout_s,
                read_timeout=read_timeout_s,
                # Custom endpoints (SeaweedFS, MinIO, moto) rarely resolve virtual-host buckets.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            )
            try:
                client = boto3.session.Session().client(
                    "s3", endpoint_url=endpoint_url, region_name=region, config=config
                )
            except (BotoCoreError, ValueError) as exc:
                raise StorageError(f"cannot create S3 client: {scrub(str(exc))}") from exc
        self._client: S3Client = client

    @property
    def prefix(self) -> str:
        """Key prefix of this store."""
        return self._prefix

    @property
    def bucket(self) -> str:
        """The bucket name."""
        return self._bucket

    def describe(self) -> str:
        """E.g. ``s3://bucket/bronze/usajobs (endpoint=http://127.0.0.1:8333, region=-)``."""
        endpoint = mask_url(self._endpoint_url) if self._endpoint_url else "aws"
        location = f"s3://{self._bucket}/{self._prefix}".rstrip("/")
        return f"{location} (endpoint={endpoint}, region={self._region or '-'})"

    def _key(self, key: BronzeKey) -> str:
        if key.prefix != self._prefix:
            raise ValueError(f"key prefix {key.prefix!r} is not this store's {self._prefix!r}")
        return key.path

    def _uri(self, object_key: str) -> str:
        return f"s3://{self._bucket}/{object_key}"

    def _fail(self, op: str, object_key: str, exc: Exception) -> StorageError:
        """A `StorageError` for ``exc`` naming the operation, never credentials."""
        if isinstance(exc, ClientError):
            code, status = _error_code(exc)
            message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
            detail = f"{code or 'error'} (HTTP {status})" + (f": {message}" if message else "")
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return StorageError(scrub(f"S3 {op} failed for {self._uri(object_key)}: {detail}"))

    def put(self, key: BronzeKey, body: bytes, *, payload_sha256: str) -> PutResult:
        """Write once with ``IfNoneMatch="*"``; on 412 compare the stored payload SHA-256."""
        check_sha256("payload_sha256", payload_sha256)
        object_key = self._key(key)
        body_sha256 = sha256_hex(body)
        checksum = _b64_sha256(body)
        try:
            response = self._client.put_object(
                Bucket=self._bucket,
                Key=object_key,
                Body=body,
                ContentType="application/json",
                ContentEncoding="gzip",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
                Metadata={META_PAYLOAD_SHA256: payload_sha256, META_BODY_SHA256: body_sha256},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            code, status = _error_code(exc)
            # 409 ConditionalRequestConflict: a concurrent conditional write; see who won.
            if code in _PRECONDITION or status in (409, 412):
                return self._existing(key, object_key, payload_sha256, exc)
            if code == "BadDigest" or code == "XAmzContentSHA256Mismatch":
                raise BronzeIntegrityError(
                    scrub(f"S3 refused {self._uri(object_key)}: body checksum mismatch ({code})")
                ) from exc
            raise self._fail("put", object_key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("put", object_key, exc) from exc
        stored = response.get("ChecksumSHA256")
        if stored and stored.split("-")[0] != checksum:
            raise BronzeIntegrityError(
                f"S3 stored {self._uri(object_key)} with checksum {stored}, sent {checksum}"
            )
        log.info("bronze.put", key=object_key, created=True, bytes=len(body))
        return PutResult(created=True, body_sha256=body_sha256, uri=self._uri(object_key))

    def _existing(
        self, key: BronzeKey, object_key: str, payload_sha256: str, cause: ClientError
    ) -> PutResult:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=object_key)
        except ClientError as exc:
            code, status = _error_code(exc)
            if code in _NOT_FOUND or status == 404:  # a conflicting write has not landed yet
                raise StorageError(
                    f"S3 put of {self._uri(object_key)} conflicted with a concurrent write; retry"
                ) from cause
            raise self._fail("head", object_key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("head", object_key, exc) from exc
        metadata = head.get("Metadata", {})
        stored = metadata.get(META_PAYLOAD_SHA256)
        if stored != payload_sha256:
            shown = f"{stored[:12]}..." if stored else "none"
            raise BronzeIntegrityError(
                f"write-once violated for {key.path}: stored payload sha256 {shown}, "
                f"new {payload_sha256[:12]}..."
            )
        log.debug("bronze.put", key=object_key, created=False)
        return PutResult(
            created=False,
            body_sha256=metadata.get(META_BODY_SHA256, ""),
            uri=self._uri(object_key),
        )

    def get(self, key: BronzeKey) -> bytes:
        """Read the object; its SHA-256 must match the ``body-sha256`` recorded at write time."""
        object_key = self._key(key)
        try:
            response = self._client.get_object(
                Bucket=self._bucket, Key=object_key, ChecksumMode="ENABLED"
            )
            body = response["Body"].read()
        except ClientError as exc:
            code, status = _error_code(exc)
            if code in _NOT_FOUND or status == 404:
                raise StorageError(f"bronze object not found: {self._uri(object_key)}") from None
            raise self._fail("get", object_key, exc) from exc
        except FlexibleChecksumError as exc:  # the body read does not match the server's checksum
            raise BronzeIntegrityError(
                f"checksum mismatch reading {self._uri(object_key)}"
            ) from exc
        except BotoCoreError as exc:
            raise self._fail("get", object_key, exc) from exc
        recorded = response.get("Metadata", {}).get(META_BODY_SHA256)
        actual = sha256_hex(body)
        if recorded is None:
            raise BronzeIntegrityError(f"no body-sha256 metadata on {self._uri(object_key)}")
        if actual != recorded:
            raise BronzeIntegrityError(
                f"checksum mismatch for {self._uri(object_key)}: body sha256 {actual[:12]}..., "
                f"recorded {recorded[:12]}..."
            )
        server = response.get("ChecksumSHA256")
        if server and "-" not in server and server != _b64_sha256(body):
            raise BronzeIntegrityError(f"server checksum mismatch for {self._uri(object_key)}")
        return body

    def exists(self, key: BronzeKey) -> bool:
        """True if the object is present.

        Lists with the key as prefix rather than HEAD: the task role may list only under the
        bronze prefix, and without a bucket-wide ListBucket S3 answers HEAD of a missing key
        with 403, not 404.
        """
        object_key = self._key(key)
        try:
            found = self._client.list_objects_v2(Bucket=self._bucket, Prefix=object_key, MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("list", object_key, exc) from exc
        return any(item.get("Key") == object_key for item in found.get("Contents", []))

    def list(
        self, *, run_id: str | None = None, run_date: date | None = None
    ) -> Iterator[BronzeKey]:
        """Keys under the prefix (paginated ListObjectsV2), sorted by `BronzeKey.sort_key`."""
        check_filters(run_id, run_date)
        lead = f"{self._prefix}/" if self._prefix else ""
        if run_date is not None:
            lead += f"date={run_date:%Y/%m/%d}/"
            if run_id is not None:
                lead += f"run={run_id}/"
        keys: builtins.list[BronzeKey] = []
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(
                Bucket=self._bucket,
                Prefix=lead,
                PaginationConfig={"PageSize": self._page_size},
            ):
                for item in page.get("Contents", []):
                    try:
                        key = BronzeKey.parse(item["Key"])
                    except ValueError:
                        continue  # not ours (another file under the prefix)
                    if key.prefix == self._prefix and matches_filters(key, run_id, run_date):
                        keys.append(key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("list", lead, exc) from exc
        return iter(sorted(keys, key=lambda k: k.sort_key))
