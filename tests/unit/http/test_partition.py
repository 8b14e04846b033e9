"""Partition planning: the pure bisection/page arithmetic, then the planner over MockTransport."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import search_page
from tasman_etl.errors import FatalFetchError
from tasman_etl.http.partition import (
    CAP,
    Cell,
    Dimension,
    Filters,
    Paginator,
    chunk_codes,
    encoded_length,
    halves,
    is_capped,
    page_count,
    partition_key,
    split_cells,
)
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient, plan_search

# ----------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("count", "rpp", "pages"),
    [
        (742, 500, 2),
        (500, 500, 1),
        (501, 500, 2),
        (1, 500, 1),
        (0, 500, 0),
        (36, 25, 2),
        (9_999, 500, 20),
        (10_000, 500, 20),
        (250_000, 500, 20),  # rows past the cap are unreachable
        (10_000, 25, 400),  # the recorded 2021 page: NumberOfPages "400"
    ],
)
def test_page_count(count: int, rpp: int, pages: int) -> None:
    assert page_count(count, rpp) == pages


def test_page_count_rejects_zero_page_size() -> None:
    with pytest.raises(ValueError, match="results_per_page"):
        page_count(10, 0)


def test_cap_is_saturated_at_exactly_ten_thousand() -> None:
    assert CAP == 10_000
    assert not is_capped(9_999)
    assert is_capped(10_000)
    assert is_capped(10_001)
    assert is_capped(50, cap=50)


def test_partition_keys_are_short_sortable_and_safe() -> None:
    keys = [partition_key(i) for i in (1, 2, 10, 999)]
    assert keys == ["p001", "p002", "p010", "p999"]
    assert keys == sorted(keys)
    assert all(k.isalnum() for k in keys)
    with pytest.raises(ValueError, match="1-based"):
        partition_key(0)


def test_halves() -> None:
    assert halves(["a", "b", "c"]) == (("a", "b"), ("c",))
    assert halves(["a", "b"]) == (("a",), ("b",))
    with pytest.raises(ValueError, match="at least two"):
        halves(["a"])


def test_encoded_length_counts_percent_encoded_separators() -> None:
    assert encoded_length(["2210"]) == 4
    assert encoded_length(["2210", "1550"]) == len("2210%3B1550")
    assert encoded_length([]) == 0


@given(
    st.lists(st.text(alphabet="ABCDEF0123", min_size=1, max_size=8), max_size=60),
    st.integers(min_value=1, max_value=40),
)
def test_chunk_codes_keeps_order_and_respects_the_limit(codes: list[str], limit: int) -> None:
    chunks = chunk_codes(codes, limit)
    assert [c for chunk in chunks for c in chunk] == codes
    for chunk in chunks:
        assert chunk
        assert len(chunk) == 1 or encoded_length(chunk) <= limit


# ----------------------------------------------------------------------------- bisection


@dataclass(frozen=True)
class Job:
    id: str
    series: frozenset[str]
    orgs: frozenset[str]


def matches(job: Job, filters: Filters) -> bool:
    series = filters.get("job_category_codes")
    orgs = filters.get("organization_codes")
    return (not series or bool(job.series & set(series))) and (
        not orgs or bool(job.orgs & set(orgs))
    )


class Universe:
    """An in-memory search index with a saturating count, counting probes."""

    def __init__(self, jobs: list[Job], cap: int) -> None:
        self.jobs = jobs
        self.cap = cap
        self.probes: list[dict[str, tuple[str, ...]]] = []

    def matching(self, filters: Filters) -> list[Job]:
        return [j for j in self.jobs if matches(j, filters)]

    def probe(self, filters: Filters) -> int:
        self.probes.append(dict(filters))
        return min(len(self.matching(filters)), self.cap)


def make_jobs(n: int, series: list[str], orgs: list[str], seed: int = 1) -> list[Job]:
    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        s = {rng.choice(series)}
        if rng.random() < 0.1:
            s.add(rng.choice(series))  # some jobs carry two series
        jobs.append(Job(str(100_000 + i), frozenset(s), frozenset({rng.choice(orgs)})))
    return jobs


SERIES = [f"{n:04d}" for n in range(100, 2300, 100)]  # 22 series
ORGS = ["AF", "AR", "DD", "HE", "NV", "TR", "VA"]


def dims(series: list[str] = SERIES, orgs: list[str] = ORGS) -> list[Dimension]:
    return [
        Dimension("job_category_codes", tuple(series)),
        Dimension("organization_codes", tuple(orgs)),
    ]


def covered(universe: Universe, cells: list[Cell]) -> set[str]:
    return {j.id for cell in cells for j in universe.matching(cell.filters)}


def test_under_the_cap_is_one_cell_and_no_probe() -> None:
    universe = Universe(make_jobs(40, SERIES, ORGS), cap=50)
    cells = split_cells(40, dims(), universe.probe, cap=50)
    assert cells == [Cell({}, 40)]
    assert universe.probes == []


def test_bisection_yields_cells_under_the_cap_covering_everything() -> None:
    # like the real code list: many codes, jobs in only a few of them
    all_series = [f"{n:04d}" for n in range(0, 2400, 8)]
    universe = Universe(make_jobs(400, SERIES, ORGS), cap=50)
    split: list[dict[str, tuple[str, ...]]] = []
    cells = split_cells(
        50,
        dims(sorted(set(all_series) | set(SERIES))),
        universe.probe,
        cap=50,
        on_split=lambda f: split.append(dict(f)),
    )
    assert cells
    assert all(0 < c.count_all < 50 for c in cells)
    assert not any(c.over_cap for c in cells)
    assert covered(universe, cells) == {j.id for j in universe.jobs}
    # every cell is a set of series only: no series needed the organization split
    assert all(set(c.filters) == {"job_category_codes"} for c in cells)
    # cheaper than asking once per series, and nothing was probed twice
    assert len(universe.probes) < len(all_series) / 2
    assert len({tuple(sorted(p.items())) for p in universe.probes}) == len(universe.probes)
    # split nodes are exactly the probed nodes that are not cells
    probed = {tuple(sorted(p.items())) for p in universe.probes}
    leaves = {tuple(sorted(c.filters.items())) for c in cells}
    nonzero = {k for k in probed if universe.probe(dict(k)) > 0}
    assert {tuple(sorted(s.items())) for s in split} == nonzero - leaves


def test_cells_come_out_in_a_stable_order() -> None:
    jobs = make_jobs(400, SERIES, ORGS)
    first = split_cells(50, dims(), Universe(jobs, 50).probe, cap=50)
    again = split_cells(50, dims(), Universe(jobs, 50).probe, cap=50)
    assert first == again


def test_a_single_capped_series_is_split_by_organization() -> None:
    jobs = make_jobs(100, SERIES, ORGS) + [
        Job(f"big{i}", frozenset({"2200"}), frozenset({ORGS[i % len(ORGS)]})) for i in range(120)
    ]
    universe = Universe(jobs, cap=50)
    cells = split_cells(50, dims(), universe.probe, cap=50)
    assert all(c.count_all < 50 for c in cells)
    assert not any(c.over_cap for c in cells)
    by_org = [c for c in cells if "organization_codes" in c.filters]
    assert by_org
    assert all(c.filters["job_category_codes"] == ("2200",) for c in by_org)
    assert covered(universe, cells) == {j.id for j in jobs}


def test_unsplittable_cell_is_flagged_over_cap() -> None:
    jobs = [Job(f"x{i}", frozenset({"2210"}), frozenset({"TR"})) for i in range(80)]
    jobs += [Job(f"y{i}", frozenset({"0301"}), frozenset({"AF"})) for i in range(10)]
    universe = Universe(jobs, cap=50)
    cells = split_cells(50, dims(["0301", "2210"], ["AF", "TR"]), universe.probe, cap=50)
    assert cells == [
        Cell({"job_category_codes": ("0301",)}, 10),
        Cell({"job_category_codes": ("2210",), "organization_codes": ("TR",)}, 50, over_cap=True),
    ]


def test_no_dimension_to_split_on_flags_the_root() -> None:
    cells = split_cells(10_000, [Dimension("job_category_codes", ())], lambda f: 0)
    assert cells == [Cell({}, 10_000, over_cap=True)]


def test_long_code_lists_are_chunked_before_bisection() -> None:
    many = [f"{n:04d}" for n in range(1000)]
    universe = Universe([Job("1", frozenset({"0999"}), frozenset({"AF"}))], cap=1)
    split_cells(
        5,
        [Dimension("job_category_codes", tuple(many))],
        universe.probe,
        cap=1,
        max_filter_chars=700,
    )
    top = [p["job_category_codes"] for p in universe.probes[:1]]
    assert all(encoded_length(codes) <= 700 for p in universe.probes for codes in p.values())
    assert top[0][0] == "0000"


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=300),
    cap=st.integers(min_value=5, max_value=60),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_bisection_properties(n: int, cap: int, seed: int) -> None:
    jobs = make_jobs(n, SERIES[:9], ORGS[:4], seed=seed)
    universe = Universe(jobs, cap=cap)
    root = universe.probe({})
    cells = split_cells(root, dims(SERIES[:9], ORGS[:4]), universe.probe, cap=cap)
    for cell in cells:
        if cell.over_cap:
            # only a single series and a single organization can stay capped
            assert cell.filters["job_category_codes"].__len__() == 1
            assert len(cell.filters["organization_codes"]) == 1
        else:
            assert cell.count_all < cap
    if root < cap:
        assert cells == [Cell({}, root)]
    # coverage: every job is in some cell (over-cap cells under-collect, but still hold it)
    assert covered(universe, cells) == {j.id for j in jobs}


# ----------------------------------------------------------------------------- paginator


def test_paginator_walks_to_the_last_page() -> None:
    pager = Paginator(3, ["1", "2"])
    seen = []
    while pager.has_more():
        seen.append(pager.next_page)
        pager.advance([f"p{pager.next_page}"])
    assert seen == [2, 3]


def test_paginator_stops_on_empty_page_and_refuses_repeats() -> None:
    pager = Paginator(5, ["1"])
    pager.advance([])
    assert not pager.has_more()
    assert not Paginator(5, []).has_more()  # empty page 1: nothing more
    assert not Paginator(1, ["1"]).has_more()
    looping = Paginator(5, ["1", "2"])
    with pytest.raises(FatalFetchError, match="page 2 repeats page 1"):
        looping.advance(["1", "2"])


# ----------------------------------------------------------------------------- planner I/O


class FakeSearchApi:
    """A MockTransport handler over an in-memory universe, with the USAJOBS cap."""

    def __init__(self, jobs: list[Job], cap: int = CAP) -> None:
        self.universe = Universe(jobs, cap)
        self.cap = cap
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        filters: dict[str, tuple[str, ...]] = {}
        if params.get("JobCategoryCode"):
            filters["job_category_codes"] = tuple(params["JobCategoryCode"].split(";"))
        if params.get("Organization"):
            filters["organization_codes"] = tuple(params["Organization"].split(";"))
        found = self.universe.matching(filters)
        rpp, page = int(params["ResultsPerPage"]), int(params["Page"])
        reachable = found[: self.cap]
        items = reachable[(page - 1) * rpp : page * rpp]
        body = search_page(
            [{"MatchedObjectId": j.id} for j in items],
            count_all=min(len(found), self.cap),
            user_area={"NumberOfPages": "1"},
        )
        return httpx.Response(200, json=body)


class FakeCodelists:
    def __init__(self, lists: Mapping[str, list[str]]) -> None:
        self.lists = lists
        self.asked: list[str] = []

    def codes(self, name: str) -> list[str]:
        self.asked.append(name)
        return list(self.lists[name])


CODELISTS = {"occupationalseries": SERIES, "agencysubelements": ORGS}


def client_for(api: FakeSearchApi) -> UsajobsClient:
    return UsajobsClient(
        ClientConfig(api_base="https://data.usajobs.gov", requests_per_second=1000.0),
        transport=httpx.MockTransport(api),
        sleep=lambda s: None,
        clock=lambda: 0.0,
    )


def test_plan_under_the_cap_is_one_partition_with_page_one_kept() -> None:
    api = FakeSearchApi(make_jobs(742, SERIES, ORGS))
    codelists = FakeCodelists(CODELISTS)
    plan = client_for(api).plan(SearchQuery(keyword="data"), codelists=codelists)
    assert len(plan.partitions) == 1
    only = plan.partitions[0]
    assert only.key is None
    assert only.first_page.part is None
    assert (only.count_all, only.pages, only.over_cap) == (742, 2, False)
    assert only.first_page.page == 1
    assert len(only.first_page.items) == 500
    assert plan.requests_used == 1
    assert len(api.requests) == 1
    assert [(p.key, n) for p, n in plan.pages_to_fetch()] == [(None, 2)]
    assert codelists.asked == []  # no code list needed under the cap


def test_plan_with_zero_results_keeps_the_empty_first_page() -> None:
    api = FakeSearchApi([])
    plan = client_for(api).plan(SearchQuery(keyword="nothing"), codelists=None)
    only = plan.partitions[0]
    assert (only.count_all, only.pages) == (0, 1)
    assert only.first_page.items == []
    assert list(plan.pages_to_fetch()) == []
    assert plan.total_pages == 1


def test_plan_over_the_cap_bisects_series_then_organizations() -> None:
    jobs = make_jobs(24_000, SERIES, ORGS)
    # one series alone over the cap: must be split by organization
    jobs += [Job(f"big{i}", frozenset({"2200"}), frozenset({ORGS[i % 7]})) for i in range(11_000)]
    api = FakeSearchApi(jobs)
    client = client_for(api)
    plan = plan_search(client, SearchQuery(keyword="all"), codelists=FakeCodelists(CODELISTS))

    assert plan.partitions
    assert not plan.over_cap
    assert all(0 < p.count_all < CAP for p in plan.partitions)
    assert [p.key for p in plan.partitions] == [
        f"p{i:03d}" for i in range(1, len(plan.partitions) + 1)
    ]
    assert any(p.query.organization_codes for p in plan.partitions)
    for p in plan.partitions:
        assert p.first_page is None  # counted by a probe; page 1 is fetched with the rest
        assert p.pages == page_count(p.count_all, 500)
        assert p.params == p.query.to_params()
        assert p.query.keyword == "all"
    assert plan.requests_used == len(api.requests) == client.stats["requests"]
    assert plan.requests_used < len(SERIES) + len(ORGS)
    # the probes ask for one row each; only the search's own first request is a full page
    sizes = [r.url.params["ResultsPerPage"] for r in api.requests]
    assert sizes == ["500"] + ["1"] * (len(sizes) - 1)
    assert [(p.key, n) for p, n in plan.pages_to_fetch()][: plan.partitions[0].pages] == [
        (plan.partitions[0].key, n) for n in range(1, plan.partitions[0].pages + 1)
    ]

    # fetching what the plan says yields every job (deduplicated by control number)
    ids = set()
    for p in plan.partitions:
        for page in client.iter_pages(p):
            ids.update(page.control_numbers)
    assert ids == {j.id for j in jobs}


def test_plan_flags_an_unsplittable_partition() -> None:
    jobs = [Job(f"x{i}", frozenset({"2210"}), frozenset({"TR"})) for i in range(10_500)]
    jobs += [Job(f"y{i}", frozenset({"0301"}), frozenset({"AF"})) for i in range(30)]
    api = FakeSearchApi(jobs)
    plan = client_for(api).plan(
        SearchQuery(keyword="x"),
        codelists=FakeCodelists(
            {"occupationalseries": ["0301", "2210"], "agencysubelements": ["AF", "TR"]}
        ),
    )
    assert [(p.key, p.count_all, p.over_cap) for p in plan.partitions] == [
        ("p001", 30, False),
        ("p002", 10_000, True),
    ]
    assert plan.over_cap == [plan.partitions[1]]
    assert plan.partitions[1].pages == 20  # only the first 10,000 rows are reachable
    assert plan.partitions[1].params["JobCategoryCode"] == "2210"
    assert plan.partitions[1].params["Organization"] == "TR"


def test_plan_bisects_within_the_query_own_series() -> None:
    jobs = make_jobs(300, ["0100", "0200", "0300"], ORGS)
    api = FakeSearchApi(jobs, cap=100)
    client = client_for(api)
    query = SearchQuery(job_category_codes=("0100", "0200", "0300"))
    codelists = FakeCodelists(CODELISTS)
    plan = plan_search(client, query, codelists=codelists, cap=100)
    assert "occupationalseries" not in codelists.asked
    assert all(set(p.query.job_category_codes) <= {"0100", "0200", "0300"} for p in plan.partitions)
    assert all(p.count_all < 100 for p in plan.partitions)
