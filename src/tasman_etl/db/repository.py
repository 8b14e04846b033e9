"""Set-based writes to silver and the run ledger.

A page is loaded in one transaction: its rows are COPYed into temporary staging
tables, then one statement per table moves them into silver. Only jobs whose
`content_hash` changed get their children rewritten and a `job_version` row; the
rest only have `last_seen_at` bumped. No per-row statements.

The silver rows of a page (`job`, its staging table and the child tables) travel in
COPY's binary format: no text to format in Python nor to parse in PostgreSQL, except the
`raw_json` text, which `jsonb` parses either way (bench/README.md, "Write amplification":
on 10,000 real-size jobs, -12 % load time, -17 % server CPU). The ledger, code lists and
quarantine keep text COPY.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg import pq, sql
from psycopg.adapt import Dumper
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tasman_etl.errors import DatabaseError
from tasman_etl.historic_text import DUTIES_KEY, TEXT_DETAILS, TEXT_KIND
from tasman_etl.redact import scrub, scrub_obj
from tasman_etl.transform import (
    BTREE_TEXT_CHARS,
    CATEGORY_COLUMNS,
    CONTROL_NUMBER_CHARS,
    DETAILS_COLUMNS,
    GRADE_COLUMNS,
    HIRING_PATH_COLUMNS,
    JOB_COLUMNS,
    LOCATION_COLUMNS,
    REASON_CHARS,
    PageRows,
    QuarantineRow,
    cut,
)

__all__ = [
    "LoadCounts",
    "PageRecord",
    "finish_run",
    "get_run",
    "list_pages",
    "list_runs",
    "load_page_rows",
    "record_page",
    "settle_source_page",
    "start_run",
    "stored_hashes",
    "upsert_codelist",
]

Conn = psycopg.Connection[Any]

log = structlog.get_logger(__name__)

# Child tables, the PageRows attribute holding their rows, and the row layout
# (control_number first; replaced by job_id on COPY).
_CHILD_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("job_location", "locations", LOCATION_COLUMNS),
    ("job_category", "categories", CATEGORY_COLUMNS),
    ("job_grade", "grades", GRADE_COLUMNS),
    ("job_hiring_path", "hiring_paths", HIRING_PATH_COLUMNS),
    ("job_details", "details", DETAILS_COLUMNS),
)
_CHILD_TABLE_NAMES = tuple(table for table, _, _ in _CHILD_TABLES)


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


def _ident_list(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def _create_staging(
    cur: psycopg.Cursor[Any], stage: str, target: str, columns: Sequence[str]
) -> None:
    """A temp table with `columns` typed like the same columns of `target`."""
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(stage), _ident_list(columns), sql.Identifier(target)
        )
    )


def _copy(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    with cur.copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), _ident_list(columns))
    ) as copy:
        for row in rows:
            copy.write_row(row)


class _JsonTextDumper(Dumper):
    """JSON text for a `jsonb` column in a binary COPY, sent as it is.

    The rows carry `raw_json` as strict JSON text already (`transform.storable_text`); the
    binary form of `jsonb` is a version byte (1) and that text, which PostgreSQL parses as it
    parses text input. (psycopg's own jsonb dumper would serialise the str again, storing a
    JSON string.) Registered by OID only, so it serves `Copy.set_types` and nothing else.
    """

    format = pq.Format.BINARY
    oid = psycopg.postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        if not isinstance(obj, str):
            raise TypeError(f"jsonb text expected in a binary COPY, got {type(obj).__name__}")
        return b"\x01" + obj.encode()


# Per connection: (table, columns) -> the type OIDs of those columns (binary COPY needs them).
_COPY_TYPES: weakref.WeakKeyDictionary[Any, dict[tuple[str, tuple[str, ...]], list[int]]] = (
    weakref.WeakKeyDictionary()
)


def _column_types(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str]) -> list[int]:
    """The type OIDs of `columns` of `table`, read once per connection (a `LIMIT 0` query)."""
    known = _COPY_TYPES.setdefault(cur.connection, {})
    key = (table, tuple(columns))
    oids = known.get(key)
    if oids is None:
        cur.execute(
            sql.SQL("SELECT {} FROM {} LIMIT 0").format(_ident_list(columns), sql.Identifier(table))
        )
        oids = [col.type_code for col in cur.description or ()]
        known[key] = oids
    return oids


def _copy_binary(
    cur: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types_of: str | None = None,
) -> None:
    """COPY `rows` in binary format; column types are those of `types_of` (default `table`).

    A staging table made from a silver table names that table in `types_of`, so the types
    are read once per connection, not once per page.
    """
    oids = _column_types(cur, types_of or table, columns)
    cur.adapters.register_dumper(None, _JsonTextDumper)
    with cur.copy(
        sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table), _ident_list(columns)
        )
    ) as copy:
        copy.set_types(oids)
        for row in rows:
            copy.write_row(row)


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
).format(cols=_ident_list(JOB_COLUMNS), sets=_job_update_set())

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
).format(cols=_ident_list(JOB_COLUMNS), sets=_job_update_set(historic=True))

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


_HISTORIC_HASHES = """
    SELECT j.control_number,
           CASE WHEN j.source = 'historic' THEN j.content_hash
                ELSE coalesce(h.content_hash, '') END
      FROM job j LEFT JOIN job_historic h USING (control_number)
     WHERE j.control_number = ANY(%s)
"""


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
    try:
        found = conn.execute(query, (list(control_numbers),)).fetchall()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot read stored content hashes: {exc}") from exc
    return {cn: digest for cn, digest in found}


_SEEN_COLUMNS = ("first_seen_at", "last_seen_at", "ingest_run_id", "last_seen_run_id")


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
            raise DatabaseError(_load_failed(record, exc)) from exc
        first = exc
    try:
        refused = _refused_items(conn, rows, record, seen_at)
        if not refused:  # no item alone explains it
            raise DatabaseError(_load_failed(record, first)) from first
        _quarantine_refused(rows, refused)
        return _load_page(conn, rows, record, seen_at, extra)
    except psycopg.Error as exc:
        raise DatabaseError(_load_failed(record, exc)) from exc


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


def _load_failed(record: PageRecord, exc: psycopg.Error) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    if len(text) > 1_000:  # a refused value may be quoted in the message
        text = text[:997] + "..."
    return f"loading {record.page_key} of run {record.run_id} failed: {text}"


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
    with conn.transaction(), conn.cursor() as cur:
        # ON COMMIT DROP only fires at a real commit; inside an outer transaction the
        # previous page's staging tables may still exist.
        cur.execute(_DROP_STAGING)
        if rows.kind == TEXT_KIND:  # AnnouncementText records: no job rows of their own
            inserted, updated, unchanged = _write_texts(cur, rows, params)
        else:
            inserted_ids, updated_ids, unchanged = _write_silver(conn, cur, rows, params)
            inserted, updated = len(inserted_ids), len(updated_ids)
        if rows.kind == "historic":
            _write_historic(cur, rows, params)
        if record.scope_hash and rows.control_numbers:
            cur.execute(
                _SEEN_IN_SCOPE,
                {**params, "scope": record.scope_hash, "cns": rows.control_numbers},
            )
        quarantined = _write_quarantine(cur, rows, record)
        counts = LoadCounts(inserted, updated, unchanged, quarantined)
        _write_page_ledger(cur, record, rows, counts, extra)
    return counts


def _write_silver(
    conn: Conn, cur: psycopg.Cursor[Any], rows: PageRows, params: Mapping[str, Any]
) -> tuple[list[int], list[int], int]:
    """Jobs, children and versions of a page; (inserted ids, updated ids, unchanged)."""
    ids, inserted_ids, updated_ids = _write_jobs(conn, cur, rows, params)
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
        for table, attr, columns in _CHILD_TABLES:
            _copy_binary(
                cur,
                table,
                ("job_id", *columns[1:]),
                ((ids[r[0]], *r[1:]) for r in getattr(rows, attr) if r[0] in ids),
            )
        cur.execute(_OPEN_VERSIONS, {**params, "ids": list(ids.values())})
    return inserted_ids, updated_ids, unchanged


def _one_item_pages(rows: PageRows) -> Iterator[PageRows]:
    """The page's job rows as one-item pages (with their children), in page order."""
    children: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for _, attr, _ in _CHILD_TABLES:
        for row in getattr(rows, attr):
            children.setdefault(row[0], {}).setdefault(attr, []).append(row)
    for job in rows.jobs:
        cn = job[0]
        one = PageRows(jobs=[job], control_numbers=[cn], new={cn} & rows.new, kind=rows.kind)
        for attr, own in children.get(cn, {}).items():
            setattr(one, attr, own)
        yield one


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
        for one in _one_item_pages(rows):
            try:
                with conn.transaction():
                    cur.execute(_DROP_STAGING)
                    _write_silver(conn, cur, one, params)
            except psycopg.Error as exc:
                if not _refused_for_an_item(conn, exc):
                    raise
                refused[one.control_numbers[0]] = (
                    f"PostgreSQL refused the item ({exc.sqlstate}): "
                    f"{exc.diag.message_primary or exc}"
                )
    return refused


_RAW_JSON = JOB_COLUMNS.index("raw_json")
_CONTENT_HASH = JOB_COLUMNS.index("content_hash")


def _quarantine_refused(rows: PageRows, refused: Mapping[str, str]) -> None:
    """Move the refused items of `rows` to its quarantine (in place)."""
    for job in rows.jobs:
        cn = job[0]
        if cn not in refused:
            continue
        index = rows.item_index.get(cn)
        reason = refused[cn]
        if index is None:  # rows built without item indexes: keep the key unique anyway
            index, reason = -1, f"{reason} [control number {cn}]"
        rows.quarantine.append(QuarantineRow(index, cn, reason, job[_RAW_JSON]))
    rows.jobs = [r for r in rows.jobs if r[0] not in refused]
    for _, attr, _ in _CHILD_TABLES:
        setattr(rows, attr, [r for r in getattr(rows, attr) if r[0] not in refused])
    rows.control_numbers = [cn for cn in rows.control_numbers if cn not in refused]
    rows.new -= refused.keys()


def _write_jobs(
    conn: Conn, cur: psycopg.Cursor[Any], rows: PageRows, params: Mapping[str, Any]
) -> tuple[dict[str, int], list[int], list[int]]:
    """Insert new and upsert changed job rows; return cn -> job_id of every row written."""
    ids: dict[str, int] = {}
    inserted: list[int] = []
    updated: list[int] = []
    search = bool(params["search"])
    ordered = sorted(rows.jobs, key=lambda r: str(r[0]))  # lock order: see _UPSERT_JOB
    fresh = [r for r in ordered if r[0] in rows.new]
    others = [r for r in ordered if r[0] not in rows.new]
    if fresh:
        seen: tuple[Any, ...] = (params["seen"], params["seen"], params["run"], params["run"])
        if not search:
            seen = (*seen, "historic")
        columns = (*JOB_COLUMNS, *_SEEN_COLUMNS, *(() if search else ("source",)))
        try:
            with conn.transaction():  # a savepoint: a concurrent insert falls back to upsert
                _copy_binary(cur, "job", columns, ((*r, *seen) for r in fresh))
        except psycopg.errors.UniqueViolation:
            others = ordered
        else:
            cur.execute(
                "SELECT control_number, job_id FROM job WHERE control_number = ANY(%s)",
                ([r[0] for r in fresh],),
            )
            for cn, job_id in cur.fetchall():
                ids[cn] = job_id
                inserted.append(job_id)
    if others:
        _create_staging(cur, "stg_job", "job", JOB_COLUMNS)
        _copy_binary(cur, "stg_job", JOB_COLUMNS, others, types_of="job")
        cur.execute(_LOCK_CHANGED, {"search": search})
        changing = [r[0] for r in cur.fetchall()]
        if changing:
            cur.execute(_CLOSE_VERSIONS, {**params, "ids": changing})
        cur.execute(_UPSERT_JOB if search else _UPSERT_JOB_HISTORIC, params)
        for job_id, cn, was_inserted in cur.fetchall():
            ids[cn] = job_id
            (inserted if was_inserted else updated).append(job_id)
    return ids, inserted, updated


_DROP_STAGING = (
    "DROP TABLE IF EXISTS pg_temp.stg_job, pg_temp.stg_quarantine, pg_temp.stg_historic,"
    " pg_temp.stg_text"
)

_HISTORIC_COLUMNS = (
    "control_number",
    "raw_json",
    "content_hash",
    "opening_status",
    "closed_on",
    "first_seen_at",
    "last_seen_at",
    "ingest_run_id",
)

_UPSERT_HISTORIC = sql.SQL(
    """
    INSERT INTO job_historic AS h ({cols})
    SELECT {cols} FROM stg_historic ORDER BY control_number
    ON CONFLICT (control_number) DO UPDATE SET
        raw_json = EXCLUDED.raw_json, content_hash = EXCLUDED.content_hash,
        opening_status = EXCLUDED.opening_status, closed_on = EXCLUDED.closed_on,
        first_seen_at = LEAST(h.first_seen_at, EXCLUDED.first_seen_at),
        last_seen_at = GREATEST(h.last_seen_at, EXCLUDED.last_seen_at),
        ingest_run_id = EXCLUDED.ingest_run_id
    """
).format(cols=_ident_list(_HISTORIC_COLUMNS))

_TOUCH_HISTORIC = """
    UPDATE job_historic
       SET last_seen_at = GREATEST(job_historic.last_seen_at, %(seen)s)
      FROM (SELECT control_number FROM job_historic WHERE control_number = ANY(%(cns)s)
             ORDER BY control_number FOR UPDATE) AS locked
     WHERE job_historic.control_number = locked.control_number
"""

# What history says about being open (ADR 0028): a job only history has is inactive from
# the day its record says it closed (NULL while the record says it is open); a job a search
# has returned is marked inactive from that day only if no search has seen it since, and
# only once (a later search sighting clears inactive_since again, as for any job).
_HISTORIC_INACTIVE = """
    UPDATE job j
       SET inactive_since = CASE WHEN j.source = 'historic' THEN h.closed_on
                                 ELSE coalesce(j.inactive_since, h.closed_on) END
      FROM job_historic h
     WHERE h.control_number = j.control_number
       AND j.control_number = ANY(%(cns)s)
       AND (j.source = 'historic'
            OR (h.closed_on IS NOT NULL AND h.closed_on <= now()
                AND j.last_seen_at <= h.closed_on AND j.inactive_since IS NULL))
       AND j.inactive_since IS DISTINCT FROM
           (CASE WHEN j.source = 'historic' THEN h.closed_on
                 ELSE coalesce(j.inactive_since, h.closed_on) END)
"""


def _write_historic(cur: psycopg.Cursor[Any], rows: PageRows, params: Mapping[str, Any]) -> None:
    """Keep each historic record as received and let it say whether its job is open."""
    written = {r[0] for r in rows.jobs}
    if rows.jobs:
        _create_staging(cur, "stg_historic", "job_historic", _HISTORIC_COLUMNS)
        states = rows.historic
        _copy_binary(
            cur,
            "stg_historic",
            _HISTORIC_COLUMNS,
            (
                (
                    r[0],
                    r[_RAW_JSON],
                    r[_CONTENT_HASH],
                    *states.get(r[0], (None, None)),
                    params["seen"],
                    params["seen"],
                    params["run"],
                )
                for r in sorted(rows.jobs, key=lambda r: str(r[0]))
            ),
            types_of="job_historic",
        )
        cur.execute(_UPSERT_HISTORIC)
    same = [cn for cn in rows.control_numbers if cn not in written]
    if same:
        cur.execute(_TOUCH_HISTORIC, {**params, "cns": same})
    if rows.control_numbers:
        cur.execute(_HISTORIC_INACTIVE, {"cns": rows.control_numbers})
    if written:  # a rewritten history-only job's details get its stored long texts back
        cur.execute(_TEXT_DETAILS, {"cns": sorted(written)})


# AnnouncementText records (`backfill --texts`, ADR 0028): kept per job in
# job_historic_text; for a job only history has, its long texts fill job_details (a job a
# search returned keeps the search's). Read from the stored record, so a history-only job
# whose children a later historic record rewrote gets them back (`_write_historic`).
_TEXT_STAGE_COLUMNS = ("control_number", "raw_json", "content_hash")

_TEXT_NO_JOB = """
    SELECT s.control_number FROM stg_text s
     WHERE NOT EXISTS (SELECT 1 FROM job j WHERE j.control_number = s.control_number)
"""

_UPSERT_TEXT = """
    INSERT INTO job_historic_text AS t
           (control_number, raw_json, content_hash, first_seen_at, updated_at, ingest_run_id)
    SELECT control_number, raw_json, content_hash, %(seen)s, now(), %(run)s
      FROM stg_text s
     WHERE EXISTS (SELECT 1 FROM job j WHERE j.control_number = s.control_number)
     ORDER BY control_number
    ON CONFLICT (control_number) DO UPDATE SET
        raw_json = EXCLUDED.raw_json, content_hash = EXCLUDED.content_hash,
        first_seen_at = LEAST(t.first_seen_at, EXCLUDED.first_seen_at),
        updated_at = now(), ingest_run_id = EXCLUDED.ingest_run_id
    WHERE t.content_hash IS DISTINCT FROM EXCLUDED.content_hash
    RETURNING t.control_number, (t.xmax = 0) AS inserted
"""


def _text_details_sql() -> sql.Composed:
    """Fill the long texts of history-only jobs' details from their stored text records.

    Keys are read in any case (`lower(key)`); only JSON strings count. Only rows whose
    texts differ are locked (in control-number order) and written: idempotent.
    """
    columns = [*TEXT_DETAILS, "major_duties"]
    picks = sql.SQL(", ").join(
        sql.SQL("max(e.v) FILTER (WHERE e.k = {}) AS {}").format(
            sql.Literal(key), sql.Identifier(column)
        )
        for column, key in TEXT_DETAILS.items()
    )
    ours = sql.SQL(", ").join(sql.SQL("d.{}").format(sql.Identifier(c)) for c in columns)
    theirs = sql.SQL(", ").join(sql.SQL("g.{}").format(sql.Identifier(c)) for c in columns)
    sets = sql.SQL(", ").join(sql.SQL("{0} = g.{0}").format(sql.Identifier(c)) for c in columns)
    return sql.SQL(
        """
        WITH f AS (
            SELECT j.job_id, j.control_number, {picks},
                   max(e.v) FILTER (WHERE e.k = {duties}) AS duties
              FROM job j
              JOIN job_historic_text t USING (control_number)
              LEFT JOIN LATERAL (
                   SELECT lower(key) AS k, value #>> '{{}}' AS v FROM jsonb_each(t.raw_json)
                    WHERE jsonb_typeof(value) = 'string') e ON true
             WHERE j.control_number = ANY(%(cns)s) AND j.source = 'historic'
             GROUP BY j.job_id, j.control_number
        ), g AS (
            SELECT f.*, ARRAY(SELECT l FROM regexp_split_to_table(f.duties, E'\\r?\\n') AS l
                               WHERE btrim(l) <> '') AS major_duties
              FROM f
        ), locked AS (
            SELECT d.job_id FROM job_details d JOIN g USING (job_id)
             WHERE ({ours}) IS DISTINCT FROM ({theirs})
             ORDER BY g.control_number
               FOR UPDATE OF d
        )
        UPDATE job_details d SET {sets}
          FROM g JOIN locked USING (job_id)
         WHERE d.job_id = g.job_id
        """
    ).format(picks=picks, duties=sql.Literal(DUTIES_KEY), ours=ours, theirs=theirs, sets=sets)


_TEXT_DETAILS = _text_details_sql()


def _no_job_reason(cn: str) -> str:
    return (
        f"AnnouncementText record of control number {cn}: no job has it (its Historic JOA "
        "record was not loaded)"
    )


def _write_texts(
    cur: psycopg.Cursor[Any], rows: PageRows, params: Mapping[str, Any]
) -> tuple[int, int, int]:
    """Keep each text record as received; fill history-only jobs' long texts.

    A text whose control number has no job is moved to `rows.quarantine` (its raw JSON
    kept). Returns (inserted, updated, unchanged) text records.
    """
    if not rows.texts:
        return 0, 0, 0
    ordered = sorted(rows.texts, key=lambda r: r[0])
    _create_staging(cur, "stg_text", "job_historic_text", _TEXT_STAGE_COLUMNS)
    _copy_binary(cur, "stg_text", _TEXT_STAGE_COLUMNS, ordered, types_of="job_historic_text")
    cur.execute(_TEXT_NO_JOB)
    missing = {cn for (cn,) in cur.fetchall()}
    if missing:
        raw = {cn: text for cn, text, _ in rows.texts}
        kept = [  # a load tried again must not list them twice
            q
            for q in rows.quarantine
            if q.control_number not in missing or q.reason != _no_job_reason(str(q.control_number))
        ]
        rows.quarantine = kept + [
            QuarantineRow(rows.item_index.get(cn, -1), cn, _no_job_reason(cn), raw[cn])
            for cn in sorted(missing, key=lambda c: rows.item_index.get(c, -1))
        ]
    cur.execute(_UPSERT_TEXT, params)
    written = cur.fetchall()
    inserted = sum(1 for _, new in written if new)
    if written:
        cur.execute(_TEXT_DETAILS, {"cns": [cn for cn, _, _ in ordered if cn not in missing]})
    unchanged = len(ordered) - len(missing) - len(written)
    return inserted, len(written) - inserted, unchanged


def _write_quarantine(cur: psycopg.Cursor[Any], rows: PageRows, record: PageRecord) -> int:
    if not rows.quarantine:
        return 0
    _create_staging(cur, "stg_quarantine", "quarantine", _QUARANTINE_COLUMNS)
    _copy(
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
        ).format(c=_ident_list(_QUARANTINE_COLUMNS))
    )
    return len(rows.quarantine)


def _write_page_ledger(
    cur: psycopg.Cursor[Any],
    record: PageRecord,
    rows: PageRows,
    counts: LoadCounts,
    extra: Mapping[str, Any],
) -> None:
    cur.execute(
        """
        INSERT INTO ingest_page (run_id, page_key, part, page, status, source, bronze_key, sha256,
                                 items, inserted, updated, unchanged, quarantined, duplicates,
                                 attempts, error, dq, control_numbers, fetched_at, loaded_at)
        VALUES (%(run_id)s, %(page_key)s, %(part)s, %(page)s, 'loaded', %(source)s, %(bronze_key)s,
                %(sha256)s, %(items)s, %(inserted)s, %(updated)s, %(unchanged)s, %(quarantined)s,
                %(duplicates)s, %(attempts)s, NULL, %(dq)s, %(cns)s, %(fetched_at)s, now())
        ON CONFLICT (run_id, page_key) DO UPDATE SET
            status = 'loaded', source = EXCLUDED.source, bronze_key = EXCLUDED.bronze_key,
            sha256 = EXCLUDED.sha256, items = EXCLUDED.items, inserted = EXCLUDED.inserted,
            updated = EXCLUDED.updated, unchanged = EXCLUDED.unchanged,
            quarantined = EXCLUDED.quarantined, duplicates = EXCLUDED.duplicates,
            attempts = GREATEST(ingest_page.attempts, EXCLUDED.attempts), error = NULL,
            dq = COALESCE(EXCLUDED.dq, ingest_page.dq), control_numbers = EXCLUDED.control_numbers,
            fetched_at = COALESCE(EXCLUDED.fetched_at, ingest_page.fetched_at),
            loaded_at = now()
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
        },
    )


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
    try:
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
    except psycopg.Error as exc:
        raise DatabaseError(f"recording {record.page_key} failed: {exc}") from exc


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
    try:
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
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot record run {run_id}: {exc}") from exc


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
    try:
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
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot close run {run_id}: {exc}") from exc


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


def get_run(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """One run's ledger row, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM ingest_run WHERE run_id = %s", (run_id,))
        return cur.fetchone()


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


def captured_sha256(conn: Conn, run_id: str, part: str, page: int) -> tuple[bool, str | None]:
    """What the run that captured a page recorded of it: ``(row exists, payload SHA-256)``.

    The SHA-256 is that of the payload bytes as received (NULL when the page failed, or the
    run stopped, before its hash was recorded).
    """
    try:
        row = conn.execute(
            "SELECT sha256 FROM ingest_page WHERE run_id = %s AND part = %s AND page = %s",
            (run_id, part, page),
        ).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot read the ledger of run {run_id}: {exc}") from exc
    return (row is not None, row[0] if row else None)


def upsert_codelist(
    conn: Conn,
    name: str,
    values: Iterable[Mapping[str, Any]],
    *,
    date_generated: datetime | None,
    fetched_at: datetime,
) -> int:
    """Replace-or-insert a codelist's values (set-based). Returns the number of values."""
    columns = (
        "list_name",
        "code",
        "value",
        "last_modified",
        "is_disabled",
        "extra",
        "date_generated",
        "fetched_at",
    )
    rows = [
        (
            name,
            _code(v["code"]),
            v.get("value"),
            v.get("last_modified"),
            bool(v.get("is_disabled")),
            Jsonb(dict(v.get("extra") or {})),
            date_generated,
            fetched_at,
        )
        for v in values
    ]
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS pg_temp.stg_codelist")
            _create_staging(cur, "stg_codelist", "codelist", columns)
            _copy(cur, "stg_codelist", columns, _dedupe_codes(rows))
            cur.execute(
                sql.SQL(
                    "INSERT INTO codelist ({c}) SELECT {c} FROM stg_codelist "
                    "ON CONFLICT (list_name, code) DO UPDATE SET value = EXCLUDED.value, "
                    "last_modified = EXCLUDED.last_modified, is_disabled = EXCLUDED.is_disabled, "
                    "extra = EXCLUDED.extra, date_generated = EXCLUDED.date_generated, "
                    "fetched_at = EXCLUDED.fetched_at"
                ).format(c=_ident_list(columns))
            )
    except psycopg.Error as exc:
        raise DatabaseError(f"storing codelist {name} failed: {exc}") from exc
    return len(rows)


def _code(code: Any) -> Any:
    """A codelist code as stored: cut to `BTREE_TEXT_CHARS` (the primary key is a btree)."""
    return cut(code, BTREE_TEXT_CHARS) if isinstance(code, str) else code


def _dedupe_codes(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The last value of a code wins (the API repeats a few codes)."""
    yield from {row[1]: row for row in rows}.values()


# ---------------------------------------------------------------- runs of `run`


def scope_lock_key(scope_hash: str) -> int:
    """A signed 64-bit advisory-lock key derived from a search scope hash."""
    return int.from_bytes(bytes.fromhex(scope_hash[:16]), "big", signed=True)


def try_lock_scope(conn: Conn, scope_hash: str) -> bool:
    """Take the session-level advisory lock of a search scope; False if another run holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (scope_lock_key(scope_hash),)).fetchone()
    if not conn.autocommit:
        conn.commit()
    return bool(row and row[0])


def unlock_scope(conn: Conn, scope_hash: str) -> None:
    """Release the scope lock taken by `try_lock_scope` (no-op when not held)."""
    try:
        conn.execute("SELECT pg_advisory_unlock(%s)", (scope_lock_key(scope_hash),))
        if not conn.autocommit:
            conn.commit()
    except psycopg.Error:  # the session is gone; so is its lock
        pass


def running_runs(conn: Conn, scope_hash: str) -> list[str]:
    """Runs of a scope still marked running (for the message when the lock is taken)."""
    rows = conn.execute(
        "SELECT run_id FROM ingest_run WHERE scope_hash = %s AND status = 'running' "
        "ORDER BY started_at DESC",
        (scope_hash,),
    ).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class PartitionRecord:
    """A planned partition as kept in the ledger."""

    part: str
    params: dict[str, Any]
    api_total: int
    pages: int
    over_cap: bool


def record_plan(
    conn: Conn, run_id: str, partitions: Sequence[PartitionRecord], source: str
) -> None:
    """Store a run's partitions and a pending ledger row for each planned page (set-based)."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(
                "COPY ingest_partition (run_id, part, params, api_total, pages, over_cap)"
                " FROM STDIN"
            ) as copy:
                for p in partitions:
                    copy.write_row(
                        (run_id, p.part, Jsonb(p.params), p.api_total, p.pages, p.over_cap)
                    )
            cur.execute("DROP TABLE IF EXISTS pg_temp.stg_pages")
            cur.execute("CREATE TEMP TABLE stg_pages (part text, page int) ON COMMIT DROP")
            with cur.copy("COPY stg_pages (part, page) FROM STDIN") as copy:
                for p in partitions:
                    for number in range(1, p.pages + 1):
                        copy.write_row((p.part, number))
            cur.execute(
                """
                INSERT INTO ingest_page (run_id, page_key, part, page, status, source)
                SELECT %s, CASE WHEN part = '' THEN format('page=%%s', lpad(page::text, 4, '0'))
                               ELSE format('part=%%s/page=%%s', part, lpad(page::text, 4, '0')) END,
                       part, page, 'pending', %s
                  FROM stg_pages
                ON CONFLICT (run_id, page_key) DO NOTHING
                """,
                (run_id, source),
            )
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot record the plan of run {run_id}: {exc}") from exc


def load_plan(conn: Conn, run_id: str) -> list[PartitionRecord]:
    """The partitions recorded for a run, in plan order."""
    rows = conn.execute(
        "SELECT part, params, api_total, pages, over_cap FROM ingest_partition WHERE run_id = %s "
        "ORDER BY part",
        (run_id,),
    ).fetchall()
    return [PartitionRecord(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def page_statuses(conn: Conn, run_id: str) -> dict[str, str]:
    """page_key -> status for a run."""
    rows = conn.execute(
        "SELECT page_key, status FROM ingest_page WHERE run_id = %s", (run_id,)
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def page_control_numbers(conn: Conn, run_id: str, key: str) -> set[str]:
    """The valid control numbers the ledger holds for one page of a run."""
    row = conn.execute(
        "SELECT control_numbers FROM ingest_page WHERE run_id = %s AND page_key = %s",
        (run_id, key),
    ).fetchone()
    return set(row[0] or ()) if row else set()


def record_capture(conn: Conn, run_id: str, key: str, bronze_key: str, sha256: str) -> None:
    """Note where a page went in bronze and its payload hash, unless the ledger has one."""
    try:
        conn.execute(
            "UPDATE ingest_page SET sha256 = %s, bronze_key = %s "
            "WHERE run_id = %s AND page_key = %s AND sha256 IS NULL",
            (sha256, bronze_key, run_id, key),
        )
        if not conn.autocommit:
            conn.commit()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot record the capture of {key} in run {run_id}: {exc}") from exc


def update_partition_counts(conn: Conn, run_id: str) -> list[dict[str, Any]]:
    """Recompute each partition's fetched and unique rows from the ledger; return them."""
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """
                WITH per_part AS (
                    SELECT p.part,
                           coalesce(sum(p.items), 0) AS fetched,
                           coalesce(sum(p.quarantined), 0) AS quarantined
                      FROM ingest_page p WHERE p.run_id = %(run)s GROUP BY p.part
                ), uniq AS (
                    SELECT p.part, count(DISTINCT cn) AS unique_rows
                      FROM ingest_page p, unnest(p.control_numbers) AS cn
                     WHERE p.run_id = %(run)s GROUP BY p.part
                )
                UPDATE ingest_partition AS t
                   SET fetched = pp.fetched,
                       unique_rows = coalesce(u.unique_rows, 0) + pp.quarantined
                  FROM per_part pp LEFT JOIN uniq u USING (part)
                 WHERE t.run_id = %(run)s AND t.part = pp.part
                """,
                {"run": run_id},
            )
            cur.execute(
                "SELECT part, params, api_total, pages, over_cap, fetched, unique_rows "
                "FROM ingest_partition WHERE run_id = %s ORDER BY part",
                (run_id,),
            )
            return list(cur.fetchall())
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot count partitions of run {run_id}: {exc}") from exc


def run_totals(conn: Conn, run_id: str) -> dict[str, int]:
    """Totals over a run's pages (all invocations of a resumed run)."""
    row = conn.execute(
        """
        SELECT count(*) FILTER (WHERE status = 'loaded'),
               count(*) FILTER (WHERE status = 'failed'),
               count(*) FILTER (WHERE status = 'held'),
               count(*) FILTER (WHERE status = 'pending'),
               coalesce(sum(items), 0), coalesce(sum(inserted), 0), coalesce(sum(updated), 0),
               coalesce(sum(unchanged), 0), coalesce(sum(quarantined), 0),
               coalesce(sum(duplicates), 0),
               (SELECT count(DISTINCT cn) FROM ingest_page p2, unnest(p2.control_numbers) cn
                 WHERE p2.run_id = %(run)s),
               (SELECT count(cn) FROM ingest_page p3, unnest(p3.control_numbers) cn
                 WHERE p3.run_id = %(run)s)
          FROM ingest_page WHERE run_id = %(run)s
        """,
        {"run": run_id},
    ).fetchone()
    assert row is not None
    keys = (
        "pages",
        "failed_pages",
        "held_pages",
        "pending_pages",
        "items",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "in_page_duplicates",
        "unique_jobs",
        "valid_rows",
    )
    totals = dict(zip(keys, (int(v) for v in row), strict=True))
    totals["duplicates"] = totals.pop("in_page_duplicates") + (
        totals["valid_rows"] - totals["unique_jobs"]
    )
    totals.pop("valid_rows")
    return totals


def settle_source_page(conn: Conn, key: Any, replay_run_id: str) -> None:
    """After `replay` loaded bronze page `key`, mark it loaded in the run that captured it."""
    try:
        conn.execute(
            "UPDATE ingest_page SET status = 'loaded', loaded_at = now(), "
            "error = 'loaded by replay ' || %s "
            "WHERE run_id = %s AND part = %s AND page = %s AND status IN ('held', 'failed')",
            (replay_run_id, key.run_id, key.part or "", key.page),
        )
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot settle {key.path} in run {key.run_id}: {exc}") from exc
