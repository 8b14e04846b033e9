"""AnnouncementText pages (`backfill --texts`): told apart from records, rows as received."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from tasman_etl.historic_text import (
    TEXT_KIND,
    is_text_page,
    text_control_number,
    transform_text_page,
)
from tasman_etl.runner.backfill import worst
from tasman_etl.runner.windows import WindowPlan
from tasman_etl.transform import content_hash

TEXT = {
    "usajobsControlNumber": 512345678,
    "positionOpenDate": "2019-03-04",
    "requirementsQualifications": "One year of specialized experience.",
    "requirementsEducation": "None.",
    "duties": "Plans.\nReviews.",
}
RECORD = {"usajobsControlNumber": 512345678, "positionTitle": "Analyst", "hiringPaths": []}


def _page(*items: Any) -> dict[str, Any]:
    return {"paging": {"metadata": {"totalCount": len(items)}, "next": None}, "data": list(items)}


@pytest.mark.parametrize(
    ("endpoint", "part", "payload", "texts"),
    [
        ("/api/HistoricJoa/AnnouncementText", None, _page(RECORD), True),  # the endpoint wins
        ("/api/historicjoa/announcementtext?continuationtoken=x", "", _page(), True),
        ("/api/HistoricJoa", "historic-text.2019-03", _page(TEXT), False),
        ("file", "historic-text.2019-03", _page(RECORD), True),  # then the ledger part
        (None, "historic.2019-03", _page(TEXT), False),
        (None, None, _page(TEXT), True),  # then the shape: texts, no title
        (None, None, _page(TEXT, RECORD), False),
        (None, None, _page({"USAJOBSCONTROLNUMBER": 1, "HowToApply": "Online."}), True),
        (None, None, _page(), False),  # an empty page of neither: records (no rows anyway)
        (None, None, _page("not an object"), False),
    ],
)
def test_a_text_page_is_told_by_endpoint_then_part_then_shape(
    endpoint: str | None, part: str | None, payload: Any, texts: bool
) -> None:
    assert is_text_page(endpoint, part, payload) is texts


def test_text_records_are_kept_as_received_one_per_control_number() -> None:
    later = {**TEXT, "requirementsEducation": "A degree."}
    other = {"USAJOBSControlNumber": " 77 ", "summary": "x"}
    rows = transform_text_page([TEXT, other, later])
    assert rows.kind == TEXT_KIND
    assert rows.items == 3 and rows.duplicates == 1
    assert rows.texts == [
        ("77", json.dumps(other, separators=(",", ":")), content_hash(other)),
        ("512345678", json.dumps(later, separators=(",", ":")), content_hash(later)),
    ]
    assert rows.item_index == {"512345678": 2, "77": 1}
    assert rows.jobs == [] and rows.control_numbers == [] and rows.quarantine == []


def test_unusable_text_records_are_quarantined_with_their_raw_json() -> None:
    rows = transform_text_page(
        ["text", {"summary": "no number"}, {"usajobsControlNumber": 5, "x": float("nan")}]
    )
    assert rows.texts == []
    reasons = [(q.item_index, q.control_number, q.storable) for q in rows.quarantine]
    assert reasons == [(0, None, True), (1, None, True), (2, "5", False)]
    assert "not a JSON object" in rows.quarantine[0].reason
    assert "no usajobsControlNumber" in rows.quarantine[1].reason
    assert "NaN" in rows.quarantine[2].reason
    assert json.loads(rows.quarantine[1].raw_text) == {"summary": "no number"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"usajobsControlNumber": 12}, "12"),
        ({"UsajobsControlNumber": " 34 "}, "34"),
        ({"usajobsControlNumber": True}, None),
        ({"usajobsControlNumber": "  "}, None),
        ({}, None),
        ([], None),
    ],
)
def test_text_control_number(raw: Any, expected: str | None) -> None:
    assert text_control_number(raw) == expected


@pytest.mark.parametrize(
    ("chains", "expected"),
    [
        (["complete", "complete"], "complete"),
        (["complete", "pending"], "pending"),
        (["short", "running"], "running"),
        (["failed", "short"], "failed"),
        (["complete", "short"], "short"),
        (["stopped", "complete"], "stopped"),
        (["complete"], "complete"),
    ],
)
def test_a_window_is_as_done_as_its_least_done_chain(chains: list[str], expected: str) -> None:
    assert worst(chains) == expected


def test_a_window_has_a_text_part_beside_its_records_part() -> None:
    window = WindowPlan(date(2019, 3, 1), date(2019, 3, 31), 10)
    assert (window.part, window.text_part) == ("historic.2019-03", "historic-text.2019-03")
