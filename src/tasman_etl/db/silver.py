"""Silver's jobs: their rows, children and versions, written set-based for one page.

Only jobs whose `content_hash` changed get their children rewritten and a `job_version`
row; the rest only have `last_seen_at` bumped. No per-row statements. Every statement that
locks jobs takes them in control-number order. The transaction around a page, its ledger
row and its quarantine are `db/load.py`'s; historic records and texts are
`db/historic.py`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from tasman_etl.db.errors import database_errors
from tasman_etl.db.staging import copy_binary, create_staging, ident_list
from tasman_etl.transform import (
    CATEGORY_COLUMNS,
    DETAILS_COLUMNS,
    GRADE_COLUMNS,
    HIRING_PATH_COLUMNS,
    JOB_COLUMNS,
    LOCATION_COLUMNS,
    PageRows,
)

__all__ = [
    "CHILD_TABLES",
    "mark_seen_in_scope",
    "one_item_pages",
    "stored_hashes",
    "write_silver",
]

Conn = psycopg.Connection[Any]
Cursor = psycopg.Cursor[Any]

# Child tables, the PageRows attribute holding their rows, and the row layout
# (control_number first; replaced by job_id on COPY).
CHILD_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("job_location", "locations", LOCATION_COLUMNS),
    ("job_category", "categories", CATEGORY_COLUMNS),
    ("job_grade", "grades", GRADE_COLUMNS),
    ("job_hiring_path", "hiring_paths", HIRING_PATH_COLUMNS),
    ("job_details", "details", DETAILS_COLUMNS),
)
_CHILD_TABLE_NAMES = tuple(table for table, _, _ in CHILD_TABLES)

_SEEN_COLUMNS = ("first_seen_at", "last_seen_at", "ingest_run_id", "last_seen_run_id")


def _job_update_set(*, historic: bool = False) -> sql.Composed:
    content = [c for c in JOB_COLUMNS if c != "control_number"]
    sets: list[sql.Composable] = [
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in content
    ]
    sets += [
        sql.SQL("ingest_run_id = EXCLUDED.ingest_run_id"),
        sql.SQL("last_seen_at = GREATEST(j.last_seen_at, EXCLUDED.last_seen_at)"),
        sql.SQL("first_seen_at = LEAST(j.first_seen_at, EXCLUDED.first_seen_at)"),
        sql.SQL("last_seen_run_id = EXCLUDED.last_seen_run_id"),
        sql.SQL("updated_at = now()"),
    ]
    if historic:
        # A historic record never says a job was seen by a search; its open or closed
        # state is set from job_historic afterwards (_HISTORIC_INACTIVE).
        return sql.SQL(", ").join(sets)
    sets += [sql.SQL("inactive_since = NULL"), sql.SQL("source = 'search'")]
    return sql.SQL(", ").join(sets)


# Rows go in control-number order (here and in every statement that locks jobs), so two
# loads writing the same jobs at once wait for each other instead of deadlocking.
_UPSERT_JOB = sql.SQL(
    """
    INSERT INTO job AS j ({cols}, first_seen_at, last_seen_at, ingest_run_id, last_seen_run_id)
    SELECT {cols}, %(seen)s, %(seen)s, %(run)s, %(run)s FROM stg_job ORDER BY control_number
    ON CONFLICT (control_number) DO UPDATE SET {sets}
    WHERE j.content_hash IS DISTINCT FROM EXCLUDED.content_hash
    RETURNING j.job_id, j.control_number, (j.xmax = 0) AS inserted
    """
).format(cols=ident_list(JOB_COLUMNS), sets=_job_update_set())

# A historic record inserts a job no search has returned, and rewrites only jobs that came
# from history too: whenever the Search API has returned a job, its fields win (ADR 0028).
_UPSERT_JOB_HISTORIC = sql.SQL(
    """
    INSERT INTO job AS j ({cols}, first_seen_at, last_seen_at, ingest_run_id, last_seen_run_id,
                          source)
    SELECT {cols}, %(seen)s, %(seen)s, %(run)s, %(run)s, 'historic' FROM stg_job
     ORDER BY control_number
    ON CONFLICT (control_number) DO UPDATE SET {sets}
    WHERE j.content_hash IS DISTINCT FROM EXCLUDED.content_hash AND j.source = 'historic'
    RETURNING j.job_id, j.control_number, (j.xmax = 0) AS inserted
    """
).format(cols=ident_list(JOB_COLUMNS), sets=_job_update_set(historic=True))

# Only columns no index covers change here, so with job's fillfactor (005) these are HOT
# updates: no index entries are written for an unchanged job.
_TOUCH_UNCHANGED = """
    UPDATE job
       SET last_seen_at = GREATEST(job.last_seen_at, %(seen)s),
           last_seen_run_id = %(run)s,
           inactive_since = NULL
      FROM (SELECT job_id FROM job WHERE control_number = ANY(%(cns)s)
             ORDER BY control_number FOR UPDATE) AS locked
     WHERE job.job_id = locked.job_id
"""

# Before changed jobs are overwritten: lock them, then close their current versions with
# the content being replaced (a current version's snapshot is NULL: it is job.raw_json).
_LOCK_CHANGED = """
    SELECT j.job_id FROM job j JOIN stg_job s USING (control_number)
     WHERE j.content_hash IS DISTINCT FROM s.content_hash
       AND (%(search)s OR j.source = 'historic')
     ORDER BY j.control_number
       FOR UPDATE OF j
"""

_CLOSE_VERSIONS = """
    UPDATE job_version v
       SET valid_to = GREATEST(v.valid_from, %(seen)s),
           snapshot = COALESCE(v.snapshot, j.raw_json)
      FROM job j
     WHERE v.job_id = j.job_id AND v.valid_to IS NULL AND j.job_id = ANY(%(ids)s)
"""

_OPEN_VERSIONS = """
    INSERT INTO job_version (job_id, control_number, content_hash, run_id, valid_from)
    SELECT job_id, control_number, content_hash, %(run)s, %(seen)s
      FROM job WHERE job_id = ANY(%(ids)s)
"""

_SEEN_IN_SCOPE = """
    INSERT INTO job_scope (scope_hash, job_id, first_seen_at, last_seen_at, last_seen_run_id)
    SELECT %(scope)s, job_id, %(seen)s, %(seen)s, %(run)s
      FROM job WHERE control_number = ANY(%(cns)s) ORDER BY job_id
    ON CONFLICT (scope_hash, job_id) DO UPDATE
       SET last_seen_at = GREATEST(job_scope.last_seen_at, EXCLUDED.last_seen_at),
           last_seen_run_id = EXCLUDED.last_seen_run_id
"""


def mark_seen_in_scope(
    cur: Cursor, scope_hash: str, control_numbers: Sequence[str], params: Mapping[str, Any]
) -> None:
    """Record that the page's jobs were seen by the search of `scope_hash` in this run."""
    cur.execute(_SEEN_IN_SCOPE, {**params, "scope": scope_hash, "cns": control_numbers})


_HISTORIC_HASHES = """
    SELECT j.control_number,
           CASE WHEN j.source = 'historic' THEN j.content_hash
                ELSE coalesce(h.content_hash, '') END
      FROM job j LEFT JOIN job_historic h USING (control_number)
     WHERE j.control_number = ANY(%s)
"""


@database_errors("cannot read stored content hashes")
def stored_hashes(
    conn: Conn, control_numbers: Sequence[str], *, kind: str = "search"
) -> dict[str, str]:
    """`control_number -> content_hash` for the jobs the database already holds.

    For historic records (`kind="historic"`) the hash is the stored historic record's: the
    job's own when it came from history, else its `job_historic` row's ('' when it has
    none), so a record equal to the one stored is unchanged whatever source won the job.
    """
    if not control_numbers:
        return {}
    query = (
        _HISTORIC_HASHES
        if kind == "historic"
        else "SELECT control_number, content_hash FROM job WHERE control_number = ANY(%s)"
    )
    found = conn.execute(query, (list(control_numbers),)).fetchall()
    return {cn: digest for cn, digest in found}


def write_silver(
    conn: Conn,
    cur: Cursor,
    rows: PageRows,
    params: Mapping[str, Any],
    *,
    guard_new: bool = True,
) -> tuple[list[int], list[int], int]:
    """Jobs, children and versions of a page; (inserted ids, updated ids, unchanged).

    Jobs looked up as new (`rows.new`) are COPYed straight into `job`. With `guard_new`
    that COPY runs in a savepoint, and a job another writer inserted meanwhile sends the
    page's jobs through the upsert instead; without it a `UniqueViolation` propagates and
    the caller loads the page again (its transaction must be the page's own).
    """
    ids, inserted_ids, updated_ids = _write_jobs(conn, cur, rows, params, guard_new)
    touched = [cn for cn in rows.control_numbers if cn not in ids]
    unchanged = 0
    if touched and params["search"]:
        cur.execute(_TOUCH_UNCHANGED, {**params, "cns": touched})
        unchanged = cur.rowcount
    elif touched:  # a historic record does not say a search saw the job
        unchanged = len(touched)
    if ids:
        if updated_ids:
            for table in _CHILD_TABLE_NAMES:
                cur.execute(
                    sql.SQL("DELETE FROM {} WHERE job_id = ANY(%s)").format(sql.Identifier(table)),
                    (updated_ids,),
                )
        for table, attr, columns in CHILD_TABLES:
            copy_binary(
                cur,
                table,
                ("job_id", *columns[1:]),
                (
                    (ids[r.control_number], *r[1:])
                    for r in getattr(rows, attr)
                    if r.control_number in ids
                ),
            )
        cur.execute(_OPEN_VERSIONS, {**params, "ids": list(ids.values())})
    return inserted_ids, updated_ids, unchanged


def one_item_pages(rows: PageRows) -> Iterator[PageRows]:
    """The page's job rows as one-item pages (with their children), in page order."""
    children: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for _, attr, _ in CHILD_TABLES:
        for row in getattr(rows, attr):
            children.setdefault(row.control_number, {}).setdefault(attr, []).append(row)
    for job in rows.jobs:
        cn = job.control_number
        one = PageRows(jobs=[job], control_numbers=[cn], new={cn} & rows.new, kind=rows.kind)
        for attr, own in children.get(cn, {}).items():
            setattr(one, attr, own)
        yield one


def _write_jobs(
    conn: Conn, cur: Cursor, rows: PageRows, params: Mapping[str, Any], guard_new: bool
) -> tuple[dict[str, int], list[int], list[int]]:
    """Insert new and upsert changed job rows; return cn -> job_id of every row written."""
    ids: dict[str, int] = {}
    inserted: list[int] = []
    updated: list[int] = []
    search = bool(params["search"])
    ordered = sorted(rows.jobs, key=lambda r: str(r.control_number))  # lock order: _UPSERT_JOB
    fresh = [r for r in ordered if r.control_number in rows.new]
    others = [r for r in ordered if r.control_number not in rows.new]
    if fresh:
        seen: tuple[Any, ...] = (params["seen"], params["seen"], params["run"], params["run"])
        if not search:
            seen = (*seen, "historic")
        columns = (*JOB_COLUMNS, *_SEEN_COLUMNS, *(() if search else ("source",)))
        try:
            # A savepoint: a concurrent insert falls back to the upsert.
            with conn.transaction() if guard_new else contextlib.nullcontext():
                copy_binary(cur, "job", columns, ((*r, *seen) for r in fresh))
        except psycopg.errors.UniqueViolation:
            if not guard_new:
                raise
            others = ordered
        else:
            cur.execute(
                "SELECT control_number, job_id FROM job WHERE control_number = ANY(%s)",
                ([r.control_number for r in fresh],),
            )
            for cn, job_id in cur.fetchall():
                ids[cn] = job_id
                inserted.append(job_id)
    if others:
        create_staging(cur, "stg_job", "job", JOB_COLUMNS)
        copy_binary(cur, "stg_job", JOB_COLUMNS, others, types_of="job")
        cur.execute(_LOCK_CHANGED, {"search": search})
        changing = [r[0] for r in cur.fetchall()]
        if changing:
            cur.execute(_CLOSE_VERSIONS, {**params, "ids": changing})
        cur.execute(_UPSERT_JOB if search else _UPSERT_JOB_HISTORIC, params)
        for job_id, cn, was_inserted in cur.fetchall():
            ids[cn] = job_id
            (inserted if was_inserted else updated).append(job_id)
    return ids, inserted, updated
