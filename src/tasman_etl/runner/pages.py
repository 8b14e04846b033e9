"""Pages through the stages: capture -> parse -> gate on a worker, load on the owner.

A `Package` is one page on its way through the engine (`tasman_etl.runner.engine`); each
stage adds to it. `Stages.prepare` is the worker side (bronze, parse, gate: thread-safe,
it touches the database only through the lock-guarded `SideConn`); `Loader` is the owner
side (the page's silver rows and its ledger row, in one transaction, so a page is either
loaded and recorded or neither).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import structlog

from tasman_etl import __version__
from tasman_etl.db import repository as repo
from tasman_etl.db.known import KnownPage, items_digest
from tasman_etl.dq.outcome import GateOutcome, PageGate
from tasman_etl.errors import BronzeIntegrityError, DatabaseError, StorageError
from tasman_etl.historic import (
    historic_control_number,
    historic_items,
    historic_unknown_keys,
    is_historic_payload,
    mark_historic,
    transform_historic_item,
)
from tasman_etl.historic_text import is_text_page, transform_text_page
from tasman_etl.http.page import count_all_in
from tasman_etl.runner.connections import SideConn
from tasman_etl.runner.package import PHASES, Notes, Package, PageSource
from tasman_etl.storage.bronze import (
    BronzeKey,
    BronzeStore,
    build_envelope,
    read_envelope,
    sha256_hex,
)
from tasman_etl.transform import PageRows, PreparedItem, dump_json, prepare_items, search_items
from tasman_etl.transform import transform_prepared as _transform

__all__ = [
    "PHASES",
    "CaptureMismatchError",
    "Notes",
    "Package",
    "PageSource",
    "Stages",
    "gate_identity",
    "make_record",
    "new_run_id",
    "page_key",
    "parse_timestamp",
    "payload_bytes_of",
]

log = structlog.get_logger(__name__)

Lookup = Callable[[list[str], str], Mapping[str, str]]
"""``(control numbers, kind) -> stored content hashes`` (`repository.stored_hashes`)."""

Known = Callable[[str, str], KnownPage | None]
"""``(payload SHA-256, salt) -> the known page with that payload`` (`db.known.known_page`)."""


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: `20261126T181647Z-3f9a1c`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def page_key(page: int, part: str | None = None) -> str:
    """The ledger key of a page: `page=0001` or `part=p001/page=0001`."""
    return f"part={part}/page={page:04d}" if part else f"page={page:04d}"


def parse_timestamp(value: Any, default: datetime) -> datetime:
    """An ISO timestamp from an envelope (zone-less = UTC), or `default`."""
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return default
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return default


def payload_bytes_of(payload: Any) -> bytes:
    """Bytes for a payload that arrived already parsed (an envelope from elsewhere)."""
    return dump_json(payload).encode("utf-8", "surrogatepass")


class CaptureMismatchError(BronzeIntegrityError):
    """A bronze object's payload SHA-256 is not the one the ledger recorded at capture.

    The object may be intact by its own checksums (sidecar or S3 metadata, `ingest.sha256`)
    and still not be the page that was captured: it was rewritten consistently. The ledger
    is the witness kept apart from the object, so it wins.
    """


class Stages:
    """The worker side of a page: bronze (write or read back), parse, gate. Thread-safe."""

    def __init__(
        self,
        store: BronzeStore,
        run_id: str,
        run_date: date,
        side: SideConn,
        *,
        gate: PageGate | None,
        note_captures: bool = False,
        loads: Callable[[], int] = lambda: 0,
        known: Known | None = None,
    ) -> None:
        self.store = store
        self.known = known
        self.salt = f"{__version__}|{gate_identity(gate)}"
        """What a page's items digest is taken with (`db.known.items_digest`)."""
        self.run_id = run_id
        self.run_date = run_date
        self.side = side
        self.gate = gate
        self.note_captures = note_captures
        self.loads = loads

    def bronze_key(self, page: int, part: str | None) -> BronzeKey:
        """Where this run keeps a page in bronze."""
        return BronzeKey(
            prefix=self.store.prefix,
            run_date=self.run_date,
            run_id=self.run_id,
            page=page,
            part=part,
        )

    def prepare(self, pkg: Package) -> Package:
        """Capture (or read back) the page, parse it and run the gate; drop the payload."""
        if pkg.apply is not None:
            return pkg
        try:
            if pkg.bronze is not None:
                self._read_back(pkg)
            elif pkg.src is not None:
                self._capture(pkg, pkg.src)
                if self.known is not None and self._known(pkg, self.known):
                    return pkg
                if pkg.payload is None and pkg.src.parse is not None:
                    pkg.payload = pkg.src.parse()
            self._parse(pkg, self.side.stored_hashes)
        finally:
            pkg.payload, pkg.src = None, None
        return pkg

    def reprepare(self, pkg: Package, lookup: Lookup) -> Package:
        """Parse and gate a page again from its bronze object, with another hash lookup.

        For the owner thread, when a lookup made ahead of the load may be stale.
        """
        if pkg.stored is None:
            return pkg
        envelope = read_envelope(self.store.get(pkg.stored))
        payload = envelope.payload
        if not isinstance(payload, Mapping):
            return pkg
        pkg.payload, pkg.rows, pkg.outcome = payload, None, None
        pkg.known, pkg.items_digest = None, None
        try:
            self._parse(pkg, lookup)
        finally:
            pkg.payload = None
        return pkg

    def _capture(self, pkg: Package, src: PageSource) -> None:
        started = time.perf_counter()
        key = self.bronze_key(src.page, src.part)
        sha = src.payload_sha256 or sha256_hex(src.payload_bytes)
        try:
            body = build_envelope(
                endpoint=src.endpoint,
                params=src.params,
                sent_at=src.sent_at,
                status=src.status,
                received_at=src.received_at,
                headers=src.headers,
                payload_bytes=src.payload_bytes,
                run_id=self.run_id,
                page=src.page,
                part=src.part,
                code_version=__version__,
                payload=src.payload,
                payload_is_object=src.payload is None and src.parse is not None,
                notes=src.notes,
                payload_sha256=sha,
            )
        except ValueError as exc:
            raise StorageError(f"cannot build the bronze envelope of {key.path}: {exc}") from exc
        self.store.put(key, body, payload_sha256=sha)
        pkg.stored = key
        pkg.record = _with(pkg.record, bronze_key=key.path, sha256=sha)
        pkg.payload, pkg.endpoint = src.payload, src.endpoint
        pkg.nbytes = len(src.payload_bytes)
        if self.note_captures:
            self.side.note_capture(pkg.record)
        pkg.time("bronze", started)

    def _known(self, pkg: Package, known: Known) -> bool:
        """Whether the page repeats a known one: then its rows are its unchanged items."""
        sha = pkg.record.sha256
        if sha is None:
            return False
        started = time.perf_counter()
        pkg.looked_up = self.loads()  # before the lookup, as for stored hashes
        try:
            hit = known(sha, self.salt)
        except DatabaseError as exc:  # the page is parsed as any other; nothing is lost
            log.warning("known_page_unchecked", page_key=pkg.record.page_key, error=str(exc))
            return False
        if hit is None:
            return False
        cns = hit.control_numbers
        pkg.rows = PageRows(items=hit.items, control_numbers=list(cns), unchanged=list(cns))
        pkg.known, pkg.items_digest = hit, hit.items_digest
        pkg.time("parse", started)
        log.info("page_known", page_key=pkg.record.page_key, same_as=f"{hit.run_id}/{hit.page_key}")
        return True

    def _read_back(self, pkg: Package) -> None:
        """Read a bronze object; it must carry the hash its run recorded at capture."""
        assert pkg.bronze is not None
        started = time.perf_counter()
        key = pkg.bronze
        raw = self.store.get(key)
        envelope = read_envelope(raw)
        sha = envelope.ingest.get("sha256")
        claimed = sha if isinstance(sha, str) else None
        found, recorded = self.side.captured_sha256(key)
        if recorded is None:
            why = "the ledger holds no hash for this page" if found else "no ledger row"
            pkg.unverified = key.path
            log.warning("bronze_page_unverified", key=key.path, reason=why)
        elif claimed != recorded:
            shown = f"{claimed[:12]}..." if claimed else "none"
            raise CaptureMismatchError(
                f"bronze object {key.path} does not match the SHA-256 recorded at capture "
                f"(ledger {recorded[:12]}..., object {shown}): refused, nothing loaded"
            )
        payload = envelope.payload
        if not isinstance(payload, Mapping):
            raise ValueError(f"{key.path}: payload is not a JSON object")
        seen = parse_timestamp(envelope.response.get("received_at"), datetime.now(UTC))
        pkg.record = _with(pkg.record, sha256=claimed, fetched_at=seen)
        pkg.seen_at = seen
        pkg.payload = payload
        endpoint = envelope.request.get("endpoint")
        pkg.endpoint = endpoint if isinstance(endpoint, str) else None
        pkg.stored = key
        pkg.nbytes = envelope.size or len(raw)
        pkg.time("bronze", started)

    def _parse(self, pkg: Package, lookup: Lookup) -> None:
        payload = pkg.payload or {}
        started = time.perf_counter()
        historic = is_historic_payload(payload)
        try:
            items = historic_items(payload) if historic else search_items(payload)
        except ValueError as exc:
            pkg.rejected = f"{pkg.record.source}: {exc}"
            return
        part = pkg.record.part or (pkg.stored.part if pkg.stored is not None else None)
        if historic and is_text_page(pkg.endpoint, part, payload):
            pkg.rows = transform_text_page(items)  # AnnouncementText: never read as records
            pkg.time("parse", started)
            return
        unknown: Counter[str] = Counter()
        if historic:  # a Historic JOA page (backfill): same rows, its own item model
            prepared = prepare_items(
                items, unknown, control_number=historic_control_number, drift=historic_unknown_keys
            )
        else:
            prepared = prepare_items(items, unknown)
        found = [p.control_number for p in prepared if p.control_number]
        pkg.looked_up = self.loads()
        kind = "historic" if historic else "search"
        if historic:
            rows = mark_historic(
                _transform(prepared, stored=lookup(found, kind), item_rows=transform_historic_item),
                items,
            )
        else:
            rows = _transform(prepared, stored=lookup(found, kind))
        rows.unknown_keys = unknown
        pkg.rows = rows
        pkg.time("parse", started)
        if self.gate is not None:
            started = time.perf_counter()
            pkg.outcome = self.gate(rows, payload)
            pkg.time("dq", started)
        if not historic and _clean(rows, pkg.outcome, len(items)) and _countable(pkg, payload):
            pkg.items_digest = _digest(rows, prepared, self.salt)


def _digest(rows: PageRows, prepared: list[PreparedItem], salt: str) -> str | None:
    """The items digest of a clean page, over the control numbers its rows carry."""
    hashes = {p.index: p.digest for p in prepared}
    pairs = [(cn, hashes.get(rows.item_index.get(cn, -1))) for cn in rows.control_numbers]
    if any(digest is None for _, digest in pairs):
        return None
    return items_digest(((cn, str(digest)) for cn, digest in pairs), salt)


def gate_identity(gate: PageGate | None) -> str:
    """What the gate's results depend on besides the page (its settings), as text."""
    if gate is None:
        return "no gate"
    identity = getattr(gate, "identity", None)
    return str(identity()) if callable(identity) else type(gate).__qualname__


def _clean(rows: PageRows, outcome: GateOutcome | None, items: int) -> bool:
    """A page whose every item loads as it is: no quarantine, duplicate, drift or failure."""
    if outcome is not None:
        if outcome.hold or outcome.failed_expectations:
            return False
        rows = outcome.rows
    return (
        not rows.quarantine
        and not rows.duplicates
        and not rows.unknown_keys
        and len(rows.control_numbers) == items
    )


def _countable(pkg: Package, payload: Mapping[str, Any]) -> bool:
    """Whether a repeat of this page could give its ``SearchResultCountAll`` unparsed."""
    body = pkg.src.payload_bytes if pkg.src is not None else None
    result = payload.get("SearchResult")
    if body is None or not isinstance(result, Mapping):
        return False
    return count_all_in(body) == result.get("SearchResultCountAll")


def _with(record: repo.PageRecord, **changes: Any) -> repo.PageRecord:
    return replace(record, **changes)


def make_record(
    run_id: str,
    key: str,
    page: int,
    *,
    part: str | None = None,
    source: str | None = None,
    bronze_key: str | None = None,
    scope_hash: str | None = None,
) -> repo.PageRecord:
    """A ledger record for a page that has not been captured yet."""
    return repo.PageRecord(
        run_id, key, part or "", page, source, bronze_key, None, None, scope_hash
    )
