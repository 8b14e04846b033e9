"""Models and transform over every real recorded item, plus the quirks and hard rules."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tasman_etl.models import (
    SearchItem,
    parse_bool,
    parse_datetime,
    parse_decimal,
    rate_interval_code,
)
from tasman_etl.transform import JOB_COLUMNS, content_hash, search_items, transform_page

from realdata import SEARCH_FILES, fixture_items, load_payload, requires_fixtures

COL = {name: i for i, name in enumerate(JOB_COLUMNS)}


def _item(**descriptor_changes: Any) -> dict[str, Any]:
    """A minimal valid item in the modern shape."""
    descriptor: dict[str, Any] = {
        "PositionID": "ABC-1",
        "PositionTitle": "Data Engineer",
        "PositionURI": "https://www.usajobs.gov:443/job/123456789",
        "ApplyURI": ["https://www.usajobs.gov:443/job/123456789"],
        "PositionLocation": [
            {
                "LocationName": "Chicago, Illinois",
                "CountryCode": "United States",
                "CountrySubDivisionCode": "Illinois",
                "CityName": "Chicago, Illinois",
                "Latitude": 41.88,
                "Longitude": -87.63,
            }
        ],
        "PositionRemuneration": [
            {
                "MinimumRange": "100000.0",
                "MaximumRange": "150000.0",
                "RateIntervalCode": "PA",
                "Description": "Per Year",
            }
        ],
        "PublicationStartDate": "2025-07-17T00:00:00.0000",
        "ApplicationCloseDate": "2025-09-26T23:59:59.9970",
        "UserArea": {"Details": {"JobSummary": "Build pipelines."}},
    }
    descriptor.update(descriptor_changes)
    return {
        "MatchedObjectId": "123456789",
        "RelevanceRank": 1,
        "MatchedObjectDescriptor": descriptor,
    }


# ---------------------------------------------------------------- real fixtures


@requires_fixtures
def test_every_real_item_parses_and_none_is_quarantined() -> None:
    total_items = 0
    distinct: set[str] = set()
    locations = 0
    for path in SEARCH_FILES:
        payload = load_payload(path)
        rows = transform_page(search_items(payload))
        assert rows.quarantine == [], [q.reason for q in rows.quarantine]
        assert len(rows.jobs) == rows.items
        total_items += rows.items
        distinct.update(rows.control_numbers)
        locations += len(rows.locations)
        expected_locations = sum(
            len(i["MatchedObjectDescriptor"]["PositionLocation"])
            for i in payload["SearchResult"]["SearchResultItems"]
        )
        assert len(rows.locations) == expected_locations
    assert total_items == 794
    assert len(distinct) == 794
    assert locations > 20_000


@requires_fixtures
@pytest.mark.parametrize(
    ("name", "index", "item"),
    list(fixture_items()),
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_real_item_fields(name: str, index: int, item: dict[str, Any]) -> None:
    parsed = SearchItem.model_validate(item)
    d = parsed.descriptor
    raw = item["MatchedObjectDescriptor"]
    assert parsed.control_number == item["MatchedObjectId"]
    assert d.position_title == raw["PositionTitle"].strip()
    # every location, category and grade is kept
    assert len(d.locations) == len(raw["PositionLocation"])
    assert len(d.job_categories) == len(raw["JobCategory"])
    # pay is exact: the decimal equals the string's value
    pay = raw["PositionRemuneration"][0]
    assert d.pay is not None
    assert d.pay.minimum == Decimal(pay["MinimumRange"])
    assert d.pay.interval in {"PA", "PH", "BW", "WC"}
    # dates are zone-aware and keep the calendar day of the string
    start = d.publication_start_date
    assert start is not None and start.tzinfo is not None
    assert start.date().isoformat() == raw["PublicationStartDate"][:10]
    # details: the misspelt key is read
    details = raw["UserArea"]["Details"]
    if "PositionSensitivitiy" in details:
        assert d.details.position_sensitivity == details["PositionSensitivitiy"]


@requires_fixtures
def test_hourly_pay_is_exact_and_annualised() -> None:
    hourly = [
        (i, SearchItem.model_validate(i))
        for _, _, i in fixture_items()
        if i["MatchedObjectDescriptor"]["PositionRemuneration"][0]["RateIntervalCode"] == "Per Hour"
    ]
    assert hourly
    raw, parsed = hourly[0]
    text = raw["MatchedObjectDescriptor"]["PositionRemuneration"][0]["MinimumRange"]
    assert parsed.descriptor.pay is not None
    assert str(parsed.descriptor.pay.minimum) == text  # "19.18" stays "19.18"
    rows = transform_page([raw])
    job = rows.jobs[0]
    assert job[COL["pay_interval_code"]] == "PH"
    assert job[COL["pay_annual_min"]] == Decimal(text) * 2087


@requires_fixtures
def test_raw_json_is_the_item_as_received() -> None:
    _, _, item = next(fixture_items())
    rows = transform_page([item])
    assert json.loads(rows.jobs[0][COL["raw_json"]]) == item


# ---------------------------------------------------------------- coercions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-07-17T00:00:00.0000", datetime(2025, 7, 17, tzinfo=UTC)),
        ("2025-09-26T23:59:59.9970", datetime(2025, 9, 26, 23, 59, 59, 997000, tzinfo=UTC)),
        ("2021-04-05", datetime(2021, 4, 5, tzinfo=UTC)),
        ("2016-05-03T00:00:00Z", datetime(2016, 5, 3, tzinfo=UTC)),
        ("", None),
    ],
)
def test_three_date_formats(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("111234.0", Decimal("111234.0")),
        ("$95,000", Decimal(95000)),
        ("25.43", Decimal("25.43")),
        (25.43, Decimal("25.43")),
        (0, Decimal(0)),
        ("", None),
        (None, None),
    ],
)
def test_pay_amounts_are_exact(value: Any, expected: Decimal | None) -> None:
    assert parse_decimal(value) == expected


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, [1]])
def test_bad_amounts_are_rejected(bad: Any) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_decimal(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("True", True),
        ("False", False),
        ("Yes", True),
        ("No", False),
        ("Y", True),
        ("N", False),
        (True, True),
        (False, False),
        ("", None),
        (None, None),
    ],
)
def test_booleans(value: Any, expected: bool | None) -> None:
    assert parse_bool(value) is expected


@pytest.mark.parametrize(
    ("code", "description", "expected"),
    [
        ("PA", "Per Year", "PA"),
        ("Per Year", None, "PA"),
        ("Per Hour", None, "PH"),
        ("Bi-weekly", None, "BW"),
        ("Without Compensation", None, "WC"),
        ("ph", None, "PH"),
        (None, "Per Day", "PD"),
        (None, None, None),
    ],
)
def test_rate_interval_normalised(
    code: str | None, description: str | None, expected: str | None
) -> None:
    assert rate_interval_code(code, description) == expected


def test_both_spellings_of_position_sensitivity() -> None:
    for key in ("PositionSensitivitiy", "PositionSensitivity"):
        item = _item(UserArea={"Details": {key: "Non-sensitive"}})
        assert (
            SearchItem.model_validate(item).descriptor.details.position_sensitivity
            == "Non-sensitive"
        )


def test_absent_optional_keys_are_fine() -> None:
    item = _item()
    for key in ("PositionID", "ApplyURI", "PositionRemuneration", "PositionLocation", "UserArea"):
        item["MatchedObjectDescriptor"].pop(key)
    rows = transform_page([item])
    assert rows.quarantine == []
    assert rows.jobs[0][COL["pay_min"]] is None
    assert rows.locations == []


# ---------------------------------------------------------------- content hash


def test_content_hash_ignores_search_context_only() -> None:
    base = _item()
    ranked = copy.deepcopy(base)
    ranked["RelevanceRank"] = 99
    ranked["MatchedObjectDescriptor"]["PositionFormattedDescription"] = [{"Content": "<c0>x</c0>"}]
    assert content_hash(base) == content_hash(ranked)
    changed = copy.deepcopy(base)
    changed["MatchedObjectDescriptor"]["PositionRemuneration"][0]["MaximumRange"] = "150001.0"
    assert content_hash(base) != content_hash(changed)


# ---------------------------------------------------------------- quarantine and duplicates


def _bad_items() -> list[tuple[Any, str]]:
    no_id = _item()
    del no_id["MatchedObjectId"]
    no_title = _item(PositionTitle="  ")
    no_uri = _item()
    del no_uri["MatchedObjectDescriptor"]["PositionURI"]
    bad_lat = _item(PositionLocation=[{"Latitude": 123.0, "Longitude": 0}])
    bad_pay = _item(
        PositionRemuneration=[{"MinimumRange": "9", "MaximumRange": "1", "RateIntervalCode": "PA"}]
    )
    nul = _item(PositionTitle="Data\x00Engineer")
    surrogate = _item(PositionTitle="Data \ud800 Engineer")
    return [
        ([1, 2], "not a JSON object"),
        ("text", "not a JSON object"),
        (no_id, "MatchedObjectId"),
        (no_title, "PositionTitle"),
        (no_uri, "PositionURI"),
        (bad_lat, "latitude out of range"),
        (bad_pay, "pay_min 9 > pay_max 1"),
        (nul, "NUL"),
        (surrogate, "surrogate"),
    ]


def test_mixed_page_loads_valid_items_and_quarantines_each_bad_one() -> None:
    bad = _bad_items()
    good = _item()
    items = [good, *(b for b, _ in bad)]
    rows = transform_page(items)
    assert [j[COL["control_number"]] for j in rows.jobs] == ["123456789"]
    assert len(rows.quarantine) == len(bad)
    for q, (raw, reason) in zip(rows.quarantine, bad, strict=True):
        assert reason in q.reason
        assert q.item_index == items.index(raw)
        if q.storable:
            assert json.loads(q.raw_text) == raw


def test_duplicates_in_a_page_last_occurrence_wins() -> None:
    first = _item()
    second = _item(PositionTitle="Senior Data Engineer")
    rows = transform_page([first, second])
    assert rows.duplicates == 1
    assert len(rows.jobs) == 1
    assert rows.jobs[0][COL["position_title"]] == "Senior Data Engineer"


def test_unknown_keys_are_counted_as_drift() -> None:
    item = _item(BrandNewField=1)
    item["MatchedObjectDescriptor"]["UserArea"]["Details"]["AnotherNew"] = "x"
    rows = transform_page([item])
    assert rows.unknown_keys["MatchedObjectDescriptor.BrandNewField"] == 1
    assert rows.unknown_keys["MatchedObjectDescriptor.UserArea.Details.AnotherNew"] == 1


@pytest.mark.parametrize("payload", [[], {"x": 1}, {"SearchResult": {"SearchResultItems": 5}}])
def test_non_search_payload_is_a_page_level_error(payload: Any) -> None:
    with pytest.raises(ValueError, match=r"SearchResult|JSON object|not a list"):
        search_items(payload)


def test_items_the_database_holds_unchanged_skip_validation() -> None:
    good = _item()
    broken = _item(PositionTitle="")  # would be quarantined if validated
    broken["MatchedObjectId"] = "222222222"
    stored = {"123456789": content_hash(good), "222222222": content_hash(broken)}
    rows = transform_page([good, broken], stored=stored)
    assert rows.unchanged == ["123456789", "222222222"]
    assert rows.jobs == []
    assert rows.quarantine == []
    assert rows.new == set()
    changed = _item(PositionTitle="Lead Data Engineer")
    rows = transform_page([changed], stored=stored)
    assert rows.unchanged == []
    assert [j[COL["position_title"]] for j in rows.jobs] == ["Lead Data Engineer"]
    assert rows.new == set()  # known control number, new content
    fresh = transform_page([changed], stored={})
    assert fresh.new == {"123456789"}
