"""Unit tests of the simulator's data options: text="real", locations="real", item_cache.

Bounds come from the real recorded items (../shared/fixtures/usajobs) when they are there,
else from the design tables in `prose.py` (themselves measured on those items).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

import pytest

from tasman_etl.simulator import prose
from tasman_etl.simulator.config import DEFAULT_ITEM_CACHE, SimulatorConfig
from tasman_etl.simulator.data import (
    NEAR_CHICAGO_MILES,
    ROLE_DE_FAR,
    Universe,
    demo_params,
    role_counts,
)
from tasman_etl.simulator.geo import (
    ALL_PLACES,
    CHICAGO,
    PLACES,
    STATE_ABBREVIATIONS,
    SYNTHETIC_PLACES,
    resolve_location,
)
from tasman_etl.transform import search_items, transform_page

from realdata import fixture_items, requires_fixtures

NOW = datetime(2025, 9, 3, tzinfo=UTC)
_WORD = re.compile(r"[a-z0-9]+")
_ZULU = re.compile(r"T00:00:00Z$")

# sha256 over every item (radial on even indices) plus two searches, rendered by the
# simulator before these options existed: the defaults must keep producing exactly this.
_GOLDEN = {
    (1500, 42): "b2976b17d25d94c977108435ab0a9c1e007ab5933a03ead33b727c6e9228b393",
    (400, 7): "8091b67f3448b9f3179f03c3cba5b8a282ab9da65c6c5d6624ff33c1b7f0039a",
}
Text = Literal["compact", "real"]
Locations = Literal["typical", "real"]
_DETAIL_TEXT_FIELDS = ("JobSummary", "MajorDuties", *prose.LONG_FIELDS)


def _digest(u: Universe) -> str:
    h = hashlib.sha256()
    for i in range(len(u)):
        h.update(u.item_bytes(i, radial=i % 2 == 0))
    h.update(json.dumps(u.matching(demo_params())).encode())
    h.update(json.dumps(u.matching({"LocationName": "Denver, CO", "Radius": "100"})).encode())
    return h.hexdigest()


@cache
def _universe(jobs: int, text: Text = "compact", locations: Locations = "typical") -> Universe:
    return Universe(SimulatorConfig(jobs=jobs, seed=42, now=NOW, text=text, locations=locations))


@cache
def _items(
    jobs: int, text: Text = "compact", locations: Locations = "typical"
) -> list[dict[str, Any]]:
    u = _universe(jobs, text=text, locations=locations)
    return [u.item(i) for i in range(len(u))]


def _details(item: Mapping[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = item["MatchedObjectDescriptor"]["UserArea"]["Details"]
    return details


def _length(item: Mapping[str, Any], field: str) -> int:
    if field == "QualificationSummary":
        return len(item["MatchedObjectDescriptor"][field])
    value = _details(item)[field]
    return sum(map(len, value)) if isinstance(value, list) else len(value)


def _current_format(item: Mapping[str, Any]) -> bool:
    return not _ZULU.search(item["MatchedObjectDescriptor"]["PublicationStartDate"])


def _size_without_locations(item: Mapping[str, Any]) -> int:
    copy = json.loads(json.dumps(item))
    copy["MatchedObjectDescriptor"]["PositionLocation"] = []
    return len(json.dumps(copy, ensure_ascii=False, separators=(",", ":")).encode())


def _locations(items: Iterable[Mapping[str, Any]]) -> list[int]:
    return [len(it["MatchedObjectDescriptor"]["PositionLocation"]) for it in items]


def _median(values: list[int]) -> float:
    return statistics.median(values)


# ---- defaults: byte for byte what they were -----------------------------------------------


@pytest.mark.parametrize(("jobs", "seed"), sorted(_GOLDEN))
def test_defaults_render_the_same_bytes_as_before_the_options(jobs: int, seed: int) -> None:
    implicit = Universe(SimulatorConfig(jobs=jobs, seed=seed, now=NOW))
    explicit = Universe(
        SimulatorConfig(
            jobs=jobs,
            seed=seed,
            now=NOW,
            text="compact",
            locations="typical",
            item_cache=DEFAULT_ITEM_CACHE,
        )
    )
    assert _digest(implicit) == _GOLDEN[(jobs, seed)]
    assert _digest(explicit) == _GOLDEN[(jobs, seed)]


def test_unknown_option_values_are_refused() -> None:
    with pytest.raises(ValueError, match="text"):
        SimulatorConfig(text="long")
    with pytest.raises(ValueError, match="locations"):
        SimulatorConfig(locations="many")
    with pytest.raises(ValueError, match="item_cache"):
        SimulatorConfig(item_cache=-1)


# ---- determinism and scope ------------------------------------------------------------------


def test_real_options_are_deterministic_per_seed() -> None:
    def render(seed: int) -> list[bytes]:
        u = Universe(SimulatorConfig(jobs=120, seed=seed, now=NOW, text="real", locations="real"))
        return [u.item_bytes(i, radial=False) for i in range(len(u))]

    first = render(11)
    assert first == render(11)
    assert first != render(12)


def test_real_text_changes_only_the_long_text_fields() -> None:
    compact, real = _items(300), _items(300, text="real")
    longer = 0
    for a, b in zip(compact, real, strict=True):
        da, db = a["MatchedObjectDescriptor"], b["MatchedObjectDescriptor"]
        ua, ub = _details(a), _details(b)
        assert a["MatchedObjectId"] == b["MatchedObjectId"]
        assert {k: v for k, v in da.items() if k not in ("QualificationSummary", "UserArea")} == {
            k: v for k, v in db.items() if k not in ("QualificationSummary", "UserArea")
        }
        assert {k: v for k, v in ua.items() if k not in _DETAIL_TEXT_FIELDS} == {
            k: v for k, v in ub.items() if k not in _DETAIL_TEXT_FIELDS
        }
        assert list(ua) == list(ub)  # same keys, same order
        # searchable texts keep their compact words and add sentences
        assert db["QualificationSummary"].startswith(da["QualificationSummary"])
        assert ub["JobSummary"].startswith(ua["JobSummary"])
        assert ub["MajorDuties"][: len(ua["MajorDuties"])] == ua["MajorDuties"]
        longer += len(db["QualificationSummary"]) > len(da["QualificationSummary"])
    assert longer > 0.9 * len(compact)


def test_real_locations_change_only_the_location_lists_and_keep_the_first_place() -> None:
    typical, real = _items(300), _items(300, locations="real")
    for a, b in zip(typical, real, strict=True):
        da, db = a["MatchedObjectDescriptor"], b["MatchedObjectDescriptor"]
        assert da["PositionLocation"][0] == db["PositionLocation"][0]
        skip = ("PositionLocation", "PositionLocationDisplay")
        assert {k: v for k, v in da.items() if k not in skip} == {
            k: v for k, v in db.items() if k not in skip
        }


# ---- real text: sizes ---------------------------------------------------------------------


@requires_fixtures
def test_length_tables_reproduce_the_fixture_statistics() -> None:
    items = [item for _, _, item in fixture_items()]
    current = [it for it in items if "Education" in _details(it)]
    old = [it for it in items if "Education" not in _details(it)]
    pools = {"QualificationSummary": items, "JobSummary": current, "JobSummary2016": old}
    designed, measured = 0.0, 0.0
    for field in prose.LENGTHS:
        pool = pools.get(field, current)
        name = "JobSummary" if field == "JobSummary2016" else field
        real = statistics.fmean(_length(it, name) for it in pool)
        assert prose.mean_length(field) == pytest.approx(real, rel=0.25), field
        designed += prose.mean_length(field)
        measured += real
    assert designed == pytest.approx(measured, rel=0.05)


def test_real_text_field_lengths_follow_the_length_tables() -> None:
    u_items = [it for it in _items(600, text="real") if _current_format(it)]
    compact = [it for it in _items(600) if _current_format(it)]
    for field in ("QualificationSummary", "MajorDuties", *prose.LONG_FIELDS):
        got = statistics.fmean(_length(it, field) for it in u_items)
        base = statistics.fmean(_length(it, field) for it in compact)
        # Compact text is kept, so a field is at least its real length and at most that
        # plus the compact text (the drawn length sometimes falls short of it).
        assert 0.85 * prose.mean_length(field) <= got <= prose.mean_length(field) + base, field


@requires_fixtures
def test_real_text_items_are_the_size_of_real_current_format_items() -> None:
    real_items = [item for _, _, item in fixture_items() if "Education" in _details(item)]
    real_mean = statistics.fmean(_size_without_locations(it) for it in real_items)
    ours = _items(600, text="real")
    ours_mean = statistics.fmean(_size_without_locations(it) for it in ours)
    assert ours_mean == pytest.approx(real_mean, rel=0.10)
    compact_mean = statistics.fmean(_size_without_locations(it) for it in _items(600))
    assert compact_mean < 0.5 * real_mean  # the default stays compact


def test_real_text_mean_item_size_matches_the_design() -> None:
    real, compact = _items(600, text="real"), _items(600)
    current = sum(map(_current_format, real)) / len(real)
    designed = (  # the mean real text of the fields text="real" lengthens
        prose.mean_length("QualificationSummary")
        + current * prose.mean_length("JobSummary")
        + (1 - current) * prose.mean_length("JobSummary2016")
        + current * sum(prose.mean_length(f) for f in ("MajorDuties", *prose.LONG_FIELDS))
    )
    size = statistics.fmean(len(json.dumps(it, separators=(",", ":"))) for it in real)
    compact_size = statistics.fmean(len(json.dumps(it, separators=(",", ":"))) for it in compact)
    # at least that text, at most that text plus everything a compact item holds
    assert designed <= size <= designed + compact_size


def test_searchable_prose_never_says_data() -> None:
    assert all("data" not in _WORD.findall(p.lower()) for p in prose.SEARCHABLE_PHRASES)
    u = _universe(300, text="real")
    roles = [spec.data_engineering for spec in u.specs()]
    words = [set(_WORD.findall(_searchable_text(it))) for it in _items(300, text="real")]
    assert any(roles) and not all(roles)
    assert all(("data" in w) == de for w, de in zip(words, roles, strict=True))


# ---- real text: searches --------------------------------------------------------------------


def _searchable_text(item: Mapping[str, Any]) -> str:
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
    return " ".join(parts).lower()


def _miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.8 * math.asin(math.sqrt(h))


def _brute(items: Iterable[Mapping[str, Any]], params: Mapping[str, str]) -> set[str]:
    out = set()
    for item in items:
        if "Keyword" in params:
            words = set(_WORD.findall(_searchable_text(item)))
            if not set(_WORD.findall(params["Keyword"].lower())) <= words:
                continue
        if "LocationName" in params:
            place = resolve_location(params["LocationName"])
            radius = float(params.get("Radius", "25"))
            locs = item["MatchedObjectDescriptor"]["PositionLocation"]
            if place is None or not any(
                _miles(place.lat, place.lon, loc["Latitude"], loc["Longitude"]) <= radius
                for loc in locs
            ):
                continue
        out.add(item["MatchedObjectId"])
    return out


_SEARCHES = [
    demo_params(),
    {"Keyword": "data engineering"},
    {"Keyword": "multidisciplinary"},  # only in the real-text sentences
    {"Keyword": "selectee"},  # only in real-text job summaries
    {"Keyword": "nurse"},
    {"Keyword": "audits tight deadlines"},
    {"LocationName": "Washington, District of Columbia", "Radius": "25"},
    {"LocationName": "Denver, CO", "Radius": "100"},
    {"LocationName": SYNTHETIC_PLACES[7].name, "Radius": "10"},
    {"Keyword": "inspecting", "LocationName": "Seattle, Washington", "Radius": "150"},
]


@pytest.mark.parametrize("params", _SEARCHES, ids=lambda p: "+".join(p.values()))
def test_searches_agree_with_a_brute_force_scan_with_real_options(params: dict[str, str]) -> None:
    u = _universe(800, text="real", locations="real")
    got = u.matching(params)
    assert len(got) == len(set(got))
    assert set(got) == _brute(_items(800, text="real", locations="real"), params)


def test_real_text_words_match_only_with_real_text_and_the_demo_count_is_unchanged() -> None:
    real, compact = _universe(800, text="real", locations="real"), _universe(800)
    assert real.matching({"Keyword": "multidisciplinary"})
    assert compact.matching({"Keyword": "multidisciplinary"}) == []
    n_de, n_near = role_counts(800, None)
    assert len(real.matching(demo_params())) == n_near
    assert len(real.matching({"Keyword": "data engineering"})) == n_de


def test_an_updated_summary_drops_its_extra_sentences_from_searches() -> None:
    u = Universe(SimulatorConfig(jobs=300, seed=42, now=NOW, text="real"))
    hits = u.matching({"Keyword": "selectee"})
    assert hits
    cn = hits[0]
    u.update(cn, job_summary="A short plain summary.")
    item = u.item(u.index_of(cn))
    assert _details(item)["JobSummary"] == "A short plain summary."
    after = set(u.matching({"Keyword": "selectee"}))
    assert cn not in after  # the word was only in the summary's extra sentences
    assert after == _brute([u.item(u.index_of(c)) for c in hits], {"Keyword": "selectee"})


# ---- real locations -------------------------------------------------------------------------


def test_real_locations_have_a_heavy_tail_and_a_median_of_one() -> None:
    counts = _locations(_items(3000, locations="real"))
    assert _median(counts) == 1
    assert max(counts) >= 800  # nationwide postings list hundreds of places
    assert max(counts) <= 1200
    assert 0.05 <= sum(c > 9 for c in counts) / len(counts) <= 0.15
    typical = _locations(_items(3000))
    assert max(typical) <= 60 and statistics.fmean(typical) < 3


@requires_fixtures
def test_real_locations_follow_the_fixture_distribution() -> None:
    real = _locations(item for _, _, item in fixture_items())
    ours = _locations(_items(3000, locations="real"))
    assert _median(ours) == _median(real) == 1
    assert statistics.fmean(ours) == pytest.approx(statistics.fmean(real), rel=0.3)
    share = sum(c > 9 for c in ours) / len(ours)
    assert share == pytest.approx(sum(c > 9 for c in real) / len(real), abs=0.03)
    assert max(ours) >= 0.7 * max(real)


def test_real_location_lists_are_distinct_valid_places() -> None:
    u = _universe(3000, locations="real")
    by_name = {p.name: p for p in ALL_PLACES}
    for spec, item in zip(u.specs(), _items(3000, locations="real"), strict=True):
        locs = item["MatchedObjectDescriptor"]["PositionLocation"]
        names = [loc["LocationName"] for loc in locs]
        assert len(set(names)) == len(names)
        assert len(set(spec.places)) == len(spec.places) == len(locs)
        for loc in locs:
            place = by_name[loc["LocationName"]]
            assert (loc["Latitude"], loc["Longitude"]) == (place.lat, place.lon)
            assert loc["CityName"] == loc["LocationName"]
            assert loc["CountryCode"] == place.country
            assert loc.get("CountrySubDivisionCode") == (place.region if place.domestic else None)
        if spec.role == ROLE_DE_FAR:
            assert all(
                _miles(CHICAGO.lat, CHICAGO.lon, loc["Latitude"], loc["Longitude"])
                > NEAR_CHICAGO_MILES
                for loc in locs
            )


def test_synthetic_places_are_plausible_and_do_not_disturb_the_table() -> None:
    assert len({p.name for p in ALL_PLACES}) == len(ALL_PLACES)
    far = [p for p in ALL_PLACES if _miles(CHICAGO.lat, CHICAGO.lon, p.lat, p.lon) > 45]
    assert len(far) >= 1200  # enough distinct places for the largest nationwide list
    listed = {p.city.lower() for p in PLACES}
    states = set(STATE_ABBREVIATIONS.values())
    for place in SYNTHETIC_PLACES:
        assert place.domestic and place.region in states
        assert place.city.lower() not in listed
        assert _miles(CHICAGO.lat, CHICAGO.lon, place.lat, place.lon) > 55
        same_state = [p for p in PLACES if p.region == place.region]
        lats, lons = [p.lat for p in same_state], [p.lon for p in same_state]
        assert min(lats) - 0.75 <= place.lat <= max(lats) + 0.75, place
        assert min(lons) - 0.75 <= place.lon <= max(lons) + 0.75, place
        assert resolve_location(place.name) == place
    assert resolve_location("Portland") is None  # bare names still need to be unique
    assert resolve_location("chicago, IL") == CHICAGO


# ---- parsing and the item cache --------------------------------------------------------------


def test_real_items_pass_the_pure_transform_without_quarantine() -> None:
    u = _universe(3000, text="real", locations="real")
    order = u.live_order()
    biggest = max(order, key=lambda i: len(u.spec(i).places))
    chosen = [biggest, *[i for i in order if i != biggest][:299]]
    page = json.loads(
        b'{"SearchResult":{"SearchResultItems":['
        + b",".join(u.item_bytes(i, radial=False) for i in chosen)
        + b"]}}"
    )
    rows = transform_page(search_items(page))
    assert rows.quarantine == []
    assert len(rows.jobs) == len(chosen)
    assert len(rows.locations) == sum(len(u.spec(i).places) for i in chosen)
    assert len(u.spec(biggest).places) >= 800


@pytest.mark.parametrize("size", [0, 5])
def test_item_cache_size_is_configurable_and_does_not_change_items(size: int) -> None:
    small = Universe(SimulatorConfig(jobs=40, seed=3, now=NOW, item_cache=size, text="real"))
    big = Universe(SimulatorConfig(jobs=40, seed=3, now=NOW, text="real"))
    assert [small.item_bytes(i, radial=True) for i in range(40)] == [
        big.item_bytes(i, radial=True) for i in range(40)
    ]
    assert len(small._item_cache) == size
    assert len(big._item_cache) == 40
