"""The bronze envelope: one API page as received, gzipped, the same bytes for the same input.

An envelope is a JSON object with three sections: ``request`` (endpoint, params, sent_at),
``response`` (status, received_at, allow-listed headers, the payload as received) and
``ingest`` (run, page, part, the payload's SHA-256, code version, notes). `build_envelope`
writes it; `read_envelope` reads it back (gzipped or plain) into an `Envelope`.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from isal import isal_zlib

from tasman_etl import jsontext
from tasman_etl.redact import safe_headers, safe_url, scrub_obj
from tasman_etl.storage.bronze_key import check_name, sha256_hex

__all__ = ["GZIP_LEVEL", "Envelope", "build_envelope", "read_envelope"]

# Level 1 (ADR 0007) of ISA-L's deflate (ADR 0029): on an 8 MB page of 500 real-size items
# 12 ms and 1.82 MB, against zlib level 1's 43 ms and 1.88 MB; any gzip reader reads it.
# Bronze is written on the worker threads, and isal releases the GIL, so compression
# overlaps with loading.
GZIP_LEVEL = 1
# Fixed gzip header: deflate, no flags, mtime 0, extra flags 4 ("fastest", as level 1 is),
# OS "unknown" (255), so the bytes do not depend on the platform (zlib's own gzip header
# records the OS).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff"
_GZIP_MAGIC = b"\x1f\x8b"


def _iso_utc(when: datetime, what: str) -> str:
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    text = when.astimezone(UTC).isoformat(timespec="microseconds")
    return text.removesuffix("+00:00") + "Z"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"payload is not valid JSON: {name} is not allowed")


def _gzip(data: bytes) -> bytes:
    deflate = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)
    raw = deflate.compress(data) + deflate.flush()
    trailer = struct.pack("<LL", isal_zlib.crc32(data), len(data) & 0xFFFFFFFF)
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
    payload_is_object: bool = False,
) -> bytes:
    """Build the gzipped bronze envelope for one response; the same input gives the same bytes.

    ``ingest`` carries ``ingest_run_id`` (the documented name) and ``run_id`` (the same value,
    kept for readers of older objects), and ``notes``: what the page is (default
    ``raw page N``; the runner says ``raw page N of M``).

    Pass ``payload`` (the already parsed ``payload_bytes``) to skip parsing them again: the
    bytes are then embedded verbatim. Without it they are parsed and validated here.
    ``payload_sha256``: their SHA-256 when the caller has it already (not computed again).
    ``payload_is_object``: the caller knows the bytes are a JSON object without parsing
    them (they repeat, byte for byte, a page parsed before): embedded verbatim too.

    ``payload_bytes`` are the response body exactly as received: they must be a JSON object
    (ValueError otherwise); ``ingest.sha256`` is their SHA-256. Response ``headers`` are reduced
    to an allow-list, and they and ``params`` are scrubbed of registered secrets (any spelling:
    a server may echo the key); the ``endpoint`` is stored without user, password or credential
    parameters (`safe_url`); request headers are never stored. Timestamps must be
    timezone-aware and are stored as UTC ISO 8601 with ``Z``.
    """
    check_name("run_id", run_id)
    if part is not None:
        check_name("part", part)
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
    if (payload_is_object or isinstance(payload, dict)) and _spliceable(payload_bytes):
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
        return _gzip(b"".join((head, payload_bytes.strip(), tail)))  # one copy, not two
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
    if payload_bytes.isascii():  # UTF-8 without decoding a copy of the page
        return True
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
