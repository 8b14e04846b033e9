"""Pure planning logic for the USAJOBS 10,000-row cap: page arithmetic and code bisection.

The Search API returns at most ``CAP`` rows for one query, and its count saturates at
``CAP``, so a count of exactly ``CAP`` means "probably more". A query at or over the cap is
split along *dimensions* (occupational series first, then organization): the API accepts
``;``-joined codes, so instead of one request per code we ask for a whole list of codes,
and halve the list only while its count is still capped. A single code that is still
capped moves on to the next dimension; when no dimension is left the cell is kept and
flagged ``over_cap`` (it will be under-collected, and the run reports it).

Everything here is I/O-free: the caller passes a ``probe`` that returns the
``SearchResultCountAll`` for a set of filters (the HTTP client fetches page 1 there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tasman_etl.errors import FatalFetchError

__all__ = [
    "CAP",
    "DEFAULT_MAX_FILTER_CHARS",
    "Cell",
    "Dimension",
    "Filters",
    "Paginator",
    "chunk_codes",
    "encoded_length",
    "halves",
    "is_capped",
    "page_count",
    "partition_key",
    "split_cells",
]

CAP = 10_000
"""Most rows one Search query can return; a count of exactly this is saturated."""

DEFAULT_MAX_FILTER_CHARS = 1_500
"""Longest URL-encoded ``;``-joined code list sent in one parameter (IIS-style URL limits)."""

Filters = Mapping[str, tuple[str, ...]]
"""Filter values by ``SearchQuery`` field name, e.g. ``{"job_category_codes": ("2210",)}``."""


def is_capped(count_all: int, cap: int = CAP) -> bool:
    """True when ``count_all`` reached the cap (``== cap`` is treated as truncated)."""
    return count_all >= cap


def page_count(count_all: int, results_per_page: int, cap: int = CAP) -> int:
    """Pages holding ``count_all`` rows at ``results_per_page`` (0 rows -> 0 pages).

    Rows past the cap are unreachable, so the count is clamped to ``cap`` first.
    ``NumberOfPages`` from the API is never used: it ignores the page size.
    """
    if results_per_page < 1:
        raise ValueError("results_per_page must be >= 1")
    return math.ceil(max(0, min(count_all, cap)) / results_per_page)


def partition_key(index: int) -> str:
    """Short, stable, filesystem-safe key of the ``index``-th partition (1-based): ``p001``."""
    if index < 1:
        raise ValueError("partition index is 1-based")
    return f"p{index:03d}"


def encoded_length(codes: Sequence[str]) -> int:
    """Length of ``codes`` ``;``-joined once URL-encoded (``;`` becomes ``%3B``)."""
    return sum(len(c) for c in codes) + 3 * max(0, len(codes) - 1)


def chunk_codes(
    codes: Sequence[str], max_chars: int = DEFAULT_MAX_FILTER_CHARS
) -> list[tuple[str, ...]]:
    """Split ``codes`` in order into as few chunks as fit ``max_chars`` once encoded.

    A single code longer than ``max_chars`` still gets a chunk of its own.
    """
    chunks: list[tuple[str, ...]] = []
    current: list[str] = []
    for code in codes:
        if current and encoded_length([*current, code]) > max_chars:
            chunks.append(tuple(current))
            current = []
        current.append(code)
    if current:
        chunks.append(tuple(current))
    return chunks


def halves(codes: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split ``codes`` (at least 2) into two halves, the first one not shorter."""
    if len(codes) < 2:
        raise ValueError("need at least two codes to split")
    mid = (len(codes) + 1) // 2
    return tuple(codes[:mid]), tuple(codes[mid:])


@dataclass(frozen=True)
class Dimension:
    """One way to split a query: a ``SearchQuery`` field and the codes it can take."""

    field: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    """A final partition: its filters, its count, and whether it is still capped."""

    filters: dict[str, tuple[str, ...]]
    count_all: int
    over_cap: bool = False


@dataclass
class _Node:
    """A visited node of the split: its filters, then its cell or its children."""

    fixed: dict[str, tuple[str, ...]]
    level: int
    codes: tuple[str, ...]
    filters: dict[str, tuple[str, ...]]
    cell: Cell | None = None
    children: list[_Node] = field(default_factory=list)


def split_cells(
    root_count: int,
    dimensions: Sequence[Dimension],
    probe: Callable[[Filters], int],
    *,
    cap: int = CAP,
    max_filter_chars: int = DEFAULT_MAX_FILTER_CHARS,
    on_split: Callable[[Filters], None] | None = None,
    probe_many: Callable[[list[Filters]], list[int]] | None = None,
) -> list[Cell]:
    """Split a query whose unfiltered count is ``root_count`` into cells under ``cap``.

    ``probe(filters)`` returns the count for the query narrowed by ``filters``; it is
    called once per visited node. Nodes are probed level by level: ``probe_many`` (the
    filters of every node of a level, in order -> their counts) may probe them at the same
    time; by default they are probed one by one with ``probe``. Cells come out in a stable
    depth-first order whatever the probing order. Cells with a count of 0 are dropped. A
    root under the cap is returned as the one cell with no filters (and nothing is probed).
    ``on_split(filters)`` is called when a probed node turns out capped and is split
    further (it is not a cell).
    """
    if not is_capped(root_count, cap):
        return [Cell({}, root_count)]
    dims = [d for d in dimensions if d.codes]
    if not dims:
        return [Cell({}, root_count, over_cap=True)]
    many = probe_many or (lambda filters: [probe(f) for f in filters])

    def node(fixed: dict[str, tuple[str, ...]], level: int, codes: tuple[str, ...]) -> _Node:
        return _Node(fixed, level, codes, {**fixed, dims[level].field: codes})

    roots = [node({}, 0, chunk) for chunk in chunk_codes(dims[0].codes, max_filter_chars)]
    frontier = roots
    while frontier:
        counts = many([n.filters for n in frontier])
        following: list[_Node] = []
        for n, count in zip(frontier, counts, strict=True):
            if count <= 0:
                continue
            if not is_capped(count, cap):
                n.cell = Cell(n.filters, count)
            elif len(n.codes) > 1:
                if on_split is not None:
                    on_split(n.filters)
                n.children = [node(n.fixed, n.level, half) for half in halves(n.codes)]
            elif n.level + 1 < len(dims):
                if on_split is not None:
                    on_split(n.filters)
                nxt = dims[n.level + 1].codes
                n.children = [
                    node(n.filters, n.level + 1, chunk)
                    for chunk in chunk_codes(nxt, max_filter_chars)
                ]
            else:
                n.cell = Cell(n.filters, count, over_cap=True)
            following.extend(n.children)
        frontier = following
    cells: list[Cell] = []

    def walk(n: _Node) -> None:
        if n.cell is not None:
            cells.append(n.cell)
        for child in n.children:
            walk(child)

    for root in roots:
        walk(root)
    return cells


class Paginator:
    """Page numbers of one partition after page 1, sized from ``SearchResultCountAll``.

    Use ``while p.has_more(): fetch(p.next_page) ...; p.advance(ids)``. Paging stops after
    the last page or on an empty page; a page repeating the previous one (same non-empty
    list of control numbers) raises ``FatalFetchError`` instead of looping.
    """

    def __init__(self, total_pages: int, first_page_ids: Sequence[str] = ()) -> None:
        self.total_pages = total_pages
        self.next_page = 2
        self._last_ids = tuple(first_page_ids)
        self._done = not self._last_ids

    def has_more(self) -> bool:
        """True while there is a page left to fetch."""
        return not self._done and self.next_page <= self.total_pages

    def advance(self, ids: Sequence[str]) -> None:
        """Record the control numbers of page ``next_page``, just fetched, and move on."""
        current = tuple(ids)
        if current and current == self._last_ids:
            raise FatalFetchError(
                f"pagination loop: page {self.next_page} repeats page {self.next_page - 1}"
            )
        self._done = not current
        self._last_ids = current
        self.next_page += 1
