"""The native evaluator gives exactly Great Expectations' results (ADR 0026).

`NativeSuiteRunner` and `GxSuiteRunner` validate the same frames, built from the real
recorded pages, from hostile items sent through the models, from hostile raw columns the
models never let through, and from random frames (hypothesis); their outcomes must be equal
expectation by expectation: success, unexpected_count, the unexpected rows and the observed
value. Great Expectations is imported once for the module (a few seconds).

Also: a spec the native evaluator does not implement cannot be built, and the gate's
whole-suite evaluation of 10,000 jobs stays in milliseconds.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasman_etl.dq import DqGate
from tasman_etl.dq.check import ExpectationOutcome
from tasman_etl.dq.frames import (
    Frame,
    batch_frames,
    items_frame,
    jobs_frame,
    pages_frame,
    payload_items,
)
from tasman_etl.dq.frames import search_result_count as result_count
from tasman_etl.dq.gx.suite import ExpectationSpec, page_expectations, row_expectations
from tasman_etl.dq.native import IMPLEMENTED, NativeSuiteRunner, UnsupportedExpectationError
from tasman_etl.models import RATE_INTERVAL_CODES
from tasman_etl.transform import search_items, transform_page

from realdata import FIXTURES, SEARCH_FILES, fixture_items, load_payload, requires_fixtures

SPECS = (*row_expectations(RATE_INTERVAL_CODES), *page_expectations())
# The arguments the suite does not use but the native evaluator accepts: held to GX too.
VARIANTS = (
    ExpectationSpec("nn_mostly", "row", "ExpectColumnValuesToNotBeNull",
                    {"column": "pay_min", "mostly": 0.6}),
    ExpectationSpec("between_strict", "row", "ExpectColumnValuesToBeBetween",
                    {"column": "latitude_extreme", "min_value": -90, "max_value": 90,
                     "strict_min": True, "strict_max": True}),
    ExpectationSpec("between_max_only", "row", "ExpectColumnValuesToBeBetween",
                    {"column": "pay_max", "max_value": 100_000, "mostly": 0.5}),
    ExpectationSpec("int_between", "row", "ExpectColumnValuesToBeBetween",
                    {"column": "location_count", "min_value": 1, "max_value": 3}),
    ExpectationSpec("regex_unanchored", "row", "ExpectColumnValuesToMatchRegex",
                    {"column": "position_uri", "regex": r"usajobs\.gov"}),
    ExpectationSpec("greater_both_missing", "row", "ExpectColumnPairValuesAToBeGreaterThanB",
                    {"column_A": "pay_max", "column_B": "pay_min"}),
    ExpectationSpec("greater_neither", "row", "ExpectColumnPairValuesAToBeGreaterThanB",
                    {"column_A": "application_close_date", "column_B": "publication_start_date",
                     "or_equal": True, "ignore_row_if": "neither"}),
    ExpectationSpec("equal_neither", "row", "ExpectColumnPairValuesToBeEqual",
                    {"column_A": "pay_min", "column_B": "pay_max", "ignore_row_if": "neither"}),
    ExpectationSpec("in_set_mostly", "row", "ExpectColumnValuesToBeInSet",
                    {"column": "pay_interval_code", "value_set": ["PA", "PH"], "mostly": 0.5}),
    ExpectationSpec("unique_all_missing", "row", "ExpectCompoundColumnsToBeUnique",
                    {"column_list": ["control_number", "pay_interval_code"]}),
    ExpectationSpec("unique_never", "row", "ExpectCompoundColumnsToBeUnique",
                    {"column_list": ["position_title", "pay_min"], "ignore_row_if": "never"}),
    ExpectationSpec("pages_equal_default", "page", "ExpectColumnPairValuesToBeEqual",
                    {"column_A": "items", "column_B": "search_result_count"}, table="pages"),
)  # fmt: skip

# The column kinds of the gate's own jobs frame (dq/frames.py), not a copy of them.
JOB_KINDS = dict(jobs_frame(transform_page([])).kinds)
NAN, INF = math.nan, math.inf
DAY = datetime(2025, 7, 17, tzinfo=UTC)


class Pair:
    """The GX runner and the native runner over the same specs."""

    def __init__(self, specs: tuple[ExpectationSpec, ...]) -> None:
        from tasman_etl.dq.gx.runner import GxSuiteRunner

        self.gx = GxSuiteRunner(specs)
        self.native = NativeSuiteRunner(specs)


@pytest.fixture(scope="module")
def suite() -> Pair:
    """The suite's expectations and the variants, in one runner of each kind."""
    return Pair((*SPECS, *VARIANTS))


def _key(o: ExpectationOutcome) -> tuple[Any, ...]:
    return (
        o.spec.name,
        o.success,
        o.unexpected_count,
        tuple(sorted(o.unexpected_rows)),
        o.observed_value,
        o.error is None,
    )


def assert_same(pair: Pair, frames: dict[str, Frame]) -> list[ExpectationOutcome]:
    expected = pair.gx.validate(frames)
    found = pair.native.validate(frames)
    assert [_key(o) for o in found] == [_key(o) for o in expected]
    assert [o.spec.name for o in found] == [s.name for s in pair.native.specs]
    return found


def _frames(payloads: list[dict[str, Any]]) -> dict[str, Frame]:
    """A batch's frames, as the gate builds them."""
    items = [payload_items(p) for p in payloads]
    return batch_frames(
        [transform_page(i) for i in items], items, [result_count(p) for p in payloads]
    )


def _jobs(**columns: list[Any]) -> Frame:
    """A jobs frame from raw columns; the columns not given are filled with valid values."""
    n = len(next(iter(columns.values())))
    base: dict[str, list[Any]] = {
        "control_number": [str(900000000 + i) for i in range(n)],
        "position_title": ["Data Engineer"] * n,
        "position_uri": [f"https://www.usajobs.gov/job/{i}" for i in range(n)],
        "apply_uris": ["https://apply.example.gov/a"] * n,
        "pay_min": [50_000.0] * n,
        "pay_max": [90_000.0] * n,
        "pay_interval_code": ["PA"] * n,
        "publication_start_date": [DAY] * n,
        "application_close_date": [DAY + timedelta(days=30)] * n,
        "location_count": [1] * n,
        "latitude_extreme": [41.9] * n,
        "longitude_extreme": [-87.6] * n,
    }
    base.update(columns)
    return Frame(base, JOB_KINDS)


def _with_jobs(jobs: Frame) -> dict[str, Frame]:
    return {"jobs": jobs, "items": items_frame([]), "pages": pages_frame([], [])}


# ------------------------------------------------------------------ real pages


@requires_fixtures
@pytest.mark.slow
@pytest.mark.parametrize("path", SEARCH_FILES, ids=lambda p: p.name)
def test_each_real_page_gets_the_same_outcomes(suite: Pair, path: Path) -> None:
    assert_same(suite, _frames([load_payload(path)]))


@requires_fixtures
@pytest.mark.slow
def test_every_real_page_in_one_batch_with_the_pages_repeated(suite: Pair) -> None:
    payloads = [load_payload(p) for p in SEARCH_FILES]
    outcomes = assert_same(suite, _frames(payloads + payloads[:2]))
    by_name = {o.spec.name: o for o in outcomes}
    assert by_name["control_numbers_unique"].success  # unique per page, not per batch
    assert not by_name["item_count_matches_search_result_count"].success  # the trimmed page


def _hostile_payloads() -> list[dict[str, Any]]:
    """Real items broken the ways the models let through, and duplicates of every sort."""
    base = [copy.deepcopy(item) for _, _, item in fixture_items()][:40]
    for i, item in enumerate(base):
        item["MatchedObjectId"] = str(800000000 + i)
    d = [item["MatchedObjectDescriptor"] for item in base]
    d[0]["PositionURI"] = "ftp://example.org/job"
    d[1]["PositionURI"] = "https://a.example/x https://b.example/y"
    d[2]["ApplyURI"] = ["https://ok.example/a", "mailto:hr@example.gov"]
    d[3]["ApplyURI"] = ["javascript:alert(1)"]
    d[4]["ApplyURI"] = []
    d[5]["PositionRemuneration"][0].update(MinimumRange="", MaximumRange="-5")
    d[6]["PositionRemuneration"][0].update(RateIntervalCode="XX", Description="Per Fortnight")
    d[7]["PositionRemuneration"] = []
    d[8].update(PublicationStartDate="2025-10-01", ApplicationCloseDate="2025-09-01")
    d[9].update(PublicationStartDate="2025-09-01T00:00:00", ApplicationCloseDate="2025-09-01")
    d[10]["ApplicationCloseDate"] = None
    d[11]["PositionLocation"] = []
    d[12]["PositionTitle"] = "   "
    d[13]["PositionURI"] = "HTTPS://WWW.USAJOBS.GOV/JOB/1"
    with_duplicates = [
        *base[:20],
        copy.deepcopy(base[3]),  # the same control number again
        {"MatchedObjectId": None, "MatchedObjectDescriptor": {}},
        {"MatchedObjectId": None},  # two items without an id: not duplicates
        {"MatchedObjectId": "  "},
        "not an object",
        {"MatchedObjectId": 800000004, "MatchedObjectDescriptor": d[4]},  # int id, repeated
    ]
    return [
        {"SearchResult": {"SearchResultCount": 26, "SearchResultItems": with_duplicates}},
        {"SearchResult": {"SearchResultCount": "7", "SearchResultItems": base[20:30]}},
        {"SearchResult": {"SearchResultItems": base[30:]}},  # no count at all
        {"SearchResult": {"SearchResultCount": None, "SearchResultItems": base[:3]}},
        {"SearchResult": {"SearchResultCount": 0, "SearchResultItems": []}},
    ]  # fmt: skip


@requires_fixtures
@pytest.mark.slow
def test_hostile_items_through_the_models_get_the_same_outcomes(suite: Pair) -> None:
    payloads = _hostile_payloads()
    outcomes = assert_same(suite, _frames(payloads))
    failed = {o.spec.name for o in outcomes if not o.success}
    assert {"position_uri_is_http_url", "control_numbers_unique", "has_location"} <= failed
    for payload in payloads:  # and each page alone
        assert_same(suite, _frames([payload]))


# ------------------------------------------------------------------ raw hostile columns


HOSTILE_JOBS = _jobs(
    control_number=["1", None, NAN, "", "  ", "x", "900000001", "900000001"],
    position_title=["t", "", None, NAN, "a", "b", "\t", "ok"],
    position_uri=[
        "https://a.b/c",
        "ftp://x",
        "http://a.b\n",
        "https://a b",
        None,
        "HTTPS://X",
        "https://x/\u00a0y",
        "//no-scheme",
    ],
    apply_uris=[
        "https://a.b https://c.d",
        "https://a.b  https://c.d",
        "https://a.b mailto:x",
        None,
        "",
        "http://x\u00a0y",
        " https://a.b",
        "https://a.b ",
    ],
    pay_min=[1.0, -1.0, None, NAN, INF, 5.0, -0.0, 90_000.0],
    pay_max=[0.0, None, None, 3.0, INF, -INF, 0.0, 90_000.0],
    pay_interval_code=["PA", "pa", None, "XX", "", "PH", " PA", "WC"],
    publication_start_date=[
        DAY,
        DAY,
        None,
        DAY + timedelta(days=1),
        None,
        DAY.astimezone(timezone(timedelta(hours=5))),
        DAY + timedelta(microseconds=1),
        DAY.astimezone(timezone(timedelta(hours=-10))),
    ],
    application_close_date=[
        DAY,
        DAY - timedelta(seconds=1),
        DAY,
        DAY,
        None,
        DAY,
        DAY,
        DAY - timedelta(microseconds=1),
    ],
    location_count=[0, 1, 2, -1, 5, 1, 0, 3],
    latitude_extreme=[90.0, 90.0001, -90.0, -INF, None, NAN, -90.0001, 0.0],
    longitude_extreme=[180.0, -180.0001, None, INF, 0.0, -180.0, 180.0000001, -0.0],
)


@pytest.mark.slow
def test_hostile_raw_columns_get_the_same_outcomes(suite: Pair) -> None:
    items = Frame(
        {
            "page": [0, 0, 0, 0, 0, 1, 1, 1, 2, 2],
            "item_index": list(range(10)),
            "matched_object_id": ["1", "1", None, None, NAN, "1", "2", "2", "", " "],
        },
        {"page": "int", "item_index": "int", "matched_object_id": "text"},
    )
    pages = pages_frame([5, 3, 2, 0, 25], [5, None, 3, 0, 2])
    frames = {"jobs": HOSTILE_JOBS, "items": items, "pages": pages}
    outcomes = assert_same(suite, frames)
    assert all(not o.success for o in outcomes[: len(SPECS)])  # every rule has a case here


@pytest.mark.slow
def test_frames_without_rows_get_the_same_outcomes(suite: Pair) -> None:
    empty = Frame({name: [] for name in JOB_KINDS}, JOB_KINDS)
    outcomes = assert_same(suite, _with_jobs(empty))
    assert all(o.success and o.unexpected_count == 0 for o in outcomes)
    everything_missing = _jobs(
        control_number=[None, None],
        position_title=[NAN, None],
        pay_min=[None, NAN],
        pay_max=[None, None],
        pay_interval_code=[None, None],
        publication_start_date=[None, None],
        application_close_date=[None, None],
        latitude_extreme=[None, None],
        longitude_extreme=[NAN, NAN],
    )
    assert_same(suite, _with_jobs(everything_missing))


@pytest.mark.slow
def test_a_column_that_cannot_be_evaluated_is_an_error_on_both(suite: Pair) -> None:
    # a text where a number belongs: that expectation errors, the others are evaluated
    bad = Frame({**HOSTILE_JOBS.columns, "location_count": ["north"] * 8}, {
        **JOB_KINDS, "location_count": "text"})  # fmt: skip
    outcomes = assert_same(suite, _with_jobs(bad))
    errors = [o.spec.name for o in outcomes if o.error is not None]
    assert errors == ["has_location", "int_between"]
    # an int column pandas cannot build: the whole validation raises, on both
    broken = _jobs(location_count=[1, None])
    with pytest.raises((TypeError, ValueError)):
        suite.gx.validate(_with_jobs(broken))
    with pytest.raises((TypeError, ValueError)):
        suite.native.validate(_with_jobs(broken))


# ------------------------------------------------------------------ random frames

_text = st.one_of(
    st.none(),
    st.just(NAN),
    st.sampled_from(["", " ", "PA", "PH", "pa", "XX", "https://a.b/c", "http://x y", "ftp://z"]),
    st.text(alphabet="hH tps:/.abc\u00a0\n?#", max_size=14),
)
_float = st.one_of(
    st.none(),
    st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 90.0, 90.0001, -90.0, 180.0, -180.0001]),
    st.floats(min_value=-200_000, max_value=200_000),
)
_when = st.one_of(
    st.none(),
    st.builds(
        lambda days, hours: (DAY + timedelta(days=days)).astimezone(
            timezone(timedelta(hours=hours))
        ),
        st.integers(-3, 3),
        st.integers(-12, 12),
    ),
)  # fmt: skip
_KIND_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": _text,
    "float": _float,
    "datetime": _when,
    "int": st.integers(-2, 4),
}


@st.composite
def batches(draw: Callable[..., Any]) -> dict[str, Frame]:
    n = draw(st.integers(0, 12))
    jobs = {name: draw(st.lists(_KIND_VALUES[kind], min_size=n, max_size=n))
            for name, kind in JOB_KINDS.items()}  # fmt: skip
    pages = draw(st.integers(1, 3))
    sizes = [draw(st.integers(0, 6)) for _ in range(pages)]
    ids = st.one_of(st.none(), st.just(NAN), st.sampled_from(["1", "2", "3", "", " "]))
    item_pages = [k for k, size in enumerate(sizes) for _ in range(size)]
    items = Frame(
        {
            "page": item_pages,
            "item_index": list(range(len(item_pages))),
            "matched_object_id": [draw(ids) for _ in item_pages],
        },
        {"page": "int", "item_index": "int", "matched_object_id": "text"},
    )
    counts = [draw(st.one_of(st.none(), st.integers(0, 7))) for _ in sizes]
    return {"jobs": Frame(jobs, JOB_KINDS), "items": items, "pages": pages_frame(sizes, counts)}


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=batches())
def test_random_frames_get_the_same_outcomes(suite: Pair, frames: dict[str, Frame]) -> None:
    assert_same(suite, frames)


# ------------------------------------------------------------------ the gate, both ways


@requires_fixtures
@pytest.mark.slow
def test_the_native_gate_decides_what_the_great_expectations_gate_decides(
    tmp_path: Path,
) -> None:
    payloads = [load_payload(p) for p in SEARCH_FILES[:3]] + _hostile_payloads()
    payloads[0]["SearchResult"]["SearchResultItems"][7]["MatchedObjectDescriptor"][
        "PositionURI"
    ] = "ftp://example.org/job"
    pages = [(transform_page(search_items(p)), p) for p in payloads]
    for item_count in ("hold", "warn"):
        native = DqGate(enforce=True, known_rate_codes=(), item_count=item_count)
        with_gx = DqGate(
            enforce=True, known_rate_codes=(), item_count=item_count, docs_dir=tmp_path / "d"
        )
        assert isinstance(native.runner, NativeSuiteRunner)
        for a, b in zip(native.batch(pages), with_gx.batch(pages), strict=True):
            assert a.results == b.results
            assert (a.hold, a.failed_expectations) == (b.hold, b.failed_expectations)
            assert a.rows.quarantine == b.rows.quarantine
            assert a.rows.jobs == b.rows.jobs
    held = DqGate(enforce=True, known_rate_codes=()).batch(pages)
    assert [q.item_index for q in held[0].rows.quarantine] == [7]
    trimmed = FIXTURES / "search_2024-06_it_specialist_portland_trimmed.json"
    assert [o.hold for o in held[:3]] == [p == trimmed for p in SEARCH_FILES[:3]]


# ------------------------------------------------------------------ what may be specified


@pytest.mark.parametrize("item_count", [True, False])
def test_every_spec_of_the_suites_is_implemented_natively(item_count: bool) -> None:
    specs = (*row_expectations({"PA", "PH"}), *page_expectations(item_count=item_count))
    for spec in specs:
        assert spec.gx_class in IMPLEMENTED, spec
        assert set(spec.kwargs) <= IMPLEMENTED[spec.gx_class], spec
    NativeSuiteRunner(specs)  # and it builds


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            ExpectationSpec("x", "row", "ExpectColumnValuesToBeUnique", {"column": "a"}),
            "ExpectColumnValuesToBeUnique is not implemented",
        ),
        (
            ExpectationSpec(
                "x", "row", "ExpectColumnValuesToNotBeNull", {"column": "a", "row_condition": "b"}
            ),
            r"\['row_condition'\] are not implemented",
        ),
        (
            ExpectationSpec(
                "x", "row", "ExpectColumnValuesToMatchRegex", {"column": "a", "regex": "("}
            ),
            "invalid arguments",
        ),
        (ExpectationSpec("x", "row", "ExpectColumnValuesToMatchRegex", {"column": "a"}), "needs"),
        (
            ExpectationSpec(
                "x",
                "row",
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "a", "column_B": "b", "ignore_row_if": "any_value_is_missing"},
            ),
            "ignore_row_if must be one of",
        ),
        (
            ExpectationSpec("x", "row", "ExpectColumnValuesToBeBetween", {"column": "a"}),
            "cannot both be None",
        ),
        (
            ExpectationSpec(
                "x", "row", "ExpectColumnValuesToBeBetween", {"column": "a", "min_value": "0"}
            ),
            "must be a number",
        ),
        (
            ExpectationSpec(
                "x", "row", "ExpectColumnValuesToNotBeNull", {"column": "a", "mostly": 1.5}
            ),
            "mostly",
        ),
        (
            ExpectationSpec("x", "row", "ExpectCompoundColumnsToBeUnique", {"column_list": ["a"]}),
            "two columns",
        ),
    ],
)
def test_a_spec_the_evaluator_lacks_is_refused_when_built(
    spec: ExpectationSpec, message: str
) -> None:
    with pytest.raises(UnsupportedExpectationError, match=message):
        NativeSuiteRunner([*SPECS, spec])


def test_duplicate_expectation_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        NativeSuiteRunner([SPECS[0], SPECS[0]])


# ------------------------------------------------------------------ cost


@requires_fixtures
def test_ten_thousand_jobs_take_milliseconds() -> None:
    # the real jobs' columns repeated to 10,000 rows (20 pages of 500), control numbers unique
    real = _frames([load_payload(p) for p in SEARCH_FILES])["jobs"]
    n = 10_000
    columns = {
        name: [values[i % len(real)] for i in range(n)] for name, values in real.columns.items()
    }
    columns["control_number"] = [str(100000000 + i) for i in range(n)]
    ids = columns["control_number"]
    frames = {
        "jobs": Frame(columns, real.kinds),
        "items": Frame(
            {"page": [i // 500 for i in range(n)], "item_index": [i % 500 for i in range(n)],
             "matched_object_id": ids},
            {"page": "int", "item_index": "int", "matched_object_id": "text"},
        ),
        "pages": pages_frame([500] * 20, [500] * 20),
    }  # fmt: skip
    runner = NativeSuiteRunner(SPECS)
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        outcomes = runner.validate(frames)
        best = min(best, time.perf_counter() - started)
    assert all(o.success for o in outcomes)
    # the bound leaves room for a busy shared machine; timings are measured in bench/
    assert best < 0.15, best
