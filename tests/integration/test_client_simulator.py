"""The search and codelist clients against the simulated USAJOBS API over real HTTP (loopback).

Sleep is injected as a recorder, so retries never really wait; the simulator's `matching()`
is the uncapped truth every fetch is compared with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from tasman_etl.errors import AuthError
from tasman_etl.http.codelists import CodelistClient, label_lookup
from tasman_etl.http.partition import CAP
from tasman_etl.http.usajobs import (
    ClientConfig,
    SearchPlan,
    SearchQuery,
    UsajobsClient,
    plan_search,
)
from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

pytestmark = pytest.mark.integration

KEY = "sim-key-5f2c9a7e1d"
UA = "integration-tests@example.org"


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimulatorServer]]:
    """Start simulators on 127.0.0.1 (free port) and stop them after the test."""
    started: list[SimulatorServer] = []

    def start(**config: Any) -> SimulatorServer:
        faults = config.pop("faults", FaultPlan())
        server = SimulatorServer(SimulatorConfig(auth_key=KEY, faults=faults, **config))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(sim: SimulatorServer, sleep: SleepRecorder, **overrides: Any) -> UsajobsClient:
    settings: dict[str, Any] = {
        "api_base": sim.base_url,
        "auth_key": SecretStr(KEY),
        "user_agent": UA,
        # No spacing: the recorded sleeps are the backoff waits alone (with 1,000/s, a retry
        # right after a recorded, not slept, backoff could wait a few microseconds for its slot).
        "requests_per_second": 1e9,
        "timeout_s": 10.0,
        "max_attempts": 8,
        "retry_budget": 500,
    }
    settings.update(overrides)
    return UsajobsClient(ClientConfig(**settings), sleep=sleep)


def fetch_all(client: UsajobsClient, plan: SearchPlan) -> list[str]:
    """Every control number of every page of the plan, in fetch order (duplicates kept)."""
    ids: list[str] = []
    for partition in plan.partitions:
        for page in client.iter_pages(partition):
            ids.extend(page.control_numbers)
    return ids


def search_records(sim: SimulatorServer) -> list[Any]:
    return [r for r in sim.requests() if r.path.lower() == "/api/search"]


def test_all_pages_of_small_queries_match_the_truth(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim = start_sim(jobs=300, seed=7)
    sleep = SleepRecorder()
    queries = [
        SearchQuery(),
        SearchQuery(keyword="data engineering", location_name="Chicago, Illinois", radius_miles=50),
        SearchQuery(keyword="data"),
    ]
    with make_client(sim, sleep) as client:
        for query in queries:
            before = len(search_records(sim))
            plan = client.plan(query, codelists=None, results_per_page=40)
            truth = sim.matching(query.to_params())
            assert len(plan.partitions) == 1
            assert plan.partitions[0].count_all == len(truth)
            ids = fetch_all(client, plan)
            assert len(ids) == len(set(ids))  # no row twice across pages
            assert set(ids) == set(truth)
            records = search_records(sim)[before:]
            assert {r.params["ResultsPerPage"] for r in records} == {"40"}
            pages = [int(r.params["Page"]) for r in records]
            assert pages == list(range(1, plan.partitions[0].pages + 1))
            assert all(r.had_auth for r in records)
    assert sum(len(sim.matching(q.to_params())) for q in queries[1:]) > 0  # not a vacuous check
    assert sleep.calls == []
    assert client.stats["retries"] == 0


def test_wrong_key_is_an_auth_error_after_one_request(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    sim = start_sim(jobs=10, seed=1)
    sleep = SleepRecorder()
    with (
        make_client(sim, sleep, auth_key=SecretStr("not-the-key-123")) as client,
        pytest.raises(AuthError, match="USAJOBS_AUTH_KEY") as info,
    ):
        client.fetch_page(SearchQuery(), 1)
    assert "not-the-key-123" not in str(info.value)
    assert [r.status for r in search_records(sim)] == [401]
    assert sleep.calls == []


def test_random_429_and_503_faults_still_give_the_exact_result(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    faults = FaultPlan(rate=0.10, kinds=("429", "503"), retry_after="2", seed=5)
    sim = start_sim(jobs=2_000, seed=11, faults=faults)
    sleep = SleepRecorder()
    with make_client(sim, sleep, max_backoff_s=30.0) as client:
        plan = client.plan(SearchQuery(), codelists=None, results_per_page=100)
        ids = fetch_all(client, plan)
        stats = client.stats
    assert set(ids) == set(sim.matching({}))
    assert len(ids) == 2_000
    records = search_records(sim)
    faulted = [r for r in records if r.fault is not None]
    assert faulted, "the fault plan injected nothing; the test would prove nothing"
    assert {r.status for r in faulted} <= {429, 503}
    assert stats["retries"] == len(faulted)
    assert stats["requests"] == len(records)
    assert stats["by_status"].get("429", 0) + stats["by_status"].get("503", 0) == len(faulted)
    # every retry honoured Retry-After: 2
    assert sleep.calls == [2.0] * len(faulted)


def test_truncated_dropped_slow_and_500_responses_are_recovered(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    faults = FaultPlan(
        by_request={2: "truncate", 3: "drop", 5: "500", 6: "slow", 8: "truncate"},
        slow_seconds=3.0,
        retry_after=None,
    )
    sim = start_sim(jobs=700, seed=3, faults=faults)
    sleep = SleepRecorder()
    with make_client(sim, sleep, timeout_s=0.5) as client:
        plan = client.plan(SearchQuery(), codelists=None, results_per_page=100)
        ids = fetch_all(client, plan)
        stats = client.stats
    assert sorted(ids) == sorted(sim.matching({}))
    faulted = [(r.n, r.fault) for r in search_records(sim) if r.fault]
    assert faulted == [(2, "truncate"), (3, "drop"), (5, "500"), (6, "slow"), (8, "truncate")]
    assert stats["retries"] == 5
    assert stats["transport_errors"] == 4  # truncate, drop, slow (timeout), truncate
    assert len(sleep.calls) == 5
    for delay in sleep.calls:
        assert 0 <= delay <= 60.0


def test_codelists_from_the_simulator(start_sim: Callable[..., SimulatorServer]) -> None:
    sim = start_sim(jobs=200, seed=9)
    sleep = SleepRecorder()
    with CodelistClient(sim.base_url, sleep=sleep) as codelists:
        series = codelists.get("occupationalseries")
        again = codelists.get("OccupationalSeries")
        paths = label_lookup(codelists.get("hiringpaths"))
    assert again is series
    assert sum(1 for r in sim.requests() if "codelist" in r.path.lower()) == 2
    assert all(not r.had_auth for r in sim.requests())
    used_series = {
        c["Code"] for item in sim.items for c in item["MatchedObjectDescriptor"]["JobCategory"]
    }
    assert used_series <= set(series.codes())
    used_paths = {
        p
        for item in sim.items
        for p in item["MatchedObjectDescriptor"]["UserArea"]["Details"]["HiringPath"]
    }
    assert used_paths
    assert all(p in paths for p in used_paths)  # lower-case in items, upper-case in the list


def test_series_too_big_for_the_cap_is_split_by_organization(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    # A lowered cap makes single series "too big" in a small universe, exercising the
    # organization split over real HTTP (the simulator itself caps at 10,000).
    cap = 150
    sim = start_sim(jobs=3_000, seed=21)
    truth = set(sim.matching({}))
    sleep = SleepRecorder()
    with (
        make_client(sim, sleep) as client,
        CodelistClient(sim.base_url, sleep=sleep) as codelists,
    ):
        plan = plan_search(
            client, SearchQuery(), codelists=codelists, cap=cap, results_per_page=100
        )
        ids = fetch_all(client, plan)
    by_org = [p for p in plan.partitions if p.query.organization_codes]
    assert by_org, "no series needed the organization split"
    assert all(len(p.query.job_category_codes) == 1 for p in by_org)
    for partition in plan.partitions:
        assert partition.count_all == len(sim.matching(partition.params))
        assert partition.count_all < cap or partition.over_cap
    assert set(ids) == truth
    assert [p.key for p in plan.partitions] == [
        f"p{i:03d}" for i in range(1, len(plan.partitions) + 1)
    ]


def test_concurrent_probes_give_the_same_plan_with_the_same_requests(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    # The probes of one level of the split go out together (--concurrency); the plan must be
    # the one a sequential split makes: same partitions, same order, same probe count.
    sim = start_sim(jobs=3_000, seed=21)
    sleep = SleepRecorder()
    plans = []
    for concurrency in (1, 4):
        with (
            make_client(sim, sleep) as client,
            CodelistClient(sim.base_url, sleep=sleep) as codelists,
        ):
            plans.append(
                plan_search(
                    client,
                    SearchQuery(),
                    codelists=codelists,
                    cap=150,
                    results_per_page=100,
                    concurrency=concurrency,
                )
            )
    sequential, concurrent = plans
    assert len(sequential.partitions) > 4
    assert [(p.key, p.params, p.count_all, p.over_cap) for p in concurrent.partitions] == [
        (p.key, p.params, p.count_all, p.over_cap) for p in sequential.partitions
    ]
    # a split plan keeps no probe's page: page 1 is fetched with the others
    assert [p.first_page for p in concurrent.partitions + sequential.partitions] == [None] * (
        len(concurrent.partitions) + len(sequential.partitions)
    )
    assert concurrent.requests_used == sequential.requests_used


@pytest.mark.slow
def test_capped_universe_is_partitioned_and_fully_collected(
    start_sim: Callable[..., SimulatorServer],
) -> None:
    started = time.perf_counter()
    sim = start_sim(jobs=25_000, seed=42)
    truth = set(sim.matching({}))
    assert len(truth) == 25_000
    sleep = SleepRecorder()
    with (
        make_client(sim, sleep) as client,
        CodelistClient(sim.base_url, sleep=sleep) as codelists,
    ):
        plan = client.plan(SearchQuery(), codelists=codelists)
        assert len(plan.partitions) > 1
        assert not plan.over_cap
        for partition in plan.partitions:
            assert 0 < partition.count_all < CAP
            assert partition.key is not None
            assert (
                set(partition.params) == {"JobCategoryCode"} or "Organization" in partition.params
            )
            # the partition's own count agrees with the uncapped truth for its parameters
            assert partition.count_all == len(sim.matching(partition.params))
        ids = fetch_all(client, plan)
        stats = client.stats
    assert set(ids) == truth  # union of partitions == everything, after dedupe
    pages_fetched = sum(p.pages for p in plan.partitions)
    # every page of every partition fetched once, page 1 included (probes keep no page)
    assert stats["requests"] == plan.requests_used + pages_fetched
    elapsed = time.perf_counter() - started
    print(
        f"\n25k universe: {len(plan.partitions)} partitions, {plan.requests_used} planning "
        f"requests, {stats['requests']} requests in all, {len(ids)} rows "
        f"({len(ids) - len(truth)} duplicates), {elapsed:.1f} s"
    )
