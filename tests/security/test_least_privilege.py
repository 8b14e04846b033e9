"""Least privilege in the database: the roles of migration 004 and what each may do.

Login users are created per test and granted one group role each, as an operator would:
``GRANT tasman_loader TO etl``. They connect with their own URL (the embedded server trusts
local connections; another server gets their password). A server where the test's user
may not create roles skips these tests with the reason.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors, sql
from pydantic import SecretStr

from tasman_etl.config import Settings
from tasman_etl.db.engine import open_database
from tasman_etl.db.migrate import apply_migrations
from tasman_etl.http.codelists import CodelistClient
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.inactive import mark_inactive
from tasman_etl.runner.reference import refresh_label_lists
from tasman_etl.runner.replay import replay
from tasman_etl.runner.run import RunOptions, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

from e2e_helpers import CLI, cli, last_json

__all__ = ["cli"]

pytestmark = [pytest.mark.integration]

GROUPS = ("tasman_owner", "tasman_loader", "tasman_reader")
KEY = "roles-key-2c7e"
GOLD_VIEWS = ("vw_jobs", "vw_job_map", "vw_search_scopes", "vw_de_jobs_all", "vw_de_jobs_chicago")
FOUNDING = SearchQuery(
    keyword="data engineering", location_name="Chicago, Illinois", radius_miles=50
)
DENIED = errors.InsufficientPrivilege


def _url_for(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:{password}@{host}").geturl()


@pytest.fixture
def logins(migrated_db_url: str) -> Iterator[dict[str, str]]:
    """URLs of three new login users, one per group role: owner, loader, reader."""
    suffix = secrets.token_hex(4)
    made: list[str] = []
    urls: dict[str, str] = {}
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:
        for group in GROUPS:
            name = f"{group.removeprefix('tasman_')}_{suffix}"
            password = secrets.token_urlsafe(12)
            try:
                admin.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                        sql.Identifier(name), sql.Literal(password), sql.Identifier(group)
                    )
                )
            except DENIED:
                pytest.skip("the test server's user may not create roles")
            made.append(name)
            urls[group.removeprefix("tasman_")] = _url_for(migrated_db_url, name, password)
    try:
        yield urls
    finally:
        with psycopg.connect(migrated_db_url, autocommit=True) as admin:
            for name in made:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                    (name,),
                )
                admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _denied(
    url: str,
    statement: str,
    refused: type[Exception] | tuple[type[Exception], ...] = DENIED,
) -> None:
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(refused):
        conn.execute(statement.encode())


def _public_tables(url: str) -> dict[str, str]:
    """Every table of schema public, with a column an UPDATE may set."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (c.table_name) c.table_name, c.column_name "
            "FROM information_schema.columns c JOIN pg_tables t "
            "  ON t.schemaname = c.table_schema AND t.tablename = c.table_name "
            "WHERE c.table_schema = 'public' AND c.is_identity = 'NO' "
            "  AND c.is_generated = 'NEVER' "
            "ORDER BY c.table_name, c.ordinal_position"
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def _load_with(
    url: str, store: LocalBronzeStore, sim: SimulatorServer, query: SearchQuery | None = None
) -> Any:
    """What `run` does, on a connection of ``url``: codelists, run, inactive marking."""
    config = ClientConfig(
        api_base=sim.base_url,
        auth_key=SecretStr(KEY),
        user_agent="roles@tasman-etl.invalid",
        requests_per_second=1000,
    )
    query = query or SearchQuery()
    with (
        psycopg.connect(url, autocommit=True) as conn,
        UsajobsClient(config, sleep=lambda s: None) as client,
        CodelistClient(sim.base_url, sleep=lambda s: None) as codelists,
    ):
        refresh_label_lists(conn, codelists, ttl_s=86_400)
        return execute_run(
            conn,
            store,
            client,
            RunOptions(query=query, results_per_page=40),
            stop=threading.Event(),
            on_complete=lambda c, run_id, status: mark_inactive(c, run_id, query.scope_hash(), 1),
        )


# --------------------------------------------------------------------------- roles


def test_migrations_create_three_group_roles_owning_nothing_but_the_schema(
    migrated_db_url: str,
) -> None:
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        roles = conn.execute(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
            "FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1",
            (list(GROUPS),),
        ).fetchall()
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'gold') AND c.relkind IN ('r', 'v') "
            "AND c.relname <> 'schema_migrations'"
        ).fetchall()
        secdef = conn.execute(
            "SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner) FROM pg_proc p "
            "WHERE p.pronamespace = 'gold'::regnamespace ORDER BY 1"
        ).fetchall()
    assert roles == [(name, False, False, False, False, False) for name in sorted(GROUPS)]
    assert owners == [("tasman_owner",)]
    assert ("jobs_near", True, "tasman_owner") in secdef  # reads silver for the reader
    assert all(not definer for name, definer, _ in secdef if name != "jobs_near")


def test_roles_migration_is_safe_to_run_again_and_in_other_databases(
    migrated_db_url: str, db_url: str
) -> None:
    source = resources.files("tasman_etl.db") / "migrations" / "004_roles.sql"
    text = source.read_text(encoding="utf-8")
    assert "BEGIN;" not in text.upper() and "COMMIT" not in text.upper()
    with psycopg.connect(migrated_db_url, autocommit=True) as conn, conn.transaction():
        conn.execute(text.encode())  # again, on a database that has it: no error
    with psycopg.connect(db_url, autocommit=True) as conn:  # a second database, roles exist
        applied = apply_migrations(conn)
        assert 4 in [m.version for m in applied]
        count = conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (list(GROUPS),)
        ).fetchone()
    assert count == (3,)


def test_migrations_as_a_non_superuser_with_createrole() -> None:
    """As on RDS: the master user has CREATEROLE and CREATEDB but is not a superuser."""
    home = Path(tempfile.mkdtemp(prefix="tasman-test-pg-"))  # a fresh cluster: no roles yet
    server = open_database(Settings(tasman_home=home, db_url=None, _env_file=None))
    try:
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute("CREATE ROLE master LOGIN CREATEROLE CREATEDB")
            admin.execute("CREATE DATABASE app OWNER master")
        url = _url_for(server.conninfo, "master", "unused").replace("/postgres?", "/app?")
        with psycopg.connect(url, autocommit=True) as conn:
            assert 4 in [m.version for m in apply_migrations(conn)]
            member = conn.execute(
                "SELECT pg_has_role('master', 'tasman_owner', 'USAGE')"
            ).fetchone()
            conn.execute("CREATE ROLE etl LOGIN IN ROLE tasman_loader")
            conn.execute("CREATE ROLE analyst LOGIN IN ROLE tasman_reader")
            conn.execute("ALTER TABLE job ADD COLUMN later_migration int")  # still manages DDL
        assert member == (True,)
        with psycopg.connect(_url_for(url, "etl", "unused"), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM job").fetchone() == (0,)
        with psycopg.connect(_url_for(url, "analyst", "unused"), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM gold.vw_de_jobs_chicago").fetchone() == (0,)
        _denied(_url_for(url, "analyst", "unused"), "SELECT raw_json FROM job")
    finally:
        server.close(wait=True)  # the directory is removed next: let the shutdown finish
        shutil.rmtree(home, ignore_errors=True)


# --------------------------------------------------------------------------- loader


def test_loader_runs_the_pipeline(
    logins: dict[str, str], migrated_db_url: str, tmp_path: Path
) -> None:
    store = LocalBronzeStore(tmp_path / "bronze", "bronze/usajobs")
    with SimulatorServer(SimulatorConfig(jobs=200, seed=6, auth_key=KEY)) as sim:
        truth = set(sim.matching({}))
        first = _load_with(logins["loader"], store, sim)
        sim.withdraw(sorted(truth)[0])
        second = _load_with(logins["loader"], store, sim)
    assert not first.failed, first.summary
    assert first.summary["complete"] is True
    assert not second.failed, second.summary
    assert second.summary.get("marked_inactive") == 1
    with psycopg.connect(logins["loader"], autocommit=True) as conn:
        replayed = replay(conn, store, run_id=first.run_id)
        assert not replayed.failed
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        jobs = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
        codes = conn.execute("SELECT count(*) FROM codelist").fetchone()
    assert jobs == truth
    assert codes is not None and codes[0] > 0


def test_cli_run_as_the_loader(
    logins: dict[str, str], migrated_db_url: str, tmp_path: Path, cli: CLI
) -> None:
    with SimulatorServer(SimulatorConfig(jobs=80, seed=6, auth_key=KEY)) as sim:
        truth = set(sim.matching({}))
        result = cli(
            "run",
            env={
                "DB_URL": logins["loader"],
                "USAJOBS_AUTH_KEY": KEY,
                "USAJOBS_USER_AGENT": "roles@tasman-etl.invalid",
                "USAJOBS_API_BASE": sim.base_url,
                "KEYWORD": "",
                "LOCATION_NAME": "",
                "RESULTS_PER_PAGE": "40",
                "BRONZE_DIR": str(tmp_path / "bronze"),
            },
            timeout=180,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert last_json(result.stdout)["complete"] is True
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        jobs = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
    assert jobs == truth


def test_loader_has_dml_and_nothing_else(logins: dict[str, str]) -> None:
    url = logins["loader"]
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM public.schema_migrations").fetchone()
        assert conn.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (True,)
    for statement in (
        "CREATE TABLE public.loader_table (id int)",
        "CREATE TABLE gold.loader_table (id int)",
        "CREATE SCHEMA loader_schema",
        "ALTER TABLE job ADD COLUMN loader_col int",
        "CREATE INDEX loader_idx ON job (position_title)",
        "DROP TABLE job_grade",
        "TRUNCATE ingest_page",
        "CREATE FUNCTION public.loader_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "SELECT * FROM gold.vw_jobs",
        "DELETE FROM public.schema_migrations",
        "INSERT INTO public.schema_migrations VALUES (99, 'x', 'y', now())",
    ):
        _denied(url, statement)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT SELECT ON job TO PUBLIC")  # only a warning: no grant option
        public_reads = conn.execute(
            "SELECT has_table_privilege('public', 'job', 'SELECT')"
        ).fetchone()
    assert public_reads == (False,)


# --------------------------------------------------------------------------- reader


def test_reader_reads_gold_views_and_nothing_else(
    logins: dict[str, str], migrated_db_url: str, tmp_path: Path
) -> None:
    store = LocalBronzeStore(tmp_path / "bronze", "bronze/usajobs")
    with SimulatorServer(SimulatorConfig(jobs=600, seed=7, auth_key=KEY)) as sim:
        # the founding search, so its views (defined by its scope) hold jobs
        assert not _load_with(migrated_db_url, store, sim, FOUNDING).failed
    url = logins["reader"]
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:
        expected = {
            v: admin.execute(
                sql.SQL("SELECT count(*) FROM gold.{}").format(sql.Identifier(v))
            ).fetchone()
            for v in GOLD_VIEWS
        }
        exposed = admin.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'gold' AND (column_name = 'raw_json' OR data_type = 'jsonb')"
        ).fetchall()
    assert exposed == [], "gold must not expose raw_json (or any jsonb)"
    assert expected["vw_jobs"] is not None and expected["vw_jobs"][0] > 0
    assert expected["vw_de_jobs_chicago"] is not None and expected["vw_de_jobs_chicago"][0] > 0
    with psycopg.connect(url, autocommit=True) as conn:
        for view in GOLD_VIEWS:
            got = conn.execute(
                sql.SQL("SELECT count(*) FROM gold.{}").format(sql.Identifier(view))
            ).fetchone()
            assert got == expected[view], view
        near = conn.execute("SELECT * FROM gold.jobs_near(41.8781, -87.6298, 50)")
        names = [c.name for c in near.description or []]
        assert names[:2] == ["job_id", "control_number"]  # whole rows of gold.vw_jobs
        assert names[-2:] == ["distance_miles", "nearest_location"]
        assert near.fetchall()
    tables = _public_tables(migrated_db_url)
    assert {"job", "job_details", "quarantine", "ingest_run", "schema_migrations"} <= set(tables)
    _denied(url, "SELECT raw_json FROM job")
    _denied(url, "SELECT raw_json FROM quarantine")
    for table, column in tables.items():
        _denied(url, f'SELECT * FROM public."{table}" LIMIT 1')
        _denied(url, f'DELETE FROM public."{table}"')
        _denied(url, f'UPDATE public."{table}" SET "{column}" = "{column}"')
    # gold views are not updatable at all (joins); writing to them fails either way
    not_writable = (DENIED, errors.ObjectNotInPrerequisiteState)
    for view in GOLD_VIEWS:
        _denied(url, f"DELETE FROM gold.{view}", not_writable)
        if view == "vw_search_scopes":  # no job columns: one row per search scope
            _denied(url, f"UPDATE gold.{view} SET keyword = 'x'", not_writable)
            continue
        _denied(url, f"UPDATE gold.{view} SET position_title = 'x'", not_writable)
        _denied(url, f"INSERT INTO gold.{view} (job_id) VALUES (1)", not_writable)
    _denied(url, "INSERT INTO job (control_number) VALUES ('1')")
    _denied(url, "CREATE TABLE public.reader_table (id int)")
    _denied(url, "CREATE TABLE gold.reader_table (id int)")
    _denied(url, "CREATE VIEW gold.reader_view AS SELECT 1 AS one")


# --------------------------------------------------------------------------- owner


def test_owner_does_ddl_and_new_objects_follow_the_rules(
    logins: dict[str, str], migrated_db_url: str
) -> None:
    with psycopg.connect(logins["owner"], autocommit=True) as conn:
        conn.execute("SET ROLE tasman_owner")  # objects belong to the group, not the person
        conn.execute("ALTER TABLE job ADD COLUMN owner_note text")
        conn.execute("CREATE TABLE public.owner_table (id int GENERATED ALWAYS AS IDENTITY)")
        conn.execute("CREATE VIEW gold.owner_view AS SELECT 1 AS one")
        conn.execute("ALTER TABLE job DROP COLUMN owner_note")
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:  # the migrating user
        admin.execute("CREATE TABLE public.later_migration_table (id int)")
    with psycopg.connect(logins["loader"], autocommit=True) as conn:
        conn.execute("INSERT INTO public.owner_table DEFAULT VALUES")
        conn.execute("INSERT INTO public.later_migration_table VALUES (1)")
        assert conn.execute("DELETE FROM public.owner_table").rowcount == 1
    with psycopg.connect(logins["reader"], autocommit=True) as conn:
        assert conn.execute("SELECT one FROM gold.owner_view").fetchone() == (1,)
    _denied(logins["reader"], "SELECT * FROM public.owner_table")
    _denied(logins["loader"], "SELECT * FROM gold.owner_view")
    _denied(logins["owner"], "CREATE ROLE owner_made_role")
