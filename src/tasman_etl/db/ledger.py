"""The run ledger: a run's row (`ingest_run`) and its pages' rows (`ingest_page`).

A run is started and finished here; each page gets its row when it is planned, captured,
failed or held (`record_page`), or when it is loaded, inside the load's transaction
(`write_page_ledger`, called by `db/load.py`). The plan of a run and what its pages add up
to are `db/plan.py`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tasman_etl.db.errors import database_errors
from tasman_etl.redact import scrub, scrub_obj
from tasman_etl.transform import PageRows

__all__ = [
    "LoadCounts",
    "PageRecord",
    "captured_sha256",
    "finish_run",
    "get_run",
    "list_pages",
    "list_runs",
    "page_control_numbers",
    "page_statuses",
    "record_capture",
    "record_page",
    "running_runs",
    "settle_source_page",
    "start_run",
    "write_page_ledger",
]

Conn = psycopg.Connection[Any]
Cursor = psycopg.Cursor[Any]


@dataclass(frozen=True)
class LoadCounts:
    """What one page did to silver."""

    inserted: int
    updated: int
    unchanged: int
    quarantined: int


@dataclass(frozen=True)
class PageRecord:
    """Ledger facts about one page, written with its load."""

    run_id: str
    page_key: str
    part: str
    page: int
    source: str | None
    bronze_key: str | None
    sha256: str | None
    fetched_at: datetime | None = None
    scope_hash: str | None = None


def write_page_ledger(
    cur: Cursor,
    record: PageRecord,
    rows: PageRows,
    counts: LoadCounts,
    extra: Mapping[str, Any],
) -> None:
    """Write a loaded page's ledger row, inside the transaction that loaded it."""
    cur.execute(
        """
        INSERT INTO ingest_page (run_id, page_key, part, page, status, source, bronze_key, sha256,
                                 items, inserted, updated, unchanged, quarantined, duplicates,
                                 attempts, error, dq, control_numbers, fetched_at, loaded_at,
                                 items_digest)
        VALUES (%(run_id)s, %(page_key)s, %(part)s, %(page)s, 'loaded', %(source)s, %(bronze_key)s,
                %(sha256)s, %(items)s, %(inserted)s, %(updated)s, %(unchanged)s, %(quarantined)s,
                %(duplicates)s, %(attempts)s, NULL, %(dq)s, %(cns)s, %(fetched_at)s, now(),
                %(items_digest)s)
        ON CONFLICT (run_id, page_key) DO UPDATE SET
            status = 'loaded', source = EXCLUDED.source, bronze_key = EXCLUDED.bronze_key,
            sha256 = EXCLUDED.sha256, items = EXCLUDED.items, inserted = EXCLUDED.inserted,
            updated = EXCLUDED.updated, unchanged = EXCLUDED.unchanged,
            quarantined = EXCLUDED.quarantined, duplicates = EXCLUDED.duplicates,
            attempts = GREATEST(ingest_page.attempts, EXCLUDED.attempts), error = NULL,
            dq = COALESCE(EXCLUDED.dq, ingest_page.dq), control_numbers = EXCLUDED.control_numbers,
            fetched_at = COALESCE(EXCLUDED.fetched_at, ingest_page.fetched_at),
            loaded_at = now(), items_digest = EXCLUDED.items_digest
        """,
        {
            "run_id": record.run_id,
            "page_key": record.page_key,
            "part": record.part,
            "page": record.page,
            "source": record.source,
            "bronze_key": record.bronze_key,
            "sha256": record.sha256,
            "items": rows.items,
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "quarantined": counts.quarantined,
            "duplicates": rows.duplicates,
            "attempts": int(extra.get("attempts", 1)),
            "dq": Jsonb(extra["dq"]) if extra.get("dq") is not None else None,
            "fetched_at": record.fetched_at,
            "cns": rows.control_numbers,
            # what makes a later page with this payload known (db/known.py): clean pages only
            "items_digest": extra.get("items_digest") if not counts.quarantined else None,
        },
    )


@database_errors("recording {record.page_key} failed")
def record_page(
    conn: Conn,
    record: PageRecord,
    *,
    status: str,
    error: str | None = None,
    items: int | None = None,
    attempts: int = 1,
    dq: Mapping[str, Any] | None = None,
) -> None:
    """Write a page's ledger row without loading it (pending, fetched, failed or held)."""
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO ingest_page (run_id, page_key, part, page, status, source, bronze_key,
                                     sha256, items, attempts, error, dq, fetched_at)
            VALUES (%(run_id)s, %(page_key)s, %(part)s, %(page)s, %(status)s, %(source)s,
                    %(bronze_key)s, %(sha256)s, %(items)s, %(attempts)s, %(error)s, %(dq)s,
                    %(fetched_at)s)
            ON CONFLICT (run_id, page_key) DO UPDATE SET
                status = EXCLUDED.status,
                bronze_key = COALESCE(EXCLUDED.bronze_key, ingest_page.bronze_key),
                sha256 = COALESCE(EXCLUDED.sha256, ingest_page.sha256),
                items = COALESCE(EXCLUDED.items, ingest_page.items),
                attempts = ingest_page.attempts + EXCLUDED.attempts,
                error = EXCLUDED.error, dq = COALESCE(EXCLUDED.dq, ingest_page.dq),
                fetched_at = COALESCE(EXCLUDED.fetched_at, ingest_page.fetched_at)
            """,
            {
                "run_id": record.run_id,
                "page_key": record.page_key,
                "part": record.part,
                "page": record.page,
                "status": status,
                "source": record.source,
                "bronze_key": record.bronze_key,
                "sha256": record.sha256,
                "items": items,
                "attempts": attempts,
                "error": scrub(error) if error else error,
                "dq": Jsonb(dict(dq)) if dq else None,
                "fetched_at": record.fetched_at,
            },
        )


@database_errors("cannot record run {run_id}")
def start_run(
    conn: Conn,
    run_id: str,
    *,
    command: str,
    params: Mapping[str, Any],
    scope_hash: str | None,
    code_version: str,
) -> None:
    """Create the ledger row of a run (status running). Resuming an existing run reopens it."""
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO ingest_run (run_id, command, status, params, scope_hash, code_version)
            VALUES (%s, %s, 'running', %s, %s, %s)
            ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL,
                error = NULL
            """,
            (run_id, command, Jsonb(dict(params)), scope_hash, code_version),
        )


@database_errors("cannot close run {run_id}")
def finish_run(
    conn: Conn,
    run_id: str,
    *,
    status: str,
    summary: Mapping[str, Any],
    complete: bool = False,
    error: str | None = None,
) -> None:
    """Close a run's ledger row with its status and summary."""
    with conn.transaction():
        conn.execute(
            "UPDATE ingest_run SET status = %s, finished_at = now(), summary = %s, "
            "complete = %s, error = %s WHERE run_id = %s",
            (
                status,
                Jsonb(scrub_obj(dict(summary))),
                complete,
                scrub(error) if error else error,
                run_id,
            ),
        )


@database_errors("cannot list the runs")
def list_runs(conn: Conn, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs first, with their page status counts."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            SELECT r.run_id, r.command, r.status, r.started_at, r.finished_at, r.complete,
                   r.summary, count(p.page_key) AS pages,
                   count(p.page_key) FILTER (WHERE p.status = 'loaded') AS pages_loaded,
                   count(p.page_key) FILTER (WHERE p.status IN ('failed', 'held')) AS pages_failed
              FROM ingest_run r LEFT JOIN ingest_page p USING (run_id)
             GROUP BY r.run_id
             ORDER BY r.started_at DESC, r.run_id DESC
             LIMIT %s
            """,
            (limit,),
        )
        return list(cur.fetchall())


@database_errors("cannot read run {run_id}")
def get_run(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """One run's ledger row, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM ingest_run WHERE run_id = %s", (run_id,))
        return cur.fetchone()


@database_errors("cannot list the pages of run {run_id}")
def list_pages(conn: Conn, run_id: str) -> list[dict[str, Any]]:
    """A run's pages in key order."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT page_key, part, page, status, source, bronze_key, sha256, items, inserted, "
            "updated, unchanged, quarantined, duplicates, attempts, error, dq "
            "FROM ingest_page WHERE run_id = %s ORDER BY part, page",
            (run_id,),
        )
        return list(cur.fetchall())


@database_errors("cannot read the ledger of run {run_id}")
def captured_sha256(conn: Conn, run_id: str, part: str, page: int) -> tuple[bool, str | None]:
    """What the run that captured a page recorded of it: ``(row exists, payload SHA-256)``.

    The SHA-256 is that of the payload bytes as received (NULL when the page failed, or the
    run stopped, before its hash was recorded).
    """
    row = conn.execute(
        "SELECT sha256 FROM ingest_page WHERE run_id = %s AND part = %s AND page = %s",
        (run_id, part, page),
    ).fetchone()
    return (row is not None, row[0] if row else None)


@database_errors("cannot list the running runs of the search")
def running_runs(conn: Conn, scope_hash: str) -> list[str]:
    """Runs of a scope still marked running (for the message when the lock is taken)."""
    rows = conn.execute(
        "SELECT run_id FROM ingest_run WHERE scope_hash = %s AND status = 'running' "
        "ORDER BY started_at DESC",
        (scope_hash,),
    ).fetchall()
    return [r[0] for r in rows]


@database_errors("cannot read the page statuses of run {run_id}")
def page_statuses(conn: Conn, run_id: str) -> dict[str, str]:
    """page_key -> status for a run."""
    rows = conn.execute(
        "SELECT page_key, status FROM ingest_page WHERE run_id = %s", (run_id,)
    ).fetchall()
    return {r[0]: r[1] for r in rows}


@database_errors("cannot read the control numbers of {key} in run {run_id}")
def page_control_numbers(conn: Conn, run_id: str, key: str) -> set[str]:
    """The valid control numbers the ledger holds for one page of a run."""
    row = conn.execute(
        "SELECT control_numbers FROM ingest_page WHERE run_id = %s AND page_key = %s",
        (run_id, key),
    ).fetchone()
    return set(row[0] or ()) if row else set()


@database_errors("cannot record the capture of {key} in run {run_id}")
def record_capture(conn: Conn, run_id: str, key: str, bronze_key: str, sha256: str) -> None:
    """Note where a page went in bronze and its payload hash, unless the ledger has one."""
    conn.execute(
        "UPDATE ingest_page SET sha256 = %s, bronze_key = %s "
        "WHERE run_id = %s AND page_key = %s AND sha256 IS NULL",
        (sha256, bronze_key, run_id, key),
    )
    if not conn.autocommit:
        conn.commit()


@database_errors("cannot settle {key.path} in run {key.run_id}")
def settle_source_page(conn: Conn, key: Any, replay_run_id: str) -> None:
    """After `replay` loaded bronze page `key`, mark it loaded in the run that captured it."""
    conn.execute(
        "UPDATE ingest_page SET status = 'loaded', loaded_at = now(), "
        "error = 'loaded by replay ' || %s "
        "WHERE run_id = %s AND part = %s AND page = %s AND status IN ('held', 'failed')",
        (replay_run_id, key.run_id, key.part or "", key.page),
    )
