"""One page into silver and the ledger, in one transaction, set-based.

A page's rows are COPYed into temporary staging tables, then one statement per table moves
them into silver (`db/silver.py`, `db/historic.py`); its quarantined items and its ledger
row (`db/ledger.py`) are written in the same transaction. A page that lost a deadlock is
loaded again; a page PostgreSQL refuses for what one item holds is loaded without that item,
which is quarantined with the database's reason.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg import pq, sql

from tasman_etl.db.errors import database_errors
from tasman_etl.db.historic import write_historic, write_texts
from tasman_etl.db.ledger import LoadCounts, PageRecord, write_page_ledger
from tasman_etl.db.silver import (
    CHILD_TABLES,
    mark_seen_in_scope,
    one_item_pages,
    write_silver,
)
from tasman_etl.db.staging import DROP_STAGING, copy_rows, create_staging, ident_list
from tasman_etl.historic_text import TEXT_KIND
from tasman_etl.transform import (
    CONTROL_NUMBER_CHARS,
    REASON_CHARS,
    PageRows,
    QuarantineRow,
    cut,
)

__all__ = ["load_page_rows"]

Conn = psycopg.Connection[Any]
Cursor = psycopg.Cursor[Any]

log = structlog.get_logger(__name__)

_QUARANTINE_COLUMNS = (
    "run_id",
    "source",
    "page_key",
    "page_sha256",
    "item_index",
    "control_number",
    "reason",
    "raw_json",
    "raw_text",
)


@database_errors("loading {record.page_key} of run {record.run_id} failed")
def load_page_rows(
    conn: Conn,
    rows: PageRows,
    *,
    record: PageRecord,
    seen_at: datetime,
    extra_ledger: Mapping[str, Any] | None = None,
) -> LoadCounts:
    """Load one page's rows and its ledger entry in a single transaction.

    Rows whose control number is new (`rows.new`) are COPYed straight into `job`; the
    others go through a staging table and one `INSERT ... ON CONFLICT` that only rewrites
    jobs whose content hash differs. Children and `job_version` rows are written for
    inserted and changed jobs only; unchanged jobs (`rows.unchanged`, or equal after all)
    only get `last_seen_at` bumped. Idempotent: loading the same rows again inserts and
    updates nothing.

    When PostgreSQL refuses the page for what an item holds (a data exception, a
    constraint, a program limit such as an index entry or a tsvector too large), each
    item is tried alone, in a transaction rolled back afterwards: the items refused are
    moved to `rows.quarantine` with the database's reason (`rows` is updated in place, so
    the caller's counts and logs see them) and the page is loaded without them. Any other
    error (connection lost, a page-wide refusal) raises DatabaseError; nothing was written.
    """
    extra = extra_ledger or {}
    try:
        return _load_page_retrying(conn, rows, record, seen_at, extra)
    except psycopg.Error as exc:
        if not _refused_for_an_item(conn, exc):
            raise  # DatabaseError, by `database_errors`
        first = exc
    refused = _refused_items(conn, rows, record, seen_at)
    if not refused:  # no item alone explains it
        raise first
    _quarantine_refused(rows, refused)
    return _load_page_retrying(conn, rows, record, seen_at, extra)


_CONFLICT_ATTEMPTS = 4
"""Tries of a page whose transaction lost to another one (deadlock, serialization)."""


def _load_page_retrying(
    conn: Conn, rows: PageRows, record: PageRecord, seen_at: datetime, extra: Mapping[str, Any]
) -> LoadCounts:
    """`_load_page`, tried again when PostgreSQL ended it to break a deadlock.

    Each statement locks jobs in control-number order, but a page takes its locks over
    several statements (changed jobs, then unchanged ones; history's upsert, then its
    inactive marks), so two loads of overlapping pages can still wait on each other. The
    loser's transaction was rolled back whole: loading it again is safe.
    """
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            return _load_page(conn, rows, record, seen_at, extra)
        except psycopg.errors.UniqueViolation:
            if not rows.new or conn.closed or conn.broken:
                raise
            # Another writer inserted one of the jobs looked up as new since the lookup:
            # the page's transaction was rolled back whole; load it again as an upsert.
            log.info("page_new_jobs_taken", page_key=record.page_key)
            rows.new = set()
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
            if attempt == _CONFLICT_ATTEMPTS or conn.closed or conn.broken:
                raise
            log.warning(
                "page_load_conflict_retried",
                page_key=record.page_key,
                attempt=attempt,
                sqlstate=exc.sqlstate,
            )
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


# SQLSTATE classes of errors an item's values can cause: data exception (22), integrity
# constraint violation (23), program limit exceeded (54: index row size, tsvector size).
_ITEM_ERROR_CLASSES = frozenset({"22", "23", "54"})


def _refused_for_an_item(conn: Conn, exc: psycopg.Error) -> bool:
    """Whether `exc` may come from one item's values (and the connection is still usable)."""
    state = exc.sqlstate or ""
    return state[:2] in _ITEM_ERROR_CLASSES and not conn.closed and not conn.broken


def _load_page(
    conn: Conn,
    rows: PageRows,
    record: PageRecord,
    seen_at: datetime,
    extra: Mapping[str, Any],
) -> LoadCounts:
    params = {"seen": seen_at, "run": record.run_id, "search": rows.kind != "historic"}
    # Outside any transaction, no staging table survives (ON COMMIT DROP, or rolled back)
    # and the page's transaction is the whole unit of retry: no statement is spent on
    # either (each is one more round trip per page).
    outermost = conn.info.transaction_status == pq.TransactionStatus.IDLE
    with conn.transaction(), conn.cursor() as cur:
        if not outermost:  # ON COMMIT DROP has not fired for an earlier page in here
            cur.execute(DROP_STAGING)
        if rows.kind == TEXT_KIND:  # AnnouncementText records: no job rows of their own
            inserted, updated, unchanged = write_texts(cur, rows, params)
        else:
            inserted_ids, updated_ids, unchanged = write_silver(
                conn, cur, rows, params, guard_new=not outermost
            )
            inserted, updated = len(inserted_ids), len(updated_ids)
        if rows.kind == "historic":
            write_historic(cur, rows, params)
        if record.scope_hash and rows.control_numbers:
            mark_seen_in_scope(cur, record.scope_hash, rows.control_numbers, params)
        quarantined = _write_quarantine(cur, rows, record)
        counts = LoadCounts(inserted, updated, unchanged, quarantined)
        write_page_ledger(cur, record, rows, counts, extra)
    return counts


def _refused_items(
    conn: Conn, rows: PageRows, record: PageRecord, seen_at: datetime
) -> dict[str, str]:
    """Control number -> the database's reason, for each item refused when loaded alone.

    Every item is written in a savepoint of one transaction that is rolled back: nothing
    stays. An error that is not about an item (e.g. the connection is lost) propagates.
    """
    params = {"seen": seen_at, "run": record.run_id, "search": rows.kind != "historic"}
    refused: dict[str, str] = {}
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        for one in one_item_pages(rows):
            try:
                with conn.transaction():
                    cur.execute(DROP_STAGING)
                    write_silver(conn, cur, one, params)
            except psycopg.Error as exc:
                if not _refused_for_an_item(conn, exc):
                    raise
                refused[one.control_numbers[0]] = (
                    f"PostgreSQL refused the item ({exc.sqlstate}): "
                    f"{exc.diag.message_primary or exc}"
                )
    return refused


def _quarantine_refused(rows: PageRows, refused: Mapping[str, str]) -> None:
    """Move the refused items of `rows` to its quarantine (in place)."""
    for job in rows.jobs:
        cn = job.control_number
        if cn not in refused:
            continue
        index = rows.item_index.get(cn)
        reason = refused[cn]
        if index is None:  # rows built without item indexes: keep the key unique anyway
            index, reason = -1, f"{reason} [control number {cn}]"
        rows.quarantine.append(QuarantineRow(index, cn, reason, str(job.raw_json)))
    rows.jobs = [r for r in rows.jobs if r.control_number not in refused]
    for _, attr, _ in CHILD_TABLES:
        setattr(rows, attr, [r for r in getattr(rows, attr) if r.control_number not in refused])
    rows.control_numbers = [cn for cn in rows.control_numbers if cn not in refused]
    rows.new -= refused.keys()


def _write_quarantine(cur: Cursor, rows: PageRows, record: PageRecord) -> int:
    if not rows.quarantine:
        return 0
    create_staging(cur, "stg_quarantine", "quarantine", _QUARANTINE_COLUMNS)
    copy_rows(
        cur,
        "stg_quarantine",
        _QUARANTINE_COLUMNS,
        (
            (
                record.run_id,
                record.bronze_key or record.source or record.page_key,
                record.page_key,
                record.sha256,
                q.item_index,
                cut(q.control_number, CONTROL_NUMBER_CHARS),
                cut(q.reason, REASON_CHARS),  # part of quarantine_item_idx (a btree)
                q.raw_text if q.storable else None,
                None if q.storable else q.raw_text,
            )
            for q in rows.quarantine
        ),
    )
    cur.execute(
        sql.SQL(
            "INSERT INTO quarantine ({c}) SELECT {c} FROM stg_quarantine ON CONFLICT DO NOTHING"
        ).format(c=ident_list(_QUARANTINE_COLUMNS))
    )
    return len(rows.quarantine)
