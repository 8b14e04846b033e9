"""A database failure at the CLI: one line on stderr, exit 1, no traceback, no password.

A login of the loader group whose privilege to read the run ledger was revoked (in this
test's database only) asks for `runs`: the query is refused, and the command says so in
one line (`db/errors.py` maps the psycopg error; `cli/root.py` prints it).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors, sql

from e2e_helpers import CLI, cli

__all__ = ["cli"]

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def login(migrated_db_url: str) -> Iterator[tuple[str, str]]:
    """(URL, password) of a new loader login that may not read `ingest_run`."""
    name = f"noledger_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(migrated_db_url, autocommit=True) as admin:
        try:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE tasman_loader").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
        except errors.InsufficientPrivilege:
            pytest.skip("the test server's user may not create roles")
        admin.execute("REVOKE SELECT ON ingest_run FROM tasman_loader")
    parts = urlsplit(migrated_db_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    try:
        yield parts._replace(netloc=f"{name}:{password}@{host}").geturl(), password
    finally:
        with psycopg.connect(migrated_db_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (name,),
            )
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_a_refused_query_is_one_error_line_and_exit_1(cli: CLI, login: tuple[str, str]) -> None:
    url, password = login
    result = cli("runs", env={"DB_URL": url})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert password not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [
        "error: cannot list the runs: InsufficientPrivilege: permission denied for table ingest_run"
    ]
