"""Every date format the API has served loads (issue 11, item 8).

Besides the three ISO forms, real responses carry US month/day/year dates, with and
without zero padding (side by side in one item) and with an optional 12- or 24-hour time.
An impossible date is still quarantined, with a reason that says what is impossible.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from tasman_etl.models import parse_datetime
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.transform import JOB_COLUMNS, transform_page

COL = {name: i for i, name in enumerate(JOB_COLUMNS)}
_ITEM = SimulatorServer(SimulatorConfig(jobs=1, seed=5)).items[0]


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO, as recorded
        ("2025-07-17T00:00:00.0000", _utc(2025, 7, 17)),
        ("2021-04-05", _utc(2021, 4, 5)),
        ("2016-05-03T00:00:00Z", _utc(2016, 5, 3)),
        # ISO, other shapes: any fraction length, offsets, a space, no seconds
        ("2025-09-26T23:59:59.9970000", _utc(2025, 9, 26, 23, 59, 59, 997000)),
        ("2025-09-26T23:59:59.1234567Z", _utc(2025, 9, 26, 23, 59, 59, 123456)),
        ("2025-09-26T23:59:59.5", _utc(2025, 9, 26, 23, 59, 59, 500000)),
        ("2025-07-17T08:00:00-05:00", _utc(2025, 7, 17, 13)),
        ("2025-07-17T08:00:00+0530", _utc(2025, 7, 17, 2, 30)),
        ("2025-07-17 12:00:00", _utc(2025, 7, 17, 12)),
        ("2025-07-17T12:00", _utc(2025, 7, 17, 12)),
        ("2025-7-1", _utc(2025, 7, 1)),
        # US month/day/year, padded or not
        ("7/17/2025", _utc(2025, 7, 17)),
        ("07/17/2025", _utc(2025, 7, 17)),
        ("7/4/2025", _utc(2025, 7, 4)),
        ("07/04/2025", _utc(2025, 7, 4)),
        ("2/29/2024", _utc(2024, 2, 29)),
        # ... with a 12-hour time
        ("7/17/2025 12:00:00 AM", _utc(2025, 7, 17)),
        ("7/17/2025 12:00:00 PM", _utc(2025, 7, 17, 12)),
        ("07/17/2025 11:59:59 PM", _utc(2025, 7, 17, 23, 59, 59)),
        ("7/17/2025 1:05 pm", _utc(2025, 7, 17, 13, 5)),
        ("7/17/2025 9:30:15AM", _utc(2025, 7, 17, 9, 30, 15)),
        ("7/17/2025 9:30 a.m.", _utc(2025, 7, 17, 9, 30)),
        # ... or a 24-hour time, with a fraction
        ("7/17/2025 23:59:59.997", _utc(2025, 7, 17, 23, 59, 59, 997000)),
        ("7/17/2025 00:00", _utc(2025, 7, 17)),
        ("  7/17/2025  ", _utc(2025, 7, 17)),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_every_served_date_format_parses(text: str | None, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2/30/2025", "day is out of range for month"),
        ("02/29/2025", "day is out of range for month"),
        ("13/01/2025", "month 13"),
        ("0/10/2025", "month 0"),
        ("7/32/2025", "day is out of range for month"),
        ("7/17/2025 13:00 PM", "hour 13 with AM/PM"),
        ("7/17/2025 0:00 AM", "hour 0 with AM/PM"),
        ("7/17/2025 24:00", "hour must be in 0..23"),
        ("7/17/2025 10:60", "minute must be in 0..59"),
        ("2025-02-30", "day is out of range for month"),
        ("2025-13-01", "month must be in 1..12"),
    ],
)
def test_impossible_dates_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="impossible date") as info:
        parse_datetime(text)
    assert why in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["garbage", "17.07.2025", "7/17/25", "20250717", "2025-07-17T25:00", "1" * 500, "7/17"],
)
def test_what_is_not_a_date_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a date") as info:
        parse_datetime(text)
    assert len(str(info.value)) < 120  # a bounded reason, whatever arrived


def _item(**dates: Any) -> dict[str, Any]:
    item = copy.deepcopy(_ITEM)
    item["MatchedObjectDescriptor"].update(dates)
    return item


def test_an_item_mixing_padded_and_unpadded_us_dates_loads() -> None:
    item = _item(
        PublicationStartDate="7/17/2025",
        ApplicationCloseDate="08/01/2025 11:59:59 PM",
        PositionStartDate="07/17/2025 12:00:00 AM",
        PositionEndDate="2025-08-01T23:59:59.9970",
    )
    rows = transform_page([item])
    assert not rows.quarantine
    job = rows.jobs[0]
    assert job[COL["publication_start_date"]] == _utc(2025, 7, 17)
    assert job[COL["application_close_date"]] == _utc(2025, 8, 1, 23, 59, 59)
    assert job[COL["position_start_date"]] == _utc(2025, 7, 17)
    assert job[COL["position_end_date"]] == _utc(2025, 8, 1, 23, 59, 59, 997000)


@pytest.mark.parametrize("text", ["2/30/2025", "13/01/2025"])
def test_an_item_with_an_impossible_date_is_quarantined_with_a_clear_reason(text: str) -> None:
    rows = transform_page([_item(PublicationStartDate=text)])
    assert not rows.jobs
    (q,) = rows.quarantine
    assert "PublicationStartDate" in q.reason
    assert "impossible date" in q.reason and text in q.reason


_SHORTCUT_CASES = [
    "2025-07-17T00:00:00.0000",
    "2025-07-17T00:00:00",
    "2025-07-17",
    "2025-07-17 12:30:45.123456",
    "2025-07-17T00:00:00.1234567",
    "2025-07-17T00:00:00.12345678901",
    "2025-07-17T00:00:00Z",
    "2025-07-17T00:00:00.5+05:30",
    "2025-07-17T23:59:59-15:59",
    "2025-07-17T00",
    "2025-07-17T24:00:00",
    "2025-02-30T00:00:00",
    "2025-13-01",
    "2025-07-17T",
    "2025-07-17X",
    "2025-7-17T00:00:00",
    "2025-07-1",
    "٢٠٢٥-07-17",
    "20250717",
    "2025-07-17T00:00:00.0000 ",
]


@pytest.mark.parametrize("text", _SHORTCUT_CASES)
def test_the_shortcut_for_normal_iso_text_gives_the_general_paths_answer(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasman_etl import coerce

    def answer() -> tuple[str, Any]:
        try:
            return "ok", coerce.parse_datetime(text)
        except ValueError as exc:
            return "error", str(exc)

    fast = answer()
    monkeypatch.setattr(coerce, "_already_normal", lambda _text: False)
    assert answer() == fast


def test_the_apis_usual_forms_take_the_shortcut() -> None:
    from tasman_etl.coerce import _already_normal

    assert [_already_normal(t) for t in _SHORTCUT_CASES[:4]] == [True] * 4
    assert not _already_normal("2025-7-17T00:00:00") and not _already_normal("٢٠٢٥-07-17")
