"""`tasman-etl run`: plan -> fetch -> bronze -> validate -> load -> ledger -> summary.

The plan (partitions and their page counts) is recorded before any page is fetched,
so `--resume RUN_ID` knows every page of the run without asking the API again: loaded
pages are skipped, pages already in bronze are loaded from there, the rest are fetched.
Fetching runs on `concurrency` threads behind the client's one rate limiter; loading
happens on this thread, one transaction per page. A stop request (SIGTERM/SIGINT)
lets the page being loaded commit, then ends the run as `aborted`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import structlog

from tasman_etl import __version__
from tasman_etl.db import repository as repo
from tasman_etl.db import run_lock
from tasman_etl.errors import AuthError, ConfigError, DatabaseError, FetchError, TasmanError
from tasman_etl.http.partition import CAP, is_capped, page_count
from tasman_etl.http.usajobs import Page, SearchPlan, SearchQuery, UsajobsClient
from tasman_etl.runner import plausible
from tasman_etl.runner.pipeline import (
    PageGate,
    PageIngestor,
    PageSource,
    PreparedPage,
    Processed,
    new_run_id,
    page_key,
)
from tasman_etl.storage.bronze import BronzeKey, BronzeStore
from tasman_etl.transform import search_items

__all__ = ["RunAborted", "RunLockedError", "RunOptions", "RunResult", "execute_run"]

log = structlog.get_logger(__name__)

# The gate validates ready pages together: Great Expectations costs 0.15-0.25 s a call
# whatever the row count. Pages wait for a batch at most BATCH_WAIT_S, and a batch holds
# at most BATCH_MAX_PAGES pages (memory) or about BATCH_JOBS jobs to check.
BATCH_JOBS = 2_000
BATCH_MAX_PAGES = 4
BATCH_WAIT_S = 1.5
# Threads beyond --concurrency: they parse pages while others wait for the API.
PARSE_THREADS = 1


class RunLockedError(TasmanError):
    """Another run of the same search scope is in progress."""


class RunAborted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside fetch threads when a stop was requested."""


@dataclass(frozen=True)
class RunOptions:
    """What to run: the search, paging limits, and run identity."""

    query: SearchQuery
    results_per_page: int = 500
    max_pages: int | None = None
    concurrency: int = 1
    run_id: str | None = None
    resume: str | None = None
    shrink_guard: float = 0.5
    """Share of a scope's jobs that may vanish in one run before the result is not trusted."""
    accept_shrink: bool = False
    """Trust a result that shrank past `shrink_guard` (the scope really emptied)."""
    run_max_age_s: float = 6 * 3600
    """A run holding the search's lock longer than this may be taken over (RUN_MAX_AGE_S)."""


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run: its summary and the exit status it implies."""

    run_id: str
    summary: dict[str, Any]
    failed: bool


@dataclass(frozen=True)
class _Part:
    key: str | None
    query: SearchQuery
    pages: int
    total: int = 0
    """`SearchResultCountAll` when the partition (or its sweep) was planned."""
    over_cap: bool = False


HEARTBEAT_S = 30.0
"""How often a working run refreshes `ingest_run.heartbeat_at`."""

SWEEP_MARK = "sweep"
MAX_SWEEPS = 3
"""Sweeps of a partition whose rows moved while it was paged, before it counts as
under-collected (the first sweep included)."""


def sweep_key(base: str | None, sweep: int) -> str | None:
    """The partition key of a partition's `sweep`-th sweep: ``p001.sweep2``, or ``sweep2``."""
    if sweep <= 1:
        return base
    return f"{base}.{SWEEP_MARK}{sweep}" if base else f"{SWEEP_MARK}{sweep}"


def split_sweep(key: str | None) -> tuple[str, int]:
    """``(base partition, sweep number)`` of a partition key (``''`` for an unsplit search)."""
    key = key or ""
    base, dot, last = key.rpartition(".")
    if not dot:
        base, last = "", key
    if last.startswith(SWEEP_MARK) and last[len(SWEEP_MARK) :].isdigit():
        return base, int(last[len(SWEEP_MARK) :])
    return key, 1


@dataclass(frozen=True)
class _Fetched:
    page: Page
    captured: tuple[BronzeKey, str]
    prepared: PreparedPage | None
    processed: Processed | None
    bronze_s: float
    parse_s: float
    error: str | None = None
    """Why the page cannot be loaded although it was fetched (the gate broke)."""


def _reconnector(conn: psycopg.Connection[Any]) -> Callable[[], psycopg.Connection[Any]]:
    """A factory for a new connection like `conn` (same DSN and password, autocommit)."""
    dsn, password = conn.info.dsn, conn.info.password

    def connect() -> psycopg.Connection[Any]:
        if password:
            return psycopg.connect(dsn, autocommit=True, password=password)
        return psycopg.connect(dsn, autocommit=True)

    return connect


class _SideConn:
    """A second connection shared by the fetch threads, one statement at a time."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def lookup(self, control_numbers: list[str]) -> Mapping[str, str]:
        """`stored_hashes`: which items the database holds, with their content hashes."""
        with self.lock:
            return repo.stored_hashes(self.conn, control_numbers)

    def note_capture(self, run_id: str, key: str, bronze_key: str, sha256: str) -> None:
        """Record a page's payload hash in the ledger as soon as it is in bronze.

        `--resume` checks bronze pages against it, including pages captured but not loaded
        before the process died. Best effort: the load records the hash again.
        """
        try:
            with self.lock:
                repo.record_capture(self.conn, run_id, key, bronze_key, sha256)
        except (DatabaseError, psycopg.Error) as exc:
            log.warning("capture_not_recorded", page_key=key, error=str(exc)[:300])


def interruptible_sleep(stop: threading.Event) -> Callable[[float], None]:
    """A sleep for backoff waits that ends the fetch at once when a stop is requested."""

    def sleep(seconds: float) -> None:
        if stop.wait(max(0.0, seconds)):
            raise RunAborted

    return sleep


def _plan_records(plan: SearchPlan, max_pages: int | None) -> list[repo.PartitionRecord]:
    records = []
    budget = max_pages
    for p in plan.partitions:
        pages = p.pages if budget is None else max(1, min(p.pages, budget))
        if budget is not None:
            budget = max(1, budget - pages)
        records.append(
            repo.PartitionRecord(
                part=p.key or "",
                params=p.query.model_dump(mode="json"),
                api_total=p.count_all,
                pages=pages,
                over_cap=p.over_cap,
            )
        )
    return records


def _skeleton(payload: dict[str, Any]) -> dict[str, Any]:
    """A parsed page reduced to what is still needed after the parse: its counts and
    each item's `MatchedObjectId` (the gate's page rules and quarantine use them)."""
    result = dict(payload["SearchResult"])
    result["SearchResultItems"] = [
        {"MatchedObjectId": item.get("MatchedObjectId")} if isinstance(item, Mapping) else None
        for item in search_items(payload)
    ]
    return {**payload, "SearchResult": result}


def _source(page: Page, pages: int | None = None) -> PageSource:
    notes = f"raw page {page.page}" + (f" of {pages}" if pages else "")
    if page.part:
        notes += f", partition {page.part}"
    return PageSource(
        page=page.page,
        part=page.part,
        endpoint=page.endpoint,
        params=page.params,
        sent_at=page.sent_at,
        received_at=page.received_at,
        status=page.status,
        headers=page.headers,
        payload_bytes=page.body,
        payload=page.payload,
        source=page.endpoint,
        notes=notes,
    )


class _Runner:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        store: BronzeStore,
        client: UsajobsClient,
        opts: RunOptions,
        stop: threading.Event,
        progress: Callable[[int, int, str], None] | None,
        side: _SideConn | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.client = client
        self.opts = opts
        self.stop = stop
        self.progress = progress
        self.side = side
        self.lookup = side.lookup if side is not None else None
        self.reconnect: Callable[[], psycopg.Connection[Any]] | None = None
        self.scope: str | None = None
        self.done_pages = 0
        self.total_pages = 0
        self.requests = threading.BoundedSemaphore(max(1, opts.concurrency))
        """At most `concurrency` search requests at a time, whatever the thread count."""
        self.prefetched: dict[tuple[str, int], Page] = {}
        """First pages fetched while planning, by (partition, page); `_fetch` takes them."""
        self.seen_totals: dict[str, set[int]] = {}
        """`SearchResultCountAll` of every page fetched in this invocation, by partition."""
        self.first_ids: dict[str, set[str]] = {}
        """Control numbers of each partition's page 1 as fetched in this invocation."""
        self.moved: dict[str, str] = {}
        """Base partitions whose rows still moved in their last sweep: why."""
        self.resweeps: list[dict[str, Any]] = []
        """Sweeps started because rows moved during the previous one (for the summary)."""
        self.run_id: str | None = None
        self.last_beat = time.monotonic()

    # -- helpers -------------------------------------------------------------------------

    def _beat(self) -> None:
        """Every `HEARTBEAT_S`, tell the ledger this run is alive (see `run_lock`)."""
        now = time.monotonic()
        if self.run_id is None or now - self.last_beat < HEARTBEAT_S:
            return
        self.last_beat = now
        try:
            run_lock.heartbeat(self.conn, self.run_id)
        except DatabaseError as exc:  # the load that follows reconnects or fails the page
            log.warning("heartbeat_failed", error=str(exc)[:300])

    def _tick(self, label: str) -> None:
        self._beat()
        self.done_pages += 1
        if self.progress:
            self.progress(self.done_pages, max(self.total_pages, self.done_pages), label)

    def _record(
        self,
        ingestor: PageIngestor,
        part: str | None,
        page: int,
        captured: tuple[BronzeKey, str] | None = None,
    ) -> repo.PageRecord:
        return repo.PageRecord(
            ingestor.run_id,
            page_key(page, part),
            part or "",
            page,
            self.client.endpoint,
            captured[0].path if captured else None,
            captured[1] if captured else None,
        )

    def _ingest(
        self,
        ingestor: PageIngestor,
        page: Page,
        empty: dict[str, int],
        fetched: _Fetched | None = None,
    ) -> None:
        if fetched is not None:
            ingestor.stats.phases["bronze"] += fetched.bronze_s
            ingestor.stats.phases["parse"] += fetched.parse_s
            if fetched.error is not None:
                ingestor.fail_page(
                    self._record(ingestor, page.part, page.page, fetched.captured), fetched.error
                )
                self._tick(page_key(page.page, page.part))
                return
        try:
            self._with_db(
                ingestor,
                lambda: ingestor.ingest(
                    _source(page),
                    captured=fetched.captured if fetched else None,
                    prepared=fetched.prepared if fetched else None,
                    processed=fetched.processed if fetched else None,
                ),
            )
        except ValueError as exc:  # not a search payload (already recorded as failed)
            log.warning("page_rejected", part=page.part, page=page.page, error=str(exc))
        except DatabaseError as exc:
            if self.conn.closed or self.conn.broken:
                raise  # the database is gone even after a reconnect: the run cannot go on
            # The database refused this page as a whole (no single item explains it): the
            # page fails, with bronze kept for `--resume`/`replay`; the run goes on.
            captured = fetched.captured if fetched is not None else None
            ingestor.fail_page(self._record(ingestor, page.part, page.page, captured), str(exc))
        if not page.items:
            empty[page.part or ""] = min(empty.get(page.part or "", page.page), page.page)
        self._observe(page)
        self._tick(page_key(page.page, page.part))

    def _observe(self, page: Page) -> None:
        """Remember what the page says of its partition: the total, and page 1's rows."""
        try:
            total = page.count_all
            ids = set(page.control_numbers) if page.page == 1 else None
        except (AttributeError, TypeError, ValueError):  # not a search payload
            return
        self.seen_totals.setdefault(page.part or "", set()).add(total)
        if ids is not None:
            self.first_ids[page.part or ""] = ids

    def _with_db(self, ingestor: PageIngestor, load: Callable[[], Any]) -> None:
        """Run a page load; if the database connection died, reconnect once and load again.

        The page's transaction was rolled back whole (or committed: loading is idempotent),
        so loading it again on a fresh connection is safe.
        """
        try:
            load()
        except DatabaseError as exc:
            if not _connection_lost(self.conn, exc.__cause__) or self.reconnect is None:
                raise
            self._reconnect(ingestor)
            load()

    def _reconnect(self, ingestor: PageIngestor) -> None:
        assert self.reconnect is not None
        deadline = time.monotonic() + 60
        while True:
            try:
                fresh = self.reconnect()
                break
            except psycopg.OperationalError as exc:  # the server may still be restarting
                if time.monotonic() > deadline or self.stop.wait(0.5):
                    raise DatabaseError(f"cannot reconnect to the database: {exc}") from exc
        log.warning("database_reconnected", run_id=ingestor.run_id)
        if self.scope:  # a session that is still alive would hold the lock a while longer
            repo.unlock_scope(self.conn, self.scope)
        with contextlib.suppress(psycopg.Error):
            self.conn.close()
        self.conn = fresh
        ingestor.conn = fresh
        if self.scope and not repo.try_lock_scope(fresh, self.scope):
            raise RunLockedError(
                "another run of the same search started while the database "
                "connection was lost; stopping this one"
            )
        if self.scope:
            run_lock.record_lock_holder(fresh, ingestor.run_id)

    # -- phases --------------------------------------------------------------------------

    def plan(self, run_id: str, ingestor: PageIngestor, codelists: Any) -> list[_Part]:
        clock = time.perf_counter()
        plan = self.client.plan(
            self.opts.query, codelists=codelists, results_per_page=self.opts.results_per_page
        )
        ingestor.stats.phases["fetch"] += time.perf_counter() - clock
        records = _plan_records(plan, self.opts.max_pages)
        repo.record_plan(self.conn, run_id, records, self.client.endpoint)
        log.info(
            "run_planned",
            partitions=len(records),
            pages=sum(r.pages for r in records),
            planning_requests=plan.requests_used,
            over_cap=[p.key for p in plan.over_cap],
        )
        self.total_pages = sum(r.pages for r in records)
        # Planning fetched each partition's first page: `work` loads them with the rest
        # (so fetching goes on while Great Expectations is still being imported).
        for partition in plan.partitions:
            self.prefetched[(partition.key or "", 1)] = partition.first_page
        return [
            _Part(p.key, p.query, r.pages, p.count_all, p.over_cap)
            for p, r in zip(plan.partitions, records, strict=True)
        ]

    def work(self, ingestor: PageIngestor, parts: list[_Part]) -> None:
        statuses = repo.page_statuses(self.conn, ingestor.run_id)
        in_bronze = {(k.part or "", k.page): k for k in self.store.list(run_id=ingestor.run_id)}
        self.total_pages = sum(p.pages for p in parts)
        self.done_pages = sum(1 for s in statuses.values() if s in ("loaded", "skipped"))
        to_fetch: deque[tuple[_Part, int]] = deque()
        empty: dict[str, int] = {}
        for part in parts:
            for number in range(1, part.pages + 1):
                key = page_key(number, part.key)
                if statuses.get(key) in ("loaded", "skipped"):
                    continue
                if self.stop.is_set():
                    return
                bronze = in_bronze.get((part.key or "", number))
                if bronze is not None:
                    self._replay(ingestor, bronze, key)
                else:
                    to_fetch.append((part, number))
        self._fetch_all(ingestor, to_fetch, empty)
        self._settle_sweeps(ingestor, parts, empty)

    # -- rows that move while a partition is paged ---------------------------------------

    def _settle_sweeps(
        self, ingestor: PageIngestor, parts: list[_Part], empty: dict[str, int]
    ) -> None:
        """Check each paged partition for rows that moved while it was paged; sweep it again.

        Offset paging over a live result is not stable: a job that leaves page 1 after it
        was served moves every later row up one place, and one job is never served. After
        the pages of a partition are loaded, its page 1 is read again. The partition moved
        when that page or any page's `SearchResultCountAll` differs from what the sweep
        saw; it is then paged again as ``{part}.sweep2`` (its pages loaded like any other),
        up to `MAX_SWEEPS` sweeps. A partition still moving after that is reported as
        under-collected (`self.moved`). A run capped by --max-pages is not checked (it is
        under-collected anyway), nor is a partition of one page (nothing can shift).
        """
        if self.opts.max_pages is not None:
            return
        while not self.stop.is_set():
            again: deque[tuple[_Part, int]] = deque()
            statuses = repo.page_statuses(self.conn, ingestor.run_id)
            for part in _last_sweeps(parts):
                base, sweep = split_sweep(part.key)
                if part.over_cap or part.pages < 2 or not _all_loaded(statuses, part):
                    continue
                reread, reason = self._moved(ingestor, part, sweep_key(base or None, sweep + 1))
                if reason is None:
                    self.moved.pop(base, None)
                    continue
                log.warning("rows_moved", part=base or None, sweep=sweep, reason=reason)
                if reread is None or sweep >= MAX_SWEEPS:
                    self.moved[base] = reason
                    continue
                self.moved[base] = reason  # until the next sweep holds still
                fresh = self._plan_sweep(ingestor, part, reread, sweep + 1)
                parts.append(fresh)
                self.resweeps.append({"part": base or None, "sweep": sweep + 1, "reason": reason})
                again.extend((fresh, n) for n in range(1, fresh.pages + 1))
            if not again:
                return
            self.total_pages += len(again)
            self._fetch_all(ingestor, again, empty)

    def _moved(
        self, ingestor: PageIngestor, part: _Part, next_key: str | None
    ) -> tuple[Page | None, str | None]:
        """Read page 1 of a loaded partition again: ``(that page, why the rows moved)``."""
        key = part.key or ""
        try:
            with self.requests:
                reread = self.client.fetch_page(
                    part.query, 1, part=next_key, results_per_page=self.opts.results_per_page
                )
            total = reread.count_all
            ids = set(reread.control_numbers)
        except RunAborted:
            return None, None
        except AuthError:
            raise
        except (TasmanError, AttributeError, TypeError, ValueError) as exc:
            return None, f"page 1 could not be read again to check the sweep: {exc}"[:500]
        seen = self.seen_totals.get(key, set()) | {part.total}
        if seen != {total}:
            counts = " -> ".join(str(n) for n in sorted(seen - {total}, reverse=True))
            return reread, (
                f"SearchResultCountAll changed while the partition was paged ({counts} -> {total})"
            )
        first = self.first_ids.get(key)
        if first is None:  # page 1 was loaded by an earlier invocation: ask the ledger
            first = repo.page_control_numbers(self.conn, ingestor.run_id, page_key(1, part.key))
            changed = not first <= ids
        else:
            changed = first != ids
        if changed:
            gone, new = len(first - ids), len(ids - first)
            return reread, f"page 1 changed while the partition was paged ({gone} gone, {new} new)"
        return reread, None

    def _plan_sweep(self, ingestor: PageIngestor, part: _Part, page1: Page, sweep: int) -> _Part:
        """Record a new sweep of `part` in the ledger, with `page1` as its first page."""
        base, _ = split_sweep(part.key)
        key = sweep_key(base or None, sweep)
        pages = max(1, page_count(page1.count_all, self.opts.results_per_page, CAP))
        record = repo.PartitionRecord(
            part=key or "",
            params=part.query.model_dump(mode="json"),
            api_total=page1.count_all,
            pages=pages,
            over_cap=is_capped(page1.count_all),
        )
        repo.record_plan(self.conn, ingestor.run_id, [record], self.client.endpoint)
        self.prefetched[(key or "", 1)] = page1
        return _Part(key, part.query, pages, page1.count_all, record.over_cap)

    def _replay(self, ingestor: PageIngestor, key: BronzeKey, ledger_key: str) -> None:
        try:
            self._with_db(ingestor, lambda: ingestor.replay_key(key))
        except ValueError as exc:
            log.warning("bronze_page_rejected", key=key.path, error=str(exc))
        except TasmanError as exc:
            ingestor.fail_page(
                repo.PageRecord(
                    ingestor.run_id, ledger_key, key.part or "", key.page, key.path, key.path, None
                ),
                str(exc),
            )
        self._tick(ledger_key)

    def _fetch_all(
        self, ingestor: PageIngestor, queue: deque[tuple[_Part, int]], empty: dict[str, int]
    ) -> None:
        """Fetch and parse on the pool, gate in batches on a gate thread, load here in order.

        Three stages overlap: fetch threads (GET, bronze, parse), one gate thread (Great
        Expectations over every parsed page that is ready, as one batch) and this thread
        (the database, one transaction per page). At most `window` pages are held at once.
        """
        conc = max(1, self.opts.concurrency)
        # `conc` requests at a time (the semaphore in `_fetch`); PARSE_THREADS more threads
        # so pages are parsed while the next ones download.
        workers = conc + PARSE_THREADS
        window = BATCH_MAX_PAGES + 2 * workers  # pages in memory: fetching, pending, gating
        in_flight: dict[Future[_Fetched], tuple[_Part, int]] = {}
        pending: list[_Fetched] = []  # parsed, waiting to be gated
        gating: deque[tuple[Future[list[_Fetched]], int]] = deque()  # FIFO batches, sizes
        oldest = 0.0  # when the oldest pending page became ready
        with (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate") as gate_pool,
        ):

            def held() -> int:
                return len(in_flight) + len(pending) + sum(n for _, n in gating)

            def top_up() -> None:
                while (
                    queue
                    and len(in_flight) < 2 * workers
                    and held() < window
                    and not self.stop.is_set()
                ):
                    part, number = queue.popleft()
                    stop_at = empty.get(part.key or "")
                    if stop_at is not None and number > stop_at:
                        repo.record_page(
                            self.conn,
                            self._record(ingestor, part.key, number),
                            status="skipped",
                            attempts=0,
                            error=f"page {stop_at} was empty",
                        )
                        self._tick(page_key(number, part.key))
                        continue
                    future = pool.submit(self._fetch, ingestor, part, number)
                    in_flight[future] = (part, number)

            try:
                while queue or in_flight or pending or gating:
                    self._beat()
                    top_up()
                    if self.stop.is_set():
                        break
                    drained = not in_flight and not queue
                    if pending and self._batch_due(pending, oldest, drained=drained):
                        batch, pending = pending, []
                        batch.sort(key=lambda f: (f.page.part or "", f.page.page))
                        gating.append((gate_pool.submit(self._gate, ingestor, batch), len(batch)))
                    if gating and gating[0][0].done():
                        for fetched in gating.popleft()[0].result():
                            if self.stop.is_set():
                                break
                            self._ingest(ingestor, fetched.page, empty, fetched)
                            top_up()
                        continue
                    waiting: set[Future[Any]] = set(in_flight)
                    if gating:
                        waiting.add(gating[0][0])
                    if not waiting:
                        continue
                    timeout = 0.5 if not pending else oldest + BATCH_WAIT_S - time.monotonic()
                    clock = time.perf_counter()
                    done, _ = wait(waiting, timeout=max(0.0, timeout), return_when=FIRST_COMPLETED)
                    ingestor.stats.phases["fetch"] += time.perf_counter() - clock
                    for future in done:
                        if future not in in_flight:
                            continue
                        part, number = in_flight.pop(future)
                        got = self._collect(ingestor, future, part, number)
                        if got is not None:
                            if not pending:
                                oldest = time.monotonic()
                            pending.append(got)
            finally:
                for future in in_flight:
                    future.cancel()
                for batch_future, _ in gating:
                    batch_future.cancel()

    @staticmethod
    def _batch_due(pending: list[_Fetched], oldest: float, *, drained: bool) -> bool:
        """Gate the pending pages now? (Larger batches cost less GX time per page.)"""
        if drained or len(pending) >= BATCH_MAX_PAGES:
            return True
        if time.monotonic() - oldest >= BATCH_WAIT_S:
            return True
        jobs = 0
        for fetched in pending:
            if fetched.processed is None:  # not parsed: the loading thread does it all
                return True
            jobs += len(fetched.processed.rows.jobs)
        return jobs >= BATCH_JOBS

    def _fetch(self, ingestor: PageIngestor, part: _Part, number: int) -> _Fetched:
        """On a fetch thread: GET the page (unless planning did), write it to bronze, parse it.

        Bronze and the first pass overlap with the loading thread's database work
        (gzip and socket I/O release the GIL).
        """
        page = self.prefetched.pop((part.key or "", number), None)
        if page is None:
            with self.requests:
                page = self.client.fetch_page(
                    part.query, number, part=part.key, results_per_page=self.opts.results_per_page
                )
        clock = time.perf_counter()
        captured = ingestor.capture(_source(page, part.pages))
        if self.side is not None:
            self.side.note_capture(
                ingestor.run_id, page_key(number, part.key), captured[0].path, captured[1]
            )
        bronze_s = time.perf_counter() - clock
        clock = time.perf_counter()
        try:
            items = search_items(page.payload)
        except ValueError:  # the loading thread records why
            return _Fetched(page, captured, None, None, bronze_s, 0.0)
        prepared: PreparedPage | None = PreparedPage.of(items)
        prepare_s = time.perf_counter() - clock
        processed = None
        if self.lookup is not None:
            processed = ingestor.process(
                items, page.payload, prepared=prepared, lookup=self.lookup, gate=False
            )
            # Parsed: keep the rows, drop the parsed JSON (bronze has the page).
            page, prepared = replace(page, body=b"", payload=_skeleton(page.payload)), None
        return _Fetched(page, captured, prepared, processed, bronze_s, prepare_s)

    def _gate(self, ingestor: PageIngestor, ready: list[_Fetched]) -> list[_Fetched]:
        """On the gate thread: gate every parsed page of a batch in one call.

        Should the gate itself break, each page carries the error and fails alone.
        """
        parsed = [(i, f.processed, f.page.payload) for i, f in enumerate(ready) if f.processed]
        if not parsed:
            return ready
        try:
            gated = ingestor.gate_batch([(processed, payload) for _, processed, payload in parsed])
        except Exception as exc:
            log.exception("dq_batch_failed", pages=len(parsed))
            error = f"data-quality gate failed: {type(exc).__name__}: {exc}"[:500]
            return [replace(f, error=error) for f in ready]
        out = list(ready)
        for (i, _, _), processed in zip(parsed, gated, strict=True):
            out[i] = replace(ready[i], processed=processed)
        return out

    def _collect(
        self, ingestor: PageIngestor, future: Future[_Fetched], part: _Part, number: int
    ) -> _Fetched | None:
        """A fetched page, or None when its fetch failed (recorded as a failed page)."""
        try:
            return future.result()
        except RunAborted:
            return None
        except AuthError:
            raise
        except TasmanError as exc:  # fetch gave up, or bronze could not be written
            ingestor.fail_page(self._record(ingestor, part.key, number), str(exc))
        except Exception as exc:  # never let one page's surprise end the run
            log.exception("page_unexpected_error", part=part.key, page=number)
            ingestor.fail_page(
                self._record(ingestor, part.key, number),
                f"unexpected {type(exc).__name__}: {exc}"[:500],
            )
        self._tick(page_key(number, part.key))
        return None


# SQLSTATEs of a session that is gone: connection exceptions (class 08) and the server
# shutting down or terminating the backend. Other OperationalErrors (a program limit such as
# an index row too big, a statement timeout) are refusals on a live connection.
_LOST_STATES = ("57P01", "57P02", "57P03")


def _connection_lost(conn: psycopg.Connection[Any], cause: BaseException | None) -> bool:
    """Did a load fail because the database session is gone (worth a reconnect)?"""
    if conn.closed or conn.broken:
        return True
    if not isinstance(cause, psycopg.OperationalError):
        return False
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in _LOST_STATES


def _last_sweeps(parts: list[_Part]) -> list[_Part]:
    """The latest sweep of every partition, in plan order."""
    latest: dict[str, tuple[int, _Part]] = {}
    for part in parts:
        base, sweep = split_sweep(part.key)
        if base not in latest or latest[base][0] < sweep:
            latest[base] = (sweep, part)
    return [part for _, part in latest.values()]


def _all_loaded(statuses: Mapping[str, str], part: _Part) -> bool:
    return all(
        statuses.get(page_key(n, part.key)) in ("loaded", "skipped")
        for n in range(1, part.pages + 1)
    )


def execute_run(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    client: UsajobsClient,
    opts: RunOptions,
    *,
    stop: threading.Event,
    codelists: Any = None,
    gate: PageGate | None = None,
    on_complete: Callable[[psycopg.Connection[Any], str, str], Mapping[str, Any]] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    lookup_conn: psycopg.Connection[Any] | None = None,
) -> RunResult:
    """Run (or resume) a search end to end; see the module docstring.

    With `lookup_conn` (a second connection), fetch threads ask it which items the
    database holds unchanged and parse and check their pages themselves, overlapping
    with the loading thread; without it the loading thread does that work.
    """
    started = time.monotonic()
    side = _SideConn(lookup_conn) if lookup_conn is not None else None
    runner = _Runner(conn, store, client, opts, stop, progress, side)
    parts: list[_Part] | None = None
    if opts.resume:
        run_id = opts.resume
        row = repo.get_run(conn, run_id)
        if row is None:
            raise ConfigError(f"cannot resume: no run {run_id!r} in the ledger")
        if row["command"] != "run":
            raise ConfigError(
                f"cannot resume run {run_id}: it is a {row['command']!r} run; "
                "use `tasman-etl replay --run-id` for those"
            )
        query = SearchQuery.model_validate(row["params"]["query"])
        opts = RunOptions(
            query=query,
            results_per_page=int(row["params"]["results_per_page"]),
            max_pages=row["params"].get("max_pages"),
            concurrency=opts.concurrency,
            resume=run_id,
        )
        runner.opts = opts
        run_date: date = row["started_at"].astimezone(UTC).date()
        recorded = repo.load_plan(conn, run_id)
        if recorded:
            parts = [
                _Part(
                    r.part or None,
                    SearchQuery.model_validate(r.params),
                    r.pages,
                    r.api_total,
                    r.over_cap,
                )
                for r in recorded
            ]
    else:
        run_id = opts.run_id or new_run_id()
        if repo.get_run(conn, run_id) is not None:
            raise ConfigError(f"run {run_id} already exists; use --resume {run_id} to continue it")
        run_date = datetime.now(UTC).date()
    scope = opts.query.scope_hash()
    # A holder whose process is gone, or older than run_max_age_s, is taken over.
    lock = run_lock.take_scope_lock(conn, scope, run_id=run_id, max_age_s=opts.run_max_age_s)
    if not lock.acquired:
        raise RunLockedError(lock.message)
    runner.scope = scope
    runner.reconnect = _reconnector(conn)
    structlog.contextvars.bind_contextvars(run_id=run_id)
    try:
        params = {
            "query": opts.query.model_dump(mode="json"),
            "search_params": opts.query.to_params(),
            "results_per_page": opts.results_per_page,
            "max_pages": opts.max_pages,
            "api": client.endpoint,
        }
        repo.start_run(
            conn, run_id, command="run", params=params, scope_hash=scope, code_version=__version__
        )
        run_lock.record_lock_holder(conn, run_id)
        runner.run_id = run_id
        log.info(
            "run_started",
            resume=bool(opts.resume),
            search=opts.query.to_params(),
            bronze=store.describe(),
        )
        ingestor = PageIngestor(conn, store, run_id, run_date=run_date, scope_hash=scope, gate=gate)
        status, error = "succeeded", None

        def close(hook: Any = None) -> dict[str, Any]:
            return _close(
                runner.conn,
                client,
                run_id,
                status,
                error,
                started,
                ingestor.stats.phase_times(),
                on_complete=hook,
                checks=_Checks(
                    scope=scope,
                    shrink_guard=1.0 if opts.accept_shrink else opts.shrink_guard,
                    moved=runner.moved,
                    resweeps=runner.resweeps,
                    unverified=ingestor.stats.unverified,
                ),
            )

        try:
            if parts is None:
                parts = runner.plan(run_id, ingestor, codelists)
            runner.work(ingestor, parts)
            if stop.is_set():
                status, error = "aborted", "stopped by a signal; resume with --resume " + run_id
        except AuthError as exc:
            status, error = "failed", str(exc)
            close()
            raise
        except RunAborted:
            status, error = "aborted", "stopped by a signal; resume with --resume " + run_id
        except KeyboardInterrupt:
            status, error = "aborted", "interrupted; resume with --resume " + run_id
            close()
            raise
        except FetchError as exc:  # planning could not fetch page 1
            status, error = "failed", str(exc)
        summary = close(on_complete)
    finally:
        repo.unlock_scope(runner.conn, scope)
        structlog.contextvars.unbind_contextvars("run_id")
    return RunResult(run_id, summary, summary["status"] != "succeeded")


@dataclass(frozen=True)
class _Checks:
    """What `_close` needs to judge whether a finished run can be trusted."""

    scope: str
    shrink_guard: float = 1.0
    moved: Mapping[str, str] = field(default_factory=dict)
    resweeps: list[dict[str, Any]] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    """Bronze pages loaded with no capture hash in the ledger to check them against."""


def _under_collected(partitions: list[dict[str, Any]], moved: Mapping[str, str]) -> list[str]:
    """Partitions (their last sweep) that did not get every row the API counted."""
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for p in partitions:
        base, sweep = split_sweep(p["part"])
        if base not in latest or latest[base][0] < sweep:
            latest[base] = (sweep, p)
    under = []
    for base, (sweep, p) in latest.items():
        short = p["over_cap"] or p["unique_rows"] < min(p["api_total"], CAP)
        if short or base in moved:
            under.append(base or "(all)")
            log.warning(
                "under_collection",
                part=base or None,
                sweep=sweep,
                api_total=p["api_total"],
                fetched=p["fetched"],
                unique_rows=p["unique_rows"],
                over_cap=p["over_cap"],
                moved=moved.get(base),
            )
    return under


def _close(
    conn: psycopg.Connection[Any],
    client: UsajobsClient,
    run_id: str,
    status: str,
    error: str | None,
    started: float,
    phase_times: dict[str, float],
    *,
    on_complete: Callable[[psycopg.Connection[Any], str, str], Mapping[str, Any]] | None,
    checks: _Checks,
) -> dict[str, Any]:
    """Count, decide completeness, close the ledger row, log and return the summary.

    A run that fetched every page is complete only if no partition is under-collected
    (short of the API's count, over the cap, or its rows kept moving while it was paged)
    and its result is plausible against the scope's history (`plausible.shrink_reason`).
    An implausible run is `failed` (exit 1) with the reason, and marks nothing inactive;
    so is one whose inactive marking would retire more than the guard allows.
    """
    partitions = repo.update_partition_counts(conn, run_id)
    totals = repo.run_totals(conn, run_id)
    if status == "succeeded" and (
        totals["failed_pages"] or totals["held_pages"] or totals["pending_pages"]
    ):
        status = "failed"
        error = error or (
            f"{totals['failed_pages']} page(s) failed, {totals['held_pages']} held, "
            f"{totals['pending_pages']} not fetched; retry with --resume {run_id}"
        )
    under: list[str] = []
    implausible: list[str] = []
    if status == "succeeded":  # only a run that fetched every page can be judged
        under = _under_collected(partitions, checks.moved)
        baseline = plausible.baseline_jobs(conn, run_id, checks.scope)
        reason = plausible.shrink_reason(totals["unique_jobs"], baseline, checks.shrink_guard)
        if reason is not None:
            implausible.append(reason)
    complete = status == "succeeded" and not under and not implausible
    stats = client.stats
    summary: dict[str, Any] = {
        "run_id": run_id,
        "status": status,
        **totals,
        "complete": complete,
        "under_collection": under,
        "partitions": [
            {
                "part": p["part"] or None,
                "api_total": p["api_total"],
                "pages": p["pages"],
                "fetched": p["fetched"],
                "unique": p["unique_rows"],
                "over_cap": p["over_cap"],
            }
            for p in partitions
        ],
        "phase_times": phase_times,
        "requests": stats["requests"],
        "retries": stats["retries"],
    }
    if checks.resweeps:
        summary["resweeps"] = list(checks.resweeps)
    if checks.moved:
        summary["moved"] = {base or "(all)": why for base, why in checks.moved.items()}
    if checks.unverified:
        summary["unverified_pages"] = len(checks.unverified)
        summary["unverified"] = checks.unverified[:20]
    if complete and on_complete is not None:
        summary.update(on_complete(conn, run_id, status))
        guard = summary.get("inactive_guard")
        if guard:
            implausible.append(str(guard))
    if implausible:
        complete, status = False, "failed"
        summary.update(status=status, complete=False, implausible=implausible)
        error = (
            "result not trusted, nothing marked inactive: "
            + "; ".join(implausible)
            + ". If the search really shrank, run again with --accept-shrink"
        )
        log.error("run_implausible", reasons=implausible)
    if error:
        summary["error"] = error
    summary["duration_s"] = round(time.monotonic() - started, 3)
    repo.finish_run(conn, run_id, status=status, summary=summary, complete=complete, error=error)
    # `command` lets the log metric of scheduled pulls (infra/terraform/monitoring.tf) tell a
    # `run` from a `load` or `replay`, which log run_summary too.
    log.info(
        "run_summary",
        **{"command": "run", **{k: v for k, v in summary.items() if k != "partitions"}},
    )
    return summary
