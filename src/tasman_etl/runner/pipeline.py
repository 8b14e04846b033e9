"""The per-page path shared by `load`, `run` and `replay`: bronze -> parse -> silver -> ledger.

`PageIngestor` holds one run's state (its connection, bronze store and counters). Each
page is written to bronze first (write-once), then transformed and loaded in one
transaction together with its ledger row, so a page is either loaded and recorded or
neither.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import structlog

from tasman_etl import __version__
from tasman_etl.db.repository import (
    LoadCounts,
    PageRecord,
    captured_sha256,
    load_page_rows,
    record_page,
    stored_hashes,
)
from tasman_etl.dq.outcome import GateOutcome, PageGate
from tasman_etl.errors import BronzeIntegrityError, StorageError
from tasman_etl.storage.bronze import (
    BronzeKey,
    BronzeStore,
    build_envelope,
    read_envelope,
    sha256_hex,
)
from tasman_etl.transform import (
    PageRows,
    PreparedItem,
    dump_json,
    prepare_items,
    search_items,
    transform_prepared,
)

__all__ = [
    "CaptureMismatchError",
    "GateOutcome",
    "PageGate",
    "PageIngestor",
    "PreparedPage",
    "Processed",
    "RunStats",
    "new_run_id",
    "page_key",
    "parse_timestamp",
]

log = structlog.get_logger(__name__)


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


@dataclass
class RunStats:
    """Counters of one run; `summary()` is the JSON printed at the end."""

    pages: int = 0
    items: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    duplicates: int = 0
    failed_pages: int = 0
    held_pages: int = 0
    errors: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    """Bronze objects loaded without a capture hash in the ledger to check them against."""
    unknown_keys: Counter[str] = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    phases: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Seconds spent per phase on the loading thread: fetch (waiting), bronze, parse, dq, load."""

    def phase_times(self) -> dict[str, float]:
        """`{fetch_s, bronze_s, parse_s, dq_s, load_s}` rounded to milliseconds."""
        return {
            f"{name}_s": round(self.phases[name], 3)
            for name in ("fetch", "bronze", "parse", "dq", "load")
        }

    def summary(self, run_id: str, status: str, **extra: Any) -> dict[str, Any]:
        """The run summary (the contract of the last stdout line)."""
        out: dict[str, Any] = {
            "run_id": run_id,
            "status": status,
            "pages": self.pages,
            "items": self.items,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "failed_pages": self.failed_pages,
            "held_pages": self.held_pages,
            "unique_jobs": len(self.seen),
            "duration_s": round(time.monotonic() - self.started, 3),
        }
        out["phase_times"] = self.phase_times()
        if self.unknown_keys:
            out["unknown_keys"] = dict(sorted(self.unknown_keys.items()))
        if self.unverified:
            out["unverified_pages"] = len(self.unverified)
            out["unverified"] = self.unverified[:20]
        if self.errors:
            out["errors"] = self.errors[:20]
        out.update(extra)
        return out


class CaptureMismatchError(BronzeIntegrityError):
    """A bronze object's payload SHA-256 is not the one the ledger recorded at capture.

    The object may be intact by its own checksums (sidecar or S3 metadata, `ingest.sha256`)
    and still not be the page that was captured: it was rewritten consistently. The ledger
    is the witness kept apart from the object, so it wins.
    """


@dataclass(frozen=True)
class PageSource:
    """One page as received (from HTTP, a file, or an envelope)."""

    page: int
    part: str | None
    endpoint: str
    params: Mapping[str, Any]
    sent_at: datetime
    received_at: datetime
    status: int
    headers: Mapping[str, str]
    payload_bytes: bytes
    payload: Mapping[str, Any]
    source: str
    notes: str | None = None
    """What the page is, for the bronze envelope (``raw page 3 of 10``)."""


@dataclass(frozen=True)
class PreparedPage:
    """A page's cheap first pass (control numbers, hashes, drift), done off the load thread."""

    items: list[PreparedItem]
    unknown: Counter[str]

    @classmethod
    def of(cls, items: list[Any]) -> PreparedPage:
        """Run the first pass over a page's items."""
        unknown: Counter[str] = Counter()
        return cls(prepare_items(items, unknown), unknown)

    def control_numbers(self) -> list[str]:
        """The control numbers found, for the stored-hash lookup."""
        return [p.control_number for p in self.items if p.control_number]


@dataclass(frozen=True)
class Processed:
    """A page parsed and checked, ready to load."""

    rows: PageRows
    outcome: GateOutcome | None
    parse_s: float
    dq_s: float


class PageIngestor:
    """Writes pages of one run to bronze and silver, and keeps the run's counters."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        store: BronzeStore,
        run_id: str,
        *,
        run_date: date,
        stats: RunStats | None = None,
        scope_hash: str | None = None,
        gate: PageGate | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.run_id = run_id
        self.run_date = run_date
        self.stats = stats or RunStats()
        self.scope_hash = scope_hash
        self.gate = gate

    def bronze_key(self, page: int, part: str | None) -> BronzeKey:
        """Where this run keeps a page in bronze."""
        return BronzeKey(
            prefix=self.store.prefix,
            run_date=self.run_date,
            run_id=self.run_id,
            page=page,
            part=part,
        )

    def capture(self, src: PageSource) -> tuple[BronzeKey, str]:
        """Write the page to bronze (write-once); returns its key and payload SHA-256.

        Thread-safe (fetch threads call it): it touches only the store, not the counters.
        """
        key = self.bronze_key(src.page, src.part)
        try:
            body = self._envelope(src)
        except ValueError as exc:
            raise StorageError(f"cannot build the bronze envelope of {key.path}: {exc}") from exc
        sha = sha256_hex(src.payload_bytes)
        self.store.put(key, body, payload_sha256=sha)
        return key, sha

    def _envelope(self, src: PageSource) -> bytes:
        return build_envelope(
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
            notes=src.notes,
        )

    def ingest(
        self,
        src: PageSource,
        *,
        attempts: int = 1,
        captured: tuple[BronzeKey, str] | None = None,
        prepared: PreparedPage | None = None,
        processed: Processed | None = None,
    ) -> LoadCounts:
        """Bronze (unless `captured` already), then parse and load; records it in the ledger."""
        if captured is None:
            clock = time.perf_counter()
            captured = self.capture(src)
            self.stats.phases["bronze"] += time.perf_counter() - clock
        key, sha = captured
        return self.load_payload(
            src.payload,
            page=src.page,
            part=src.part,
            source=src.source,
            bronze_key=key.path,
            sha256=sha,
            seen_at=src.received_at,
            fetched_at=src.received_at,
            attempts=attempts,
            prepared=prepared,
            processed=processed,
        )

    def load_payload(
        self,
        payload: Mapping[str, Any],
        *,
        page: int,
        part: str | None,
        source: str,
        bronze_key: str | None,
        sha256: str | None,
        seen_at: datetime,
        fetched_at: datetime | None = None,
        attempts: int = 1,
        key: str | None = None,
        prepared: PreparedPage | None = None,
        processed: Processed | None = None,
    ) -> LoadCounts:
        """Parse, check and load a payload already in bronze.

        `prepared` (the first pass) or `processed` (rows and gate outcome) carry work a
        fetch thread has done already.
        """
        record = PageRecord(
            run_id=self.run_id,
            page_key=key or page_key(page, part),
            part=part or "",
            page=page,
            source=source,
            bronze_key=bronze_key,
            sha256=sha256,
            fetched_at=fetched_at,
            scope_hash=self.scope_hash,
        )
        try:
            items = search_items(payload)
        except ValueError as exc:
            self.fail_page(record, f"{source}: {exc}")
            raise
        if processed is None:
            processed = self.process(
                items,
                payload,
                prepared=prepared,
                lookup=lambda cns: stored_hashes(self.conn, cns),
            )
        self.stats.phases["parse"] += processed.parse_s
        self.stats.phases["dq"] += processed.dq_s
        rows = processed.rows
        dq: list[dict[str, Any]] | None = None
        outcome = processed.outcome
        if outcome is not None:
            dq = outcome.results
            if outcome.hold:
                self.fail_page(
                    record,
                    "held by data quality: failed " + ", ".join(outcome.failed_expectations),
                    status="held",
                    dq={"results": dq},
                )
                return LoadCounts(0, 0, 0, 0)
            rows = outcome.rows
        clock = time.perf_counter()
        counts = load_page_rows(
            self.conn,
            rows,
            record=record,
            seen_at=seen_at,
            extra_ledger={"attempts": attempts, "dq": {"results": dq} if dq is not None else None},
        )
        self.stats.phases["load"] += time.perf_counter() - clock
        st = self.stats
        st.pages += 1
        st.items += rows.items
        st.inserted += counts.inserted
        st.updated += counts.updated
        st.unchanged += counts.unchanged
        st.quarantined += counts.quarantined
        cross_page = sum(1 for cn in rows.control_numbers if cn in st.seen)
        st.duplicates += rows.duplicates + cross_page
        st.seen.update(rows.control_numbers)
        st.unknown_keys.update(rows.unknown_keys)
        log.info(
            "page_loaded",
            page_key=record.page_key,
            items=rows.items,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
            quarantined=counts.quarantined,
            duplicates=rows.duplicates + cross_page,
        )
        for q in rows.quarantine:
            log.warning(
                "item_quarantined",
                page_key=record.page_key,
                item_index=q.item_index,
                control_number=q.control_number,
                reason=q.reason,
            )
        return counts

    def process(
        self,
        items: list[Any],
        payload: Mapping[str, Any],
        *,
        prepared: PreparedPage | None,
        lookup: Callable[[list[str]], Mapping[str, str]],
        gate: bool = True,
    ) -> Processed:
        """Parse a page and run the gate: everything before the load, thread-safe.

        `lookup` returns the stored content hash of control numbers (the database's view);
        items it reports unchanged skip validation. With ``gate=False`` the page is only
        parsed: `gate_batch` checks it later, together with other pages.
        """
        clock = time.perf_counter()
        first = prepared if prepared is not None else PreparedPage.of(items)
        rows = transform_prepared(first.items, stored=lookup(first.control_numbers()))
        rows.unknown_keys = first.unknown
        parse_s = time.perf_counter() - clock
        outcome = None
        dq_s = 0.0
        if self.gate is not None and gate:
            clock = time.perf_counter()
            outcome = self.gate(rows, payload)
            dq_s = time.perf_counter() - clock
        return Processed(rows, outcome, parse_s, dq_s)

    def gate_batch(self, pages: Sequence[tuple[Processed, Mapping[str, Any]]]) -> list[Processed]:
        """Run the gate once over parsed pages (``process(gate=False)``); their time is shared.

        Pages already gated, and every page when there is no gate, come back unchanged.
        """
        todo = [i for i, (p, _) in enumerate(pages) if p.outcome is None]
        out = [p for p, _ in pages]
        if self.gate is None or not todo:
            return out
        clock = time.perf_counter()
        outcomes = self.gate.batch([(pages[i][0].rows, pages[i][1]) for i in todo])
        seconds = time.perf_counter() - clock
        log.debug("dq_batch", pages=len(todo), seconds=round(seconds, 3))
        share = seconds / len(todo)
        for i, outcome in zip(todo, outcomes, strict=True):
            out[i] = replace(out[i], outcome=outcome, dq_s=out[i].dq_s + share)
        return out

    def fail_page(
        self,
        record: PageRecord,
        error: str,
        *,
        status: str = "failed",
        dq: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a page that could not be loaded (kept in bronze when it got there)."""
        self.stats.errors.append(error)
        if status == "held":
            self.stats.held_pages += 1
        else:
            self.stats.failed_pages += 1
        record_page(self.conn, record, status=status, error=error, dq=dq)
        log.error("page_failed", page_key=record.page_key, error=error, status=status)

    def replay_key(
        self, key: BronzeKey, *, ledger_page: int | None = None, ledger_key: str | None = None
    ) -> LoadCounts:
        """Load a page from bronze (no network): used by `replay` and `--resume`.

        `replay` files pages of other runs under its own run id: it passes a ledger page
        number and key of its own. The object must carry the payload SHA-256 the ledger
        recorded when the page was captured (`verify_capture`); if not, it raises
        `CaptureMismatchError` and nothing of it is loaded.
        """
        envelope = read_envelope(self.store.get(key))
        sha = envelope.ingest.get("sha256")
        claimed = sha if isinstance(sha, str) else None
        self.verify_capture(key, claimed)
        payload = envelope.payload
        if not isinstance(payload, Mapping):
            raise ValueError(f"{key.path}: payload is not a JSON object")
        seen = parse_timestamp(envelope.response.get("received_at"), datetime.now(UTC))
        return self.load_payload(
            payload,
            page=ledger_page or key.page,
            part=None if ledger_key else key.part,
            source=key.path,
            bronze_key=key.path,
            sha256=claimed,
            seen_at=seen,
            fetched_at=seen,
            key=ledger_key,
        )

    def verify_capture(self, key: BronzeKey, claimed: str | None) -> None:
        """Check a bronze object against the ledger of the run that captured it.

        The ledger's `ingest_page.sha256` is the SHA-256 of the payload bytes as received,
        the same hash the object carries as `ingest.sha256` (and the store as its payload
        checksum). A different or missing hash raises `CaptureMismatchError`. When the
        ledger holds no hash for the page (no row: a wiped ledger or bronze copied from
        elsewhere; or NULL: the run stopped or failed the page before recording it) there is
        nothing to compare: the page loads, is logged `bronze_page_unverified` and counted
        under `unverified` in the summary.
        """
        found, recorded = captured_sha256(self.conn, key.run_id, key.part or "", key.page)
        if recorded is None:
            why = "the ledger holds no hash for this page" if found else "no ledger row"
            self.stats.unverified.append(key.path)
            log.warning("bronze_page_unverified", key=key.path, reason=why)
            return
        if claimed != recorded:
            shown = f"{claimed[:12]}..." if claimed else "none"
            raise CaptureMismatchError(
                f"bronze object {key.path} does not match the SHA-256 recorded at capture "
                f"(ledger {recorded[:12]}..., object {shown}): refused, nothing loaded"
            )


def payload_bytes_of(payload: Any) -> bytes:
    """Bytes for a payload that arrived already parsed (an envelope from elsewhere)."""
    return dump_json(payload).encode("utf-8", "surrogatepass")
