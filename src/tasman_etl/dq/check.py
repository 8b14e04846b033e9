"""What the expectations found: per expectation, per page, and the jobs a page quarantines.

A `SuiteRunner` (`tasman_etl.dq.native.NativeSuiteRunner` on the loading path,
`tasman_etl.dq.gx.runner.GxSuiteRunner` for Data Docs) validates the frames of a batch of
pages and returns one `ExpectationOutcome` per expectation; `split_by_page` turns those into
one `PageCheck` per page, each what the page would get alone.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from tasman_etl.dq.frames import Frame, item_control_number
from tasman_etl.dq.gx.suite import ITEM_COUNT, ExpectationSpec
from tasman_etl.rows import PageRows, QuarantineRow

__all__ = [
    "ExpectationOutcome",
    "PageCheck",
    "SuiteRunner",
    "last_item_index",
    "quarantine_jobs",
    "split_by_page",
]


class _Keyed(Protocol):
    """A silver row: every layout starts with the job's control number."""

    @property
    def control_number(self) -> str: ...


_Row = TypeVar("_Row", bound=_Keyed)


@dataclass(frozen=True)
class ExpectationOutcome:
    """What one expectation found on one page (or, from a `SuiteRunner`, on one batch)."""

    spec: ExpectationSpec
    success: bool
    unexpected_count: int
    unexpected_rows: tuple[int, ...] = ()
    """Row positions in the validated frame: the batch's table from a `SuiteRunner`, the
    page's jobs in a `PageCheck` (row-level expectations only there)."""
    observed_value: Any = None
    error: str | None = None


class SuiteRunner(Protocol):
    """Validates each table's frame with its expectations; outcomes in spec order."""

    def validate(self, frames: Mapping[str, Frame]) -> list[ExpectationOutcome]:
        """``frames`` maps ``jobs``, ``items`` and ``pages`` to the batch's frames."""
        ...


@dataclass(frozen=True)
class PageCheck:
    """Every expectation's outcome on one page, and which ones gate it."""

    outcomes: list[ExpectationOutcome]
    gating: frozenset[str]
    """Names whose failure holds or quarantines under enforcement."""
    failed_rows: dict[int, list[str]] = field(default_factory=dict)
    """Job position in `rows.jobs` -> names of the row-level expectations it failed."""
    expected_items: int | None = None
    """`SearchResultCount` of the page (None when the payload has none)."""

    @property
    def success(self) -> bool:
        """True when every expectation passed."""
        return all(o.success for o in self.outcomes)

    @property
    def failed(self) -> list[str]:
        """Names of the failed expectations, in suite order."""
        return [o.spec.name for o in self.outcomes if not o.success]

    @property
    def page_failures(self) -> list[str]:
        """Failed expectations that hold the page under enforcement.

        Gating page-level ones, plus gating row-level ones that raised or named no rows
        (the failing jobs cannot be told apart, so the page cannot be loaded safely).
        """
        return [
            o.spec.name
            for o in self.outcomes
            if not o.success
            and o.spec.name in self.gating
            and (o.spec.level == "page" or o.error is not None or not o.unexpected_rows)
        ]

    def results(self) -> list[dict[str, Any]]:
        """Per-expectation results as stored in the ledger (`ingest_page.dq`)."""
        out = []
        for o in self.outcomes:
            entry: dict[str, Any] = {
                "expectation": o.spec.name,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "level": o.spec.level,
            }
            if o.spec.name not in self.gating:
                entry["gating"] = False
            if o.spec.name == ITEM_COUNT:
                entry["observed_value"] = o.observed_value
                entry["expected_value"] = self.expected_items
            if o.error is not None:
                entry["error"] = o.error[:500]
            out.append(entry)
        return out


def split_by_page(
    outcomes: Sequence[ExpectationOutcome],
    frames: Mapping[str, Frame],
    job_counts: Sequence[int],
) -> list[list[ExpectationOutcome]]:
    """A batch's outcomes split back by page (pages in batch order).

    ``job_counts`` are the pages' row counts in the ``jobs`` frame. Row-level outcomes keep
    the page's own job positions; an outcome that raised, passed or named no rows is the
    same for every page.
    """
    starts = [0]  # first job row of each page in the batch's jobs frame
    for count in job_counts[:-1]:
        starts.append(starts[-1] + count)
    item_pages = frames["items"].columns["page"]
    pages = len(job_counts)
    per_page: list[list[ExpectationOutcome]] = [[] for _ in range(pages)]
    for o in outcomes:
        if o.error is not None or o.success or not o.unexpected_rows:
            for k in range(pages):
                per_page[k].append(o)
            continue
        found: list[list[int]] = [[] for _ in range(pages)]
        for row in o.unexpected_rows:
            if o.spec.table == "jobs":
                k = bisect.bisect_right(starts, row) - 1
                found[k].append(row - starts[k])
            elif o.spec.table == "items":
                found[item_pages[row]].append(row)
            else:
                found[row].append(row)
        for k, rows in enumerate(found):
            local = tuple(rows) if o.spec.table == "jobs" else ()
            per_page[k].append(ExpectationOutcome(o.spec, not rows, len(rows), local))
    return per_page


def last_item_index(items: Sequence[Any]) -> dict[str, int]:
    """Control number -> index of its last occurrence (the one the transform keeps)."""
    found: dict[str, int] = {}
    for index, item in enumerate(items):
        cn = item_control_number(item)
        if cn is not None:
            found[cn] = index
    return found


def quarantine_jobs(
    rows: PageRows, failed_rows: Mapping[int, Sequence[str]], items: Sequence[Any]
) -> PageRows:
    """A copy of `rows` with the failing jobs (and their child rows) moved to quarantine."""
    reasons: dict[str, str] = {}
    raw: dict[str, str] = {}
    for position, names in sorted(failed_rows.items()):
        job = rows.jobs[position]
        cn = job.control_number
        reasons[cn] = "dq:" + ",".join(names)
        raw[cn] = job.raw_json
    indexes = last_item_index(items)
    added = [
        QuarantineRow(indexes.get(cn, -1), cn, reason, raw[cn]) for cn, reason in reasons.items()
    ]

    def keep(table: list[_Row]) -> list[_Row]:
        return [row for row in table if row.control_number not in reasons]

    return PageRows(
        jobs=keep(rows.jobs),
        locations=keep(rows.locations),
        categories=keep(rows.categories),
        grades=keep(rows.grades),
        hiring_paths=keep(rows.hiring_paths),
        details=keep(rows.details),
        quarantine=[*rows.quarantine, *added],
        items=rows.items,
        duplicates=rows.duplicates,
        unknown_keys=rows.unknown_keys,
        control_numbers=[cn for cn in rows.control_numbers if cn not in reasons],
    )
