"""Bronze objects in a local folder: `LocalBronzeStore`, write-once with a checksum sidecar."""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import structlog

from tasman_etl.errors import BronzeIntegrityError, StorageError
from tasman_etl.storage.bronze_envelope import read_envelope
from tasman_etl.storage.bronze_key import (
    BronzeKey,
    check_filters,
    check_prefix,
    check_sha256,
    matches_filters,
    sha256_hex,
)
from tasman_etl.storage.bronze_store import PutResult

__all__ = ["LocalBronzeStore"]

log = structlog.get_logger(__name__)

_SIDECAR_SUFFIX = ".sha256"


@dataclass(frozen=True)
class _Record:
    body_sha256: str
    payload_sha256: str

    def to_bytes(self) -> bytes:
        doc = {"body_sha256": self.body_sha256, "payload_sha256": self.payload_sha256}
        return (json.dumps(doc, sort_keys=True) + "\n").encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> _Record:
        doc = json.loads(data)
        record = cls(body_sha256=doc["body_sha256"], payload_sha256=doc["payload_sha256"])
        check_sha256("body_sha256", record.body_sha256)
        check_sha256("payload_sha256", record.payload_sha256)
        return record


class LocalBronzeStore:
    """Bronze objects as files under ``root`` (``root/<key.path>``), each with a sidecar.

    The sidecar ``<object>.sha256`` holds ``{"body_sha256", "payload_sha256"}``; `get` checks
    the object against it. Writing, inside an exclusive ``flock`` on the object's folder (readers
    take a shared one, so nobody sees an object before its sidecar):

    1. the body goes to a temp file in the same folder, fsynced, mode 0444;
    2. it is hard-linked to its final name: ``os.link`` never replaces an existing file, so
       write-once holds even against a writer that ignores the lock;
    3. the sidecar is written the same way (temp, fsync, rename), then the folder is fsynced.

    A crash between 2 and 3 leaves an object without sidecar: `get` refuses it, and the next
    `put` of that key rebuilds the sidecar from the object (gzip CRC + envelope
    ``ingest.sha256``). Needs ``fcntl`` (Linux/macOS) and hard links (any local filesystem).
    """

    def __init__(self, root: Path, prefix: str) -> None:
        check_prefix(prefix)
        self._root = Path(root)
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        """Key prefix of this store."""
        return self._prefix

    @property
    def root(self) -> Path:
        """Folder holding the objects."""
        return self._root

    def describe(self) -> str:
        """E.g. ``local:.tasman/bronze (prefix=bronze/usajobs)``."""
        return f"local:{self._root} (prefix={self._prefix or '-'})"

    def _path(self, key: BronzeKey) -> Path:
        if key.prefix != self._prefix:
            raise ValueError(f"key prefix {key.prefix!r} is not this store's {self._prefix!r}")
        return self._root / key.path

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.name + _SIDECAR_SUFFIX)

    def _uri(self, path: Path) -> str:
        return path.resolve().as_uri()

    def put(self, key: BronzeKey, body: bytes, *, payload_sha256: str) -> PutResult:
        """Write ``body`` under ``key`` once (see the class docstring for atomicity)."""
        check_sha256("payload_sha256", payload_sha256)
        path = self._path(key)
        record = _Record(body_sha256=sha256_hex(body), payload_sha256=payload_sha256)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(path.parent, exclusive=True) as folder_fd:
                existing = self._existing(path)
                if existing is None and not _write_file(path, body, replace=False):
                    existing = self._existing(path)  # a writer outside the lock got there first
                if existing is not None:
                    return self._same_or_conflict(key, path, existing, payload_sha256)
                _write_file(self._sidecar(path), record.to_bytes(), replace=True)
                os.fsync(folder_fd)
        except OSError as exc:
            raise StorageError(f"cannot write bronze object {key.path}: {exc.strerror}") from exc
        log.info("bronze.put", key=key.path, created=True, bytes=len(body))
        return PutResult(created=True, body_sha256=record.body_sha256, uri=self._uri(path))

    def _same_or_conflict(
        self, key: BronzeKey, path: Path, existing: _Record, payload_sha256: str
    ) -> PutResult:
        if existing.payload_sha256 != payload_sha256:
            raise BronzeIntegrityError(
                f"write-once violated for {key.path}: stored payload sha256 "
                f"{existing.payload_sha256[:12]}..., new {payload_sha256[:12]}..."
            )
        log.debug("bronze.put", key=key.path, created=False)
        return PutResult(created=False, body_sha256=existing.body_sha256, uri=self._uri(path))

    def _existing(self, path: Path) -> _Record | None:
        """The record of the object at ``path`` (rebuilding a lost sidecar); None if absent.

        Call with the folder locked exclusively.
        """
        if not path.exists():
            return None
        sidecar = self._sidecar(path)
        try:
            return _Record.from_bytes(sidecar.read_bytes())
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            raise BronzeIntegrityError(f"bad checksum record {sidecar.name}: {exc}") from None
        # Object without sidecar: a put died between its two steps. Rebuild from the object.
        body = path.read_bytes()
        try:
            payload_sha256 = str(read_envelope(body).ingest.get("sha256"))
            check_sha256("ingest.sha256", payload_sha256)
        except ValueError as exc:
            raise BronzeIntegrityError(
                f"bronze object {path.name} has no checksum record and is unreadable: {exc}"
            ) from None
        record = _Record(body_sha256=sha256_hex(body), payload_sha256=payload_sha256)
        _write_file(sidecar, record.to_bytes(), replace=True)
        log.warning("bronze.sidecar_rebuilt", object=path.name)
        return record

    def get(self, key: BronzeKey) -> bytes:
        """Read the object and check its body SHA-256 against the sidecar."""
        path = self._path(key)
        try:
            with _locked(path.parent, exclusive=False):
                body = path.read_bytes()
                recorded = self._sidecar(path).read_bytes()
        except FileNotFoundError as exc:
            if exc.filename is not None and str(exc.filename).endswith(_SIDECAR_SUFFIX):
                raise BronzeIntegrityError(f"no checksum record for {key.path}") from None
            raise StorageError(f"bronze object not found: {key.path}") from None
        except OSError as exc:
            raise StorageError(f"cannot read bronze object {key.path}: {exc.strerror}") from exc
        try:
            record = _Record.from_bytes(recorded)
        except (ValueError, KeyError, TypeError) as exc:
            raise BronzeIntegrityError(f"bad checksum record for {key.path}: {exc}") from None
        actual = sha256_hex(body)
        if actual != record.body_sha256:
            raise BronzeIntegrityError(
                f"checksum mismatch for {key.path}: stored body sha256 {actual[:12]}..., "
                f"recorded {record.body_sha256[:12]}..."
            )
        return body

    def exists(self, key: BronzeKey) -> bool:
        """Whether the object file exists."""
        return self._path(key).is_file()

    def list(
        self, *, run_id: str | None = None, run_date: date | None = None
    ) -> Iterator[BronzeKey]:
        """Keys under the prefix, optionally one run and/or date, in `BronzeKey.sort_key` order."""
        check_filters(run_id, run_date)
        base = self._root / self._prefix if self._prefix else self._root
        if run_date is not None:
            base = base / f"date={run_date:%Y}" / f"{run_date:%m}" / f"{run_date:%d}"
        if not base.is_dir():
            return iter(())
        keys: builtins.list[BronzeKey] = []
        try:
            for path in base.rglob("page=*.json.gz"):
                rel = path.relative_to(self._root).as_posix()
                try:
                    key = BronzeKey.parse(rel)
                except ValueError:
                    log.warning("bronze.list_skipped", path=rel)
                    continue
                if key.prefix == self._prefix and matches_filters(key, run_id, run_date):
                    keys.append(key)
        except OSError as exc:
            raise StorageError(f"cannot list bronze folder: {exc.strerror}") from exc
        return iter(sorted(keys, key=lambda k: k.sort_key))


@contextlib.contextmanager
def _locked(folder: Path, *, exclusive: bool) -> Iterator[int]:
    """Hold a ``flock`` on ``folder`` (released when its fd closes); yield the fd."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fd
    finally:
        os.close(fd)


def _write_file(target: Path, data: bytes, *, replace: bool) -> bool:
    """Atomically make ``target`` hold ``data`` (read-only, fsynced).

    With ``replace=False`` an existing ``target`` is left alone and False is returned.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o444)
        if replace:
            os.replace(tmp, target)
            return True
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
