"""The bronze store contract: `BronzeStore` (write-once, verifiable) and its `PutResult`.

`LocalBronzeStore` (``bronze_local``) and `S3BronzeStore` (``bronze_s3``) implement it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from tasman_etl.storage.bronze_key import BronzeKey

__all__ = ["BronzeStore", "PutResult"]


@dataclass(frozen=True)
class PutResult:
    """Outcome of `BronzeStore.put`.

    ``created`` is False when the key already held the same payload (nothing written); then
    ``body_sha256`` is that of the object already stored.
    """

    created: bool
    body_sha256: str
    uri: str


@runtime_checkable
class BronzeStore(Protocol):
    """Write-once store of bronze objects keyed by `BronzeKey`."""

    @property
    def prefix(self) -> str:
        """Key prefix of this store; every key passed in must carry it."""
        ...

    def put(self, key: BronzeKey, body: bytes, *, payload_sha256: str) -> PutResult:
        """Store ``body`` once; same payload again is a no-op, another payload an error."""
        ...

    def get(self, key: BronzeKey) -> bytes:
        """Return the stored body after checking its SHA-256 (`BronzeIntegrityError`)."""
        ...

    def exists(self, key: BronzeKey) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def list(
        self, *, run_id: str | None = None, run_date: date | None = None
    ) -> Iterator[BronzeKey]:
        """Keys under the prefix, optionally of one run and/or date, sorted by `sort_key`."""
        ...

    def describe(self) -> str:
        """One line naming the store for logs (never credentials)."""
        ...
