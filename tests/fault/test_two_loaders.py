"""Two loaders (ADR 0030): a page stalled inside its load does not hold the next one.

A statement trigger on `job` makes the first INSERT of the database wait for an advisory
lock the test holds, so the first page's load stalls inside its transaction. The second
page, which shares no job with it, loads on the other loader's connection and commits
meanwhile; nothing after it does (two loads at most, and its outcome waits for the first):
a second trigger numbers each page's ledger row as it turns `loaded`, inside the page's
transaction. Once the lock is released the run ends as sequential loads would have left it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner.run import RunOptions
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-key-6e1f0a9b7c"  # the key `run_search` sends (conftest.py)
JOBS, PER_PAGE = 200, 40
LOCK = 4242
OPTS = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE)

_GATE = f"""
CREATE SEQUENCE loaders_insert_seq;
CREATE FUNCTION loaders_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('loaders_insert_seq') = 1 THEN  -- the first INSERT only
        PERFORM pg_advisory_lock({LOCK});
        PERFORM pg_advisory_unlock({LOCK});
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER loaders_gate BEFORE INSERT ON job
    FOR EACH STATEMENT EXECUTE FUNCTION loaders_gate();
CREATE TABLE loaders_order (n bigserial PRIMARY KEY, page integer NOT NULL);
CREATE FUNCTION loaders_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loaders_order (page) VALUES (NEW.page);
    RETURN NULL;
END $$;
CREATE TRIGGER loaders_note AFTER INSERT OR UPDATE ON ingest_page
    FOR EACH ROW WHEN (NEW.status = 'loaded') EXECUTE FUNCTION loaders_note();
"""

_STALLED = """
SELECT count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND wait_event = 'advisory' AND pid <> pg_backend_pid()
"""

_LOADED = "SELECT page FROM ingest_page WHERE status = 'loaded' ORDER BY page"


def test_a_page_stalled_in_its_load_does_not_hold_the_next_one(
    migrated_db_url: str, store: LocalBronzeStore, run_search: Any
) -> None:
    url = migrated_db_url
    outcome: dict[str, Any] = {}
    with (
        SimulatorServer(SimulatorConfig(jobs=JOBS, seed=5, auth_key=KEY)) as sim,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        admin.execute(_GATE.encode())
        admin.execute("SELECT pg_advisory_lock(%s)", (LOCK,))

        def run() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                outcome["run"] = run_search(conn, store, sim, OPTS)

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        loaded_while_stalled: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not loaded_while_stalled:
            stalled = admin.execute(_STALLED).fetchone()
            if stalled is not None and stalled[0] == 1:
                loaded_while_stalled = [r[0] for r in admin.execute(_LOADED).fetchall()]
            time.sleep(0.02)
        admin.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
        runner.join(60)
        assert not runner.is_alive()
        expected = set(sim.matching({}))

    assert loaded_while_stalled == [2], "the second page loaded while the first was stalled"
    with psycopg.connect(url, autocommit=True) as c:
        order = [r[0] for r in c.execute("SELECT page FROM loaders_order ORDER BY n")]
    # page 3 is handed over only once page 1 is settled: no third load meanwhile (3, 4, 5
    # may then commit in any order: two at a time again)
    assert order[:2] == [2, 1]
    assert sorted(order) == list(range(1, JOBS // PER_PAGE + 1))
    result = outcome["run"].result
    assert not result.failed, result.summary
    assert result.summary["inserted"] == JOBS
    assert result.summary["pages"] == JOBS // PER_PAGE
    with psycopg.connect(url, autocommit=True) as c:
        silver = {r[0] for r in c.execute("SELECT control_number FROM job").fetchall()}
        pages = c.execute("SELECT page, status FROM ingest_page ORDER BY page").fetchall()
    assert silver == expected
    assert pages == [(n, "loaded") for n in range(1, JOBS // PER_PAGE + 1)]
