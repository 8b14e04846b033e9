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

`LocalBronzeStore` (here) keeps objects in a folder; `S3BronzeStore` (`bronze_s3`) in a bucket.
`open_bronze_store` picks one from `Settings`.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import re
import struct
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog

from tasman_etl import jsontext
from tasman_etl.errors import BronzeIntegrityError, StorageError
from tasman_etl.redact import safe_headers, safe_url, scrub_obj

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

log = structlog.get_logger(__name__)

# Level 1: on a real 3.9 MB page 44 ms and 1,020 KB, against level 3's 58 ms and 925 KB and
# level 6's 142 ms and 769 KB (ADR 0007). Bronze is written on the worker threads; zlib
# releases the GIL, so compression overlaps with loading.
GZIP_LEVEL = 1
# Fixed gzip header: deflate, no flags, mtime 0, extra flags 4 ("fastest", as level 1 is),
# OS "unknown" (255), so the bytes do not depend on the platform (zlib's own gzip header
# records the OS).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff"
_GZIP_MAGIC = b"\x1f\x8b"

_NAME = r"[A-Za-z0-9._-]+"
_NAME_RE = re.compile(_NAME)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_KEY_RE = re.compile(
    rf"(?:(?P<prefix>{_NAME}(?:/{_NAME})*)/)?"
    r"date=(?P<y>[0-9]{4})/(?P<m>[0-9]{2})/(?P<d>[0-9]{2})/"
    rf"run=(?P<run>{_NAME})/"
    rf"(?:part=(?P<part>{_NAME})/)?"
    r"page=(?P<page>[0-9]{4,})\.json\.gz"
)
_MAX_NAME_LEN = 128


def _check_name(what: str, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(f"{what} must match [A-Za-z0-9._-]+, got {value!r}")
    if value in {".", ".."}:
        raise ValueError(f"{what} must not be {value!r}")
    if len(value) > _MAX_NAME_LEN:
        raise ValueError(f"{what} is longer than {_MAX_NAME_LEN} characters")


def check_run_id(value: str) -> None:
    """ValueError unless `value` can name a run in bronze keys (``[A-Za-z0-9._-]``, <= 128)."""
    _check_name("run id", value)


def _check_prefix(prefix: str) -> None:
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {prefix!r}")
    if prefix == "":
        return
    for segment in prefix.split("/"):
        _check_name("prefix segment", segment)


def _check_sha256(what: str, value: str) -> None:
    if not isinstance(value, str) or not _SHA256_RE.fullmatch(value):
        raise ValueError(f"{what} must be 64 lowercase hex digits")


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as lowercase hex (the form every checksum here uses)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BronzeKey:
    """Where one page lives: renders to ``.path`` and parses back with `BronzeKey.parse`.

    ``run_id`` and ``part`` may only hold ``[A-Za-z0-9._-]`` (never ``.`` or ``..``);
    ``prefix`` is ``/``-separated segments of the same characters (or empty); ``page`` >= 1.
    """

    prefix: str
    run_date: date
    run_id: str
    page: int
    part: str | None = None

    def __post_init__(self) -> None:
        _check_prefix(self.prefix)
        if isinstance(self.run_date, datetime) or not isinstance(self.run_date, date):
            raise ValueError(f"run_date must be a date (not a datetime), got {self.run_date!r}")
        _check_name("run_id", self.run_id)
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise ValueError(f"page must be an int >= 1, got {self.page!r}")
        if self.part is not None:
            _check_name("part", self.part)

    @property
    def path(self) -> str:
        """The object path, e.g. ``bronze/usajobs/date=2025/09/03/run=r1/page=0001.json.gz``."""
        lead = f"{self.prefix}/" if self.prefix else ""
        part = f"part={self.part}/" if self.part is not None else ""
        return (
            f"{lead}date={self.run_date:%Y/%m/%d}/run={self.run_id}/{part}"
            f"page={self.page:04d}.json.gz"
        )

    @property
    def sort_key(self) -> tuple[date, str, str, int]:
        """Listing order: date, run, part (unpartitioned first), page."""
        return (self.run_date, self.run_id, self.part or "", self.page)

    @classmethod
    def parse(cls, path: str) -> BronzeKey:
        """Parse an object path produced by `.path`; raise ValueError on anything else."""
        match = _KEY_RE.fullmatch(path) if isinstance(path, str) else None
        if match is None:
            raise ValueError(f"not a bronze key: {path!r}")
        try:
            key = cls(
                prefix=match["prefix"] or "",
                run_date=date(int(match["y"]), int(match["m"]), int(match["d"])),
                run_id=match["run"],
                page=int(match["page"]),
                part=match["part"],
            )
        except ValueError as exc:
            raise ValueError(f"not a bronze key: {path!r} ({exc})") from None
        if key.path != path:  # e.g. page=00001: only the canonical spelling is a key
            raise ValueError(f"not a canonical bronze key: {path!r}")
        return key


# --- envelope -------------------------------------------------------------------------------


def _iso_utc(when: datetime, what: str) -> str:
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    text = when.astimezone(UTC).isoformat(timespec="microseconds")
    return text.removesuffix("+00:00") + "Z"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"payload is not valid JSON: {name} is not allowed")


def _gzip(data: bytes) -> bytes:
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = deflate.compress(data) + deflate.flush()
    trailer = struct.pack("<LL", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + raw + trailer


def _dumps(document: Any) -> bytes:
    options: dict[str, Any] = {"separators": (",", ":"), "allow_nan": False}
    try:
        return json.dumps(document, ensure_ascii=False, **options).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (valid JSON "\ud800") cannot be UTF-8: keep it as an ASCII escape.
        return json.dumps(document, ensure_ascii=True, **options).encode("ascii")


def build_envelope(
    *,
    endpoint: str,
    params: Mapping[str, Any],
    sent_at: datetime,
    status: int,
    received_at: datetime,
    headers: Mapping[str, str],
    payload_bytes: bytes,
    run_id: str,
    page: int,
    part: str | None,
    code_version: str,
    payload: Mapping[str, Any] | None = None,
    notes: str | None = None,
    payload_sha256: str | None = None,
) -> bytes:
    """Build the gzipped bronze envelope for one response; the same input gives the same bytes.

    ``ingest`` carries ``ingest_run_id`` (the documented name) and ``run_id`` (the same value,
    kept for readers of older objects), and ``notes``: what the page is (default
    ``raw page N``; the runner says ``raw page N of M``).

    Pass ``payload`` (the already parsed ``payload_bytes``) to skip parsing them again: the
    bytes are then embedded verbatim. Without it they are parsed and validated here.
    ``payload_sha256``: their SHA-256 when the caller has it already (not computed again).

    ``payload_bytes`` are the response body exactly as received: they must be a JSON object
    (ValueError otherwise); ``ingest.sha256`` is their SHA-256. Response ``headers`` are reduced
    to an allow-list, and they and ``params`` are scrubbed of registered secrets (any spelling:
    a server may echo the key); the ``endpoint`` is stored without user, password or credential
    parameters (`safe_url`); request headers are never stored. Timestamps must be
    timezone-aware and are stored as UTC ISO 8601 with ``Z``.
    """
    _check_name("run_id", run_id)
    if part is not None:
        _check_name("part", part)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError(f"page must be an int >= 1, got {page!r}")
    request = {
        "endpoint": safe_url(endpoint),
        "params": scrub_obj(dict(params)),
        "sent_at": _iso_utc(sent_at, "sent_at"),
    }
    stored_headers = scrub_obj(safe_headers(headers))
    ingest = {
        "ingest_run_id": run_id,
        "run_id": run_id,
        "page": page,
        "part": part,
        "sha256": payload_sha256 or sha256_hex(payload_bytes),
        "bytes_uncompressed": len(payload_bytes),
        "code_version": code_version,
        "notes": notes if notes is not None else f"raw page {page}",
    }
    if isinstance(payload, dict) and _spliceable(payload_bytes):
        # The caller parsed these bytes already: embed them verbatim instead of parsing and
        # serialising 3 MB again. The result is still one JSON document, key order as below.
        try:
            head = (
                b'{"request":'
                + _dumps(request)
                + b',"response":{"status":'
                + str(int(status)).encode()
                + b',"received_at":'
                + _dumps(_iso_utc(received_at, "received_at"))
                + b',"headers":'
                + _dumps(stored_headers)
                + b',"payload":'
            )
            tail = b'},"ingest":' + _dumps(ingest) + b"}"
        except (TypeError, ValueError) as exc:
            raise ValueError(f"envelope is not JSON-serialisable: {exc}") from None
        return _gzip(head + payload_bytes.strip() + tail)
    try:
        parsed = json.loads(payload_bytes, parse_constant=_reject_constant)
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise ValueError(f"payload is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"payload must be a JSON object, got {type(parsed).__name__}")
    document = {
        "request": request,
        "response": {
            "status": int(status),
            "received_at": _iso_utc(received_at, "received_at"),
            "headers": stored_headers,
            "payload": parsed,
        },
        "ingest": ingest,
    }
    try:
        return _gzip(_dumps(document))
    except (TypeError, ValueError) as exc:  # a param value JSON cannot hold (a date, NaN)
        raise ValueError(f"envelope is not JSON-serialisable: {exc}") from None


def _spliceable(payload_bytes: bytes) -> bool:
    """Bytes that can be embedded as they are: UTF-8 JSON object text.

    NaN/Infinity (which Python's parser accepted) are kept verbatim too: bronze holds what
    arrived, and `read_envelope` reads them back; the items holding them are quarantined.
    """
    if not payload_bytes.lstrip().startswith(b"{"):
        return False
    try:
        payload_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class Envelope:
    """A parsed bronze envelope: the three sections as dicts, and the payload."""

    request: dict[str, Any]
    response: dict[str, Any]
    ingest: dict[str, Any] = field(default_factory=dict)
    size: int = 0
    """Bytes of the envelope's JSON (uncompressed), 0 when not known."""

    @property
    def payload(self) -> Any:
        """The API response body as parsed JSON (``response.payload``)."""
        return self.response.get("payload")

    @property
    def run_id(self) -> str | None:
        """The run that captured the page: ``ingest.ingest_run_id``, or the older ``run_id``."""
        value = self.ingest.get("ingest_run_id", self.ingest.get("run_id"))
        return value if isinstance(value, str) else None


def read_envelope(body: bytes) -> Envelope:
    """Parse an envelope body, gzipped or plain JSON; raise ValueError if it is not one.

    Lenient about ``ingest`` (older envelopes carry other keys there), strict about having a
    ``response`` object with a ``payload``.
    """
    data = bytes(body)
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"envelope is not valid gzip: {exc}") from None
    try:
        document = jsontext.loads(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"envelope is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("envelope must be a JSON object")
    response = document.get("response")
    if not isinstance(response, dict) or "payload" not in response:
        raise ValueError("not a bronze envelope: no response.payload")
    request = document.get("request", {})
    ingest = document.get("ingest", {})
    if not isinstance(request, dict) or not isinstance(ingest, dict):
        raise ValueError("not a bronze envelope: request and ingest must be objects")
    return Envelope(request=request, response=response, ingest=ingest, size=len(data))


# --- store protocol -------------------------------------------------------------------------


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


def _check_filters(run_id: str | None, run_date: date | None) -> None:
    if run_id is not None:
        _check_name("run_id", run_id)
    if run_date is not None and (isinstance(run_date, datetime) or not isinstance(run_date, date)):
        raise ValueError("run_date must be a date")


def _matches(key: BronzeKey, run_id: str | None, run_date: date | None) -> bool:
    return (run_id is None or key.run_id == run_id) and (
        run_date is None or key.run_date == run_date
    )


# --- local folder store ---------------------------------------------------------------------

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
        _check_sha256("body_sha256", record.body_sha256)
        _check_sha256("payload_sha256", record.payload_sha256)
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
        _check_prefix(prefix)
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
        _check_sha256("payload_sha256", payload_sha256)
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
            _check_sha256("ingest.sha256", payload_sha256)
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
        _check_filters(run_id, run_date)
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
                if key.prefix == self._prefix and _matches(key, run_id, run_date):
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
