"""Issue 11 item 4: a later run takes over the lock of a run whose process is gone or that
passed RUN_MAX_AGE_S, and refuses a live one with its age and when it may be taken over.

The holder is a second database session of this test holding the scope's advisory lock,
with a `running` ledger row that names it (migration 007): its process is either a pid
that has exited (a session outliving its process, as when a host vanishes without closing
its connection), or this live test process. The newcomer is an in-process `execute_run`
against the simulator (200 jobs, 40 per page).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tasman_etl.db import repository as repo
from tasman_etl.db.run_lock import find_holder, pid_alive, process_identity, take_scope_lock
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner import lifecycle
from tasman_etl.runner.run import RunLockedError, RunOptions
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-key-6e1f0a9b7c"  # the key run_search sends (conftest)
QUERY = SearchQuery()
SCOPE = QUERY.scope_hash()
OPTS = RunOptions(query=QUERY, results_per_page=40)

Silver = Callable[[psycopg.Connection[Any]], set[str]]


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(jobs=200, seed=5, auth_key=KEY)) as server:
        yield server


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])  # a process that is gone when we look
    child.wait()
    assert not pid_alive(child.pid)
    return child.pid


def _holder(db_url: str, *, os_pid: int, age_s: float = 0.0) -> psycopg.Connection[Any]:
    """A session holding the scope lock, recorded as run `old-run` of process `os_pid`."""
    holder = psycopg.connect(db_url, autocommit=True)
    assert repo.try_lock_scope(holder, SCOPE)
    host, host_id, _ = process_identity()
    holder.execute(
        "INSERT INTO ingest_run (run_id, command, status, params, scope_hash, started_at, "
        "lock_backend_pid, lock_host, lock_host_id, lock_os_pid, locked_at) "
        "VALUES ('old-run', 'run', 'running', '{}', %s, now() - make_interval(secs => %s), "
        "pg_backend_pid(), %s, %s, %s, now() - make_interval(secs => %s))",
        (SCOPE, age_s, host, host_id, os_pid, age_s),
    )
    return holder


def _old_run(conn: psycopg.Connection[Any]) -> tuple[str, str | None]:
    row = conn.execute("SELECT status, error FROM ingest_run WHERE run_id = 'old-run'").fetchone()
    assert row is not None
    return row[0], row[1]


def _session_ended(holder: psycopg.Connection[Any]) -> bool:
    try:
        holder.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_a_holder_whose_process_is_gone_is_taken_over(
    conn: psycopg.Connection[Any],
    migrated_db_url: str,
    store: LocalBronzeStore,
    sim: SimulatorServer,
    run_search: Any,
    silver: Silver,
) -> None:
    dead = _dead_pid()
    holder = _holder(migrated_db_url, os_pid=dead)
    try:
        found = find_holder(conn, SCOPE)
        assert found is not None and found.run_id == "old-run" and found.os_pid == dead
        outcome = run_search(conn, store, sim, OPTS)
        assert _session_ended(holder)
    finally:
        holder.close()
    assert not outcome.result.failed, outcome.result.summary
    assert silver(conn) == set(sim.matching({}))
    status, error = _old_run(conn)
    assert status == "aborted"
    assert error is not None
    assert f"taken over by run {outcome.result.run_id}" in error
    assert f"its process (pid {dead} on " in error and "is gone" in error
    assert "--resume old-run" in error
    # the newcomer recorded itself as the holder while it ran
    row = conn.execute(
        "SELECT lock_os_pid, lock_host_id, locked_at IS NOT NULL FROM ingest_run WHERE run_id = %s",
        (outcome.result.run_id,),
    ).fetchone()
    assert row == (process_identity()[2], process_identity()[1], True)


def test_a_live_holder_past_the_maximum_age_is_taken_over(
    conn: psycopg.Connection[Any],
    migrated_db_url: str,
    store: LocalBronzeStore,
    sim: SimulatorServer,
    run_search: Any,
    silver: Silver,
) -> None:
    # The holder's process is alive (this one) but silent for 2 h; max age 1 h.
    holder = _holder(migrated_db_url, os_pid=process_identity()[2], age_s=7200)
    try:
        opts = RunOptions(query=QUERY, results_per_page=40, run_max_age_s=3600)
        outcome = run_search(conn, store, sim, opts)
        assert _session_ended(holder)
    finally:
        holder.close()
    assert not outcome.result.failed, outcome.result.summary
    assert silver(conn) == set(sim.matching({}))
    status, error = _old_run(conn)
    assert status == "aborted"
    assert error is not None and "no sign of life for 2 h 0 min" in error
    assert "longer than RUN_MAX_AGE_S (3600 s)" in error


def test_a_live_young_holder_is_refused_with_its_age(
    conn: psycopg.Connection[Any],
    migrated_db_url: str,
    store: LocalBronzeStore,
    sim: SimulatorServer,
    run_search: Any,
) -> None:
    holder = _holder(migrated_db_url, os_pid=process_identity()[2], age_s=600)
    try:
        opts = RunOptions(query=QUERY, results_per_page=40, run_max_age_s=3600)
        with pytest.raises(RunLockedError) as refused:
            run_search(conn, store, sim, opts)
        assert not _session_ended(holder)
    finally:
        holder.close()
    message = str(refused.value)
    assert message.startswith("another run of the same search is in progress (run old-run")
    assert "last sign of life 10 min 0 s ago" in message
    assert "or in 50 min" in message and "RUN_MAX_AGE_S = 3600 s" in message
    assert _old_run(conn)[0] == "running"
    assert not sim.requests()  # refused before any request


def test_a_long_run_that_keeps_its_heartbeat_is_not_taken_over(
    conn: psycopg.Connection[Any],
    migrated_db_url: str,
    store: LocalBronzeStore,
    sim: SimulatorServer,
    run_search: Any,
) -> None:
    """Took the lock 2 h ago but beat a minute ago: alive, whatever RUN_MAX_AGE_S says."""
    holder = _holder(migrated_db_url, os_pid=process_identity()[2], age_s=7200)
    holder.execute(
        "UPDATE ingest_run SET heartbeat_at = now() - interval '1 minute' WHERE run_id = 'old-run'"
    )
    try:
        opts = RunOptions(query=QUERY, results_per_page=40, run_max_age_s=3600)
        with pytest.raises(RunLockedError) as refused:
            run_search(conn, store, sim, opts)
        assert not _session_ended(holder)
    finally:
        holder.close()
    assert "last sign of life 1 min 0 s ago" in str(refused.value)
    assert _old_run(conn)[0] == "running"


def test_a_running_run_records_its_heartbeat(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
    run_search: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lifecycle, "HEARTBEAT_S", 0.0)  # beat on every page
    outcome = run_search(conn, store, sim, OPTS)
    row = conn.execute(
        "SELECT heartbeat_at > locked_at, heartbeat_at <= finished_at FROM ingest_run "
        "WHERE run_id = %s",
        (outcome.result.run_id,),
    ).fetchone()
    assert row == (True, True)


def test_a_session_with_no_run_is_judged_by_its_age_only(
    conn: psycopg.Connection[Any], migrated_db_url: str
) -> None:
    # A session that took the lock but has no ledger row yet (a run just starting): a dead
    # pid elsewhere cannot be told, so it is left alone while younger than the max age.
    other = psycopg.connect(migrated_db_url, autocommit=True)
    try:
        assert repo.try_lock_scope(other, SCOPE)
        young = take_scope_lock(conn, SCOPE, run_id="new", max_age_s=3600)
        assert not young.acquired
        assert "a session with no run recorded" in young.message
        old = take_scope_lock(conn, SCOPE, run_id="new", max_age_s=0.001)
        assert old.acquired and old.taken_over is not None
        assert _session_ended(other)
    finally:
        other.close()
        repo.unlock_scope(conn, SCOPE)


def test_a_free_lock_is_simply_taken(conn: psycopg.Connection[Any]) -> None:
    got = take_scope_lock(conn, SCOPE, run_id="new", max_age_s=1)
    assert got.acquired and got.taken_over is None and got.holder is None
    assert find_holder(conn, SCOPE) is not None  # now ours
    repo.unlock_scope(conn, SCOPE)
    assert find_holder(conn, SCOPE) is None
