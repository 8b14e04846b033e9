"""Planning a search under the API's 10,000-row cap: `plan_search` into a `SearchPlan`.

``plan_search`` fetches page 1 and, when the query hits the cap, splits it by occupational
series then organization (the split itself is ``partition.py``) into partitions that each
fit; ``SearchPlan.pages_to_fetch`` lists the pages still to fetch, in plan order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from tasman_etl.http.page import Page
from tasman_etl.http.partition import (
    CAP,
    DEFAULT_MAX_FILTER_CHARS,
    Dimension,
    Filters,
    is_capped,
    page_count,
    partition_key,
    split_cells,
)
from tasman_etl.http.query import ClientConfig, SearchQuery

__all__ = [
    "ORGANIZATION_CODELIST",
    "PROBE_ROWS",
    "SERIES_CODELIST",
    "CodelistSource",
    "PageFetcher",
    "Partition",
    "SearchPlan",
    "plan_search",
]

log = structlog.get_logger(__name__)

SERIES_CODELIST = "occupationalseries"
ORGANIZATION_CODELIST = "agencysubelements"


class CodelistSource(Protocol):
    """Anything that lists the codes of a code list (``CodelistClient`` does)."""

    def codes(self, name: str) -> list[str]:
        """Codes of code list ``name`` (disabled ones included)."""
        ...


class PageFetcher(Protocol):
    """What planning needs of a search client (``UsajobsClient`` is one)."""

    @property
    def config(self) -> ClientConfig:
        """The client's settings (``results_per_page``)."""
        ...

    def fetch_page(
        self,
        query: SearchQuery,
        page: int,
        *,
        part: str | None = None,
        results_per_page: int | None = None,
    ) -> Page:
        """Fetch one page of ``query`` with retries."""
        ...


@dataclass(frozen=True)
class Partition:
    """One query of a plan, under the cap unless ``over_cap``.

    ``key`` is None when the search needed no split; then ``first_page`` is the page 1 that
    planning fetched. A split search's partitions were counted by one-row probes, so their
    ``first_page`` is None and page 1 is fetched like any other page. ``pages`` counts every
    page including page 1, and is at least 1: an empty result still has its page 1.
    """

    key: str | None
    query: SearchQuery
    count_all: int
    pages: int
    results_per_page: int
    first_page: Page | None = field(default=None, repr=False)
    over_cap: bool = False

    @property
    def params(self) -> dict[str, str]:
        """The partition's USAJOBS parameters (without paging)."""
        return self.query.to_params()

    def remaining_pages(self) -> range:
        """Page numbers still to fetch: 2..pages."""
        return range(2, self.pages + 1)


@dataclass(frozen=True)
class SearchPlan:
    """How a search is fetched: partitions in a stable order, and what planning cost."""

    query: SearchQuery
    results_per_page: int
    partitions: tuple[Partition, ...]
    requests_used: int

    @property
    def over_cap(self) -> list[Partition]:
        """Partitions still capped after every split: they will be under-collected."""
        return [p for p in self.partitions if p.over_cap]

    @property
    def total_pages(self) -> int:
        """Pages over all partitions, pages 1 included."""
        return sum(p.pages for p in self.partitions)

    def pages_to_fetch(self) -> Iterator[tuple[Partition, int]]:
        """``(partition, page)`` for every page not fetched yet, in plan order."""
        for partition in self.partitions:
            if partition.first_page is None:
                yield partition, 1
            for number in partition.remaining_pages():
                yield partition, number


PROBE_ROWS = 1
"""Rows a planning probe asks for: only its ``SearchResultCountAll`` is used."""


def _dimension(
    name: str, given: Sequence[str], codelists: CodelistSource | None, codelist: str
) -> Dimension:
    if given:
        return Dimension(name, tuple(given))
    if codelists is None:
        return Dimension(name, ())
    return Dimension(name, tuple(dict.fromkeys(c for c in codelists.codes(codelist) if c)))


def plan_search(
    client: PageFetcher,
    query: SearchQuery,
    *,
    codelists: CodelistSource | None,
    results_per_page: int | None = None,
    cap: int = CAP,
    max_filter_chars: int = DEFAULT_MAX_FILTER_CHARS,
    concurrency: int = 1,
) -> SearchPlan:
    """Fetch page 1 of ``query`` and split it into partitions that each fit under ``cap``.

    The probes of one level of the split are sent ``concurrency`` at a time (behind the
    client's rate limiter); the partitions are the same whatever the concurrency.

    Under the cap: one partition, key None. At or over it: bisect the occupational series
    (``occupationalseries`` codes, or the query's own), then organizations
    (``agencysubelements``) for a single series still capped; what cannot be split further
    is kept with ``over_cap=True``. Empty partitions are dropped. Partition keys
    ``p001``, ``p002``... follow plan order.

    Only the count of a probe is used, so probes ask for ``PROBE_ROWS`` row(s) a page: a
    split of a large search moves a few kilobytes per probe instead of up to 500 items, and
    no probe's page is held until the engine reaches its partition (ADR 0029). Page 1 of
    an unsplit search is the planning request itself and is kept.
    """
    rpp = results_per_page if results_per_page is not None else client.config.results_per_page
    root = client.fetch_page(query, 1, results_per_page=rpp)
    requests = 1
    if not is_capped(root.count_all, cap):
        only = Partition(
            key=None,
            query=query,
            count_all=root.count_all,
            pages=max(1, page_count(root.count_all, rpp, cap)),
            results_per_page=rpp,
            first_page=root,
        )
        return SearchPlan(query, rpp, (only,), requests_used=1)

    dimensions = [
        _dimension("job_category_codes", query.job_category_codes, codelists, SERIES_CODELIST),
        _dimension(
            "organization_codes", query.organization_codes, codelists, ORGANIZATION_CODELIST
        ),
    ]
    lock = threading.Lock()

    def probe(filters: Filters) -> int:
        nonlocal requests
        fetched = client.fetch_page(query.narrowed(filters), 1, results_per_page=PROBE_ROWS)
        with lock:
            requests += 1
        return fetched.count_all

    def probe_many(filters: list[Filters]) -> list[int]:
        if concurrency <= 1 or len(filters) <= 1:
            return [probe(f) for f in filters]
        workers = min(concurrency, len(filters))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
            return list(pool.map(probe, filters))

    log.info("usajobs.plan.split", count_all=root.count_all, cap=cap)
    cells = split_cells(
        root.count_all,
        dimensions,
        probe,
        cap=cap,
        max_filter_chars=max_filter_chars,
        probe_many=probe_many,
    )
    single = len(cells) == 1 and not cells[0].filters
    partitions = []
    for index, cell in enumerate(cells, start=1):
        key = None if single else partition_key(index)
        partitions.append(
            Partition(
                key=key,
                query=query.narrowed(cell.filters),
                count_all=cell.count_all,
                pages=max(1, page_count(cell.count_all, rpp, cap)),
                results_per_page=rpp,
                first_page=root if single else None,
                over_cap=cell.over_cap,
            )
        )
    plan = SearchPlan(query, rpp, tuple(partitions), requests_used=requests)
    log.info(
        "usajobs.plan",
        partitions=len(partitions),
        over_cap=len(plan.over_cap),
        requests_used=requests,
        pages=plan.total_pages,
    )
    return plan
