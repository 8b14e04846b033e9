"""Backfill windows: ids, months, and splitting by `totalCount` (pure, no I/O)."""

from __future__ import annotations

import itertools
import threading
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasman_etl.errors import ConfigError
from tasman_etl.runner.windows import (
    PART_PREFIX,
    Probe,
    WindowPlan,
    month_ranges,
    parse_window_id,
    plan_windows,
    window_id,
)


def test_a_whole_month_is_named_by_its_month() -> None:
    assert window_id(date(2019, 2, 1), date(2019, 2, 28)) == "2019-02"
    assert window_id(date(2020, 2, 1), date(2020, 2, 29)) == "2020-02"
    assert window_id(date(2020, 2, 1), date(2020, 2, 28)) == "2020-02-01_2020-02-28"


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(min_value=0, max_value=400),
)
def test_window_ids_parse_back_to_their_range(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    assert parse_window_id(window_id(start, end)) == (start, end)


@pytest.mark.parametrize("text", ["2019", "2019-13", "2019-03-01", "2019-03-05_2019-03-01", ""])
def test_a_bad_window_id_is_a_usage_error(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_window_id(text)


def test_months_cover_the_range_exactly_once() -> None:
    ranges = month_ranges(date(2016, 1, 15), date(2016, 4, 2))
    assert ranges == [
        (date(2016, 1, 15), date(2016, 1, 31)),
        (date(2016, 2, 1), date(2016, 2, 29)),
        (date(2016, 3, 1), date(2016, 3, 31)),
        (date(2016, 4, 1), date(2016, 4, 2)),
    ]
    with pytest.raises(ConfigError):
        month_ranges(date(2016, 2, 1), date(2016, 1, 1))


def _probe_from(counts_per_day: dict[date, int]) -> tuple[list[tuple[date, date]], Probe]:
    asked: list[tuple[date, date]] = []
    lock = threading.Lock()

    def probe(start: date, end: date) -> tuple[int, int]:
        with lock:
            asked.append((start, end))
        total = sum(n for day, n in counts_per_day.items() if start <= day <= end)
        return total, 1000

    return asked, probe


def test_a_large_month_is_halved_until_each_window_fits() -> None:
    days = {date(2018, 5, d): 0 for d in range(1, 32)}
    days[date(2018, 5, 3)] = 9_000
    days[date(2018, 5, 20)] = 9_000
    days[date(2018, 5, 21)] = 9_000
    asked, probe = _probe_from(days)
    windows = plan_windows(
        month_ranges(date(2018, 5, 1), date(2018, 5, 31)), probe, max_rows=10_000
    )
    assert all(w.expected <= 10_000 for w in windows)
    assert sum(w.expected for w in windows) == 27_000
    # the windows tile the month: no gap, no overlap
    assert windows[0].start == date(2018, 5, 1) and windows[-1].end == date(2018, 5, 31)
    for a, b in itertools.pairwise(windows):
        assert b.start == a.end + timedelta(days=1)
    assert len(windows) > 2 and (date(2018, 5, 1), date(2018, 5, 31)) in asked


def test_a_single_day_over_the_limit_is_kept_whole() -> None:
    _asked, probe = _probe_from({date(2018, 5, 3): 50_000})
    windows = plan_windows([(date(2018, 5, 3), date(2018, 5, 3))], probe, max_rows=10_000)
    assert [(w.id, w.expected) for w in windows] == [("2018-05-03_2018-05-03", 50_000)]


def test_a_window_round_trips_through_the_ledger_form() -> None:
    w = WindowPlan(date(2019, 3, 1), date(2019, 3, 31), 2_345, 1000, ("VA",), ("2210",))
    data = w.to_json()
    assert data == {
        "id": "2019-03",
        "from": "2019-03-01",
        "to": "2019-03-31",
        "expected": 2_345,
        "pages": 3,
        "agencies": ["VA"],
        "series": ["2210"],
    }
    back = WindowPlan.from_json(data)
    assert (back.start, back.end, back.expected, back.pages) == (w.start, w.end, 2_345, 3)
    assert (back.agencies, back.series) == (("VA",), ("2210",))
    assert w.part == PART_PREFIX + "2019-03"
    assert WindowPlan(date(2019, 3, 1), date(2019, 3, 31), 0).pages == 1
