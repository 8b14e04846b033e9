"""Every public repository function maps a database failure to `DatabaseError`.

The functions are enumerated from the facade's ``__all__`` (`tasman_etl.db.repository`):
each one that takes a connection is called on a real PostgreSQL connection that failed in
one of three ways, and must raise `DatabaseError` (never a psycopg error) with one line of
message and the psycopg error as ``__cause__``:

* ``closed``: the connection was closed by this process;
* ``terminated``: its backend was ended by the server (`pg_terminate_backend`), as when
  PostgreSQL restarts; the cause still tells the runner the session is gone;
* ``aborted``: a transaction already aborted by an earlier failed statement.

`unlock_scope` is the documented exception: when the session is gone so is its lock, and it
returns quietly; on a live session it raises like the others.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from factories import page_record
from tasman_etl.db import repository as repo
from tasman_etl.errors import DatabaseError
from tasman_etl.runner.connections import connection_lost
from tasman_etl.transform import PageRows

pytestmark = [pytest.mark.integration]

SCOPE = "ab" * 32
NOW = datetime(2026, 1, 2, tzinfo=UTC)
RECORD = page_record(source="s")
KEY = SimpleNamespace(run_id="r1", part="", page=1, path="bronze/usajobs/r1/page=0001.json")

Call = Callable[[psycopg.Connection[Any]], object]

#: One call per public repository function that takes a connection.
CALLS: dict[str, Call] = {
    "captured_sha256": lambda c: repo.captured_sha256(c, "r1", "", 1),
    "finish_run": lambda c: repo.finish_run(c, "r1", status="failed", summary={}),
    "get_run": lambda c: repo.get_run(c, "r1"),
    "list_pages": lambda c: repo.list_pages(c, "r1"),
    "list_runs": lambda c: repo.list_runs(c),
    "load_page_rows": lambda c: repo.load_page_rows(
        c, PageRows(control_numbers=["A1"], items=1), record=RECORD, seen_at=NOW
    ),
    "load_plan": lambda c: repo.load_plan(c, "r1"),
    "page_control_numbers": lambda c: repo.page_control_numbers(c, "r1", "page=0001"),
    "page_statuses": lambda c: repo.page_statuses(c, "r1"),
    "record_capture": lambda c: repo.record_capture(c, "r1", "page=0001", "k", "0" * 64),
    "record_page": lambda c: repo.record_page(c, RECORD, status="failed", error="boom"),
    "record_plan": lambda c: repo.record_plan(
        c, "r1", [repo.PartitionRecord("", {}, 1, 1, False)], "search"
    ),
    "run_totals": lambda c: repo.run_totals(c, "r1"),
    "running_runs": lambda c: repo.running_runs(c, SCOPE),
    "settle_source_page": lambda c: repo.settle_source_page(c, KEY, "r2"),
    "start_run": lambda c: repo.start_run(
        c, "r1", command="run", params={}, scope_hash=SCOPE, code_version="test"
    ),
    "stored_hashes": lambda c: repo.stored_hashes(c, ["A1"]),
    "try_lock_scope": lambda c: repo.try_lock_scope(c, SCOPE),
    "unlock_scope": lambda c: repo.unlock_scope(c, SCOPE),
    "update_partition_counts": lambda c: repo.update_partition_counts(c, "r1"),
    "upsert_codelist": lambda c: repo.upsert_codelist(
        c, "payplans", [{"code": "GS", "value": "General"}], date_generated=None, fetched_at=NOW
    ),
}

#: Names the facade exports that do not touch a database.
NOT_DATABASE = {"LoadCounts", "PageRecord", "PartitionRecord", "scope_lock_key"}

#: Quiet when the session is gone (its lock went with it).
QUIET_WHEN_GONE = {"unlock_scope"}


def _takes_a_connection(name: str) -> bool:
    obj = getattr(repo, name)
    if not inspect.isfunction(obj):
        return False
    params = list(inspect.signature(obj).parameters)
    return bool(params) and params[0] == "conn"


def test_every_public_function_has_a_case() -> None:
    database = {name for name in repo.__all__ if _takes_a_connection(name)}
    assert database == set(CALLS), "add a call for each new repository function"
    assert set(repo.__all__) - database == NOT_DATABASE


def test_the_calls_work_on_a_healthy_connection(conn: psycopg.Connection[Any]) -> None:
    """The cases below fail because of the connection, not because a call is wrong."""
    for name in ("start_run", *sorted(set(CALLS) - {"start_run"})):
        CALLS[name](conn)


def _broken_connections(url: str, how: str) -> Iterator[psycopg.Connection[Any]]:
    """Fresh connections of ``url``, each broken as ``how`` says."""
    while True:
        conn = psycopg.connect(url, autocommit=how != "aborted")
        if how == "closed":
            conn.close()
        elif how == "aborted":
            with pytest.raises(psycopg.errors.DivisionByZero):
                conn.execute("SELECT 1 / 0")
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        else:
            pid = conn.info.backend_pid
            with psycopg.connect(url, autocommit=True) as admin:
                ended = admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()
            assert ended == (True,)
        try:
            yield conn
        finally:
            conn.close()


def _check(name: str, conn: psycopg.Connection[Any], how: str) -> None:
    call = CALLS[name]
    if name in QUIET_WHEN_GONE and how != "aborted":
        assert call(conn) is None
        return
    with pytest.raises(DatabaseError) as caught:
        call(conn)
    error = caught.value
    assert not isinstance(error, psycopg.Error)
    assert isinstance(error.__cause__, psycopg.Error), f"{name}: cause {error.__cause__!r}"
    text = str(error)
    assert "\n" not in text and text.strip() == text and text, f"{name}: {text!r}"
    # The runner reconnects on exactly these: a session that is gone, not a refused statement.
    assert connection_lost(conn, error.__cause__) is (how != "aborted"), f"{name}: {text}"


@pytest.mark.parametrize("how", ["closed", "terminated", "aborted"])
def test_every_public_function_raises_database_error(migrated_db_url: str, how: str) -> None:
    broken = _broken_connections(migrated_db_url, how)
    try:
        for name in sorted(CALLS):
            conn = next(broken)
            _check(name, conn, how)
    finally:
        broken.close()


def test_unlock_on_a_live_session_that_cannot_unlock_raises(
    db_conn: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero):
        db_conn.execute("SELECT 1 / 0")
    with pytest.raises(DatabaseError, match="cannot release the run lock of the search"):
        repo.unlock_scope(db_conn, SCOPE)


def test_the_message_names_what_failed(migrated_db_url: str) -> None:
    conn = psycopg.connect(migrated_db_url)
    conn.close()
    with pytest.raises(DatabaseError) as caught:
        repo.record_page(conn, RECORD, status="failed")
    assert str(caught.value) == (
        "recording page=0001 failed: OperationalError: the connection is closed"
    )
    with pytest.raises(DatabaseError) as caught:
        repo.settle_source_page(conn, KEY, "r2")
    assert str(caught.value).startswith(f"cannot settle {KEY.path} in run r1: ")
