"""What travels through the page engine: a page as received, its package, the run's notes.

`PageSource` is a page still to be captured; a `Package` carries one page through the
stages (`tasman_etl.runner.pages`), each stage filling in its part; `Notes` are what an
invocation saw besides the ledger's counts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import structlog

from tasman_etl.db import repository as repo
from tasman_etl.db.known import KnownPage
from tasman_etl.dq.outcome import GateOutcome
from tasman_etl.errors import AuthError, TasmanError
from tasman_etl.runner.results import RunAborted
from tasman_etl.storage.bronze import BronzeKey
from tasman_etl.transform import PageRows

__all__ = ["PHASES", "Notes", "Package", "PageSource", "prepare_failure", "report_loaded"]

log = structlog.get_logger(__name__)

PHASES = ("fetch", "bronze", "parse", "dq", "load")


@dataclass(frozen=True)
class PageSource:
    """One page as received (from HTTP, a file, or an envelope), still to be captured."""

    page: int
    part: str | None
    endpoint: str
    params: Mapping[str, Any]
    sent_at: datetime
    received_at: datetime
    status: int
    headers: Mapping[str, str]
    payload_bytes: bytes
    payload: Mapping[str, Any] | None
    source: str
    notes: str | None = None
    """What the page is, for the bronze envelope (``raw page 3 of 10``)."""
    payload_sha256: str | None = None
    """SHA-256 hex of ``payload_bytes`` when the source has it already."""
    parse: Callable[[], Mapping[str, Any]] | None = None
    """With ``payload`` None: the body repeats a page parsed and loaded before (a JSON
    object, not parsed yet); this parses it if the page turns out not to be known."""


@dataclass
class Package:
    """One page on its way through the stages; each stage fills in its part.

    The source sets `record` (the ledger identity) and either `src` (a page still to
    capture) or `bronze` (an object to read back). `prepare` adds `rows` and `outcome`
    (or `rejected`: why the payload is not a loadable search response) and drops the
    parsed payload; the owner loads it and drops the package.
    """

    record: repo.PageRecord
    seen_at: datetime
    src: PageSource | None = None
    bronze: BronzeKey | None = None
    stored: BronzeKey | None = None
    """Where the page is in bronze once captured or read back (to prepare it again)."""
    payload: Mapping[str, Any] | None = None
    endpoint: str | None = None
    """The request's endpoint (from the source or the bronze envelope), to tell pages apart."""
    attempts: int = 1
    nbytes: int = 0
    rows: PageRows | None = None
    outcome: GateOutcome | None = None
    rejected: str | None = None
    looked_up: int = 0
    """`Notes.loads` when the stored hashes were looked up: loads after it are not seen."""
    unverified: str | None = None
    """Why a bronze page could not be checked against its capture hash (it loads anyway)."""
    phases: dict[str, float] = field(default_factory=dict)
    tag: Any = None
    """Whatever the source wants back when the page is finished (`run`: the API page)."""
    error: BaseException | None = None
    """Why the page could not be prepared (set on the owner thread when it is finished)."""
    apply: Callable[[psycopg.Connection[Any]], None] | None = None
    """Owner-thread work that replaces the page load (a code list found among `load`'s
    files): no ledger row."""
    items_digest: str | None = None
    """Set when the page is clean: what makes a later identical page known (`db.known`)."""
    known: KnownPage | None = None
    """The earlier page this one repeats byte for byte: it was not parsed (ADR 0029)."""

    def time(self, phase: str, started: float) -> None:
        """Add the time since `started` (perf_counter) to `phase`."""
        self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - started


@dataclass
class Notes:
    """What this invocation saw besides the ledger's counts."""

    errors: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    unknown_keys: Counter[str] = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)
    loads: int = 0
    """Pages loaded so far by this invocation (workers read it: a monotonic counter)."""
    written: dict[str, int] = field(default_factory=dict)
    """Control number -> `loads` once the page that wrote its job row was committed."""
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def phase_times(self) -> dict[str, float]:
        """`{fetch_s, bronze_s, parse_s, dq_s, load_s}` rounded to milliseconds (``load_s``
        sums the loader threads' times)."""
        return {f"{name}_s": round(self.phases.get(name, 0.0), 3) for name in PHASES}

    def loaded(self, page_key: str, rows: PageRows, counts: repo.LoadCounts) -> None:
        """Count a committed page (in page order) and log it (`report_loaded`)."""
        self.loads += 1
        self.written.update(dict.fromkeys((job.control_number for job in rows.jobs), self.loads))
        again = [cn for cn in rows.control_numbers if cn in self.seen]
        self.seen.update(rows.control_numbers)
        self.unknown_keys.update(rows.unknown_keys)
        report_loaded(page_key, rows, counts, again)


def prepare_failure(pkg: Package, error: BaseException) -> tuple[str, str | None]:
    """What a page whose preparation raised `error` becomes: (status, error to record).

    ``("stopped", None)``: a stop was requested, the page stays as the ledger has it.
    An `AuthError` is raised again: every page would fail.
    """
    if isinstance(error, RunAborted):
        return "stopped", None
    if isinstance(error, AuthError):
        raise error
    if isinstance(error, ValueError):  # not a usable payload
        log.warning("page_rejected", page_key=pkg.record.page_key, error=str(error))
        return "failed", f"{pkg.record.source}: {error}"
    if isinstance(error, TasmanError):  # fetch gave up, bronze unreadable, refused
        return "failed", str(error)
    # never let one page's surprise end the run
    log.error(
        "page_unexpected_error",
        page_key=pkg.record.page_key,
        error=f"{type(error).__name__}: {error}",
    )
    return "failed", f"unexpected {type(error).__name__}: {error}"[:500]


def report_loaded(page_key: str, rows: PageRows, counts: repo.LoadCounts, again: list[str]) -> None:
    """Log a loaded page, the control numbers an earlier page of the run also had, and
    its quarantined items."""
    log.info(
        "page_loaded",
        page_key=page_key,
        items=rows.items,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        quarantined=counts.quarantined,
        duplicates=rows.duplicates + len(again),
    )
    if again:
        # The same rule as within a page: one row per control number (the later copy
        # wins), counted under `duplicates`, reported; the page is not held.
        log.warning(
            "dq_duplicate_control_numbers",
            page_key=page_key,
            scope="run",
            count=len(again),
            control_numbers=again[:20],
        )
    for q in rows.quarantine:
        log.warning(
            "item_quarantined",
            page_key=page_key,
            item_index=q.item_index,
            control_number=q.control_number,
            reason=q.reason,
        )
