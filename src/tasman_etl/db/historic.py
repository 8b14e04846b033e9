"""Historic JOA records and their AnnouncementText records in silver (ADR 0028).

A historic record is kept as received (`job_historic`) and says whether its job is open;
a text record is kept per job (`job_historic_text`) and fills the long texts of a job only
history has. Both are written inside the page transaction of `db/load.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from tasman_etl.db.staging import copy_binary, create_staging, ident_list
from tasman_etl.historic_text import DUTIES_KEY, TEXT_DETAILS
from tasman_etl.transform import PageRows, QuarantineRow

__all__ = ["write_historic", "write_texts"]

Cursor = psycopg.Cursor[Any]

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
).format(cols=ident_list(_HISTORIC_COLUMNS))

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


def write_historic(cur: Cursor, rows: PageRows, params: Mapping[str, Any]) -> None:
    """Keep each historic record as received and let it say whether its job is open."""
    written = {r.control_number for r in rows.jobs}
    if rows.jobs:
        create_staging(cur, "stg_historic", "job_historic", _HISTORIC_COLUMNS)
        states = rows.historic
        copy_binary(
            cur,
            "stg_historic",
            _HISTORIC_COLUMNS,
            (
                (
                    r.control_number,
                    r.raw_json,
                    r.content_hash,
                    *states.get(r.control_number, (None, None)),
                    params["seen"],
                    params["seen"],
                    params["run"],
                )
                for r in sorted(rows.jobs, key=lambda r: str(r.control_number))
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
# whose children a later historic record rewrote gets them back (`write_historic`).
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


def write_texts(cur: Cursor, rows: PageRows, params: Mapping[str, Any]) -> tuple[int, int, int]:
    """Keep each text record as received; fill history-only jobs' long texts.

    A text whose control number has no job is moved to `rows.quarantine` (its raw JSON
    kept). Returns (inserted, updated, unchanged) text records.
    """
    if not rows.texts:
        return 0, 0, 0
    ordered = sorted(rows.texts, key=lambda r: r[0])
    create_staging(cur, "stg_text", "job_historic_text", _TEXT_STAGE_COLUMNS)
    copy_binary(cur, "stg_text", _TEXT_STAGE_COLUMNS, ordered, types_of="job_historic_text")
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
