"""Rows that move while a partition is paged, and whether a finished run can be trusted.

Offset paging over a live result is not stable: a job that leaves page 1 after it was
served moves every later row up one place, and one job is never served. After the pages
of a partition are loaded, its page 1 is read again (`Sweeps.moved`). The partition
moved when that page or any page's `SearchResultCountAll` differs from what the sweep
saw; it is then paged again as ``{part}.sweep2`` (its pages loaded like any other), up to
`MAX_SWEEPS` sweeps. A partition still moving after that is reported as under-collected.

`judge` decides, at the end, whether the run is complete: no partition short of the
API's count, over the cap or still moving, and a result plausible against the scope's
history (`tasman_etl.runner.plausible`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog

from tasman_etl.db import repository as repo
from tasman_etl.http.partition import CAP
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner import plausible
from tasman_etl.runner.lifecycle import Run
from tasman_etl.runner.pages import page_key

__all__ = [
    "MAX_SWEEPS",
    "Checks",
    "Part",
    "all_loaded",
    "judge",
    "last_sweeps",
    "split_sweep",
    "sweep_key",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Part:
    """A partition of the search (or one sweep of it) as planned: its pages and total."""

    key: str | None
    query: SearchQuery
    pages: int
    total: int = 0
    """`SearchResultCountAll` when the partition (or its sweep) was planned."""
    over_cap: bool = False


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


def last_sweeps(parts: list[Part]) -> list[Part]:
    """The latest sweep of every partition, in plan order."""
    latest: dict[str, tuple[int, Part]] = {}
    for part in parts:
        base, sweep = split_sweep(part.key)
        if base not in latest or latest[base][0] < sweep:
            latest[base] = (sweep, part)
    return [part for _, part in latest.values()]


def all_loaded(statuses: Mapping[str, str], part: Part) -> bool:
    return all(
        statuses.get(page_key(n, part.key)) in ("loaded", "skipped")
        for n in range(1, part.pages + 1)
    )


@dataclass(frozen=True)
class Checks:
    """What `judge` needs to decide whether a finished run can be trusted."""

    scope: str
    shrink_guard: float = 1.0
    moved: Mapping[str, str] = field(default_factory=dict)
    resweeps: list[dict[str, Any]] = field(default_factory=list)


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


def judge(
    run: Run,
    status: str,
    error: str | None,
    *,
    client_stats: Mapping[str, Any],
    on_complete: Callable[[psycopg.Connection[Any], str, str], Mapping[str, Any]] | None,
    checks: Checks,
) -> dict[str, Any]:
    """Count, decide completeness, close the ledger row and return the summary.

    A run that fetched every page is complete only if no partition is under-collected
    (short of the API's count, over the cap, or its rows kept moving while it was paged)
    and its result is plausible against the scope's history (`plausible.shrink_reason`).
    An implausible run is `failed` (exit 1) with the reason, and marks nothing inactive;
    so is one whose inactive marking would retire more than the guard allows.
    """
    conn = run.conn
    partitions = repo.update_partition_counts(conn, run.run_id)
    totals = repo.run_totals(conn, run.run_id)
    if status == "succeeded" and (
        totals["failed_pages"] or totals["held_pages"] or totals["pending_pages"]
    ):
        status = "failed"
        error = error or (
            f"{totals['failed_pages']} page(s) failed, {totals['held_pages']} held, "
            f"{totals['pending_pages']} not fetched; retry with --resume {run.run_id}"
        )
    under: list[str] = []
    implausible: list[str] = []
    if status == "succeeded":  # only a run that fetched every page can be judged
        under = _under_collected(partitions, checks.moved)
        baseline = plausible.baseline_jobs(conn, run.run_id, checks.scope)
        reason = plausible.shrink_reason(totals["unique_jobs"], baseline, checks.shrink_guard)
        if reason is not None:
            implausible.append(reason)
    complete = status == "succeeded" and not under and not implausible
    summary = run.summary(
        status,
        complete=complete,
        under_collection=under,
        partitions=[
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
        requests=client_stats["requests"],
        retries=client_stats["retries"],
    )
    if checks.resweeps:
        summary["resweeps"] = list(checks.resweeps)
    if checks.moved:
        summary["moved"] = {base or "(all)": why for base, why in checks.moved.items()}
    if complete and on_complete is not None:
        summary.update(on_complete(conn, run.run_id, status))
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
    return run.close(summary, complete=complete, error=error)
