"""Inactive postings: jobs a search scope stopped returning.

After a *complete* `run` (every page loaded, no under-collection), `mark_inactive`
looks at the last ``after_runs`` complete runs of the same scope, this run included.
A job of that scope (`job_scope`) whose last sighting in the scope is older than all
of them was absent from each: it gets ``job.inactive_since = now()`` (only where it
is not already set). With fewer than ``after_runs`` complete runs, nothing is marked.
A partial run never calls it, so it never marks anything.

A job seen by any run since the oldest of those runs started (another scope, a
partial run, a `load`) is not marked: that sighting says it is still posted.
Reappearing clears the mark: the loader sets ``inactive_since = NULL`` on every job
it sees.

A guard bounds the damage of an answer that looked complete but was not: when more than
``max_share`` of the scope's active jobs would be retired at once, nothing is marked and
the result says why (``inactive_guard``); the runner then keeps the run incomplete.

Wire it as `execute_run`'s ``on_complete``::

    on_complete=lambda conn, run_id, status: mark_inactive(
        conn, run_id, scope_hash, settings.inactive_after_runs)
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog

from tasman_etl.errors import ConfigError, DatabaseError

__all__ = ["mark_inactive"]

log = structlog.get_logger(__name__)

# The current run is passed explicitly: `execute_run` calls on_complete before it
# records `complete = true` for the run.
_WINDOW = """
    SELECT run_id, started_at
      FROM ingest_run
     WHERE scope_hash = %(scope)s AND (complete OR run_id = %(run)s)
     ORDER BY (run_id = %(run)s) DESC, started_at DESC, run_id DESC
     LIMIT %(n)s
"""

# The scope's active jobs, and how many of them the window would retire (as in _MARK).
_COUNT = """
    SELECT count(*),
           count(*) FILTER (WHERE s.last_seen_run_id <> ALL (%(window)s)
                              AND j.last_seen_at < %(since)s)
      FROM job_scope AS s JOIN job AS j ON j.job_id = s.job_id
     WHERE s.scope_hash = %(scope)s AND j.inactive_since IS NULL
"""

_MARK = """
    UPDATE job AS j
       SET inactive_since = now()
      FROM job_scope AS s
     WHERE s.scope_hash = %(scope)s
       AND s.job_id = j.job_id
       AND s.last_seen_run_id <> ALL (%(window)s)
       AND j.inactive_since IS NULL
       AND j.last_seen_at < %(since)s
"""


def mark_inactive(
    conn: psycopg.Connection[Any],
    run_id: str,
    scope_hash: str,
    after_runs: int,
    *,
    max_share: float = 1.0,
) -> dict[str, Any]:
    """Mark the scope's jobs absent from its last ``after_runs`` complete runs inactive.

    Call it only after a complete run (``run_id``, of scope ``scope_hash``). Returns
    ``{"marked_inactive": n}`` for the run summary; when more than ``max_share`` of the
    scope's active jobs would go at once, marks nothing and adds ``"inactive_guard"``
    (the reason) instead.
    """
    if after_runs < 1:
        raise ConfigError(f"INACTIVE_AFTER_RUNS must be at least 1, got {after_runs}")
    try:
        with conn.transaction():
            window = conn.execute(
                _WINDOW, {"scope": scope_hash, "run": run_id, "n": after_runs}
            ).fetchall()
            if len(window) < after_runs or window[0][0] != run_id:
                log.info(
                    "inactive_check_skipped",
                    reason="fewer complete runs of this scope than INACTIVE_AFTER_RUNS",
                    complete_runs=len(window),
                    after_runs=after_runs,
                )
                return {"marked_inactive": 0}
            params = {
                "scope": scope_hash,
                "window": [row[0] for row in window],
                "since": min(row[1] for row in window),
            }
            counted = conn.execute(_COUNT, params).fetchone()
            active, absent = (int(counted[0]), int(counted[1])) if counted else (0, 0)
            if absent and max_share < 1.0 and absent > max_share * active:
                reason = (
                    f"{absent} of the {active} active jobs of this search would be marked "
                    f"inactive at once ({absent / active:.0%}; SHRINK_GUARD_SHARE allows "
                    f"{max_share:.0%}): none was marked"
                )
                log.warning("inactive_guard", absent=absent, active=active, max_share=max_share)
                return {"marked_inactive": 0, "inactive_guard": reason}
            # None absent (the usual case): the count said so, no second scan to mark none.
            marked = conn.execute(_MARK, params).rowcount if absent else 0
    except psycopg.Error as exc:
        raise DatabaseError(f"marking inactive jobs after run {run_id} failed: {exc}") from exc
    log.info("jobs_marked_inactive", marked=marked, after_runs=after_runs)
    return {"marked_inactive": max(marked, 0)}
