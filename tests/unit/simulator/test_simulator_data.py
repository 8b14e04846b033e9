"""Unit tests of the simulator's synthetic universe: determinism, shapes, filters, the cap."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tasman_etl.simulator import texts
from tasman_etl.simulator.config import FaultPlan, SimulatorConfig
from tasman_etl.simulator.data import Universe, demo_params, role_counts
from tasman_etl.simulator.faults import decide_fault
from tasman_etl.simulator.geo import CHICAGO, PLACES, resolve_location
from tasman_etl.simulator.query import MAX_RESULTS_PER_PAGE, QueryError, parse_query
from tasman_etl.simulator.search import RESULT_CAP, page_window
from tasman_etl.simulator.vocab import SERIES

NOW = datetime(2025, 9, 3, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "usajobs"

# Independent re-implementations for brute-force checks (not the simulator's code).
_WORD = re.compile(r"[a-z0-9]+")
_DATE_MODERN = re.compile(r"^\d{4}-\d{2}-\d{2}T00:00:00\.0000$")
_CLOSE_MODERN = re.compile(r"^\d{4}-\d{2}-\d{2}T23:59:59\.9970$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_ZULU = re.compile(r"^\d{4}-\d{2}-\d{2}T00:00:00Z$")


def _miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.8 * math.asin(math.sqrt(h))


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _searchable(item: Mapping[str, Any]) -> set[str]:
    d = item["MatchedObjectDescriptor"]
    det = d["UserArea"]["Details"]
    parts = [
        d["PositionTitle"],
        d["QualificationSummary"],
        d["OrganizationName"],
        d["DepartmentName"],
        det["JobSummary"],
        *det["MajorDuties"],
        *det["KeyRequirements"],
        *(c["Name"] for c in d["JobCategory"]),
    ]
    return set(_WORD.findall(" ".join(parts).lower()))


@cache
def _universe(jobs: int = 1500, seed: int = 42) -> Universe:
    return Universe(SimulatorConfig(jobs=jobs, seed=seed, now=NOW))


@cache
def _items(jobs: int = 1500) -> list[dict[str, Any]]:
    u = _universe(jobs)
    return [u.item(i) for i in range(len(u))]


def _descriptors(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [it["MatchedObjectDescriptor"] for it in items]


def _check_shape(item: Mapping[str, Any]) -> None:
    """Our own shape rules for a search item (usajobs-api.md §4)."""
    assert list(item) == ["MatchedObjectId", "MatchedObjectDescriptor", "RelevanceRank"]
    assert re.fullmatch(r"\d{9}", item["MatchedObjectId"])
    assert isinstance(item["RelevanceRank"], int | float)
    d = item["MatchedObjectDescriptor"]
    cn = item["MatchedObjectId"]
    for key in ("PositionID", "PositionTitle", "PositionLocationDisplay", "OrganizationName"):
        assert isinstance(d[key], str) and d[key], key
    assert d["PositionURI"] == f"https://www.usajobs.gov:443/job/{cn}"
    assert isinstance(d["ApplyURI"], list) and d["ApplyURI"][0].startswith(d["PositionURI"])
    assert d["PositionLocation"]
    for loc in d["PositionLocation"]:
        assert isinstance(loc["Latitude"], float) and -90 <= loc["Latitude"] <= 90
        assert isinstance(loc["Longitude"], float) and -180 <= loc["Longitude"] <= 180
        assert loc["CityName"] == loc["LocationName"]
        if loc["CountryCode"] == "United States":
            assert loc["CityName"].endswith(", " + loc["CountrySubDivisionCode"])
        else:
            assert "CountrySubDivisionCode" not in loc
            assert loc["CityName"].endswith(", " + loc["CountryCode"])
    for key in ("JobCategory", "PositionSchedule", "PositionOfferingType"):
        assert all(set(e) == {"Name", "Code"} and isinstance(e["Code"], str) for e in d[key])
    assert all(re.fullmatch(r"\d{4}", c["Code"]) for c in d["JobCategory"])
    assert 1 <= len(d["JobCategory"]) <= 2
    (pay,) = d["PositionRemuneration"]
    assert isinstance(pay["MinimumRange"], str) and isinstance(pay["MaximumRange"], str)
    assert Decimal(pay["MinimumRange"]) <= Decimal(pay["MaximumRange"])
    if "Description" in pay:
        assert pay["RateIntervalCode"] in {"PA", "PH", "WC"}
    else:
        assert pay["RateIntervalCode"] in {"Per Year", "Per Hour", "Without Compensation"}
    for key in ("PositionStartDate", "PublicationStartDate"):
        assert any(p.match(d[key]) for p in (_DATE_MODERN, _DATE_ONLY, _DATE_ZULU)), d[key]
    for key in ("PositionEndDate", "ApplicationCloseDate"):
        assert any(p.match(d[key]) for p in (_CLOSE_MODERN, _DATE_ONLY, _DATE_ZULU)), d[key]
    assert _day(d["PublicationStartDate"]) <= _day(d["ApplicationCloseDate"])
    det = d["UserArea"]["Details"]
    assert set(d["UserArea"]) == {"Details", "IsRadialSearch"}
    assert isinstance(det["WhoMayApply"], dict) and set(det["WhoMayApply"]) == {"Name", "Code"}
    for key in ("JobSummary", "LowGrade", "HighGrade", "OrganizationCodes", "Education"):
        assert isinstance(det[key], str), key
    for key in ("Relocation", "DrugTestRequired", "WithinArea"):
        if key in det:
            assert det[key] in ("True", "False"), key
    for key in (
        "TeleworkEligible",
        "RemoteIndicator",
        "FinancialDisclosure",
        "BargainingUnitStatus",
    ):
        if key in det:
            assert isinstance(det[key], bool), key
    assert all(p == p.lower() for p in det["HiringPath"])
    for key in ("MajorDuties", "KeyRequirements", "HiringPath"):
        assert isinstance(det[key], list) and all(isinstance(x, str) for x in det[key])


# ---- determinism --------------------------------------------------------------------------


def test_same_seed_gives_identical_items_and_another_seed_does_not() -> None:
    a = Universe(SimulatorConfig(jobs=300, seed=7, now=NOW))
    b = Universe(SimulatorConfig(jobs=300, seed=7, now=NOW))
    c = Universe(SimulatorConfig(jobs=300, seed=8, now=NOW))
    assert [a.item_bytes(i, radial=False) for i in range(300)] == [
        b.item_bytes(i, radial=False) for i in range(300)
    ]
    assert [s.control_number for s in a.specs()] != [s.control_number for s in c.specs()]


def test_items_are_rebuilt_identically_after_cache_eviction() -> None:
    u = Universe(SimulatorConfig(jobs=50, seed=3, now=NOW))
    first = u.item_bytes(10, radial=True)
    u._item_cache.clear()
    assert u.item_bytes(10, radial=True) == first
    assert u.item_bytes(10, radial=False) != first


# ---- shapes and quirks --------------------------------------------------------------------


def test_every_item_passes_the_shape_rules() -> None:
    for item in _items():
        _check_shape(item)


def test_control_numbers_are_unique_nine_digit_strings_and_position_ids_sometimes_shared() -> None:
    descs = _descriptors(_items())
    cns = [it["MatchedObjectId"] for it in _items()]
    assert len(set(cns)) == len(cns)
    shared = Counter(d["PositionID"] for d in descs)
    assert max(shared.values()) == 2
    assert 0 < sum(1 for n in shared.values() if n == 2) < len(descs) // 10


def test_three_date_formats_and_the_modern_close_time_all_occur() -> None:
    starts = [d["PublicationStartDate"] for d in _descriptors(_items())]
    closes = [d["ApplicationCloseDate"] for d in _descriptors(_items())]
    assert any(_DATE_MODERN.match(s) for s in starts)
    assert any(_DATE_ONLY.match(s) for s in starts)
    assert any(_DATE_ZULU.match(s) for s in starts)
    assert any(_CLOSE_MODERN.match(s) for s in closes)


def test_optional_and_quirky_keys_are_present_on_some_items_only() -> None:
    details = [d["UserArea"]["Details"] for d in _descriptors(_items())]
    n = len(details)
    for key, low, high in (
        ("PositionSensitivitiy", 0.1, 0.5),
        ("TeleworkEligible", 0.5, 0.95),
        ("RemoteIndicator", 0.5, 0.95),
        ("FinancialDisclosure", 0.1, 0.6),
        ("MCOTags", 0.5, 0.95),
        ("SubAgencyName", 0.2, 0.8),
        ("TotalOpenings", 0.8, 0.995),
    ):
        share = sum(key in d for d in details) / n
        assert low < share < high, (key, share)
    assert not any("PositionSensitivity" in d for d in details)  # only the API's misspelling
    assert {d["TotalOpenings"] for d in details if "TotalOpenings" in d} >= {"Many", "FEW", "few"}
    zulu = [d for d in details if d["WhoMayApply"]["Name"]]
    assert zulu and all("TeleworkEligible" not in d for d in zulu)


def test_pay_is_stringly_typed_with_annual_hourly_and_old_style_intervals() -> None:
    pays = [d["PositionRemuneration"][0] for d in _descriptors(_items())]
    assert all(Decimal(p["MinimumRange"]) <= Decimal(p["MaximumRange"]) for p in pays)
    codes = Counter(p["RateIntervalCode"] for p in pays)
    assert codes["PA"] > codes["PH"] > 0
    assert codes["Per Year"] > 0 and all(
        "Description" not in p for p in pays if p["RateIntervalCode"] == "Per Year"
    )
    hourly = [p for p in pays if p["RateIntervalCode"] == "PH"]
    assert all(re.fullmatch(r"\d+\.\d\d", p["MinimumRange"]) for p in hourly)
    assert all(p["Description"] == "Per Hour" for p in hourly)
    assert any(p["MinimumRange"].endswith(".0") for p in pays)
    assert any(re.fullmatch(r"\d{5,6}", p["MinimumRange"]) for p in pays)


def test_locations_include_multi_location_duplicates_foreign_and_territories() -> None:
    descs = _descriptors(_items())
    counts = [len(d["PositionLocation"]) for d in descs]
    assert Counter(c == 1 for c in counts)[True] > len(descs) // 2
    big = [d for d in descs if len(d["PositionLocation"]) >= 20]
    assert big and all(len(d["PositionLocation"]) <= 60 for d in big)
    assert any(
        len({loc["LocationName"] for loc in d["PositionLocation"]}) < len(d["PositionLocation"])
        for d in big
    )
    assert all(d["PositionLocationDisplay"] == "Multiple Locations" for d in big)
    countries = {loc["CountryCode"] for d in descs for loc in d["PositionLocation"]}
    assert "United States" in countries and len(countries) >= 5
    regions = {loc.get("CountrySubDivisionCode") for d in descs for loc in d["PositionLocation"]}
    assert regions & {"Puerto Rico", "Guam", "Virgin Islands", "American Samoa"}


def test_item_sizes_are_realistic() -> None:
    u = _universe()
    sizes = sorted(len(u.item_bytes(i, radial=False)) for i in range(len(u)))
    median = sizes[len(sizes) // 2]
    assert 3_000 <= median <= 15_000
    assert sizes[int(len(sizes) * 0.9)] <= 15_000


def test_item_keys_are_keys_the_real_api_uses() -> None:
    if not FIXTURES.is_dir():
        pytest.skip("real USAJOBS fixtures not found at ../shared/fixtures/usajobs")
    real_desc: set[str] = set()
    real_details: set[str] = set()
    for path in FIXTURES.glob("search_*.json"):
        payload = json.loads(path.read_bytes())
        for item in payload["SearchResult"]["SearchResultItems"]:
            real_desc |= set(item["MatchedObjectDescriptor"])
            real_details |= set(item["MatchedObjectDescriptor"]["UserArea"]["Details"])
    assert real_desc and real_details
    ours_desc = {k for d in _descriptors(_items()) for k in d}
    ours_details = {k for d in _descriptors(_items()) for k in d["UserArea"]["Details"]}
    assert ours_desc <= real_desc, ours_desc - real_desc
    assert ours_details <= real_details, ours_details - real_details


# ---- filters against brute force ----------------------------------------------------------


def _brute(items: list[dict[str, Any]], params: Mapping[str, str]) -> set[str]:
    p = {k.lower(): v for k, v in params.items()}
    out = set()
    for item in items:
        d = item["MatchedObjectDescriptor"]
        if "keyword" in p and not set(_WORD.findall(p["keyword"].lower())) <= _searchable(item):
            continue
        if "locationname" in p:
            place = resolve_location(p["locationname"])
            radius = float(p.get("radius", "25"))
            if place is None or not any(
                _miles(place.lat, place.lon, loc["Latitude"], loc["Longitude"]) <= radius
                for loc in d["PositionLocation"]
            ):
                continue
        if "jobcategorycode" in p:
            wanted = set(p["jobcategorycode"].split(";"))
            if not wanted & {c["Code"] for c in d["JobCategory"]}:
                continue
        if "organization" in p:
            sub = d["UserArea"]["Details"]["OrganizationCodes"].split("/")[1]
            wanted = set(p["organization"].split(";"))
            if sub not in wanted and not any(sub.startswith(w) and len(w) == 2 for w in wanted):
                continue
        age = (NOW.date() - _day(d["PublicationStartDate"])).days
        if "dateposted" in p and age > int(p["dateposted"]):
            continue
        if "positiontitle" in p and p["positiontitle"].lower() not in d["PositionTitle"].lower():
            continue
        out.add(item["MatchedObjectId"])
    return out


@pytest.mark.parametrize(
    "params",
    [
        demo_params(),
        {"Keyword": "data engineering"},
        {"keyword": "NURSE"},
        {"Keyword": "engineer"},
        {"Keyword": "Veterans Affairs"},
        {"Keyword": "statistics"},
        {"LocationName": "Washington, District of Columbia", "Radius": "25"},
        {"LocationName": "Denver, CO", "Radius": "100"},
        {"LocationName": "San Diego, California"},
        {"JobCategoryCode": "2210;1560"},
        {"JobCategoryCode": "0610"},
        {"Organization": "VATA"},
        {"Organization": "HE38;TD03"},
        {"DatePosted": "7"},
        {"DatePosted": "0"},
        {"PositionTitle": "it specialist"},
        {"Keyword": "data", "JobCategoryCode": "2210", "DatePosted": "30"},
        {"LocationName": "Chicago, Illinois", "Radius": "50", "Organization": "VATA;HE38"},
    ],
)
def test_filters_agree_with_a_brute_force_scan(params: dict[str, str]) -> None:
    u = _universe()
    got = u.matching(params)
    assert len(got) == len(set(got))
    assert set(got) == _brute(_items(), params)
    if "JobCategoryCode" in params or "DatePosted" in params or "Keyword" in params:
        assert got  # the parametrization is meant to hit something


def test_department_code_matches_its_sub_elements() -> None:
    u = _universe()
    by_org = Counter(
        d["UserArea"]["Details"]["OrganizationCodes"].split("/")[1] for d in _descriptors(_items())
    )
    assert len(u.matching({"Organization": "TR"})) == by_org["TR93"] + by_org["TRFD"]


def test_unknown_location_matches_nothing_and_results_are_newest_first() -> None:
    u = _universe()
    assert u.matching({"LocationName": "Atlantis, Ocean"}) == []
    order = u.matching({})
    posted = [
        _day(u.item(u.index_of(cn))["MatchedObjectDescriptor"]["PublicationStartDate"])
        for cn in order[:200]
    ]
    assert posted == sorted(posted, reverse=True)


def test_demo_search_matches_exactly_the_near_chicago_data_engineering_jobs() -> None:
    u = _universe()
    n_de, n_near = role_counts(1500, None)
    assert len(u.matching(demo_params())) == n_near
    assert n_near / 1500 == pytest.approx(0.14, abs=0.01)
    assert len(u.matching({"Keyword": "data engineering"})) == n_de


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.9, 1.0])
def test_match_fraction_sets_the_share_of_demo_matches(fraction: float) -> None:
    u = Universe(SimulatorConfig(jobs=400, seed=5, now=NOW, match_fraction=fraction))
    assert len(u.matching(demo_params())) == round(400 * fraction)


def test_generic_searchable_text_never_says_data() -> None:
    generic: list[str] = [
        *texts.SUMMARY_OPENERS,
        *texts.SUMMARY_EXTRAS,
        *texts.OFFICES,
        *texts.GENERIC_DUTIES,
        *texts.KEY_REQUIREMENTS,
        *texts.QUALIFICATION_EXTRAS,
        *texts.FAMILY_SKILLS.values(),
        *(duty for duties in texts.FAMILY_DUTIES.values() for duty in duties),
        *(title for s in SERIES for title in s.titles),
        *(s.name for s in SERIES if s.general > 0),
    ]
    assert all("data" not in _WORD.findall(t.lower()) for t in generic)
    assert all({"data", "engineering"} <= set(_WORD.findall(t.lower())) for t in texts.DE_SUMMARIES)


# ---- the 10,000 cap and paging arithmetic -------------------------------------------------


def test_page_window_saturates_at_the_cap() -> None:
    w = page_window(12_345, 20, 500)
    assert (w.count_all, w.start, w.stop, w.count) == (RESULT_CAP, 9_500, 10_000, 500)
    assert w.number_of_pages == 400
    beyond = page_window(12_345, 21, 500)
    assert beyond.count == 0 and beyond.count_all == 10_000
    assert page_window(742, 1, 500).number_of_pages == 30  # recorded quirk: ceil(742 / 25)
    small = page_window(36, 2, 25)
    assert (small.count_all, small.start, small.stop, small.number_of_pages) == (36, 25, 36, 2)
    assert page_window(0, 1, 500).count == 0


def test_results_per_page_is_clamped_and_bad_numbers_are_rejected() -> None:
    assert parse_query({"ResultsPerPage": "1000"}).results_per_page == MAX_RESULTS_PER_PAGE
    assert parse_query({}).results_per_page == 25
    for bad in (
        {"Page": "0"},
        {"Page": "x"},
        {"ResultsPerPage": "0"},
        {"Radius": "far"},
        {"DatePosted": "-1"},
    ):
        with pytest.raises(QueryError):
            parse_query(bad)


# ---- partitioning support -----------------------------------------------------------------


@pytest.mark.parametrize("fraction", [None, 1.0])
def test_no_series_or_organization_reaches_the_cap_at_25k_jobs(fraction: float | None) -> None:
    u = Universe(SimulatorConfig(jobs=25_000, seed=11, now=NOW, match_fraction=fraction))
    specs = u.specs()
    per_series = Counter(i for s in specs for i in s.series)
    per_org = Counter(s.org for s in specs)
    assert max(per_series.values()) < RESULT_CAP
    assert max(per_org.values()) < RESULT_CAP
    assert len(per_series) >= 40 if fraction is None else len(per_series) >= 15
    assert len(per_org) >= 30
    top = max(per_series, key=lambda i: per_series[i])
    assert len(u.matching({"JobCategoryCode": SERIES[top].code})) == per_series[top]


# ---- withdraw / update --------------------------------------------------------------------


def test_withdraw_update_and_restore_change_what_searches_return() -> None:
    u = Universe(SimulatorConfig(jobs=200, seed=9, now=NOW))
    cn = u.matching({})[0]
    before = u.item_bytes(u.index_of(cn), radial=False)
    u.update(cn, pay_min="90000", pay_max="120000", position_title="Chief Widget Officer")
    after = u.item(u.index_of(cn))["MatchedObjectDescriptor"]
    assert after["PositionRemuneration"][0]["MinimumRange"] == "90000"
    assert after["PositionTitle"] == "Chief Widget Officer"
    assert u.item_bytes(u.index_of(cn), radial=False) != before
    assert u.matching({"PositionTitle": "widget officer"}) == [cn]
    u.withdraw(cn)
    assert cn not in u.matching({})
    u.restore(cn)
    assert cn in u.matching({})
    with pytest.raises(ValueError, match="cannot update"):
        u.update(cn, salary="1")
    with pytest.raises(KeyError):
        u.withdraw("000000000")


# ---- geo and faults -----------------------------------------------------------------------


def test_no_place_sits_near_the_demo_radius_boundary() -> None:
    for place in PLACES:
        miles = _miles(CHICAGO.lat, CHICAGO.lon, place.lat, place.lon)
        assert miles <= 45 or miles >= 55, place.name


def test_location_names_resolve_loosely_but_not_wrongly() -> None:
    assert resolve_location("chicago,  IL") == CHICAGO
    assert resolve_location(" Chicago, Illinois ") == CHICAGO
    assert resolve_location("Stuttgart, Germany") is not None
    assert resolve_location("Portland") is None  # ambiguous: Oregon or Maine
    assert resolve_location("Nowhere, Texas") is None


def test_fault_decisions_are_deterministic_and_by_request_wins() -> None:
    plan = FaultPlan(rate=0.3, kinds=("429", "drop"), seed=4, by_request={5: "slow", 6: "ok"})
    first = [decide_fault(plan, n) for n in range(1, 400)]
    assert first == [decide_fault(plan, n) for n in range(1, 400)]
    assert first[4] == "slow" and first[5] is None
    faulted = [k for k in first if k is not None]
    assert set(faulted) == {"429", "drop", "slow"}
    assert 0.2 < len(faulted) / len(first) < 0.4
    assert all(decide_fault(FaultPlan(), n) is None for n in range(1, 50))
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan(kinds=("418",))
