"""`tasman-etl db start|stop|status|url|psql` (issue 13): a lasting embedded server.

On a fresh TASMAN_HOME: `db start`, then the URL of `db url` works over TCP with psycopg
(and with the system psql when one is installed), every command reuses that server and
none stops it, the password file is private and never logged, `db stop` stops it.
TASMAN_HOME is not under pytest's basetemp: run as root, the server's system user must
reach it, and pytest keeps its basetemp at mode 0700.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from e2e_helpers import CLI, last_json

SYSTEM_PSQL = shutil.which("psql") or next(
    (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True)), None
)


@pytest.fixture
def home(cli: CLI) -> Iterator[Path]:
    """A fresh TASMAN_HOME; whatever server is left in it is stopped afterwards."""
    path = Path(tempfile.mkdtemp(prefix="tasman-test-pg-"))
    try:
        yield path
    finally:
        cli("db", "stop", env={"TASMAN_HOME": str(path)}, cwd=path)
        shutil.rmtree(path, ignore_errors=True)


def _pid(home: Path) -> int:
    return int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def test_db_start_serves_tcp_with_a_password_until_db_stop(cli: CLI, home: Path) -> None:
    env = {"TASMAN_HOME": str(home)}

    assert "stopped" in cli("db", "status", env=env).stdout
    started = cli("db", "start", env=env)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.startswith("started: embedded PostgreSQL")
    url = cli("db", "url", env=env)
    assert url.returncode == 0, url.stderr[-2000:]
    dsn = url.stdout.strip()
    parts = urlsplit(dsn)
    assert (parts.scheme, parts.hostname, parts.username) == ("postgresql", "127.0.0.1", "postgres")
    password = parts.password
    assert password and len(password) >= 16
    secret = home / "db-password"
    assert secret.read_text().strip() == password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert password not in started.stdout + started.stderr + url.stderr

    # psycopg over TCP: the gold view answers (migrated by db start)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        assert conn.info.host == "127.0.0.1"
        assert conn.execute("select count(*) from gold.vw_de_jobs_chicago").fetchone() == (0,)
    # the password is needed over TCP
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            parts._replace(netloc=f"postgres:wrong@{parts.hostname}:{parts.port}").geturl(),
            connect_timeout=10,
        )

    # commands reuse it and leave it running
    server = _pid(home)
    loaded = cli("load", str(Path(__file__).resolve().parents[2] / "data" / "sample"), env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert last_json(loaded.stdout)["inserted"] == 50
    assert _pid(home) == server
    assert "embedded_postgres_left_running" in loaded.stderr
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        assert conn.execute("select count(*) from gold.vw_jobs").fetchone() == (50,)
    assert "started by `tasman-etl db start`" in cli("db", "status", env=env).stdout
    again = cli("db", "start", env=env)
    assert again.returncode == 0 and again.stdout.startswith("already running")
    assert _pid(home) == server

    # db psql: the bundled client on the same database
    shell = cli("db", "psql", "--", "-Atc", "select count(*) from gold.vw_jobs", env=env)
    assert shell.returncode == 0, shell.stderr[-2000:]
    assert shell.stdout.strip() == "50"

    stopped = cli("db", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert stopped.stdout.startswith("stopped: embedded PostgreSQL")
    assert not (home / "pgdata" / "postmaster.pid").exists()
    assert "stopped" in cli("db", "status", env=env).stdout
    gone = cli("db", "url", env=env)
    assert gone.returncode == 1 and "tasman-etl db start" in gone.stderr
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=3)

    # started again: the same password, the same port when still free
    assert cli("db", "start", env=env).returncode == 0
    assert cli("db", "url", env=env).stdout.strip() == dsn


@pytest.mark.skipif(
    SYSTEM_PSQL is None, reason="no system psql (psql on PATH or in /usr/lib/postgresql)"
)
def test_the_system_psql_reads_gold_over_the_url(cli: CLI, home: Path) -> None:
    env = {"TASMAN_HOME": str(home)}
    assert cli("db", "start", env=env).returncode == 0
    dsn = cli("db", "url", env=env).stdout.strip()
    assert SYSTEM_PSQL is not None
    version = subprocess.run([SYSTEM_PSQL, "--version"], capture_output=True, text=True, check=True)
    result = subprocess.run(
        [SYSTEM_PSQL, dsn, "-Atc", "select count(*) from gold.vw_de_jobs_chicago"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
    )
    assert result.returncode == 0, (version.stdout, result.stderr)
    assert result.stdout.strip() == "0"


def test_with_db_url_start_and_stop_say_they_manage_only_the_embedded_server(
    cli: CLI, db_url: str, home: Path
) -> None:
    env = {"TASMAN_HOME": str(home), "DB_URL": db_url}
    for action in ("start", "stop"):
        result = cli("db", action, env=env)
        assert result.returncode == 2, result
        assert f"DB_URL is set: `tasman-etl db {action}` manages only the embedded PostgreSQL" in (
            result.stderr
        )
        assert not (home / "pgdata").exists()
    status = cli("db", "status", env=env)
    assert status.returncode == 0 and status.stdout.startswith("DB_URL is set")
    assert cli("db", "url", env=env).stdout.strip() == db_url
