"""Answers that are valid but wrong: empty or shrunken results, and rows that move mid-sweep.

A run is complete only when its result is believable: not a collapse against the scope's last
complete runs (`runner/plausible.py`), no partition whose rows moved while it was paged
(`_Runner._settle_sweeps`), and no inactive marking that would retire more than
SHRINK_GUARD_SHARE of the scope at once. Answers come from the simulator, or from a hostile
server of the tests' own (`tests/hostile.py`) that serves the empty answer or rewrites the
simulator's totals.

Universe: 400 jobs searched nationwide, 40 per page: 10 pages.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hostile import EMPTY, HostileApi
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner.inactive import mark_inactive
from tasman_etl.runner.run import RunOptions
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

from e2e_helpers import CLI, cli, last_json

__all__ = ["cli"]

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-key-6e1f0a9b7c"  # the key run_search sends (conftest)
JOBS = 400
PER_PAGE = 40
OPTS = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE)
SCOPE = SearchQuery().scope_hash()


def _sim(seed: int = 21) -> SimulatorServer:
    return SimulatorServer(SimulatorConfig(jobs=JOBS, seed=seed, auth_key=KEY))


def loaded(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}


def _inactive(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM job WHERE inactive_since IS NOT NULL").fetchone()
    return int(row[0]) if row else -1


def _mark(after_runs: int, share: float = 0.5) -> Any:
    """The `on_complete` hook the CLI wires: guarded inactive marking of the run's scope."""
    return lambda c, run_id, status: mark_inactive(c, run_id, SCOPE, after_runs, max_share=share)


# ------------------------------------------------------------- empty and shrunken answers


def test_empty_answers_after_a_clean_run_are_not_complete_and_retire_nothing(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    """The issue's case through the CLI: a clean run of 400, then two empty 200 answers."""
    env = {
        "DB_URL": migrated_db_url,
        "USAJOBS_AUTH_KEY": KEY,
        "USAJOBS_USER_AGENT": "faults@tasman-etl.invalid",
        "KEYWORD": "",
        "LOCATION_NAME": "",
        "RESULTS_PER_PAGE": str(PER_PAGE),
        "REQUESTS_PER_SECOND": "1000",
        "INACTIVE_AFTER_RUNS": "2",
        "BRONZE_DIR": str(tmp_path / "bronze"),
    }
    with _sim() as sim:
        clean = cli("run", env={**env, "USAJOBS_API_BASE": sim.base_url}, timeout=120)
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert last_json(clean.stdout)["complete"] is True
    assert last_json(clean.stdout)["unique_jobs"] == JOBS

    with HostileApi(lambda params: EMPTY) as api:
        outcomes = [
            cli("run", env={**env, "USAJOBS_API_BASE": api.base_url}, timeout=120) for _ in range(2)
        ]
    for out in outcomes:
        assert out.returncode == 1, out.stderr[-2000:]
        summary = last_json(out.stdout)
        assert summary["status"] == "failed"
        assert summary["complete"] is False
        assert summary["unique_jobs"] == 0
        assert "marked_inactive" not in summary
        (reason,) = summary["implausible"]
        assert "0 jobs against a median of 400" in reason
        assert "--accept-shrink" in summary["error"]
        events = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
        assert any(e.get("event") == "run_implausible" for e in events)
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith("error: result not trusted"), errors
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        assert _inactive(conn) == 0
        assert conn.execute(
            "SELECT count(*) FILTER (WHERE complete), count(*) FROM ingest_run"
        ).fetchone() == (1, 3)


def test_page_one_total_shrunk_to_its_own_items_retires_nothing(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    """Page 1 says `SearchResultCountAll` = its own 40 items: one page, 360 jobs "gone"."""

    def shrink(params: Mapping[str, str], payload: dict[str, Any]) -> Any:
        result = payload["SearchResult"]
        result["SearchResultCountAll"] = len(result["SearchResultItems"])
        return payload

    with _sim() as sim:
        first = run_search(conn, store, sim, OPTS, on_complete=_mark(1))
        assert first.result.summary["complete"] is True
        with HostileApi(upstream=sim.base_url, rewrite=shrink) as api:
            shrunk = run_search(conn, store, sim, OPTS, api_base=api.base_url, on_complete=_mark(1))
    summary = shrunk.result.summary
    assert shrunk.result.failed
    assert summary["complete"] is False
    assert summary["pages"] == 1 and summary["unique_jobs"] == PER_PAGE
    assert "40 jobs against a median of 400" in summary["implausible"][0]
    assert _inactive(conn) == 0  # INACTIVE_AFTER_RUNS=1 would have retired 360 at once


def test_accept_shrink_trusts_a_search_that_really_emptied(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    with _sim() as sim:
        assert run_search(conn, store, sim, OPTS).result.summary["complete"] is True
    with _sim() as sim, HostileApi(lambda params: EMPTY) as api:
        refused = run_search(conn, store, sim, OPTS, api_base=api.base_url, on_complete=_mark(1))
        assert refused.result.summary["complete"] is False
        accepted = run_search(
            conn,
            store,
            sim,
            RunOptions(query=SearchQuery(), results_per_page=PER_PAGE, accept_shrink=True),
            api_base=api.base_url,
            on_complete=_mark(1, share=1.0),
        )
    assert not accepted.result.failed
    assert accepted.result.summary["complete"] is True
    assert "implausible" not in accepted.result.summary
    assert accepted.result.summary["marked_inactive"] == JOBS == _inactive(conn)


def test_a_small_drop_is_trusted_and_its_jobs_are_retired(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    """Ordinary churn (10 % of the scope gone) is not a collapse: the guard stays quiet."""
    with _sim() as sim:
        assert run_search(conn, store, sim, OPTS).result.summary["complete"] is True
        gone = sim.control_numbers()[::10]
        for cn in gone:
            sim.withdraw(cn)
        second = run_search(conn, store, sim, OPTS, on_complete=_mark(1))
    assert not second.result.failed
    assert second.result.summary["complete"] is True
    assert second.result.summary["marked_inactive"] == len(gone) == _inactive(conn) == 40


def test_inactive_marking_never_retires_more_than_the_guard_allows(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    """Without history to compare with, the marking guard still holds the line."""
    with _sim() as sim:
        assert run_search(conn, store, sim, OPTS).result.summary["complete"] is True
        # no baseline: the first run's summary is forgotten, as after a ledger clean-up
        conn.execute("UPDATE ingest_run SET summary = summary - 'unique_jobs'")
        for cn in sim.control_numbers()[: JOBS * 3 // 4]:
            sim.withdraw(cn)
        second = run_search(conn, store, sim, OPTS, on_complete=_mark(1, share=0.5))
    summary = second.result.summary
    assert second.result.failed
    assert summary["complete"] is False
    assert summary["marked_inactive"] == 0
    assert "300 of the 400 active jobs" in summary["inactive_guard"]
    assert summary["implausible"] == [summary["inactive_guard"]]
    assert _inactive(conn) == 0


# ---------------------------------------------------------------- rows that move mid-sweep


class _OnFirstLaterPage:
    """A `before_search` hook: `change()` once, just before the first page after page 1."""

    def __init__(self, change: Any) -> None:
        self.change = change
        self.done = threading.Event()

    def __call__(self, params: Mapping[str, str]) -> None:
        if params.get("Page", "1") != "1" and not self.done.is_set():
            self.done.set()
            self.change()


def test_a_row_leaving_page_one_mid_sweep_is_noticed_and_swept_again(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    """Page 1's first job leaves after page 1 was served and a new job arrives at the end:
    the total stays 399, every later row moves up one place, and the 41st job is never
    served by the first sweep. The re-read of page 1 sees the change; a second sweep gets it."""
    with _sim() as sim:
        order = sim.control_numbers()
        leaver, skipped, newcomer = order[0], order[PER_PAGE], order[-1]
        sim.withdraw(newcomer)

        def move() -> None:
            sim.withdraw(leaver)
            sim.restore(newcomer)

        sim.before_search = _OnFirstLaterPage(move)
        outcome = run_search(conn, store, sim, OPTS)
        truth = set(sim.matching({}))
    summary = outcome.result.summary
    assert skipped in truth and len(truth) == JOBS - 1
    assert truth <= loaded(conn), f"never fetched: {sorted(truth - loaded(conn))}"
    assert summary["complete"] is True and not outcome.result.failed
    assert [(s["part"], s["sweep"]) for s in summary["resweeps"]] == [(None, 2)]
    assert "page 1 changed" in summary["resweeps"][0]["reason"]
    assert "moved" not in summary  # the second sweep held still
    parts = {p["part"]: p for p in summary["partitions"]}
    assert set(parts) == {None, "sweep2"}
    assert parts["sweep2"]["unique"] == JOBS - 1


def test_a_total_that_changes_mid_sweep_is_noticed_and_swept_again(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    """A job on page 3 leaves before page 5 is served: page 1 is unchanged, but pages 5-10
    report 399 rows, and the first row of the old page 5 moved onto page 4, never served."""
    with _sim() as sim:
        order = sim.control_numbers()

        def hook(params: Mapping[str, str]) -> None:
            if params.get("Page") == "5" and order[2 * PER_PAGE + 5] in sim.control_numbers():
                sim.withdraw(order[2 * PER_PAGE + 5])

        sim.before_search = hook
        outcome = run_search(conn, store, sim, OPTS)
        truth = set(sim.matching({}))
    summary = outcome.result.summary
    assert truth <= loaded(conn)
    assert summary["complete"] is True
    assert [s["sweep"] for s in summary["resweeps"]] == [2]
    assert "SearchResultCountAll changed" in summary["resweeps"][0]["reason"]
    assert "400 -> 399" in summary["resweeps"][0]["reason"]


def test_rows_that_never_hold_still_are_reported_as_under_collection(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any
) -> None:
    """Every sweep loses its first job before page 2: after three sweeps the partition is
    reported under-collected, and the run is not complete."""
    with _sim() as sim:

        def churn(params: Mapping[str, str]) -> None:
            if params.get("Page") == "2":
                sim.withdraw(sim.control_numbers()[0])

        sim.before_search = churn
        outcome = run_search(conn, store, sim, OPTS, on_complete=_mark(1))
    summary = outcome.result.summary
    assert summary["complete"] is False
    assert summary["under_collection"] == ["(all)"]
    assert [s["sweep"] for s in summary["resweeps"]] == [2, 3]
    assert "(all)" in summary["moved"]
    assert _inactive(conn) == 0
