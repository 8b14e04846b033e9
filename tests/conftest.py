"""Shared fixtures for every test tier: a real PostgreSQL, one fresh database per test.

Server: ``TEST_DB_URL`` (a ``postgresql://`` URL of a role allowed to CREATE DATABASE) if
set, else ONE embedded PostgreSQL started lazily, on the first test that asks for a
database, and removed at the end of the session. Unit tests never start it.

Fixtures (integration/e2e/fault tiers only):

* ``pg_server_url`` (session): admin URL of that server;
* ``db_url``: URL of a fresh, empty database, dropped after the test;
* ``migrated_db_url``: the same with the package migrations applied (copied from a
  per-session template database, so each test pays for a copy, not for the migrations);
* ``db_conn``: a psycopg connection (autocommit off, like `Database.connect`) on
  ``migrated_db_url``, closed after the test.

Every URL works with ``psycopg.connect`` and as ``DB_URL`` for the CLI; the embedded
server's look like ``postgresql://postgres:@/DBNAME?host=<socket dir>``.

Tier rule: a test under ``tests/unit`` that requests any of these fixtures fails.

Hygiene: while the embedded server runs, SIGTERM (e.g. from ``timeout``) is turned into
an interrupt so teardown still stops it; servers leaked by sessions that were killed
anyway (all owner pids dead) are stopped and removed when the next session starts one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    import psycopg

    from tasman_etl.storage.bronze import LocalBronzeStore

DB_FIXTURES = frozenset({"pg_server_url", "db_url", "migrated_db_url", "db_conn"})
_PURE_DIRS = tuple(Path(__file__).resolve().parent / d for d in ("unit", "infra"))
_EMBEDDED_PREFIX = "tasman-test-pg-"
_STARTING_GRACE_S = 600


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a unit test that asks for a database, before any fixture starts a server."""
    used = DB_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    path = Path(str(item.path)).resolve()
    if used and any(path.is_relative_to(d) for d in _PURE_DIRS):
        pytest.fail(
            f"unit tests must not use a database, but {item.nodeid} requests "
            f"{', '.join(sorted(used))}; move it to tests/integration (or another DB tier)",
            pytrace=False,
        )


def _with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` (host, credentials and query kept)."""
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _admin(url: str) -> psycopg.Connection:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _create_database(server_url: str, dbname: str, template: str | None = None) -> str:
    from psycopg import sql

    query = sql.SQL("create database {}").format(sql.Identifier(dbname))
    if template is not None:
        query = sql.SQL("{} template {}").format(query, sql.Identifier(template))
    with _admin(server_url) as conn:
        conn.execute(query)
    return _with_database(server_url, dbname)


def _drop_database(server_url: str, dbname: str) -> None:
    from psycopg import sql

    with _admin(server_url) as conn:
        # WITH (FORCE) terminates the database's remaining sessions first.
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
        )


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL of the test server: ``TEST_DB_URL``, or one embedded server per session."""
    external = os.environ.get("TEST_DB_URL", "").strip()
    if external:
        if not external.startswith(("postgresql://", "postgres://")):
            raise pytest.UsageError("TEST_DB_URL must be a postgresql:// URL")
        yield external
        return

    from tasman_etl.config import Settings
    from tasman_etl.db.engine import open_database

    _sweep_leaked_servers()
    installed = _interrupt_on_sigterm()
    # Not under pytest's basetemp: pytest chmods its root back to 0700 at every session
    # start, which would lock the `embedded_postgres` system user out of the data dir.
    home = Path(tempfile.mkdtemp(prefix=_EMBEDDED_PREFIX))
    try:
        db = open_database(Settings(tasman_home=home, db_url=None, _env_file=None))
        try:
            yield db.conninfo
        finally:
            db.close(wait=True)  # the directory is removed next: let the shutdown finish
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt_on_sigterm() -> bool:
    """Let SIGTERM run pytest's teardown (and so stop the server) instead of killing it.

    Only replaces the default action; returns whether it did.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
    return True


def _sweep_leaked_servers() -> None:
    """Stop and delete test servers of earlier sessions whose owner processes all died."""
    import psutil

    from tasman_etl.config import Settings
    from tasman_etl.db.engine import open_database

    for home in Path(tempfile.gettempdir()).glob(f"{_EMBEDDED_PREFIX}*"):
        try:
            owners = json.loads((home / "pgdata" / ".handle_pids.json").read_text())
        except (OSError, ValueError):
            # No owner list: killed while starting, or starting right now (takes seconds).
            with contextlib.suppress(OSError):
                if time.time() - home.stat().st_mtime > _STARTING_GRACE_S:
                    shutil.rmtree(home, ignore_errors=True)
            continue
        if any(isinstance(p, int) and psutil.pid_exists(p) for p in owners):
            continue
        if (home / "pgdata" / "postmaster.pid").exists():
            # Reusing it prunes the dead owners; closing the last handle stops it.
            with contextlib.suppress(Exception):  # best effort; the directory goes anyway
                settings = Settings(tasman_home=home, db_url=None, _env_file=None)
                open_database(settings).close(wait=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def db_url(pg_server_url: str) -> Iterator[str]:
    """URL of a fresh, empty database, dropped (connections terminated) after the test."""
    name = _unique_name("tasman_t")
    url = _create_database(pg_server_url, name)
    try:
        yield url
    finally:
        _drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def _migrated_template(pg_server_url: str) -> Iterator[str]:
    """A database with the package migrations applied, used as template; dropped at the end."""
    import psycopg

    from tasman_etl.db.migrate import apply_migrations

    name = _unique_name("tasman_tmpl")
    url = _create_database(pg_server_url, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            apply_migrations(conn)
        yield name
    finally:
        _drop_database(pg_server_url, name)


@pytest.fixture
def migrated_db_url(pg_server_url: str, _migrated_template: str) -> Iterator[str]:
    """URL of a fresh database with the package migrations applied, dropped after the test."""
    name = _unique_name("tasman_m")
    url = _create_database(pg_server_url, name, template=_migrated_template)
    try:
        yield url
    finally:
        _drop_database(pg_server_url, name)


@pytest.fixture
def db_conn(migrated_db_url: str) -> Iterator[psycopg.Connection]:
    """A connection (autocommit off) on a fresh migrated database, closed after the test."""
    import psycopg

    conn = psycopg.connect(migrated_db_url)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def conn(migrated_db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection (as the CLI uses) on a fresh migrated database."""
    import psycopg

    with psycopg.connect(migrated_db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> LocalBronzeStore:
    """A local bronze store in tmp_path, under the default prefix."""
    from tasman_etl.storage.bronze import LocalBronzeStore

    return LocalBronzeStore(tmp_path / "bronze", "bronze/usajobs")
