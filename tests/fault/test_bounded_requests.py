"""Issue 11 items 4 and 5: every request is bounded, and no header value crashes a run.

A hostile server of our own (`tests/hostile_http.py`) sits on 127.0.0.1 in front of the
simulator and mistreats chosen pages: trickles the body or the headers at 1 byte/s (no read
ever times out), sends a gzip bomb, or answers 503 with ``Retry-After``/``Date`` values that
overflow the standard library. In-process `execute_run`, real PostgreSQL, local bronze;
backoff waits are recorded, never slept. The only real waits are the request deadlines
(1.5 s each) that the trickles run into.

Universe: 200 jobs nationwide, 40 per page = 5 pages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from hostile_http import HostileServer
from sleeps import Sleeps
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.run import RunOptions, RunResult, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "bounded-key-5d0c1e"
JOBS = 200
PER_PAGE = 40
PAGES = 5
OPTS = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE)

Silver = Callable[[psycopg.Connection[Any]], set[str]]


def _run(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    base: str,
    opts: RunOptions = OPTS,
    **config: Any,
) -> tuple[RunResult, dict[str, Any], list[float]]:
    settings: dict[str, Any] = {
        "api_base": base,
        "auth_key": SecretStr(KEY),
        "user_agent": "bounded@tasman-etl.invalid",
        # no spacing: the recorded sleeps are the backoff waits alone
        "requests_per_second": 1e9,
        "timeout_s": 2.0,
        "max_attempts": 3,
        **config,
    }
    sleeps = Sleeps()
    with UsajobsClient(ClientConfig(**settings), sleep=sleeps) as client:
        try:
            result = execute_run(conn, store, client, opts, stop=threading.Event())
        finally:
            stats = dict(client.stats)
    return result, stats, sleeps.calls


def _failed_pages(conn: psycopg.Connection[Any]) -> dict[str, str]:
    rows = conn.execute("SELECT page_key, error FROM ingest_page WHERE status = 'failed'")
    return {r[0]: r[1] for r in rows.fetchall()}


@pytest.fixture
def sim() -> Any:
    with SimulatorServer(SimulatorConfig(jobs=JOBS, seed=11, auth_key=KEY)) as server:
        yield server


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["trickle", "trickle-headers"])
def test_a_trickled_page_ends_at_the_deadline_and_the_next_run_is_not_refused(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
    silver: Silver,
    kind: str,
) -> None:
    # Page 2 trickles at 1 byte/s on both attempts: HTTP_TIMEOUT_S=2 never fires (a byte
    # comes every second); the 1.5 s deadline ends each attempt, then the page fails.
    with HostileServer(sim.base_url, {2: [kind, kind]}) as hostile:
        result, stats, _ = _run(conn, store, hostile.base_url, deadline_s=1.5, max_attempts=2)
        assert [t for _, t in hostile.log].count(kind) == 2
    assert result.failed
    assert result.summary["status"] == "failed"
    failed = _failed_pages(conn)
    assert list(failed) == ["page=0002"]
    assert "giving up after 2 attempts" in failed["page=0002"]
    assert "request deadline of 1.5 s" in failed["page=0002"]
    assert stats["retries"] == 1
    assert len(silver(conn)) == JOBS - PER_PAGE  # the other 4 pages loaded

    # The first run is over and holds no lock: the next run of the same search goes ahead.
    with HostileServer(sim.base_url) as healthy:
        resumed, _, _ = _run(
            conn, store, healthy.base_url, RunOptions(query=SearchQuery(), resume=result.run_id)
        )
    assert not resumed.failed, resumed.summary
    assert resumed.summary["complete"] is True
    assert silver(conn) == set(sim.matching({}))


@pytest.mark.timeout(60)
def test_a_trickled_page_is_retried_within_the_deadline(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
    silver: Silver,
) -> None:
    with HostileServer(sim.base_url, {3: ["trickle"]}) as hostile:
        result, stats, _ = _run(conn, store, hostile.base_url, deadline_s=1.5)
    assert not result.failed, result.summary
    assert result.summary["complete"] is True
    assert stats["retries"] == 1
    assert silver(conn) == set(sim.matching({}))


@pytest.mark.timeout(60)
def test_a_gzip_bomb_fails_its_page_once_not_memory(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
    silver: Silver,
) -> None:
    # 300 MB of spaces gzipped to ~300 KB, against the default cap of 128 MB decompressed.
    with HostileServer(sim.base_url, {2: ["bomb"]}, bomb_mb=300) as hostile:
        result, stats, _ = _run(conn, store, hostile.base_url)
        asked = [t for p, t in hostile.log if p == 2]
    assert result.failed
    failed = _failed_pages(conn)
    assert list(failed) == ["page=0002"]
    assert "passed the cap of 134217728 bytes after decompression" in failed["page=0002"]
    assert asked == ["bomb"]  # refused once, never retried: a bomb does not shrink
    assert stats["retries"] == 0
    assert len(silver(conn)) == JOBS - PER_PAGE

    with HostileServer(sim.base_url) as healthy:
        resumed, _, _ = _run(
            conn, store, healthy.base_url, RunOptions(query=SearchQuery(), resume=result.run_id)
        )
    assert not resumed.failed, resumed.summary
    assert silver(conn) == set(sim.matching({}))


@pytest.mark.timeout(60)
def test_a_body_declared_over_the_cap_is_refused_unread(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
) -> None:
    # Real pages of 40 jobs are ~100-200 KB: a 64 KB cap refuses page 1 by Content-Length.
    with HostileServer(sim.base_url) as hostile:
        result, stats, _ = _run(conn, store, hostile.base_url, max_body_bytes=64 * 1024)
    assert result.failed
    assert result.summary["status"] == "failed"
    assert "passes the cap of 65536 bytes" in (result.summary.get("error") or "")
    assert stats["requests"] == 1


@pytest.mark.timeout(60)
def test_overflowing_retry_after_and_date_headers_are_ignored(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    sim: SimulatorServer,
    silver: Silver,
) -> None:
    # Page 1 (planning) and page 3 answer 503 with Retry-After and Date of a 20-digit zone
    # offset. Before: OverflowError (page 1: a traceback, the run left `running`).
    plan = {1: ["bad-dates"], 3: ["bad-dates", "bad-dates"]}
    with HostileServer(sim.base_url, plan) as hostile:
        result, stats, sleeps = _run(conn, store, hostile.base_url)
        assert [t for _, t in hostile.log].count("bad-dates") == 3
    assert not result.failed, result.summary
    assert result.summary["complete"] is True
    assert stats["retries"] == 3
    assert stats["by_status"]["503"] == 3
    # The header was ignored: full-jitter backoff (base 1 s: 0-1 s, 0-2 s), not a date.
    assert len(sleeps) == 3 and all(0 <= s <= 2 for s in sleeps)
    assert silver(conn) == set(sim.matching({}))
