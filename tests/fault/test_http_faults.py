"""HTTP faults during a run: every run ends with silver exactly equal to the simulator's truth.

In-process `execute_run` against the simulator over real HTTP on loopback, a real PostgreSQL,
local bronze. Backoff waits go through an injected sleep that records and returns at once; the
only real waits are client timeouts on deliberately slow responses (under a second each).

Universe: 400 jobs searched nationwide, 40 per page: 10 pages, 11 requests when nothing fails
(the last reads page 1 again: the check that no row moved during the sweep).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner.run import RunOptions
from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore, read_envelope

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-key-6e1f0a9b7c"  # the key run_search sends (conftest)
JOBS = 400
PER_PAGE = 40
PAGES = 10
OPTS = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE)

Silver = Callable[[psycopg.Connection[Any]], set[str]]


def _sim(faults: FaultPlan, seed: int = 21) -> SimulatorServer:
    return SimulatorServer(SimulatorConfig(jobs=JOBS, seed=seed, auth_key=KEY, faults=faults))


def _assert_exact(
    conn: psycopg.Connection[Any], silver: Silver, sim: SimulatorServer, outcome: Any
) -> None:
    truth = set(sim.matching({}))
    assert len(truth) == JOBS
    summary = outcome.result.summary
    assert not outcome.result.failed, summary
    assert summary["status"] == "succeeded"
    assert summary["complete"] is True
    assert summary["pages"] == PAGES
    assert silver(conn) == truth
    assert summary["inserted"] == summary["unique_jobs"] == JOBS
    pages = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'loaded'), count(*) FROM ingest_page"
    ).fetchone()
    assert pages == (PAGES, PAGES)


def _faulted(sim: SimulatorServer, kind: str) -> int:
    return sum(1 for r in sim.requests() if r.fault == kind)


def test_429_storm_honours_retry_after(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    # six 429s in a row, then a rate-limited stretch later in the run
    storm = {n: "429" for n in (*range(3, 9), 11, 12)}
    with _sim(FaultPlan(by_request=storm, retry_after="7")) as sim:
        outcome = run_search(conn, store, sim, OPTS)
        faulted = _faulted(sim, "429")
        _assert_exact(conn, silver, sim, outcome)
    assert faulted == 8
    assert outcome.stats["retries"] == 8
    # + 1: page 1 read again at the end, the check that no row moved during the sweep
    assert outcome.stats["requests"] == PAGES + 8 + 1
    assert outcome.stats["by_status"]["429"] == 8
    assert outcome.sleeps.count(7.0) == 8  # every wait was the server's Retry-After


def test_retry_after_beyond_the_cap_is_clamped(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    with _sim(FaultPlan(by_request={2: "429", 3: "503", 4: "429"}, retry_after="3600")) as sim:
        outcome = run_search(conn, store, sim, OPTS, max_backoff_s=30)
        _assert_exact(conn, silver, sim, outcome)
    assert outcome.stats["retries"] == 3
    assert outcome.sleeps.count(30.0) == 3
    assert max(outcome.sleeps) == 30.0  # an hour asked, the cap waited


def test_random_429_storm_with_concurrency(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    faults = FaultPlan(rate=0.5, kinds=("429",), retry_after="2", seed=5)
    with _sim(faults) as sim:
        outcome = run_search(
            conn,
            store,
            sim,
            RunOptions(query=SearchQuery(), results_per_page=PER_PAGE, concurrency=3),
            max_attempts=12,
        )
        faulted = _faulted(sim, "429")
        _assert_exact(conn, silver, sim, outcome)
    assert faulted >= 5
    assert outcome.stats["retries"] == faulted
    assert outcome.sleeps.count(2.0) == faulted


def test_bursts_of_500_and_503(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    bursts = {2: "500", 3: "503", 4: "500", 8: "503", 9: "503", 10: "500", 11: "503"}
    with _sim(FaultPlan(by_request=bursts, retry_after=None)) as sim:
        outcome = run_search(conn, store, sim, OPTS, max_backoff_s=8)
        _assert_exact(conn, silver, sim, outcome)
    assert outcome.stats["retries"] == 7
    assert outcome.stats["by_status"]["500"] == 3
    assert outcome.stats["by_status"]["503"] == 4
    backoffs = [s for s in outcome.sleeps if s > 0.01]  # the rate limiter's waits are ~1 ms
    assert all(0 <= s <= 8 for s in outcome.sleeps)
    assert len(backoffs) <= 7


def test_slow_responses_past_the_client_timeout(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    faults = FaultPlan(by_request={2: "slow", 5: "slow", 6: "slow"}, slow_seconds=1.0)
    with _sim(faults) as sim:
        outcome = run_search(conn, store, sim, OPTS, timeout_s=0.4)
        slow = _faulted(sim, "slow")
        _assert_exact(conn, silver, sim, outcome)
    assert slow == 3
    # a loaded machine may time out once more; never less than the three slow answers
    assert outcome.stats["transport_errors"] >= 3
    assert outcome.stats["retries"] == outcome.stats["transport_errors"]


def test_truncated_bodies_never_reach_bronze(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    with _sim(FaultPlan(by_request={2: "truncate", 3: "truncate", 7: "truncate"})) as sim:
        outcome = run_search(conn, store, sim, OPTS)
        _assert_exact(conn, silver, sim, outcome)
    assert outcome.stats["retries"] == 3
    assert outcome.stats["transport_errors"] == 3
    keys = list(store.list())
    assert len(keys) == PAGES
    for key in keys:
        result = read_envelope(store.get(key)).payload["SearchResult"]
        assert len(result["SearchResultItems"]) == result["SearchResultCount"] > 0


def test_dropped_connections(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    with _sim(FaultPlan(by_request={1: "drop", 4: "drop", 9: "drop"})) as sim:
        outcome = run_search(conn, store, sim, OPTS)
        dropped = _faulted(sim, "drop")
        _assert_exact(conn, silver, sim, outcome)
    assert dropped == 3  # the planning request (page 1) included
    assert outcome.stats["retries"] == 3


def test_connection_reset_mid_body(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    run_search: Any,
    silver: Silver,
    fault_proxy: Any,
) -> None:
    with _sim(FaultPlan()) as sim:
        port = int(sim.base_url.rsplit(":", 1)[1])
        proxy = fault_proxy("127.0.0.1", port)
        # 1st connection: RST after 50 kB (mid page 1); 2nd: after 500 kB (mid-body of a
        # later page); the 3rd carries the rest
        proxy.reset_after = {1: 50_000, 2: 500_000}.get
        outcome = run_search(conn, store, sim, OPTS, api_base=proxy.url)
        _assert_exact(conn, silver, sim, outcome)
    assert proxy.resets == 2
    assert proxy.connections == 3
    assert outcome.stats["retries"] == 2
    assert outcome.stats["transport_errors"] == 2


def test_every_fault_kind_at_random_with_concurrency(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, run_search: Any, silver: Silver
) -> None:
    faults = FaultPlan(
        rate=0.35,
        kinds=("429", "500", "503", "slow", "truncate", "drop"),
        retry_after="1",
        slow_seconds=1.0,
        seed=3,  # first 15 requests: 429 slow truncate 500 drop drop 503 truncate
    )
    opts = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE, concurrency=3)
    with _sim(faults) as sim:
        outcome = run_search(conn, store, sim, opts, timeout_s=0.4, max_attempts=12)
        kinds = {r.fault for r in sim.requests() if r.fault}
        faulted = sum(1 for r in sim.requests() if r.fault)
        _assert_exact(conn, silver, sim, outcome)
    assert kinds == {"429", "500", "503", "slow", "truncate", "drop"}, kinds
    assert outcome.stats["retries"] >= faulted
    summary_line = json.dumps(outcome.result.summary)
    assert KEY not in summary_line
