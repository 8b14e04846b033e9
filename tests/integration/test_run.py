"""`run` end to end in-process: the simulator over real HTTP, a real PostgreSQL, local bronze.

Backoff waits go through an injected sleep that records and returns at once: no test sleeps
through real backoff.
"""

from __future__ import annotations

import gzip
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from sleeps import Sleeps
from tasman_etl.db import repository as repo
from tasman_etl.errors import AuthError
from tasman_etl.http.codelists import CodelistClient
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.reference import PersistingCodelists
from tasman_etl.runner.replay import replay
from tasman_etl.runner.run import RunOptions, RunResult, execute_run
from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import BronzeStore, LocalBronzeStore, read_envelope

KEY = "sim-key-3b6c0e9d1f"
DEMO = SearchQuery(keyword="data engineering", location_name="Chicago, Illinois", radius_miles=50)
NATIONWIDE = SearchQuery()


def _run(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    sim: SimulatorServer,
    opts: RunOptions,
    *,
    key: str = KEY,
    stop: threading.Event | None = None,
    sleeps: Sleeps | None = None,
    retry_budget: int = 500,
    progress: Any = None,
) -> RunResult:
    config = ClientConfig(
        api_base=sim.base_url,
        auth_key=SecretStr(key),
        user_agent="tests@tasman-etl.invalid",
        requests_per_second=1000,
        timeout_s=5,
        retry_budget=retry_budget,
        max_attempts=8,
    )
    sleep = sleeps or Sleeps()
    with (
        UsajobsClient(config, sleep=sleep) as client,
        CodelistClient(sim.base_url, sleep=sleep) as codelists,
    ):
        return execute_run(
            conn,
            store,
            client,
            opts,
            stop=stop or threading.Event(),
            codelists=PersistingCodelists(codelists, conn),
            progress=progress,
        )


def _loaded(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}


def test_run_loads_exactly_the_simulators_truth(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    with SimulatorServer(SimulatorConfig(jobs=1500, seed=7, auth_key=KEY)) as sim:
        truth = set(sim.matching(DEMO.to_params()))
        result = _run(conn, store, sim, RunOptions(query=DEMO, results_per_page=100, concurrency=3))
    s = result.summary
    assert len(truth) > 200  # several pages of 100
    assert not result.failed, s
    assert _loaded(conn) == truth
    assert s["inserted"] == len(truth) == s["unique_jobs"]
    assert s["complete"] is True
    assert s["under_collection"] == []
    assert s["pages"] == -(-len(truth) // 100)
    pages = conn.execute(
        "SELECT count(*) FROM ingest_page WHERE run_id = %s AND status = 'loaded'", (result.run_id,)
    ).fetchone()
    assert pages == (s["pages"],)
    keys = list(store.list(run_id=result.run_id))
    assert len(keys) == s["pages"]
    # the envelope names the run and the page as the seed's document specifies
    envelope = read_envelope(store.get(keys[1]))
    assert envelope.ingest["ingest_run_id"] == envelope.ingest["run_id"] == result.run_id
    assert envelope.run_id == result.run_id
    assert envelope.ingest["notes"] == f"raw page 2 of {s['pages']}"


@pytest.mark.slow
@pytest.mark.parametrize("fault_rate", [0.0, 0.1], ids=["clean", "10pct-429-503"])
def test_25000_jobs_behind_the_cap_load_exactly(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, fault_rate: float
) -> None:
    faults = FaultPlan(rate=fault_rate, kinds=("429", "503"), retry_after="2", seed=3)
    sleeps = Sleeps()
    with SimulatorServer(SimulatorConfig(jobs=25_000, seed=11, auth_key=KEY, faults=faults)) as sim:
        truth = set(sim.matching(NATIONWIDE.to_params()))
        assert len(truth) == 25_000
        result = _run(conn, store, sim, RunOptions(query=NATIONWIDE, concurrency=2), sleeps=sleeps)
        faulted = sum(1 for r in sim.requests() if r.fault)
    s = result.summary
    assert not result.failed, s.get("error")
    assert _loaded(conn) == truth
    assert s["unique_jobs"] == 25_000
    assert len(s["partitions"]) > 2
    assert all(p["api_total"] < 10_000 for p in s["partitions"])
    assert s["under_collection"] == []
    assert s["complete"] is True
    if fault_rate:
        assert faulted > 0
        assert s["retries"] >= faulted
        assert 2.0 in sleeps.calls  # Retry-After honoured, through the injected sleep
    else:
        assert s["retries"] == 0


def test_replay_restores_counts_and_hashes(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    with SimulatorServer(SimulatorConfig(jobs=800, seed=5, auth_key=KEY)) as sim:
        result = _run(conn, store, sim, RunOptions(query=DEMO, results_per_page=50))
    assert not result.failed
    tables = ("job", "job_location", "job_category", "job_grade", "job_hiring_path", "job_details")

    def snapshot() -> tuple[dict[str, int], list[tuple[str, str]]]:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in tables
        }
        hashes = conn.execute("SELECT control_number, content_hash FROM job ORDER BY 1").fetchall()
        return counts, hashes

    before = snapshot()
    assert before[0]["job"] > 0
    conn.execute("DELETE FROM job")
    assert conn.execute("SELECT count(*) FROM job_location").fetchone() == (0,)
    replayed = replay(conn, store, run_id=result.run_id)
    assert not replayed.failed
    assert replayed.summary["inserted"] == before[0]["job"]
    assert snapshot() == before


def test_stop_then_resume_loads_bronze_pages_without_refetching(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    stop = threading.Event()

    def stop_after_three(done: int, total: int, label: str) -> None:
        if done >= 3:
            stop.set()

    with SimulatorServer(SimulatorConfig(jobs=1500, seed=9, auth_key=KEY)) as sim:
        truth = set(sim.matching(DEMO.to_params()))
        first = _run(
            conn,
            store,
            sim,
            # ~28 pages: more than the run reads ahead, so some are not even fetched
            RunOptions(query=DEMO, results_per_page=10),
            stop=stop,
            progress=stop_after_three,
        )
        assert first.summary["status"] == "aborted"
        assert first.failed
        loaded_before = len(_loaded(conn))
        assert 0 < loaded_before < len(truth)
        in_bronze = {(k.part or "", k.page) for k in store.list(run_id=first.run_id)}
        # a page in bronze but not loaded: resume must load it from bronze, not the API
        conn.execute(
            "UPDATE ingest_page SET status = 'pending' WHERE run_id = %s AND page = 2",
            (first.run_id,),
        )
        seen = len(sim.requests())
        during: list[tuple[Any, ...] | None] = []

        def watch(done: int, total: int, label: str) -> None:
            during.append(
                conn.execute(
                    "SELECT status, finished_at, error FROM ingest_run WHERE run_id = %s",
                    (first.run_id,),
                ).fetchone()
            )

        second = _run(conn, store, sim, RunOptions(query=DEMO, resume=first.run_id), progress=watch)
        later = [r for r in sim.requests()[seen:] if r.path.lower().endswith("/search")]
    # the resumed run is reopened while it works (the lock's holder lookup relies on it)
    assert during and set(during) == {("running", None, None)}
    assert not second.failed, second.summary
    assert second.run_id == first.run_id
    assert _loaded(conn) == truth
    assert second.summary["complete"] is True
    asked = [int(r.params["Page"]) for r in later]
    # the last request reads page 1 again: the check that no row moved during the sweep
    assert asked[-1] == 1
    refetched = set(asked[:-1]) & {page for _, page in in_bronze}
    assert refetched == set(), f"pages already in bronze were requested again: {refetched}"
    assert later, "the rest of the run was fetched"


def test_auth_failure_stops_the_run_and_stores_nothing(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    with (
        SimulatorServer(SimulatorConfig(jobs=100, seed=1, auth_key=KEY)) as sim,
        pytest.raises(AuthError, match="USAJOBS_AUTH_KEY"),
    ):
        _run(conn, store, sim, RunOptions(query=DEMO), key="wrong-key-000")
    assert list(store.list()) == []
    row = conn.execute("SELECT status, error FROM ingest_run").fetchone()
    assert row is not None
    assert row[0] == "failed"


def test_fault_outlasting_the_budget_fails_pages_then_resume_completes(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    with SimulatorServer(SimulatorConfig(jobs=1500, seed=9, auth_key=KEY)) as sim:
        truth = set(sim.matching(DEMO.to_params()))
        # page 1 (planning) passes; then every search request fails with 503
        sim.faults = FaultPlan(by_request={n: "503" for n in range(2, 200)}, retry_after=None)
        first = _run(conn, store, sim, RunOptions(query=DEMO, results_per_page=40), retry_budget=3)
        assert first.failed
        assert first.summary["status"] == "failed"
        assert first.summary["failed_pages"] > 0
        failed = repo.page_statuses(conn, first.run_id)
        assert "failed" in failed.values()
        sim.faults = FaultPlan()
        second = _run(conn, store, sim, RunOptions(query=DEMO, resume=first.run_id))
    assert not second.failed, second.summary
    assert _loaded(conn) == truth


def test_api_key_never_reaches_bronze_logs_or_ledger(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    with (
        SimulatorServer(
            SimulatorConfig(
                jobs=600, seed=2, auth_key=KEY, faults=FaultPlan(by_request={2: "429", 3: "drop"})
            )
        ) as sim,
        capture_logs() as logs,
    ):
        result = _run(conn, store, sim, RunOptions(query=DEMO, results_per_page=50))
        with pytest.raises(AuthError) as refused:
            _run(conn, store, sim, RunOptions(query=DEMO), key=KEY + "-wrong")
    assert not result.failed
    for path in (tmp_path / "bronze").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            assert KEY.encode() not in text, path.name
    assert KEY not in repr(logs)
    assert KEY not in str(refused.value) and KEY not in repr(refused.value)
    dump = conn.execute(
        "SELECT string_agg(r::text, ' ') FROM (SELECT * FROM ingest_run) r"
    ).fetchone()
    pages = conn.execute(
        "SELECT string_agg(p::text, ' ') FROM (SELECT * FROM ingest_page) p"
    ).fetchone()
    assert dump is not None and KEY not in (dump[0] or "")
    assert pages is not None and KEY not in (pages[0] or "")


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
def test_run_and_replay_with_s3_bronze(
    conn: psycopg.Connection[Any], s3_server: Any, bucket: str
) -> None:
    from tasman_etl.storage.bronze_s3 import S3BronzeStore

    s3 = S3BronzeStore(
        bucket, "bronze/usajobs", endpoint_url=s3_server.endpoint_url, region=s3_server.region
    )
    with SimulatorServer(SimulatorConfig(jobs=600, seed=4, auth_key=KEY)) as sim:
        truth = set(sim.matching(DEMO.to_params()))
        result = _run(conn, s3, sim, RunOptions(query=DEMO, results_per_page=25))
    assert not result.failed, result.summary
    assert _loaded(conn) == truth
    keys = list(s3.list(run_id=result.run_id))
    assert len(keys) == result.summary["pages"]
    conn.execute("DELETE FROM job")
    replayed = replay(conn, s3, run_id=result.run_id)
    assert not replayed.failed
    assert _loaded(conn) == truth


def test_stopping_early_is_reported_as_under_collection(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    with SimulatorServer(SimulatorConfig(jobs=1500, seed=7, auth_key=KEY)) as sim:
        truth = set(sim.matching(DEMO.to_params()))
        result = _run(conn, store, sim, RunOptions(query=DEMO, results_per_page=50, max_pages=2))
    s = result.summary
    assert s["status"] == "succeeded"
    assert s["pages"] == 2
    assert len(_loaded(conn)) == 100 < len(truth)
    assert s["complete"] is False
    assert s["under_collection"] == ["(all)"]
    assert s["partitions"][0]["api_total"] == len(truth)
    row = conn.execute(
        "SELECT complete FROM ingest_run WHERE run_id = %s", (result.run_id,)
    ).fetchone()
    assert row == (False,)


# -- known pages: a repeat of a cleanly loaded page is not parsed again (ADR 0029) ----------


def _pages(conn: psycopg.Connection[Any], run_id: str) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT page_key, sha256, items_digest, dq, unchanged, items FROM ingest_page "
        "WHERE run_id = %s",
        (run_id,),
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_an_unchanged_rerun_knows_every_page_and_still_sees_every_job(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    opts = RunOptions(query=DEMO, results_per_page=50, concurrency=2)
    with SimulatorServer(SimulatorConfig(jobs=900, seed=11, auth_key=KEY)) as sim:
        truth = set(sim.matching(DEMO.to_params()))
        first = _run(conn, store, sim, opts)
        seen_before = dict(conn.execute("SELECT control_number, last_seen_at FROM job").fetchall())
        with capture_logs() as logs:
            again = _run(conn, store, sim, opts)
    assert not first.failed and not again.failed, again.summary
    before, after = _pages(conn, first.run_id), _pages(conn, again.run_id)
    assert len(before) >= 3 and before.keys() == after.keys()
    for key, (sha, digest, dq, _, items) in before.items():
        assert digest is not None  # every simulated page is clean
        # the same bytes, known: the same digest and data-quality results, all unchanged
        assert after[key] == (sha, digest, dq, items, items)
    known = [e for e in logs if e["event"] == "page_known"]
    assert len(known) == len(before)
    s = again.summary
    assert (s["inserted"], s["updated"], s["complete"]) == (0, 0, True)
    seen_after = dict(conn.execute("SELECT control_number, last_seen_at FROM job").fetchall())
    assert seen_after.keys() == truth
    assert all(seen_after[cn] > seen_before[cn] for cn in truth)  # every job seen again
    # bronze holds this run's pages too, byte for byte the payloads of the first run's
    first_keys, again_keys = (
        list(store.list(run_id=first.run_id)),
        list(store.list(run_id=again.run_id)),
    )
    assert [read_envelope(store.get(k)).payload for k in again_keys] == [
        read_envelope(store.get(k)).payload for k in first_keys
    ]


def test_a_page_whose_jobs_changed_in_the_database_is_parsed_again(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    opts = RunOptions(query=DEMO, results_per_page=50, concurrency=2)
    with SimulatorServer(SimulatorConfig(jobs=900, seed=11, auth_key=KEY)) as sim:
        first = _run(conn, store, sim, opts)
        # another writer changed one job since (its stored content is not the page's)
        cn, page = conn.execute(
            "SELECT cn, page_key FROM ingest_page, unnest(control_numbers) AS cn "
            "WHERE run_id = %s ORDER BY page_key LIMIT 1",
            (first.run_id,),
        ).fetchone()
        conn.execute(
            "UPDATE job SET content_hash = 'changed elsewhere' WHERE control_number = %s", (cn,)
        )
        conn.commit()
        with capture_logs() as logs:
            again = _run(conn, store, sim, opts)
    known = {e["page_key"] for e in logs if e["event"] == "page_known"}
    assert page not in known and len(known) == len(_pages(conn, first.run_id)) - 1
    assert again.summary["updated"] == 1  # the page was parsed: the job is the API's again
    stored = conn.execute("SELECT content_hash FROM job WHERE control_number = %s", (cn,))
    assert stored.fetchone() != ("changed elsewhere",)


def test_a_job_changed_at_the_api_changes_its_page_bytes_and_is_loaded(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    opts = RunOptions(query=DEMO, results_per_page=50, concurrency=2)
    with SimulatorServer(SimulatorConfig(jobs=900, seed=11, auth_key=KEY)) as sim:
        first = _run(conn, store, sim, opts)
        cn = sorted(sim.matching(DEMO.to_params()))[0]
        sim.update(cn, total_openings="17")  # not a searched field: no page reorders
        with capture_logs() as logs:
            again = _run(conn, store, sim, opts)
    known = [e for e in logs if e["event"] == "page_known"]
    assert len(known) == len(_pages(conn, first.run_id)) - 1
    assert (again.summary["updated"], again.summary["inserted"]) == (1, 0)
    openings = conn.execute(
        "SELECT d.total_openings FROM job_details d JOIN job USING (job_id) "
        "WHERE control_number = %s",
        (cn,),
    )
    assert openings.fetchone() == ("17",)


def test_a_failing_known_page_lookup_only_costs_the_shortcut(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasman_etl.errors import DatabaseError
    from tasman_etl.runner.connections import SideConn

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("cannot look up a known page: QueryCanceled: statement timeout")

    opts = RunOptions(query=DEMO, results_per_page=50, concurrency=2)
    with SimulatorServer(SimulatorConfig(jobs=900, seed=11, auth_key=KEY)) as sim:
        first = _run(conn, store, sim, opts)
        monkeypatch.setattr(SideConn, "known_payload", refuse)
        monkeypatch.setattr(SideConn, "known_page", refuse)
        with capture_logs() as logs:
            again = _run(conn, store, sim, opts)
    assert not again.failed, again.summary
    events = [e["event"] for e in logs]
    assert "page_known" not in events  # every page parsed, as without the shortcut
    pages = len(_pages(conn, first.run_id))
    # the client asks for every page but page 1 (planning fetched it); the stages for all
    assert events.count("known_payload_unchecked") == pages - 1
    assert events.count("known_page_unchecked") == pages
    assert again.summary["unchanged"] == first.summary["inserted"]
    assert (again.summary["inserted"], again.summary["updated"]) == (0, 0)


def test_a_page_loaded_under_other_gate_settings_or_code_is_not_known() -> None:
    from tasman_etl.db.known import items_digest
    from tasman_etl.dq.gate import DqGate
    from tasman_etl.runner.pages import gate_identity

    pairs = [("1", "a"), ("2", "b")]
    gates = [
        None,
        DqGate(enforce=True, known_rate_codes=["PA"]),
        DqGate(enforce=False, known_rate_codes=["PA"]),
        DqGate(enforce=True, known_rate_codes=["PA"], item_count="warn"),
        DqGate(enforce=True, known_rate_codes=["PA", "PH"]),
    ]
    salts = {f"0.1.0|{gate_identity(g)}" for g in gates} | {f"0.1.1|{gate_identity(None)}"}
    assert len(salts) == len(gates) + 1
    assert len({items_digest(pairs, salt) for salt in salts}) == len(salts)
    assert items_digest(reversed(pairs), "s") == items_digest(pairs, "s")  # order-free
