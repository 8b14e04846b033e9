"""Is a run's answer believable? Judged against the ledger's history of the same scope.

A USAJOBS answer can be valid JSON and still wrong: an empty result (`SearchResultCount: 0`)
after a run that found 400 jobs, or a page 1 whose `SearchResultCountAll` shrank to its own
item count. Taken at its word, such a run is "complete" and retires every job it did not
see. `shrink_reason` compares a run's distinct jobs with the last complete runs of its scope
and names the collapse; the runner then keeps the run incomplete (nothing is marked
inactive) and says why. `SHRINK_GUARD_SHARE` sets how much of a scope may disappear in one
run (default 0.5); a scope that really shrank is accepted with `run --accept-shrink`.
"""

from __future__ import annotations

import statistics
from typing import Any

import psycopg

from tasman_etl.errors import DatabaseError

__all__ = ["HISTORY_RUNS", "baseline_jobs", "shrink_reason"]

HISTORY_RUNS = 3
"""How many of the scope's last complete runs make the baseline (their median)."""

_HISTORY = """
    SELECT (summary ->> 'unique_jobs')::bigint
      FROM ingest_run
     WHERE scope_hash = %(scope)s AND complete AND run_id <> %(run)s
       AND command = 'run' AND summary ? 'unique_jobs'
     ORDER BY started_at DESC, run_id DESC
     LIMIT %(n)s
"""


def baseline_jobs(conn: psycopg.Connection[Any], run_id: str, scope_hash: str) -> int | None:
    """Median distinct jobs of the scope's last `HISTORY_RUNS` complete runs (None: no history)."""
    try:
        rows = conn.execute(
            _HISTORY, {"scope": scope_hash, "run": run_id, "n": HISTORY_RUNS}
        ).fetchall()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot read the history of run {run_id}'s search: {exc}") from exc
    counts = [int(r[0]) for r in rows if r[0] is not None]
    if not counts:
        return None
    return int(statistics.median_low(counts))


def shrink_reason(found: int, baseline: int | None, share: float) -> str | None:
    """Why `found` distinct jobs is not believable against `baseline`, or None when it is.

    A result is implausible when it lost more than `share` of the baseline (so an empty
    answer after a non-empty history always is, unless `share` is 1: the guard is off).
    """
    if baseline is None or baseline <= 0 or found >= baseline or share >= 1.0:
        return None
    lost = (baseline - found) / baseline
    if lost <= share:
        return None
    return (
        f"{found} jobs against a median of {baseline} in the last complete runs of this "
        f"search: {lost:.0%} gone in one run (SHRINK_GUARD_SHARE allows {share:.0%})"
    )
