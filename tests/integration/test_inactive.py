"""Inactive marking: direct ledger setups, then `execute_run` against the simulator.

A job of a scope is marked inactive once it is absent from the scope's last
INACTIVE_AFTER_RUNS complete runs; incomplete runs never mark and never count.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from factories import page_record, search_item
from tasman_etl import __version__
from tasman_etl.db.repository import finish_run, load_page_rows, start_run
from tasman_etl.errors import ConfigError
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.inactive import mark_inactive
from tasman_etl.runner.run import RunOptions, RunResult, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore
from tasman_etl.transform import transform_page

SCOPE = "a" * 64
OTHER_SCOPE = "b" * 64


class Ledger:
    """Runs recorded the way `execute_run` records them, with pages loaded for real."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.count = 0

    def run(
        self,
        seen: list[str],
        *,
        complete: bool = True,
        after: int = 2,
        scope: str = SCOPE,
    ) -> dict[str, int] | None:
        """One run of `scope` that sees `seen`; mark_inactive only when complete."""
        self.count += 1
        run_id = f"run-{self.count:02d}"
        start_run(
            self.conn, run_id, command="run", params={}, scope_hash=scope, code_version=__version__
        )
        record = page_record(run_id, scope_hash=scope)
        load_page_rows(
            self.conn,
            transform_page([search_item(cn) for cn in seen]),
            record=record,
            seen_at=datetime.now(UTC),
        )
        self.conn.commit()
        marked = mark_inactive(self.conn, run_id, scope, after) if complete else None
        finish_run(
            self.conn,
            run_id,
            status="succeeded" if complete else "failed",
            summary={},
            complete=complete,
        )
        return marked

    def inactive(self) -> dict[str, datetime | None]:
        rows = self.conn.execute("SELECT control_number, inactive_since FROM job").fetchall()
        self.conn.rollback()
        return {cn: since for cn, since in rows}


@pytest.fixture
def ledger(db_conn: psycopg.Connection[Any]) -> Ledger:
    return Ledger(db_conn)


def test_absent_from_n_complete_runs_is_marked_and_reappearing_clears(ledger: Ledger) -> None:
    assert ledger.run(["100000001", "100000002"]) == {"marked_inactive": 0}  # only 1 run
    assert ledger.run(["100000001"]) == {"marked_inactive": 0}  # absent from 1 of 2
    assert all(v is None for v in ledger.inactive().values())
    assert ledger.run(["100000001"]) == {"marked_inactive": 1}  # absent from 2 of 2
    state = ledger.inactive()
    assert state["100000001"] is None and state["100000002"] is not None
    first_mark = state["100000002"]
    assert ledger.run(["100000001"]) == {"marked_inactive": 0}  # already marked: kept
    assert ledger.inactive()["100000002"] == first_mark
    ledger.run(["100000001", "100000002"])
    assert ledger.inactive()["100000002"] is None


def test_fewer_complete_runs_than_configured_marks_nothing(ledger: Ledger) -> None:
    ledger.run(["100000001", "100000002"], after=3)
    assert ledger.run(["100000001"], after=3) == {"marked_inactive": 0}
    assert ledger.run(["100000001"], after=3) == {"marked_inactive": 0}  # absent from 2 only
    assert ledger.run(["100000001"], after=3) == {"marked_inactive": 1}


def test_partial_runs_neither_mark_nor_count(ledger: Ledger) -> None:
    ledger.run(["100000001", "100000002"])
    assert ledger.run(["100000001"], complete=False) is None
    assert ledger.run(["100000001"], complete=False) is None
    # the window is this run and run-01 (the last complete one), which saw 100000002
    assert ledger.run(["100000001"]) == {"marked_inactive": 0}
    assert ledger.inactive()["100000002"] is None
    assert ledger.run(["100000001"]) == {"marked_inactive": 1}


def test_only_jobs_of_the_same_scope_are_marked(ledger: Ledger) -> None:
    ledger.run(["100000001"], scope=OTHER_SCOPE)
    ledger.run(["100000002"])
    ledger.run(["100000002"])
    assert ledger.run(["100000002"]) == {"marked_inactive": 0}
    assert ledger.inactive() == {"100000001": None, "100000002": None}


def test_a_job_seen_elsewhere_since_the_window_began_is_not_marked(ledger: Ledger) -> None:
    ledger.run(["100000001", "100000002"])
    ledger.run(["100000001"])
    ledger.run(["100000002"], scope=OTHER_SCOPE)  # still posted: another search sees it
    assert ledger.run(["100000001"]) == {"marked_inactive": 0}
    assert ledger.inactive()["100000002"] is None


def test_after_runs_must_be_positive(ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="INACTIVE_AFTER_RUNS"):
        mark_inactive(ledger.conn, "run-01", SCOPE, 0)


# ------------------------------------------------------------------ with the simulator

KEY = "sim-key-inactive"
QUERY = SearchQuery()  # every job the simulator has


def _run(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
    *,
    max_pages: int | None = None,
    after_runs: int = 2,
) -> RunResult:
    config = ClientConfig(
        api_base=sim.base_url,
        auth_key=SecretStr(KEY),
        user_agent="tests@tasman-etl.invalid",
        requests_per_second=1000,
        timeout_s=5,
    )
    scope = QUERY.scope_hash()
    with UsajobsClient(config, sleep=lambda seconds: None) as client:
        return execute_run(
            conn,
            store,
            client,
            RunOptions(query=QUERY, results_per_page=40, max_pages=max_pages),
            stop=threading.Event(),
            on_complete=lambda c, run_id, status: mark_inactive(c, run_id, scope, after_runs),
        )


def _inactive(conn: psycopg.Connection[Any], cn: str) -> datetime | None:
    row = conn.execute("SELECT inactive_since FROM job WHERE control_number = %s", (cn,)).fetchone()
    assert row is not None
    value: datetime | None = row[0]
    return value


def test_a_withdrawn_posting_is_marked_after_n_complete_runs_never_by_a_partial_one(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    store = LocalBronzeStore(tmp_path / "bronze", "bronze/usajobs")
    with SimulatorServer(SimulatorConfig(jobs=100, seed=11, auth_key=KEY)) as sim:
        withdrawn = sim.control_numbers()[0]  # on page 1, which the partial run fetches

        first = _run(conn, store, sim)
        assert first.summary["complete"] is True
        assert first.summary["marked_inactive"] == 0  # one complete run only

        sim.withdraw(withdrawn)
        partial = _run(conn, store, sim, max_pages=1)
        assert partial.summary["complete"] is False
        assert "marked_inactive" not in partial.summary
        assert _inactive(conn, withdrawn) is None

        second = _run(conn, store, sim)
        assert second.summary["complete"] is True
        # window = this run + the first run (the partial one does not count), which saw it
        assert second.summary["marked_inactive"] == 0
        assert _inactive(conn, withdrawn) is None

        third = _run(conn, store, sim)
        assert third.summary["marked_inactive"] == 1
        assert _inactive(conn, withdrawn) is not None
        others = conn.execute(
            "SELECT count(*) FROM job WHERE inactive_since IS NOT NULL AND control_number <> %s",
            (withdrawn,),
        ).fetchone()
        assert others == (0,)

        sim.restore(withdrawn)
        back = _run(conn, store, sim)
        assert back.summary["marked_inactive"] == 0
        assert _inactive(conn, withdrawn) is None
