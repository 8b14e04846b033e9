"""The simulated USAJOBS API over real HTTP on 127.0.0.1, exercised with httpx."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tasman_etl.simulator import (
    CONTENT_TYPE,
    FaultPlan,
    SimulatorConfig,
    SimulatorServer,
    demo_params,
)
from tasman_etl.simulator.faults import decide_fault

pytestmark = pytest.mark.integration

NOW = datetime(2025, 9, 3, tzinfo=UTC)
KEY = "sim-test-key-123"
HEADERS = {"Authorization-Key": KEY, "User-Agent": "etl-tests@example.com"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(jobs=400, seed=21, now=NOW, auth_key=KEY)) as server:
        yield server


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers=HEADERS, timeout=10) as c:
        yield c


@pytest.fixture
def fresh() -> Iterator[SimulatorServer]:
    """A small server of its own, so request numbers start at 1."""
    with SimulatorServer(SimulatorConfig(jobs=60, seed=5, now=NOW)) as server:
        yield server


_HTTP = httpx.Client(headers=HEADERS, timeout=10)


@pytest.fixture(scope="module", autouse=True)
def _close_shared_client() -> Iterator[None]:
    yield
    _HTTP.close()


def _get(base_url: str, timeout: float = 10.0, **params: str) -> httpx.Response:
    return _HTTP.get(f"{base_url}/api/search", params=params, timeout=timeout)


def _bare(url: str) -> httpx.Response:
    """GET without any auth headers (codelists need none)."""
    return _HTTP.get(url, headers={"Authorization-Key": "", "User-Agent": ""})


def _items(response: httpx.Response) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = response.json()["SearchResult"]["SearchResultItems"]
    return items


# ---- auth, routing, shape -----------------------------------------------------------------


def test_search_requires_both_auth_headers_and_the_configured_key(client: httpx.Client) -> None:
    assert client.get("/api/search", headers={"Authorization-Key": ""}).status_code == 401
    assert client.get("/api/search", headers={"User-Agent": ""}).status_code == 401
    wrong = client.get("/api/search", headers={"Authorization-Key": "wrong"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == CONTENT_TYPE
    assert "Message" in wrong.json()
    assert client.get("/api/search").status_code == 200


def test_search_response_has_the_real_envelope(sim: SimulatorServer, client: httpx.Client) -> None:
    r = client.get("/api/Search", params={**demo_params(), "ResultsPerPage": "10"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/hr+json; charset=utf-8"
    body = r.json()
    assert list(body) == ["LanguageCode", "SearchParameters", "SearchResult"]
    assert body["LanguageCode"] == "EN" and body["SearchParameters"] == {}
    result = body["SearchResult"]
    total = len(sim.matching(demo_params()))
    assert result["SearchResultCount"] == len(result["SearchResultItems"]) == min(10, total)
    assert result["SearchResultCountAll"] == total
    assert result["UserArea"] == {
        "NumberOfPages": str(-(-total // 25)),
        "IsRadialSearch": True,
        "ResolvedLocation": ["Chicago, Illinois"],
    }
    for item in result["SearchResultItems"]:
        _check_item(item)
        assert item["MatchedObjectDescriptor"]["UserArea"]["IsRadialSearch"] is True


def test_path_and_parameter_names_are_case_insensitive(
    sim: SimulatorServer, client: httpx.Client
) -> None:
    lower = client.get(
        "/api/search", params={"keyword": "data engineering", "resultsperpage": "500"}
    )
    upper = client.get(
        "/API/SEARCH", params={"KEYWORD": "data engineering", "RESULTSPERPAGE": "500"}
    )
    expected = sim.matching({"Keyword": "data engineering"})
    assert [i["MatchedObjectId"] for i in _items(lower)] == expected
    assert lower.content == upper.content


def test_bad_parameters_unknown_paths_and_methods(client: httpx.Client) -> None:
    assert client.get("/api/search", params={"Page": "zero"}).status_code == 400
    assert client.get("/api/search", params={"ResultsPerPage": "-5"}).status_code == 400
    assert client.get("/api/nothing").status_code == 404
    assert client.post("/api/search").status_code == 405
    head = client.head("/api/search")
    assert head.status_code == 405 and head.content == b""
    assert client.get("/api/search").status_code == 200  # the connection survived HEAD
    unknown = client.get("/api/search", params={"LocationName": "Atlantis, Ocean"})
    assert unknown.json()["SearchResult"]["SearchResultCountAll"] == 0


def test_results_per_page_above_500_is_clamped_to_500() -> None:
    with SimulatorServer(SimulatorConfig(jobs=700, seed=2, now=NOW)) as server:
        body = _get(server.base_url, ResultsPerPage="2000").json()["SearchResult"]
    assert body["SearchResultCount"] == 500
    assert body["SearchResultCountAll"] == 700


# ---- paging and the cap -------------------------------------------------------------------


def test_paging_covers_exactly_the_truth(sim: SimulatorServer, client: httpx.Client) -> None:
    params = {"Keyword": "data", "ResultsPerPage": "7"}
    truth = sim.matching(params)
    assert 14 < len(truth) < 400
    seen: list[str] = []
    page = 1
    while True:
        result = client.get("/api/search", params={**params, "Page": str(page)}).json()[
            "SearchResult"
        ]
        ids = [i["MatchedObjectId"] for i in result["SearchResultItems"]]
        assert result["SearchResultCount"] == len(ids)
        assert result["SearchResultCountAll"] == len(truth)
        if not ids:
            break
        seen += ids
        page += 1
    assert seen == truth
    assert page - 1 == -(-len(truth) // 7)


def test_concurrent_clients_page_consistently(sim: SimulatorServer) -> None:
    params = {"ResultsPerPage": "25"}
    truth = sim.matching(params)
    pages = -(-len(truth) // 25)

    def fetch(page: int) -> list[str]:
        response = _get(sim.base_url, Page=str(page), ResultsPerPage=params["ResultsPerPage"])
        assert response.status_code == 200
        return [i["MatchedObjectId"] for i in _items(response)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(fetch, range(1, pages + 1)))
    assert [cn for page in got for cn in page] == truth


def test_the_10000_cap_hides_rows_past_the_10000th() -> None:
    with SimulatorServer(SimulatorConfig(jobs=10_300, seed=3, now=NOW)) as server:
        truth = server.matching({})
        assert len(truth) == 10_300
        first = _get(server.base_url, ResultsPerPage="500").json()["SearchResult"]
        assert first["SearchResultCountAll"] == 10_000
        assert first["UserArea"]["NumberOfPages"] == "400"
        last = _get(server.base_url, ResultsPerPage="500", Page="20").json()["SearchResult"]
        assert [i["MatchedObjectId"] for i in last["SearchResultItems"]] == truth[9_500:10_000]
        beyond = _get(server.base_url, ResultsPerPage="500", Page="21").json()["SearchResult"]
        assert beyond["SearchResultItems"] == [] and beyond["SearchResultCount"] == 0
        assert beyond["SearchResultCountAll"] == 10_000


# ---- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "retry_after", "content_type"),
    [
        ("429", "2", "application/json"),
        ("503", "Wed, 21 Oct 2015 07:28:00 GMT", "text/html"),
        ("500", "2", "application/json"),
    ],
)
def test_error_faults_carry_status_and_retry_after(
    fresh: SimulatorServer, kind: str, retry_after: str, content_type: str
) -> None:
    fresh.faults = FaultPlan(by_request={1: kind}, retry_after=retry_after)
    r = _get(fresh.base_url)
    assert r.status_code == int(kind)
    assert r.headers["content-type"].startswith(content_type)
    if kind == "500":
        assert "retry-after" not in r.headers
    else:
        assert r.headers["retry-after"] == retry_after
    assert _get(fresh.base_url).status_code == 200


def test_retry_after_can_be_omitted(fresh: SimulatorServer) -> None:
    fresh.faults = FaultPlan(by_request={1: "429"}, retry_after=None)
    r = _get(fresh.base_url)
    assert r.status_code == 429 and "retry-after" not in r.headers


def test_slow_fault_times_out_a_short_client_timeout(fresh: SimulatorServer) -> None:
    fresh.faults = FaultPlan(by_request={1: "slow"}, slow_seconds=1.0)
    with pytest.raises(httpx.TimeoutException):
        _get(fresh.base_url, timeout=0.2)
    assert _get(fresh.base_url).status_code == 200
    assert [r.fault for r in fresh.requests()] == ["slow", None]


def test_slow_fault_still_answers_a_patient_client(fresh: SimulatorServer) -> None:
    fresh.faults = FaultPlan(by_request={1: "slow"}, slow_seconds=0.05)
    r = _get(fresh.base_url)
    assert r.status_code == 200 and _items(r)


def test_truncated_body_is_a_transport_error(fresh: SimulatorServer) -> None:
    fresh.faults = FaultPlan(by_request={1: "truncate"})
    with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
        _get(fresh.base_url)
    # Streaming clients that read what arrived get invalid JSON.
    fresh.faults = FaultPlan(by_request={2: "truncate"})
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        _stream_into(f"{fresh.base_url}/api/search", received)
    assert len(received) > 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(received)


def _stream_into(url: str, sink: bytearray) -> None:
    with httpx.stream("GET", url, headers=HEADERS, timeout=5) as r:
        assert int(r.headers["content-length"]) > 0
        for chunk in r.iter_raw():
            sink.extend(chunk)


def test_dropped_connection_is_a_connection_error(fresh: SimulatorServer) -> None:
    fresh.faults = FaultPlan(by_request={1: "drop"})
    with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
        _get(fresh.base_url)
    assert fresh.requests()[0].status == 0
    assert _get(fresh.base_url).status_code == 200


def test_by_request_hits_exactly_the_numbered_requests(fresh: SimulatorServer) -> None:
    fresh.faults = FaultPlan(by_request={2: "500", 4: "429"})
    _bare(f"{fresh.base_url}/api/codelist/payplans")  # codelists are not numbered
    statuses = [_get(fresh.base_url, Keyword=f"k{n}").status_code for n in range(1, 6)]
    assert statuses == [200, 500, 200, 429, 200]
    log = fresh.requests()
    assert [r.n for r in log] == [0, 1, 2, 3, 4, 5]
    assert [r.fault for r in log] == [None, None, "500", None, "429", None]
    assert [r.status for r in log] == [200, 200, 500, 200, 429, 200]


def test_random_faults_follow_the_seeded_plan_and_replay_identically() -> None:
    plan = FaultPlan(rate=0.5, kinds=("429", "503", "500"), seed=99)
    expected = [decide_fault(plan, n) for n in range(1, 13)]
    runs = []
    for _ in range(2):
        with SimulatorServer(SimulatorConfig(jobs=30, seed=1, now=NOW, faults=plan)) as server:
            statuses = [_get(server.base_url).status_code for _ in range(12)]
            assert [r.fault for r in server.requests()] == expected
        runs.append(statuses)
    assert runs[0] == runs[1]
    assert runs[0] == [200 if k is None else int(k) for k in expected]
    assert 0 < sum(k is not None for k in expected) < 12


def test_faults_switch_at_runtime_and_reach_codelists_only_when_asked(
    fresh: SimulatorServer,
) -> None:
    fresh.faults = FaultPlan(rate=1.0, kinds=("503",))
    assert _get(fresh.base_url).status_code == 503
    assert _bare(f"{fresh.base_url}/api/codelist/payplans").status_code == 200
    fresh.faults = FaultPlan(rate=1.0, kinds=("503",), apply_to_codelists=True)
    assert _bare(f"{fresh.base_url}/api/codelist/payplans").status_code == 503
    fresh.faults = FaultPlan()
    assert _get(fresh.base_url).status_code == 200
    assert [r.n for r in fresh.requests()] == [1, 0, 2, 3]


def test_request_log_records_params_status_and_auth_but_no_header_values(
    fresh: SimulatorServer,
) -> None:
    _get(fresh.base_url, Keyword="data engineering", Page="2")
    _bare(f"{fresh.base_url}/api/Search?Keyword=x")
    log = fresh.requests()
    assert [(r.n, r.path, r.status, r.had_auth) for r in log] == [
        (1, "/api/search", 200, True),
        (2, "/api/Search", 401, False),
    ]
    assert log[0].params == {"Keyword": "data engineering", "Page": "2"}
    assert log[0].at <= log[1].at
    assert KEY not in repr(log) and "etl-tests@example.com" not in repr(log)
    assert fresh.request_log == log


# ---- codelists ----------------------------------------------------------------------------


def test_codelists_have_the_real_shape_and_cover_the_items(sim: SimulatorServer) -> None:
    def codes(name: str) -> dict[str, dict[str, Any]]:
        r = _bare(f"{sim.base_url}/api/codelist/{name}")
        assert r.status_code == 200
        body = r.json()
        assert list(body) == ["CodeList", "DateGenerated"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", body["DateGenerated"])
        (entry,) = body["CodeList"]
        assert set(entry) == {"ValidValue", "id"} and entry["id"]
        for row in entry["ValidValue"]:
            assert {"Code", "Value", "LastModified", "IsDisabled"} <= set(row)
            assert row["IsDisabled"] in ("Yes", "No")
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", row["LastModified"])
        return {row["Code"]: row for row in entry["ValidValue"]}

    items = list(sim.items)
    series = codes("occupationalseries")
    assert {c["Code"] for i in items for c in i["MatchedObjectDescriptor"]["JobCategory"]} <= set(
        series
    )
    assert all(row["JobFamily"] == code[:2] + "00" for code, row in series.items())
    orgs = codes("agencysubelements")
    used = {
        i["MatchedObjectDescriptor"]["UserArea"]["Details"]["OrganizationCodes"].split("/")[1]
        for i in items
    }
    assert used <= set(orgs)
    assert all("ParentCode" in orgs[code] and "Acronym" in orgs[code] for code in used)
    assert set(codes("remunerationrateintervalcodes")) == set(
        ["BW", "FB", "PA", "PD", "PH", "PM", "PW", "ST", "SY", "WC"]
    )
    paths = codes("hiringpaths")
    assert all(code == code.upper() for code in paths)
    assert {
        p.upper()
        for i in items
        for p in i["MatchedObjectDescriptor"]["UserArea"]["Details"]["HiringPath"]
    } <= set(paths)
    assert {g["Code"] for i in items for g in i["MatchedObjectDescriptor"]["JobGrade"]} <= set(
        codes("payplans")
    )
    assert {"1", "2"} <= set(codes("positionscheduletypes"))
    assert "15317" in codes("positionofferingtypes")
    assert _bare(f"{sim.base_url}/api/codelist/PayPlans").status_code == 200
    assert _bare(f"{sim.base_url}/api/codelist/nosuchlist").status_code == 404


# ---- changes, determinism -----------------------------------------------------------------


def test_withdraw_and_update_are_visible_to_later_requests() -> None:
    with SimulatorServer(SimulatorConfig(jobs=120, seed=8, now=NOW)) as server:
        first = _items(_get(server.base_url, ResultsPerPage="500"))
        victim, changed = first[0]["MatchedObjectId"], first[1]["MatchedObjectId"]
        server.withdraw(victim)
        server.update(changed, pay_min="90000", pay_max="150000")
        second = _items(_get(server.base_url, ResultsPerPage="500"))
        ids = [i["MatchedObjectId"] for i in second]
        assert victim not in ids and len(ids) == len(first) - 1
        pay = next(i for i in second if i["MatchedObjectId"] == changed)
        assert pay["MatchedObjectDescriptor"]["PositionRemuneration"][0]["MinimumRange"] == "90000"
        old = next(i for i in first if i["MatchedObjectId"] == changed)
        assert json.dumps(old, sort_keys=True) != json.dumps(pay, sort_keys=True)


def test_same_config_gives_byte_identical_bodies() -> None:
    config = SimulatorConfig(jobs=150, seed=77, now=NOW)
    bodies = []
    for _ in range(2):
        with SimulatorServer(config) as server:
            bodies.append(
                _get(server.base_url, ResultsPerPage="20", Page="2", Keyword="data").content
            )
    assert bodies[0] == bodies[1] and len(bodies[0]) > 10_000


def test_served_items_pass_shape_checks(client: httpx.Client) -> None:
    items = _items(client.get("/api/search", params={"ResultsPerPage": "200", "Page": "2"}))
    assert len(items) == 200
    for item in items:
        _check_item(item)


def _check_item(item: dict[str, Any]) -> None:
    assert re.fullmatch(r"\d{9}", item["MatchedObjectId"])
    d = item["MatchedObjectDescriptor"]
    assert d["PositionURI"] == f"https://www.usajobs.gov:443/job/{item['MatchedObjectId']}"
    assert isinstance(d["PositionTitle"], str) and d["PositionTitle"]
    assert d["PositionLocation"] and all(
        isinstance(loc["Latitude"], float) and isinstance(loc["Longitude"], float)
        for loc in d["PositionLocation"]
    )
    pay = d["PositionRemuneration"][0]
    assert Decimal(pay["MinimumRange"]) <= Decimal(pay["MaximumRange"])
    assert isinstance(d["UserArea"]["Details"]["JobSummary"], str)


# ---- the foreground command ---------------------------------------------------------------


def test_serve_prints_the_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    code = (
        "import sys, structlog\n"
        "from datetime import datetime, timezone\n"
        "from tasman_etl.simulator import SimulatorConfig, serve\n"
        "structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))\n"
        "serve(SimulatorConfig(jobs=20, now=datetime(2025, 9, 3, tzinfo=timezone.utc)))\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert _get(url).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
