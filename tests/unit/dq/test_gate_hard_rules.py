"""Hard rules pydantic already enforces are not checked twice (issue 12, ADR 0026).

Seven row expectations left the suite (`tasman_etl.dq.gx.suite`) because no item the
models accept can fail them. `LEFT_TO_THE_MODELS` keeps them exactly as they were, and
the tests evaluate them with the gate's own machinery (the real transform, `jobs_frame`,
`NativeSuiteRunner`):

* on random pages of hostile items (hypothesis): every row the models accept passes them;
* on a table of edge cases (blank and Unicode-blank titles, the second location or the
  second pay entry out of order, bounds exactly on the limit, one pay side missing): the
  edge is accepted and passes, or the models refuse the item with their own reason;
* on rows tampered after the models: each one fails, so the proofs above are not vacuous.

The expectations that stay each have an item the models accept and the gate refuses
(`tests/unit/dq/test_gate.py::test_every_row_rule_has_a_case_the_models_accept`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import OMIT, job_uri, search_item, search_page
from tasman_etl.dq import DqGate
from tasman_etl.dq.frames import jobs_frame
from tasman_etl.dq.gx import suite
from tasman_etl.dq.gx.suite import ExpectationSpec, row_expectations
from tasman_etl.dq.native import NativeSuiteRunner
from tasman_etl.models import RATE_INTERVAL_CODES
from tasman_etl.transform import PageRows, transform_page

ADR = (
    Path(__file__).resolve().parents[3]
    / "docs/architecture/decisions/0026-native-evaluation-of-the-gx-suite.md"
)

_PAIR = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}
#: The left-out expectations, as the suite had them, and the model rule that enforces each.
LEFT_TO_THE_MODELS: dict[str, tuple[ExpectationSpec, str]] = {
    spec.name: (spec, rule)
    for spec, rule in (
        (
            ExpectationSpec(
                "control_number_present",
                "row",
                "ExpectColumnValuesToNotBeNull",
                {"column": "control_number"},
            ),
            "SearchItem._control_number",
        ),
        (
            ExpectationSpec(
                "position_title_present",
                "row",
                "ExpectColumnValuesToNotBeNull",
                {"column": "position_title"},
            ),
            "Descriptor._required_text",
        ),
        (
            ExpectationSpec(
                "position_uri_present",
                "row",
                "ExpectColumnValuesToNotBeNull",
                {"column": "position_uri"},
            ),
            "Descriptor._required_text",
        ),
        (
            ExpectationSpec(
                "pay_min_not_negative",
                "row",
                "ExpectColumnValuesToBeBetween",
                {"column": "pay_min", "min_value": 0},
            ),
            "Descriptor._pay_order",
        ),
        (
            ExpectationSpec(
                "pay_min_not_above_pay_max",
                "row",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "pay_max", "column_B": "pay_min", **_PAIR},
            ),
            "Descriptor._pay_order",
        ),
        (
            ExpectationSpec(
                "latitude_in_range",
                "row",
                "ExpectColumnValuesToBeBetween",
                {"column": "latitude_extreme", "min_value": -90, "max_value": 90},
            ),
            "Location._lat",
        ),
        (
            ExpectationSpec(
                "longitude_in_range",
                "row",
                "ExpectColumnValuesToBeBetween",
                {"column": "longitude_extreme", "min_value": -180, "max_value": 180},
            ),
            "Location._lon",
        ),
    )
}
HARD = NativeSuiteRunner([spec for spec, _ in LEFT_TO_THE_MODELS.values()])


def failures(rows: PageRows) -> list[tuple[str, tuple[int, ...], str | None]]:
    """The left-out expectations the page's accepted jobs fail (with rows and errors)."""
    return [
        (o.spec.name, o.unexpected_rows, o.error)
        for o in HARD.validate({"jobs": jobs_frame(rows)})
        if not o.success
    ]


def _item(cn: str = "900000001") -> dict[str, Any]:
    """A Chicago job with an apply link, a yearly pay range and dates in order."""
    return search_item(
        cn,
        ApplyURI=[job_uri(cn)],
        PositionRemuneration=[
            {"MinimumRange": "100000.0", "MaximumRange": "150000.0", "RateIntervalCode": "PA"}
        ],
        PublicationStartDate="2025-07-17T00:00:00.0000",
        ApplicationCloseDate="2025-09-26T23:59:59.9970",
    )


# ------------------------------------------------------------------ the suite and its docs


def test_the_suite_leaves_the_hard_rules_to_the_models() -> None:
    kept = {s.name for s in row_expectations(RATE_INTERVAL_CODES)}
    assert kept.isdisjoint(LEFT_TO_THE_MODELS)
    gate = DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES)
    payload = search_page([_item()], count_all=OMIT)
    results = {r["expectation"] for r in gate(transform_page([_item()]), payload).results}
    assert results.isdisjoint(LEFT_TO_THE_MODELS)  # not evaluated, not reported


def test_the_suite_and_adr_0026_say_where_each_rule_now_lives() -> None:
    adr = ADR.read_text(encoding="utf-8")
    assert "Hard rules are not checked twice" in adr
    for name, (_, rule) in LEFT_TO_THE_MODELS.items():
        for text in (suite.__doc__ or "", adr):
            assert f"`{name}`" in text, name
            assert rule in text, (name, rule)


# ------------------------------------------------------------------ random items

_ABSENT = object()  # the key is left out
_BLANKS = " \t\n\r\x0b\x0c\x1c\x85\u00a0\u2003\u2028\u3000"


def _either(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> Any:
    """Mostly valid, so that most pages have rows the models accept; hostile one in four."""
    return st.integers(0, 3).flatmap(lambda k: hostile if k == 0 else valid)


_control_numbers = _either(
    st.one_of(
        st.integers(1, 10**20 - 1),
        st.integers(1, 10**12).map(lambda n: f" {n}\n"),
    ),
    st.one_of(
        st.sampled_from([_ABSENT, None, True, "", "  ", "-1", "1.0", "\u0661\u0662", "12 34"]),
        st.integers(-(10**21), 0),
        st.integers(10**20, 10**21),
        st.text(alphabet="0123456789 \t\n-+x\u0663", max_size=22),
    ),
)
_required_texts = _either(
    st.sampled_from(["Data Engineer", "  Data Engineer\n", "\u200b", "x", "https://a.b/c"]),
    st.one_of(
        st.sampled_from([_ABSENT, None, 0, 1.5, True, [], {}]),
        st.text(alphabet=_BLANKS + "a\u200b", max_size=6),
    ),
)


def _coordinates(limit: float) -> st.SearchStrategy[Any]:
    return _either(
        st.one_of(
            st.none(),
            st.floats(min_value=-limit, max_value=limit),
            st.sampled_from([limit, -limit, int(limit), -int(limit), str(limit), f" {-limit} "]),
        ),
        st.one_of(
            st.floats(),  # NaN, infinities and everything out of range
            st.floats(min_value=-2 * limit, max_value=2 * limit),
            st.integers(-4 * int(limit), 4 * int(limit)),
            st.sampled_from(
                [limit + 1e-9, -limit - 1e-9, "nan", "-inf", "1e400", "", " ", "x", True, 10**400]
            ),
        ),
    )


_locations = _either(
    st.lists(
        st.fixed_dictionaries(
            {"LocationName": st.just("Somewhere")},
            optional={"Latitude": _coordinates(90.0), "Longitude": _coordinates(180.0)},
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([None, []]),
)
_amounts = st.one_of(
    st.none(),
    st.integers(-5, 10**6),
    st.floats(min_value=-1e6, max_value=1e6),
    st.decimals(min_value=-1000, max_value=1000, places=3).map(str),
    st.sampled_from(
        ["", " ", "$95,000", "-0", "0", "0E-20", "-1E-20", "1E-21", "NaN", "-Infinity", "abc"]
    ),
    st.sampled_from(["1.00000000000000000001", "1.00000000000000000002", "1e15", "-1e-5"]),
)
_ordered_pay = st.lists(st.decimals(min_value=0, max_value=10**6, places=2), min_size=2, max_size=2)
_entries = st.one_of(
    st.fixed_dictionaries(
        {"RateIntervalCode": st.sampled_from(["PA", "PH", None])},
        optional={"MinimumRange": _amounts, "MaximumRange": _amounts},
    ),
    _ordered_pay.map(sorted).map(
        lambda pair: {"MinimumRange": str(pair[0]), "MaximumRange": f"${pair[1]:,}"}
    ),
)
_pay = _either(st.lists(_entries, min_size=1, max_size=3), st.sampled_from([None, []]))


@st.composite
def items(draw: Callable[..., Any]) -> dict[str, Any]:
    """A search item, each hard-rule field valid, on an edge, hostile or left out."""
    item = _item()
    descriptor = item["MatchedObjectDescriptor"]
    fields = (
        (item, "MatchedObjectId", _control_numbers),
        (descriptor, "PositionTitle", _required_texts),
        (descriptor, "PositionURI", _required_texts),
        (descriptor, "PositionLocation", _locations),
        (descriptor, "PositionRemuneration", _pay),
    )
    for where, key, strategy in fields:
        value = draw(strategy)
        if value is _ABSENT:
            del where[key]
        else:
            where[key] = value
    return item


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(page=st.lists(items(), min_size=1, max_size=5))
def test_no_item_the_models_accept_fails_a_rule_left_to_them(page: list[dict[str, Any]]) -> None:
    rows = transform_page(page)
    assert failures(rows) == []
    assert all(not q.reason.startswith("dq:") for q in rows.quarantine)


# ------------------------------------------------------------------ edge cases


def _top(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(item: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is _ABSENT:
                del item[key]
            else:
                item[key] = value

    return apply


def _set(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(item: dict[str, Any]) -> None:
        descriptor = item["MatchedObjectDescriptor"]
        for key, value in changes.items():
            if value is _ABSENT:
                del descriptor[key]
            else:
                descriptor[key] = value

    return apply


_OK_LOCATION = {"LocationName": "Denver, Colorado", "Latitude": 39.74, "Longitude": -104.99}
_OK_PAY = {"MinimumRange": "50000", "MaximumRange": "60000", "RateIntervalCode": "PA"}

#: (the rule it is about, the change, None when the models accept the item, else a piece
#: of the reason the models give)
EDGES: list[tuple[str, Callable[[dict[str, Any]], None], str | None]] = [
    ("control_number_present", _top(MatchedObjectId=" 900000001\n"), None),
    ("control_number_present", _top(MatchedObjectId=900000001), None),
    ("control_number_present", _top(MatchedObjectId="  "), "MatchedObjectId"),
    ("control_number_present", _top(MatchedObjectId=None), "MatchedObjectId"),
    ("control_number_present", _top(MatchedObjectId=_ABSENT), "MatchedObjectId"),
    ("position_title_present", _set(PositionTitle="  Data Engineer\t"), None),
    # not whitespace to str.strip, so neither the models nor the frame make it empty
    ("position_title_present", _set(PositionTitle="\u200b"), None),
    ("position_title_present", _set(PositionTitle=""), "PositionTitle"),
    ("position_title_present", _set(PositionTitle=" \t\n"), "PositionTitle"),
    ("position_title_present", _set(PositionTitle="\u00a0\u2003\u3000\x1c"), "PositionTitle"),
    ("position_title_present", _set(PositionTitle=None), "PositionTitle"),
    ("position_title_present", _set(PositionTitle=7), "PositionTitle"),
    ("position_title_present", _set(PositionTitle=_ABSENT), "PositionTitle"),
    ("position_uri_present", _set(PositionURI="\u2028 "), "PositionURI"),
    ("position_uri_present", _set(PositionURI=_ABSENT), "PositionURI"),
    (
        "latitude_in_range",
        _set(PositionLocation=[_OK_LOCATION, {"Latitude": 90.0}, {"Latitude": "-90"}]),
        None,
    ),
    ("latitude_in_range", _set(PositionLocation=[{"Latitude": None, "Longitude": 1}]), None),
    (
        "latitude_in_range",
        _set(PositionLocation=[_OK_LOCATION, {"Latitude": 90.0001}]),  # the second location
        "PositionLocation.1.Latitude",
    ),
    ("latitude_in_range", _set(PositionLocation=[{"Latitude": "-inf"}]), "Latitude"),
    ("latitude_in_range", _set(PositionLocation=[{"Latitude": "nan"}]), "Latitude"),
    (
        "longitude_in_range",
        _set(PositionLocation=[{"Longitude": 180}, {"Longitude": " -180.0 "}]),
        None,
    ),
    (
        "longitude_in_range",
        _set(PositionLocation=[_OK_LOCATION, _OK_LOCATION, {"Longitude": -180.0000001}]),
        "PositionLocation.2.Longitude",
    ),
    ("longitude_in_range", _set(PositionLocation=[{"Longitude": 10**400}]), "OverflowError"),
    (
        "pay_min_not_above_pay_max",
        _set(PositionRemuneration=[{"MinimumRange": "100000", "MaximumRange": 100000.0}]),
        None,
    ),
    ("pay_min_not_above_pay_max", _set(PositionRemuneration=[{"MaximumRange": "5"}]), None),
    (
        "pay_min_not_above_pay_max",
        _set(PositionRemuneration=[{"MinimumRange": "9", "MaximumRange": ""}]),
        None,
    ),
    (
        "pay_min_not_above_pay_max",  # equal as floats, ordered as decimals
        _set(
            PositionRemuneration=[
                {"MinimumRange": "1.00000000000000000001", "MaximumRange": "1.00000000000000000002"}
            ]
        ),
        None,
    ),
    (
        "pay_min_not_above_pay_max",
        _set(
            PositionRemuneration=[
                {"MinimumRange": "1.00000000000000000002", "MaximumRange": "1.00000000000000000001"}
            ]
        ),
        "pay_min",
    ),
    (
        "pay_min_not_above_pay_max",  # the second entry (the gate reads only the first)
        _set(PositionRemuneration=[_OK_PAY, {"MinimumRange": "3", "MaximumRange": "2"}]),
        "pay_min 3 > pay_max 2",
    ),
    ("pay_min_not_negative", _set(PositionRemuneration=[{"MinimumRange": "-0"}]), None),
    ("pay_min_not_negative", _set(PositionRemuneration=[{"MinimumRange": "0E-20"}]), None),
    (
        "pay_min_not_negative",
        _set(PositionRemuneration=[{"MinimumRange": "-1E-20"}]),
        "negative pay",
    ),
    (
        "pay_min_not_negative",
        _set(PositionRemuneration=[_OK_PAY, {"MinimumRange": "-1", "MaximumRange": "5"}]),
        "negative pay",
    ),
]


@pytest.mark.parametrize(
    ("rule", "change", "refused"),
    EDGES,
    ids=[f"{rule}-{k}" for k, (rule, _, _) in enumerate(EDGES)],
)
def test_each_edge_is_accepted_and_passes_or_refused_by_the_models(
    rule: str, change: Callable[[dict[str, Any]], None], refused: str | None
) -> None:
    assert rule in LEFT_TO_THE_MODELS
    item = _item()
    change(item)
    payload = search_page([_item("1"), item], count_all=OMIT)
    rows = transform_page(payload["SearchResult"]["SearchResultItems"])
    assert failures(rows) == []
    if refused is None:
        assert len(rows.jobs) == 2 and rows.quarantine == []
    else:
        assert len(rows.jobs) == 1 and [q.item_index for q in rows.quarantine] == [1]
        assert refused in rows.quarantine[0].reason
    # and the gate adds nothing: the models' quarantine is all there is
    outcome = DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES)(rows, payload)
    assert outcome.rows.quarantine == rows.quarantine
    assert outcome.failed_expectations == []


# ------------------------------------------------------------------ not vacuous


def test_each_rule_left_to_the_models_fails_a_row_that_got_past_them() -> None:
    items = [_item(str(900000001 + k)) for k in range(7)]
    rows = transform_page(copy.deepcopy(items))
    assert failures(rows) == [] and len(rows.jobs) == 7

    def job(k: int, **values: Any) -> None:
        rows.jobs[k] = rows.jobs[k]._replace(**values)

    job(0, control_number=None)
    job(1, position_title="  ")  # blank: the frame makes it null
    job(2, position_uri=None)
    job(3, pay_min=-1)
    job(4, pay_min=200, pay_max=100)
    rows.locations[5] = rows.locations[5]._replace(latitude=95.0)
    rows.locations[6] = rows.locations[6]._replace(longitude=-181.0)
    assert failures(rows) == [
        ("control_number_present", (0,), None),
        ("position_title_present", (1,), None),
        ("position_uri_present", (2,), None),
        ("pay_min_not_negative", (3,), None),
        ("pay_min_not_above_pay_max", (4,), None),
        ("latitude_in_range", (5,), None),
        ("longitude_in_range", (6,), None),
    ]
