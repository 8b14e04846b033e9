"""A run's plan: its partitions, a pending ledger row per planned page, and their totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tasman_etl.db.errors import database_errors

__all__ = [
    "PartitionRecord",
    "load_plan",
    "record_plan",
    "run_totals",
    "update_partition_counts",
]

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class PartitionRecord:
    """A planned partition as kept in the ledger."""

    part: str
    params: dict[str, Any]
    api_total: int
    pages: int
    over_cap: bool


@database_errors("cannot record the plan of run {run_id}")
def record_plan(
    conn: Conn, run_id: str, partitions: Sequence[PartitionRecord], source: str
) -> None:
    """Store a run's partitions and a pending ledger row for each planned page (set-based)."""
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(
            "COPY ingest_partition (run_id, part, params, api_total, pages, over_cap) FROM STDIN"
        ) as copy:
            for p in partitions:
                copy.write_row((run_id, p.part, Jsonb(p.params), p.api_total, p.pages, p.over_cap))
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


@database_errors("cannot read the plan of run {run_id}")
def load_plan(conn: Conn, run_id: str) -> list[PartitionRecord]:
    """The partitions recorded for a run, in plan order."""
    rows = conn.execute(
        "SELECT part, params, api_total, pages, over_cap FROM ingest_partition WHERE run_id = %s "
        "ORDER BY part",
        (run_id,),
    ).fetchall()
    return [PartitionRecord(r[0], r[1], r[2], r[3], r[4]) for r in rows]


@database_errors("cannot count partitions of run {run_id}")
def update_partition_counts(conn: Conn, run_id: str) -> list[dict[str, Any]]:
    """Recompute each partition's fetched and unique rows from the ledger; return them."""
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


@database_errors("cannot add up the pages of run {run_id}")
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
