"""`backfill`: closed announcements from the Historic JOA API, one window at a time.

A backfill is one run in the ledger (command ``backfill``); each window of its date range is
a partition (`ingest_partition.status`: pending, running, complete, short, failed) and
each page a page row, so any number of processes, on one machine or many, can work on one
backfill: a process takes a window by a session advisory lock (released if it dies), reads
it by following the continuation tokens through the page engine (bronze, parse, load), and
checks the rows it got against the window's `totalCount`. A window that got fewer rows is
``short``: reported as under-collection, never complete. ADR 0028.

With ``--texts`` each window has a second chain, its AnnouncementText pages (partition
``historic-text.<window>``), read after its records under the same lock: the window is done
only when both are (`worst` of the two statuses).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import structlog

from tasman_etl.db import repository as repo
from tasman_etl.errors import DatabaseError
from tasman_etl.runner.chain import ENDPOINT, TEXT_ENDPOINT, Chain, chain_packages, resume_point
from tasman_etl.runner.lifecycle import Run
from tasman_etl.runner.windows import PART_PREFIX, TEXT_PART_PREFIX, WindowPlan
from tasman_etl.storage.bronze import BronzeStore

__all__ = [
    "COMMAND",
    "ENDPOINT",
    "PagesOf",
    "WindowResult",
    "backfill_params",
    "claim_windows",
    "collect_window",
    "part_statuses",
    "record_backfill",
    "reopen_windows",
    "windows_of",
    "worst",
]

log = structlog.get_logger(__name__)

COMMAND = "backfill"
PagesOf = Callable[[WindowPlan, str | None, int, bool], Iterator[Any]]
"""``(window, start url, first page number, texts?) -> pages`` of one token chain."""

_ORDER = ("busy", "stopped", "running", "pending", "failed", "short", "complete")


def worst(statuses: list[str]) -> str:
    """The status of a window from its chains': work left first, then failed, short, complete."""
    return min(statuses, key=lambda s: _ORDER.index(s) if s in _ORDER else 0)


def backfill_params(
    start: date,
    end: date,
    agencies: tuple[str, ...],
    series: tuple[str, ...],
    texts: bool = False,
) -> dict[str, Any]:
    """The run's parameters as the ledger keeps them (never secrets)."""
    return {
        "source": "historicjoa",
        "from": start.isoformat(),
        "to": end.isoformat(),
        "agencies": list(agencies),
        "series": list(series),
        "texts": texts,
    }


def record_backfill(run: Run, windows: list[WindowPlan], *, texts: bool = False) -> None:
    """Record one pending partition (and its planned pages) per window of `run`.

    With `texts`, a second partition per window for its AnnouncementText chain: what every
    later process (``--window``, ``--claim``, ``--resume``) reads to do texts too.
    """
    for chain_texts in (False, True) if texts else (False,):
        repo.record_plan(
            run.conn,
            run.run_id,
            [
                repo.PartitionRecord(
                    w.text_part if chain_texts else w.part, w.to_json(), w.expected, w.pages, False
                )
                for w in windows
            ],
            TEXT_ENDPOINT if chain_texts else ENDPOINT,
        )
    _execute(
        run.conn,
        "UPDATE ingest_partition SET status = 'pending' WHERE run_id = %s AND status IS NULL",
        (run.run_id,),
    )


def part_statuses(conn: psycopg.Connection[Any], run_id: str) -> dict[str, str]:
    """Every chain of a backfill (records and texts partitions) with its status."""
    rows = conn.execute(
        "SELECT part, coalesce(status, 'pending') FROM ingest_partition "
        "WHERE run_id = %s AND (part LIKE %s OR part LIKE %s)",
        (run_id, PART_PREFIX + "%", TEXT_PART_PREFIX + "%"),
    ).fetchall()
    return {part: status for part, status in rows}


def windows_of(conn: psycopg.Connection[Any], run_id: str) -> list[tuple[WindowPlan, str]]:
    """The windows of a backfill with their status (`worst` of its chains'), in date order."""
    rows = conn.execute(
        "SELECT params FROM ingest_partition WHERE run_id = %s AND part LIKE %s ORDER BY part",
        (run_id, PART_PREFIX + "%"),
    ).fetchall()
    parts = part_statuses(conn, run_id)
    out = []
    for (params,) in rows:
        window = WindowPlan.from_json(params)
        chains = [parts[window.part]]
        if window.text_part in parts:
            chains.append(parts[window.text_part])
        out.append((window, worst(chains)))
    return out


def _execute(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> None:
    try:
        with conn.transaction():
            conn.execute(query, params)
    except psycopg.Error as exc:
        raise DatabaseError(f"backfill ledger update failed: {exc}") from exc


def _lock_key(run_id: str, part: str) -> int:
    digest = hashlib.sha256(f"backfill:{run_id}:{part}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(conn: psycopg.Connection[Any], run_id: str, part: str) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_lock_key(run_id, part),)).fetchone()
    return bool(row and row[0])


def _unlock(conn: psycopg.Connection[Any], run_id: str, part: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(run_id, part),))


@dataclass
class WindowResult:
    """How one window ended in this process."""

    id: str
    status: str
    """complete, short, failed, busy (another process holds it) or stopped."""
    expected: int = 0
    rows: int = 0
    pages: int = 0
    error: str | None = None
    texts: WindowResult | None = None
    """How the window's AnnouncementText chain ended (``--texts``)."""

    def to_json(self) -> dict[str, Any]:
        """For summaries and `backfill --window` output."""
        out: dict[str, Any] = {
            "window": self.id,
            "status": self.status,
            "expected": self.expected,
            "rows": self.rows,
            "pages": self.pages,
        }
        if self.error:
            out["error"] = self.error
        if self.texts is not None:
            out["texts"] = {k: v for k, v in self.texts.to_json().items() if k != "window"}
        return out


def collect_window(
    run: Run, store: BronzeStore, pages_of: PagesOf, window: WindowPlan, *, run_date: date
) -> WindowResult:
    """Read one window (its records, then its texts if planned) into bronze and silver.

    Records and how each chain ended; a chain already complete, short or failed is not
    read again (``--resume`` reopens those). Texts are read once the records are complete
    or short (a text record needs its job); when the records failed, so do the texts.
    """
    conn, run_id = run.conn, run.run_id
    if not _try_lock(conn, run_id, window.part):
        return WindowResult(window.id, "busy", window.expected)
    try:
        parts = part_statuses(conn, run_id)
        records = _read_chain(run, store, pages_of, window, parts, run_date, texts=False)
        if window.text_part not in parts:
            return records
        if records.status in ("complete", "short"):
            text = _read_chain(run, store, pages_of, window, parts, run_date, texts=True)
        elif records.status == "failed" and parts[window.text_part] in ("pending", "running"):
            error = "not read: the window's records failed"
            _execute(
                conn,
                "UPDATE ingest_partition SET status = 'failed', error = %s, finished_at = now()"
                " WHERE run_id = %s AND part = %s",
                (error, run_id, window.text_part),
            )
            text = WindowResult(window.id, "failed", window.expected, error=error)
        else:
            text = WindowResult(window.id, records.status, window.expected)
        records.texts = text
        records.status = worst([records.status, text.status])
        return records
    finally:
        # After a reconnect the lock went with the old session; unlocking it is best effort.
        with contextlib.suppress(psycopg.Error):
            _unlock(conn, run_id, window.part)


def _read_chain(
    run: Run,
    store: BronzeStore,
    pages_of: PagesOf,
    window: WindowPlan,
    parts: dict[str, str],
    run_date: date,
    *,
    texts: bool,
) -> WindowResult:
    """Read one chain of a window from where it stopped, then settle it."""
    conn, run_id = run.conn, run.run_id
    part = window.text_part if texts else window.part
    chain = Chain()
    if parts.get(part, "pending") not in ("pending", "running"):  # done: as recorded
        return _settle(run, window, part, chain, recorded=parts[part])
    _execute(
        conn,
        "UPDATE ingest_partition SET status = 'running', error = NULL "
        "WHERE run_id = %s AND part = %s",
        (run_id, part),
    )
    start_url, number = resume_point(conn, store, run_id, part)
    if start_url == "":  # the chain had ended (short, or stopped at its end): read it again
        start_url, number = None, 1
    stages = run.stages(store, run_date, None, note_captures=True)
    source = chain_packages(
        pages_of(window, start_url, number, texts), chain, run_id, part, run.stop
    )
    run.pump(source, stages.prepare, workers=2)
    return _settle(run, window, part, chain)


def _settle(
    run: Run, window: WindowPlan, part: str, chain: Chain, *, recorded: str | None = None
) -> WindowResult:
    """Compare the chain's rows with its `totalCount`; record its status (unless `recorded`)."""
    conn, run_id = run.conn, run.run_id
    # Rows are distinct control numbers (plus the items quarantined), not the sum of page
    # sizes: a page served twice (a token the API repeats) must not make a window look full.
    # Text pages record no control numbers: their items are counted.
    row = conn.execute(
        "SELECT coalesce(sum(items) FILTER (WHERE status = 'loaded'), 0),"
        " count(*) FILTER (WHERE status = 'loaded'),"
        " count(*) FILTER (WHERE status IN ('failed', 'held')),"
        " max(page) FILTER (WHERE status = 'loaded'),"
        " (SELECT api_total FROM ingest_partition WHERE run_id = %(run)s AND part = %(part)s),"
        " (SELECT count(DISTINCT cn) FROM ingest_page q, unnest(q.control_numbers) AS cn"
        "   WHERE q.run_id = %(run)s AND q.part = %(part)s AND q.status = 'loaded'),"
        " coalesce(sum(quarantined) FILTER (WHERE status = 'loaded'), 0)"
        " FROM ingest_page WHERE run_id = %(run)s AND part = %(part)s",
        {"run": run_id, "part": part},
    ).fetchone()
    assert row is not None
    items, loaded, failed, last, total, distinct, quarantined = (int(v or 0) for v in row)
    rows = items if part.startswith(TEXT_PART_PREFIX) else distinct + quarantined
    if recorded is not None:
        return WindowResult(window.id, recorded, total, rows, loaded)
    # The chain's own totalCount, else the largest one recorded (a resumed chain that had
    # ended fetched nothing this time).
    expected = chain.total if chain.total is not None else max(total, window.expected)
    error: str | None = None
    if run.stop.is_set():
        status, error = "stopped", "stopped before the window was read to its end"
    elif chain.error is not None:
        status, error = "failed", f"{type(chain.error).__name__}: {chain.error}"[:500]
    elif failed:
        status, error = "failed", f"{failed} page(s) failed; see runs show {run_id}"
    elif rows < expected:
        status = "short"
        error = f"under-collection: {rows} of {expected} rows (totalCount)" + (
            " - the API repeated a continuation token" if chain.repeated else ""
        )
        log.warning(
            "backfill_window_short", window=window.id, part=part, rows=rows, expected=expected
        )
    else:
        status = "complete"
        # Planned pages past the chain's end (the window shrank since it was planned).
        _execute(
            conn,
            "UPDATE ingest_page SET status = 'skipped', error = 'past the end of the window' "
            "WHERE run_id = %s AND part = %s AND status = 'pending' AND page > %s",
            (run_id, part, last),
        )
    # This part's counts only (`update_partition_counts` rescans the whole run: once, at finish).
    _execute(
        conn,
        "UPDATE ingest_partition SET status = %s, error = %s, api_total = %s, fetched = %s,"
        " unique_rows = %s, finished_at = now() WHERE run_id = %s AND part = %s",
        ("running" if status == "stopped" else status, error, expected, items, rows, run_id, part),
    )
    result = WindowResult(window.id, status, expected, rows, loaded, error)
    log.info("backfill_window", part=part, **result.to_json())
    return result


def claim_windows(
    run: Run,
    store: BronzeStore,
    pages_of: PagesOf,
    *,
    run_date: date,
    only: str | None = None,
    on_window: Callable[[WindowResult], None] | None = None,
) -> list[WindowResult]:
    """Take windows not yet done, one at a time, until none is left (or `only` is done).

    A window another process holds is passed over; a window left ``running`` by a process
    that died is taken (its lock went with its session) and resumed.
    """
    results: list[WindowResult] = []
    tried: set[str] = set()
    while not run.stop.is_set():
        todo = [
            w
            for w, status in windows_of(run.conn, run.run_id)
            if status in ("pending", "running")
            and w.id not in tried
            and (only is None or w.id == only)
        ]
        if not todo:
            break
        for window in todo:
            tried.add(window.id)
            result = collect_window(run, store, pages_of, window, run_date=run_date)
            if result.status == "busy":
                continue
            results.append(result)
            if on_window is not None:
                on_window(result)
            break
    return results


def reopen_windows(conn: psycopg.Connection[Any], run_id: str, *, window: str | None = None) -> int:
    """Windows (all, or one) that failed or fell short are to be read again; how many.

    `--resume` reopens every one; `--window ID` its own. A chain that had ended is read
    again from its first page (`_read_chain`): the API may answer in full this time.
    """
    parts = None if window is None else [PART_PREFIX + window, TEXT_PART_PREFIX + window]
    try:
        with conn.transaction():
            cur = conn.execute(
                "UPDATE ingest_partition SET status = 'pending', error = NULL "
                "WHERE run_id = %s AND status IN ('failed', 'short')"
                " AND (%s::text[] IS NULL OR part = ANY(%s::text[]))",
                (run_id, parts, parts),
            )
            return cur.rowcount
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot reopen the windows of {run_id}: {exc}") from exc
