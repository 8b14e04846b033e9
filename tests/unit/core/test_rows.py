"""The silver row layouts are named tuples, and both item transforms fill them field by field.

The search transform builds its rows with ``tuple.__new__(Row, values)`` (the hot path of a
load), which mypy cannot check against the fields: these tests check every value of every
row the search and Historic JOA transforms make against the field's annotation, so a value
in the wrong place or a missing one fails here.
"""

from __future__ import annotations

import json
import types
import typing
from collections import Counter
from typing import Any

import pytest

from tasman_etl import rows, transform
from tasman_etl.historic import transform_historic_page
from tasman_etl.rows import (
    CategoryRow,
    DetailsRow,
    GradeRow,
    HiringPathRow,
    JobRow,
    LocationRow,
    PageRows,
)
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.transform import prepare_items, transform_page, transform_prepared

LAYOUTS: dict[str, tuple[type[tuple[Any, ...]], str]] = {
    "jobs": (JobRow, "JOB_COLUMNS"),
    "locations": (LocationRow, "LOCATION_COLUMNS"),
    "categories": (CategoryRow, "CATEGORY_COLUMNS"),
    "grades": (GradeRow, "GRADE_COLUMNS"),
    "hiring_paths": (HiringPathRow, "HIRING_PATH_COLUMNS"),
    "details": (DetailsRow, "DETAILS_COLUMNS"),
}


@pytest.fixture(scope="module")
def sim() -> SimulatorServer:
    return SimulatorServer(SimulatorConfig(jobs=300, seed=7, text="real", historic_jobs=300))


@pytest.fixture(scope="module")
def search_rows(sim: SimulatorServer) -> PageRows:
    u = sim.universe
    items = [json.loads(u.item_bytes(i, radial=False)) for i in u.live_order()]
    return transform_page(items)


@pytest.fixture(scope="module")
def historic_rows(sim: SimulatorServer) -> PageRows:
    return transform_historic_page(sim.historic_records())


def _conforms(value: Any, hint: Any) -> bool:
    """Whether `value` is of the annotated type (unions, ``list[X]`` and plain classes)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_conforms(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_conforms(v, item) for v in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _misfits(page: PageRows) -> list[str]:
    out = []
    for attr, (layout, _) in LAYOUTS.items():
        hints = typing.get_type_hints(layout)
        for row in getattr(page, attr):
            assert type(row) is layout, f"{attr}: {type(row).__name__}"
            assert len(row) == len(layout._fields), f"{attr}: {len(row)} values"
            out += [
                f"{attr}.{name} = {value!r:.60}"
                for name, value in zip(layout._fields, row, strict=True)
                if not _conforms(value, hints[name])
            ]
    return out


@pytest.mark.parametrize("attr", sorted(LAYOUTS))
def test_the_column_tuples_are_the_fields_of_the_named_rows(attr: str) -> None:
    layout, constant = LAYOUTS[attr]
    assert getattr(rows, constant) == layout._fields
    assert getattr(transform, constant) is getattr(rows, constant)  # still exported there
    assert layout._fields[0] == "control_number"


def test_every_search_row_value_has_its_fields_type(search_rows: PageRows) -> None:
    assert search_rows.jobs and search_rows.locations and search_rows.details
    assert _misfits(search_rows) == []


def test_every_historic_row_value_has_its_fields_type(historic_rows: PageRows) -> None:
    assert historic_rows.jobs and historic_rows.locations and historic_rows.details
    assert _misfits(historic_rows) == []


def test_the_sample_fills_most_fields_so_the_type_check_means_something(
    search_rows: PageRows,
) -> None:
    filled: Counter[str] = Counter()
    for attr, (layout, _) in LAYOUTS.items():
        for row in getattr(search_rows, attr):
            filled.update(f"{attr}.{n}" for n, v in zip(layout._fields, row, strict=True) if v)
    fields = [f"{a}.{n}" for a, (layout, _) in LAYOUTS.items() for n in layout._fields]
    assert len([f for f in fields if filled[f]]) >= 0.95 * len(fields)


def test_a_named_row_is_read_by_name_and_equals_its_plain_tuple(search_rows: PageRows) -> None:
    job = search_rows.jobs[0]
    assert job == tuple(job)
    assert job.control_number == job[0] and job.raw_json == job[-1]
    assert json.loads(job.raw_json)["MatchedObjectId"] == job.control_number
    location = search_rows.locations[0]
    assert (location.latitude, location.longitude) == tuple(location)[6:8]


def test_prepared_and_one_pass_transforms_give_the_same_rows(
    sim: SimulatorServer, search_rows: PageRows
) -> None:
    u = sim.universe
    items = [json.loads(u.item_bytes(i, radial=False)) for i in u.live_order()]
    again = transform_prepared(prepare_items(items, Counter()))
    for attr in LAYOUTS:
        assert getattr(again, attr) == getattr(search_rows, attr)
