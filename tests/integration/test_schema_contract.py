"""The schema's acceptance criteria, on a real migrated PostgreSQL.

What the system's implementation document asks of the silver DDL ("DDL applies cleanly;
foreign keys/primary keys enforced; GIN on raw_json present", plus simple CHECKs), proven by
doing what each constraint forbids and watching the database refuse it. Coordinates are
`double precision`, not `NUMERIC(9,6)`: ADR 0018 says why, and the last tests pin that down.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

pytestmark = [pytest.mark.integration]

CHILDREN = (
    "job_location",
    "job_category",
    "job_grade",
    "job_hiring_path",
    "job_details",
    "job_version",
    "job_scope",
)


def _job(conn: psycopg.Connection[Any], control_number: str = "900000001", **over: Any) -> int:
    """Insert one job row (the NOT NULL columns, plus ``over``); return its job_id."""
    values: dict[str, Any] = {
        "control_number": control_number,
        "position_title": "Data Engineer",
        "position_uri": f"https://www.usajobs.gov/job/{control_number}",
        "first_seen_at": "2026-11-01T00:00:00Z",
        "last_seen_at": "2026-11-01T00:00:00Z",
        "content_hash": "h",
        "ingest_run_id": "r",
        "raw_json": Jsonb({"MatchedObjectId": control_number, "Tag": {"team": "data"}}),
    }
    values.update(over)
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    row = conn.execute(
        f"INSERT INTO job ({columns}) VALUES ({marks}) RETURNING job_id",
        list(values.values()),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _children(conn: psycopg.Connection[Any], job_id: int) -> None:
    """One row in every child table of ``job``."""
    conn.execute(
        "INSERT INTO job_location (job_id, loc_idx, location_name, latitude, longitude) "
        "VALUES (%s, 0, 'Chicago, Illinois', 41.8781, -87.6298)",
        (job_id,),
    )
    conn.execute("INSERT INTO job_category (job_id, code) VALUES (%s, '2210')", (job_id,))
    conn.execute("INSERT INTO job_grade (job_id, code) VALUES (%s, 'GS')", (job_id,))
    conn.execute("INSERT INTO job_hiring_path (job_id, code) VALUES (%s, 'public')", (job_id,))
    conn.execute("INSERT INTO job_details (job_id) VALUES (%s)", (job_id,))
    conn.execute(
        "INSERT INTO job_version (job_id, control_number, content_hash, run_id, valid_from) "
        "VALUES (%s, 'x', 'h', 'r', now())",
        (job_id,),
    )
    conn.execute(
        "INSERT INTO job_scope (scope_hash, job_id, first_seen_at, last_seen_at, "
        "last_seen_run_id) VALUES ('s', %s, now(), now(), 'r')",
        (job_id,),
    )


def _run(conn: psycopg.Connection[Any], run_id: str = "run-1") -> str:
    conn.execute("INSERT INTO ingest_run (run_id, command) VALUES (%s, 'load')", (run_id,))
    return run_id


# ------------------------------------------------------------------------- keys


def test_every_table_has_a_primary_key(conn: psycopg.Connection[Any]) -> None:
    missing = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')"
    ).fetchall()
    assert missing == []


def test_primary_and_natural_keys_refuse_duplicates(conn: psycopg.Connection[Any]) -> None:
    job_id = _job(conn)
    with pytest.raises(errors.UniqueViolation):
        _job(conn)  # control_number is UNIQUE: the upsert's conflict target
    _children(conn, job_id)
    for statement in (
        "INSERT INTO job_location (job_id, loc_idx) VALUES (%s, 0)",
        "INSERT INTO job_category (job_id, code) VALUES (%s, '2210')",
        "INSERT INTO job_grade (job_id, code) VALUES (%s, 'GS')",
        "INSERT INTO job_hiring_path (job_id, code) VALUES (%s, 'public')",
        "INSERT INTO job_details (job_id) VALUES (%s)",
        "INSERT INTO job_version (job_id, control_number, content_hash, run_id, valid_from) "
        "VALUES (%s, 'x', 'h2', 'r', now())",  # a second current version
    ):
        with pytest.raises(errors.UniqueViolation):
            conn.execute(statement, (job_id,))
    run_id = _run(conn)
    with pytest.raises(errors.UniqueViolation):
        _run(conn, run_id)


@pytest.mark.parametrize("table", CHILDREN)
def test_a_child_row_needs_its_job(conn: psycopg.Connection[Any], table: str) -> None:
    job_id = _job(conn)
    conn.execute("DELETE FROM job")
    with pytest.raises(errors.ForeignKeyViolation):
        _children_of(conn, table, job_id)  # its job is gone


def _children_of(conn: psycopg.Connection[Any], table: str, job_id: int) -> None:
    statements = {
        "job_location": "INSERT INTO job_location (job_id, loc_idx) VALUES (%s, 0)",
        "job_category": "INSERT INTO job_category (job_id, code) VALUES (%s, '2210')",
        "job_grade": "INSERT INTO job_grade (job_id, code) VALUES (%s, 'GS')",
        "job_hiring_path": "INSERT INTO job_hiring_path (job_id, code) VALUES (%s, 'p')",
        "job_details": "INSERT INTO job_details (job_id) VALUES (%s)",
        "job_version": "INSERT INTO job_version (job_id, control_number, content_hash, "
        "run_id, valid_from) VALUES (%s, 'x', 'h', 'r', now())",
        "job_scope": "INSERT INTO job_scope (scope_hash, job_id, first_seen_at, last_seen_at, "
        "last_seen_run_id) VALUES ('s', %s, now(), now(), 'r')",
    }
    conn.execute(statements[table], (job_id,))


def test_deleting_a_job_deletes_its_children(conn: psycopg.Connection[Any]) -> None:
    keep, drop = _job(conn, "900000001"), _job(conn, "900000002")
    _children(conn, keep)
    _children(conn, drop)
    conn.execute("DELETE FROM job WHERE job_id = %s", (drop,))
    for table in CHILDREN:
        rows = conn.execute(f"SELECT DISTINCT job_id FROM {table}").fetchall()
        assert rows == [(keep,)], table


def test_ledger_rows_need_their_run_and_go_with_it(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO ingest_page (run_id, page_key, page, status) "
            "VALUES ('no-such-run', 'page=0001', 1, 'pending')"
        )
    run_id = _run(conn)
    conn.execute(
        "INSERT INTO ingest_page (run_id, page_key, page, status) "
        "VALUES (%s, 'page=0001', 1, 'loaded')",
        (run_id,),
    )
    conn.execute(
        "INSERT INTO ingest_partition (run_id, part, params, api_total, pages) "
        "VALUES (%s, '', '{}', 1, 1)",
        (run_id,),
    )
    conn.execute(
        "INSERT INTO quarantine (run_id, source, reason, raw_text) VALUES (%s, 'f', 'r', 'x')",
        (run_id,),
    )
    conn.execute("DELETE FROM ingest_run WHERE run_id = %s", (run_id,))
    for table in ("ingest_page", "ingest_partition", "quarantine"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


# ------------------------------------------------------------------------- GIN on raw_json


def test_gin_index_on_raw_json_exists(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        "SELECT am.amname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
        "WHERE c.relname = 'job_raw_json_gin'"
    ).fetchone()
    assert row is not None, "no index job_raw_json_gin"
    assert row[0] == "gin"
    assert "(raw_json jsonb_path_ops)" in row[1]
    assert "ON public.job " in row[1]


def test_containment_query_on_raw_json_uses_the_gin_index(conn: psycopg.Connection[Any]) -> None:
    for n in range(200):
        _job(conn, f"9{n:08d}")
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT control_number FROM job WHERE raw_json @> %s",
                (Jsonb({"MatchedObjectId": "900000007"}),),
            ).fetchall()
        )
        found = conn.execute(
            "SELECT control_number FROM job WHERE raw_json @> %s",
            (Jsonb({"Tag": {"team": "data"}, "MatchedObjectId": "900000007"}),),
        ).fetchall()
    assert "job_raw_json_gin" in plan, plan
    assert "Bitmap Index Scan" in plan, plan
    assert found == [("900000007",)]


# ------------------------------------------------------------------------- CHECKs

#: (constraint's table, a statement that breaks it); every CHECK of the schema has one.
_VIOLATIONS: dict[str, tuple[str, str]] = {
    "job_pay_order": ("job", "UPDATE job SET pay_min = 100, pay_max = 50"),
    "job_pay_nonnegative": ("job", "UPDATE job SET pay_min = -1"),
    "job_location_latitude_check": (
        "job_location",
        "UPDATE job_location SET latitude = 90.000001",
    ),
    "job_location_longitude_check": (
        "job_location",
        "UPDATE job_location SET longitude = -180.5",
    ),
    "job_version_check": (
        "job_version",
        "UPDATE job_version SET valid_to = valid_from - interval '1 second', snapshot = '{}'",
    ),
    "job_version_closed_has_snapshot": (
        "job_version",
        "UPDATE job_version SET valid_to = valid_from, snapshot = NULL",
    ),
    "ingest_run_status_check": ("ingest_run", "UPDATE ingest_run SET status = 'done'"),
    "ingest_page_page_check": ("ingest_page", "UPDATE ingest_page SET page = 0"),
    "ingest_page_status_check": ("ingest_page", "UPDATE ingest_page SET status = 'ok'"),
    "quarantine_check": ("quarantine", "UPDATE quarantine SET raw_json = NULL, raw_text = NULL"),
    "job_source_known": ("job", "UPDATE job SET source = 'scraped'"),
    "ingest_partition_status_known": (
        "ingest_partition",
        "INSERT INTO ingest_partition (run_id, part, params, api_total, pages, status) "
        "SELECT run_id, 'w', '{}', 0, 0, 'done' FROM ingest_run",
    ),
}


def _checks(conn: psycopg.Connection[Any]) -> dict[str, str]:
    rows = conn.execute(
        "SELECT k.conname, c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND k.contype = 'c'"
    ).fetchall()
    return {name: table for name, table in rows}


def test_every_check_constraint_has_a_violation_case(conn: psycopg.Connection[Any]) -> None:
    checks = _checks(conn)
    missing = sorted(set(checks) - set(_VIOLATIONS))
    stale = sorted(set(_VIOLATIONS) - set(checks))
    assert not missing, f"CHECK constraints without a case in _VIOLATIONS: {missing}"
    assert not stale, f"_VIOLATIONS names constraints the schema does not have: {stale}"
    assert {name: checks[name] for name in _VIOLATIONS} == {
        name: table for name, (table, _) in _VIOLATIONS.items()
    }


@pytest.mark.parametrize("constraint", sorted(_VIOLATIONS))
def test_check_constraint_refuses_a_bad_row(conn: psycopg.Connection[Any], constraint: str) -> None:
    job_id = _job(conn, pay_min=10, pay_max=20)
    _children(conn, job_id)
    run_id = _run(conn)
    conn.execute(
        "INSERT INTO ingest_page (run_id, page_key, page, status) "
        "VALUES (%s, 'page=0001', 1, 'loaded')",
        (run_id,),
    )
    conn.execute(
        "INSERT INTO quarantine (run_id, source, reason, raw_text) VALUES (%s, 'f', 'r', 'x')",
        (run_id,),
    )
    _, statement = _VIOLATIONS[constraint]
    with pytest.raises(errors.CheckViolation) as caught:
        conn.execute(statement)
    assert caught.value.diag.constraint_name == constraint


# ------------------------------------------------------------------------- coordinates


def test_coordinates_are_double_precision_and_keep_every_digit(
    conn: psycopg.Connection[Any],
) -> None:
    types = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'job_location' "
        "AND column_name IN ('latitude', 'longitude') ORDER BY 1"
    ).fetchall()
    assert types == [("latitude", "double precision"), ("longitude", "double precision")]
    job_id = _job(conn)
    # More decimals than NUMERIC(9,6) would keep: stored as sent (ADR 0018).
    conn.execute(
        "INSERT INTO job_location (job_id, loc_idx, latitude, longitude) "
        "VALUES (%s, 0, 41.87811234567, -87.62979876543)",
        (job_id,),
    )
    assert conn.execute("SELECT latitude, longitude FROM job_location").fetchone() == (
        41.87811234567,
        -87.62979876543,
    )
    # The range CHECKs hold at the edges.
    conn.execute(
        "UPDATE job_location SET latitude = -90, longitude = 180 WHERE job_id = %s", (job_id,)
    )
