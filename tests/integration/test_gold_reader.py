"""`tasman-etl jobs` with a login that holds only tasman_reader (gold, nothing in public).

The sample data is loaded by the migrating user; a new login in role tasman_reader then runs
every kind of `jobs` query through the real CLI and must get what the owner gets.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors, sql

from tasman_etl.gold import query_jobs

from e2e_helpers import CLI, cli, last_json

__all__ = ["cli"]

pytestmark = [pytest.mark.integration]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"


def _url_for(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:{password}@{host}").geturl()


@pytest.fixture
def reader_url(migrated_db_url: str) -> Iterator[str]:
    """URL of a new login whose only role is tasman_reader."""
    name = f"analyst_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:
        try:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE tasman_reader").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
        except errors.InsufficientPrivilege:
            pytest.skip("the test server's user may not create roles")
    try:
        yield _url_for(migrated_db_url, name, password)
    finally:
        with psycopg.connect(migrated_db_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (name,),
            )
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def loaded(cli: CLI, migrated_db_url: str) -> str:
    """The migrated database with data/sample loaded (by the migrating user)."""
    result = cli("load", str(SAMPLE_DIR), env={"DB_URL": migrated_db_url})
    assert result.returncode == 0, result.stderr[-2000:]
    assert last_json(result.stdout)["inserted"] == 50
    return migrated_db_url


def _jobs(cli: CLI, url: str, *args: str) -> list[dict[str, object]]:
    result = cli("jobs", "--format", "json", "--limit", "100", *args, env={"DB_URL": url})
    assert result.returncode == 0, result.stderr[-2000:]
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def _busiest_place(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT btrim(location_name) FROM job_location WHERE latitude IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_reader_runs_every_kind_of_jobs_query_like_the_owner(
    cli: CLI, loaded: str, reader_url: str
) -> None:
    place = _busiest_place(loaded)
    for args in (
        (),
        ("--open-only",),
        ("--keyword", "data"),
        ("--keyword", '"data engineering" or analyst'),
        ("--near", place, "--radius", "100"),
        ("--lat", "41.8781", "--lon", "-87.6298", "--radius", "300", "--keyword", "data"),
    ):
        as_reader = _jobs(cli, reader_url, *args)
        assert as_reader == _jobs(cli, loaded, *args), args
    assert len(_jobs(cli, reader_url)) == 50
    assert _jobs(cli, reader_url, "--keyword", "data")
    assert _jobs(cli, reader_url, "--near", place, "--radius", "100")
    with psycopg.connect(reader_url, autocommit=True) as conn:
        for statement in ("SELECT 1 FROM job LIMIT 1", "SELECT 1 FROM job_location LIMIT 1"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)


def test_reader_unknown_place_is_a_usage_error(cli: CLI, loaded: str, reader_url: str) -> None:
    result = cli("jobs", "--near", "Nowhere, Atlantis", env={"DB_URL": reader_url})
    assert result.returncode == 2
    assert "unknown place" in result.stderr


def test_keyword_search_through_gold_still_uses_the_full_text_index(
    loaded: str, reader_url: str
) -> None:
    with psycopg.connect(reader_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT v.job_id FROM gold.vw_jobs AS v "
            "JOIN gold.vw_job_search AS s USING (job_id) "
            "WHERE s.search_tsv @@ websearch_to_tsquery('english', 'data')"
        ).fetchall()
        assert query_jobs(conn, keyword="data")  # the library call, on the reader's login
    assert "job_search_tsv_idx" in "\n".join(r[0] for r in plan)


def test_reader_on_a_schema_behind_is_told_to_migrate(
    cli: CLI, migrated_db_url: str, reader_url: str
) -> None:
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:
        newest = admin.execute("SELECT max(version) FROM schema_migrations").fetchone()
        assert newest is not None
        admin.execute("DELETE FROM schema_migrations WHERE version = %s", (newest[0],))
    result = cli("jobs", env={"DB_URL": reader_url})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "tasman-etl migrate" in result.stderr
    assert f"needs migration {newest[0]}" in result.stderr
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:  # nothing was migrated
        again = admin.execute("SELECT max(version) FROM schema_migrations").fetchone()
    assert again is not None and again[0] < newest[0]
