"""Bronze layer: every API page as received, write-once, verifiable by SHA-256.

An object is a gzipped JSON *envelope* (request, response with the parsed payload, ingest
metadata) stored under a typed `BronzeKey`::

    {prefix}/date=YYYY/MM/DD/run={run_id}/[part={k}/]page={NNNN}.json.gz

Two checksums travel with every object:

* ``payload_sha256``: SHA-256 of the payload bytes exactly as the API sent them. It is the
  identity used for write-once: re-writing a key with the same payload is a no-op, with a
  different one a `BronzeIntegrityError`.
* ``body_sha256``: SHA-256 of the stored (gzipped) body, recorded at write time and checked
  on every `get`.

`LocalBronzeStore` (`bronze_local`) keeps objects in a folder; `S3BronzeStore` (`bronze_s3`) in
a bucket. `open_bronze_store` (here) picks one from `Settings`.

The pieces live in their own modules: the key (`bronze_key`), the envelope
(`bronze_envelope`), the store contract (`bronze_store`) and the local folder store
(`bronze_local`); their public names are importable from here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasman_etl.storage.bronze_envelope import (
    GZIP_LEVEL,
    Envelope,
    build_envelope,
    read_envelope,
)
from tasman_etl.storage.bronze_key import BronzeKey, check_run_id, sha256_hex
from tasman_etl.storage.bronze_local import LocalBronzeStore
from tasman_etl.storage.bronze_store import BronzeStore, PutResult

if TYPE_CHECKING:
    from tasman_etl.config import Settings

__all__ = [
    "GZIP_LEVEL",
    "BronzeKey",
    "BronzeStore",
    "Envelope",
    "LocalBronzeStore",
    "PutResult",
    "build_envelope",
    "check_run_id",
    "open_bronze_store",
    "read_envelope",
    "sha256_hex",
]


def open_bronze_store(settings: Settings) -> BronzeStore:
    """S3 when ``BRONZE_S3_BUCKET`` is set, else the local folder ``settings.bronze_path``."""
    if settings.bronze_s3_bucket:
        from tasman_etl.storage.bronze_s3 import S3BronzeStore

        return S3BronzeStore(
            settings.bronze_s3_bucket,
            settings.bronze_s3_prefix,
            endpoint_url=settings.aws_endpoint_url,
            region=settings.aws_region,
        )
    return LocalBronzeStore(settings.bronze_path, settings.bronze_s3_prefix)
