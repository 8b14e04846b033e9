"""The USAJOBS search as a source of pages: its plan, its pages, and their sweeps.

`Search` runs on the owner thread except `prepare`, which a worker runs for each page:
GET it (unless planning did, or it is in bronze already), then the common stages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import structlog

from tasman_etl.db import repository as repo
from tasman_etl.db.known import KnownPage
from tasman_etl.dq.outcome import PageGate
from tasman_etl.errors import AuthError, DatabaseError, TasmanError
from tasman_etl.http.page import count_all_in
from tasman_etl.http.partition import CAP, is_capped, page_count
from tasman_etl.http.usajobs import Page, SearchPlan, SearchQuery, UsajobsClient
from tasman_etl.runner.lifecycle import Run, RunAborted
from tasman_etl.runner.pages import Package, PageSource, make_record, page_key
from tasman_etl.runner.sweeps import (
    MAX_SWEEPS,
    Part,
    all_loaded,
    last_sweeps,
    split_sweep,
    sweep_key,
)
from tasman_etl.storage.bronze import BronzeStore

__all__ = ["PARSE_THREADS", "RunOptions", "Search", "plan_records"]

log = structlog.get_logger(__name__)

PARSE_THREADS = 1
"""Worker threads beyond --concurrency: they capture and parse while others wait for the API."""


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
class _Facts:
    """What the owner thread needs of a fetched page once its payload is dropped."""

    part: str | None
    page: int
    count_all: int | None
    first_ids: set[str] | None
    empty: bool


def _facts(page: Page, known: KnownPage | None = None) -> _Facts:
    if known is not None and page.decoded is None:  # a repeat: the ledger and the bytes
        counted = count_all_in(page.body)
        if counted is not None:
            first = set(known.control_numbers) if page.page == 1 else None
            return _Facts(page.part, page.page, counted, first, known.items == 0)
    try:
        total: int | None = page.count_all
        ids = set(page.control_numbers) if page.page == 1 else None
        empty = not page.items
    except (AttributeError, TypeError, ValueError):  # not a search payload
        total, ids, empty = None, None, False
    return _Facts(page.part, page.page, total, ids, empty)


def plan_records(plan: SearchPlan, max_pages: int | None) -> list[repo.PartitionRecord]:
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


def _source(page: Page, pages: int | None = None) -> PageSource:
    """The page to capture; a body the client did not parse is parsed only if needed."""
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
        payload=page.decoded,
        source=page.endpoint,
        notes=notes,
        payload_sha256=page.body_sha256,
        parse=None if page.decoded is not None else lambda: page.payload,
    )


class Search:
    """One invocation of a run: the API source of pages, its sweeps, and its prepare."""

    def __init__(
        self,
        run: Run,
        store: BronzeStore,
        client: UsajobsClient,
        opts: RunOptions,
        gate: PageGate | None,
        run_date: date,
    ) -> None:
        self.run = run
        self.client = client
        self.opts = opts
        self.stages = run.stages(store, run_date, gate, note_captures=True, known=True)
        self.store = store
        self.requests = threading.BoundedSemaphore(max(1, opts.concurrency))
        """At most `concurrency` requests in flight (`fetch_page`'s ``slot``: held through
        retries and backoff waits, not while a body is hashed or decoded)."""
        self.prefetched: dict[tuple[str, int], Page] = {}
        """First pages fetched while planning (filled on the owner thread before a pump)."""
        self.empty: dict[str, int] = {}
        """Partition -> the first page that came back empty (later pages are skipped)."""
        self.seen_totals: dict[str, set[int]] = {}
        """`SearchResultCountAll` of every page fetched in this invocation, by partition."""
        self.first_ids: dict[str, set[str]] = {}
        """Control numbers of each partition's page 1 as fetched in this invocation."""
        self.moved: dict[str, str] = {}
        """Base partitions whose rows still moved in their last sweep: why."""
        self.resweeps: list[dict[str, Any]] = []
        """Sweeps started because rows moved during the previous one (for the summary)."""
        run.on_page = self._observe

    # -- the plan ------------------------------------------------------------------------

    def plan(self, codelists: Any) -> list[Part]:
        """Plan the search (partitions, page counts) and record it before fetching."""
        clock = time.perf_counter()
        plan = self.client.plan(
            self.opts.query,
            codelists=codelists,
            results_per_page=self.opts.results_per_page,
            concurrency=self.opts.concurrency,
        )
        self.run.notes.phases["fetch"] += time.perf_counter() - clock
        records = plan_records(plan, self.opts.max_pages)
        repo.record_plan(self.run.conn, self.run.run_id, records, self.client.endpoint)
        log.info(
            "run_planned",
            partitions=len(records),
            pages=sum(r.pages for r in records),
            planning_requests=plan.requests_used,
            over_cap=[p.key for p in plan.over_cap],
        )
        # An unsplit search's page 1 was the planning request: the engine loads it too.
        for partition in plan.partitions:
            if partition.first_page is not None:
                self.prefetched[(partition.key or "", 1)] = partition.first_page
        return [
            Part(p.key, p.query, r.pages, p.count_all, p.over_cap)
            for p, r in zip(plan.partitions, records, strict=True)
        ]

    # -- the source (owner thread) -------------------------------------------------------

    def pages(self, todo: list[tuple[Part, int]]) -> Iterator[Package]:
        """A package per page to load: read back from bronze when it is there, else fetched.

        Pages after a partition's first empty page are recorded as skipped, not fetched.
        """
        run = self.run
        statuses = repo.page_statuses(run.conn, run.run_id)
        in_bronze = {(k.part or "", k.page): k for k in self.store.list(run_id=run.run_id)}
        now = datetime.now(UTC)
        for part, number in todo:
            key = page_key(number, part.key)
            if statuses.get(key) in ("loaded", "skipped"):
                continue
            stop_at = self.empty.get(part.key or "")
            if stop_at is not None and number > stop_at:
                self._skip(make_record(run.run_id, key, number, part=part.key), stop_at)
                continue
            bronze = in_bronze.get((part.key or "", number))
            if bronze is not None:
                record = make_record(
                    run.run_id,
                    key,
                    number,
                    part=part.key,
                    source=bronze.path,
                    bronze_key=bronze.path,
                    scope_hash=run.scope,
                )
                yield Package(record, now, bronze=bronze)
            else:
                record = make_record(
                    run.run_id,
                    key,
                    number,
                    part=part.key,
                    source=self.client.endpoint,
                    scope_hash=run.scope,
                )
                yield Package(record, now, tag=part)

    def _skip(self, record: repo.PageRecord, empty_page: int) -> None:
        record = replace(record, source=self.client.endpoint)

        def skip() -> None:
            repo.record_page(
                self.run.conn,
                record,
                status="skipped",
                attempts=0,
                error=f"page {empty_page} was empty",
            )

        self.run.with_db(skip)
        self.run.tick(record.page_key)

    # -- a worker thread -----------------------------------------------------------------

    def prepare(self, pkg: Package) -> Package:
        """GET the page (unless planning did, or it is in bronze), then the common stages.

        A body repeating a cleanly loaded page is not parsed by the client: the stages
        check whether its jobs are unchanged since (then it is never parsed).
        """
        page: Page | None = None
        if pkg.bronze is None:
            part: Part = pkg.tag
            number = pkg.record.page
            page = self.prefetched.pop((part.key or "", number), None)
            if page is None:
                started = time.perf_counter()
                page = self.client.fetch_page(
                    part.query,
                    number,
                    part=part.key,
                    results_per_page=self.opts.results_per_page,
                    trusted=self._trusted,
                    slot=self.requests,
                )
                pkg.time("fetch", started)
            pkg.src = _source(page, part.pages)
            pkg.seen_at = page.received_at
            pkg.record = replace(pkg.record, fetched_at=page.received_at)
        try:
            return self.stages.prepare(pkg)
        finally:
            if page is not None:
                pkg.tag = _facts(page, pkg.known)

    def _trusted(self, payload_sha256: str) -> bool:
        """Whether the client may leave a body unparsed (a known page's); on error, no."""
        try:
            return self.stages.side.known_payload(payload_sha256)
        except DatabaseError as exc:
            log.warning("known_payload_unchecked", error=str(exc))
            return False

    # -- back on the owner thread --------------------------------------------------------

    def _observe(self, pkg: Package, status: str) -> None:
        """Remember what a fetched page says of its partition: empty, its total, page 1."""
        facts = pkg.tag
        if not isinstance(facts, _Facts) or facts.count_all is None:
            return
        part = facts.part or ""
        if facts.empty:
            self.empty[part] = min(self.empty.get(part, facts.page), facts.page)
        self.seen_totals.setdefault(part, set()).add(facts.count_all)
        if facts.first_ids is not None:
            self.first_ids[part] = facts.first_ids

    def work(self, parts: list[Part]) -> None:
        """Load every page of the plan, then sweep partitions whose rows moved."""
        run = self.run
        run.total = sum(p.pages for p in parts)
        statuses = repo.page_statuses(run.conn, run.run_id)
        run.done = sum(1 for s in statuses.values() if s in ("loaded", "skipped"))
        todo = [(p, n) for p in parts for n in range(1, p.pages + 1)]
        workers = max(1, self.opts.concurrency) + PARSE_THREADS
        run.pump(self.pages(todo), self.prepare, workers=workers)
        while not run.stop.is_set():
            again = self._sweeps(parts)
            if not again:
                return
            run.total += len(again)
            run.pump(self.pages(again), self.prepare, workers=workers)

    # -- rows that move while a partition is paged (see `tasman_etl.runner.sweeps`) ------

    def _sweeps(self, parts: list[Part]) -> list[tuple[Part, int]]:
        """Read page 1 of each paged partition again; plan another sweep of those that moved.

        A run capped by --max-pages is not checked (it is under-collected anyway), nor is a
        partition of one page (nothing can shift).
        """
        if self.opts.max_pages is not None:
            return []
        again: list[tuple[Part, int]] = []
        statuses = repo.page_statuses(self.run.conn, self.run.run_id)
        for part in last_sweeps(parts):
            base, sweep = split_sweep(part.key)
            if part.over_cap or part.pages < 2 or not all_loaded(statuses, part):
                continue
            reread, reason = self._moved(part, sweep_key(base or None, sweep + 1))
            if reason is None:
                self.moved.pop(base, None)
                continue
            log.warning("rows_moved", part=base or None, sweep=sweep, reason=reason)
            self.moved[base] = reason  # until the next sweep holds still
            if reread is None or sweep >= MAX_SWEEPS:
                continue
            fresh = self._plan_sweep(part, reread, sweep + 1)
            parts.append(fresh)
            self.resweeps.append({"part": base or None, "sweep": sweep + 1, "reason": reason})
            again.extend((fresh, n) for n in range(1, fresh.pages + 1))
        return again

    def _moved(self, part: Part, next_key: str | None) -> tuple[Page | None, str | None]:
        """Read page 1 of a loaded partition again: ``(that page, why the rows moved)``."""
        key = part.key or ""
        try:
            rpp, slot = self.opts.results_per_page, self.requests
            reread = self.client.fetch_page(
                part.query, 1, part=next_key, results_per_page=rpp, slot=slot
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
            first = repo.page_control_numbers(self.run.conn, self.run.run_id, page_key(1, part.key))
            changed = not first <= ids
        else:
            changed = first != ids
        if changed:
            gone, new = len(first - ids), len(ids - first)
            return reread, f"page 1 changed while the partition was paged ({gone} gone, {new} new)"
        return reread, None

    def _plan_sweep(self, part: Part, page1: Page, sweep: int) -> Part:
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
        repo.record_plan(self.run.conn, self.run.run_id, [record], self.client.endpoint)
        self.prefetched[(key or "", 1)] = page1
        return Part(key, part.query, pages, page1.count_all, record.over_cap)
