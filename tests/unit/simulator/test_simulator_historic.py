"""The simulated Historic JOA: records, filters, stateless tokens, paging and faults (no HTTP).

Truth is brute force over `SimulatorServer.historic_records()`; pages come from
`historic_page`, the function the HTTP route calls.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.simulator.historic import CLOSED_STATUSES, OPEN_STATUS
from tasman_etl.simulator.historic_api import (
    NO_CONTENT,
    decode_token,
    encode_token,
    historic_page,
)
from tasman_etl.simulator.query import QueryError

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _sim(**config: Any) -> SimulatorServer:
    base: dict[str, Any] = {"jobs": 60, "historic_jobs": 800, "now": NOW}
    return SimulatorServer(SimulatorConfig(**{**base, **config}))


@pytest.fixture(scope="module")
def sim() -> SimulatorServer:
    return _sim()


def _get(rec: dict[str, Any], key: str) -> Any:
    """A record's value for `key`, whatever the key's case in this record."""
    for k, v in rec.items():
        if k.lower() == key.lower():
            return v
    return None


def _page(sim: SimulatorServer, params: dict[str, str], *, text: bool = False) -> Any:
    body, is_json = historic_page(sim.history, params, text=text)
    return json.loads(body) if is_json else body


def _walk(sim: SimulatorServer, params: dict[str, str], *, text: bool = False) -> list[Any]:
    """Every page of a query, following `next` as a client would (query string only)."""
    pages = [_page(sim, params, text=text)]
    while pages[-1]["paging"]["next"]:
        nxt = pages[-1]["paging"]["next"]
        pages.append(_page(sim, dict(parse_qsl(urlsplit(nxt).query)), text=text))
        assert len(pages) < 1000
    return pages


def test_every_search_posting_is_an_open_historic_record_with_its_control_number(
    sim: SimulatorServer,
) -> None:
    records = sim.historic_records()
    assert len(records) == sim.historic_count() == 60 + 800
    by_cn = {str(_get(r, "usajobsControlNumber")): r for r in records}
    assert len(by_cn) == len(records)
    for cn in sim.control_numbers():
        rec = by_cn[cn]
        assert _get(rec, "positionOpeningStatus") == OPEN_STATUS
        item = sim.item(cn)["MatchedObjectDescriptor"]
        assert _get(rec, "positionTitle") == item["PositionTitle"]
        assert _get(rec, "hiringAgencyName") == item["OrganizationName"]
    closed = [r for r in records if _get(r, "positionOpeningStatus") != OPEN_STATUS]
    assert len(closed) == 800
    assert {_get(r, "positionOpeningStatus") for r in closed} == set(CLOSED_STATUSES)
    days = sorted(date.fromisoformat(_get(r, "positionOpenDate")) for r in closed)
    assert days[0] >= date(2015, 5, 31) and days[-1] < NOW.date()
    assert (days[-1] - days[0]).days > 3000  # spread over the ten years
    assert all(_get(r, "positionCloseDate") < NOW.date().isoformat() for r in closed)


def test_generation_is_deterministic_and_50000_closed_postings_are_quick() -> None:
    assert _sim().historic_records()[:50] == _sim().historic_records()[:50]
    started = time.perf_counter()
    big = _sim(jobs=10, historic_jobs=50_000)
    assert big.historic_count() == 50_010
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    "params",
    [
        {"StartPositionOpenDate": "2019-03-01", "EndPositionOpenDate": "2019-03-31"},
        {"startpositionopendate": "2019-03-01", "ENDPOSITIONOPENDATE": "2019-03-31"},
        {"StartPositionCloseDate": "2020-01-01", "EndPositionCloseDate": "2020-06-30"},
        {"HiringAgencyCodes": "VATA,valA"},
        {"HiringDepartmentCodes": "HE"},
        {"PositionSeries": "2210,0301"},
    ],
)
def test_filters_match_brute_force_over_every_record(
    sim: SimulatorServer, params: dict[str, str]
) -> None:
    p = {k.lower(): v for k, v in params.items()}

    def keep(rec: dict[str, Any]) -> bool:
        opened, closes = _get(rec, "positionOpenDate"), _get(rec, "positionCloseDate")
        series = {c.get("series") for c in _get(rec, "jobCategories")}
        return (
            p.get("startpositionopendate", "0") <= opened <= p.get("endpositionopendate", "9")
            and p.get("startpositionclosedate", "0") <= closes <= p.get("endpositionclosedate", "9")
            and (
                "hiringagencycodes" not in p
                or _get(rec, "hiringAgencyCode") in p["hiringagencycodes"].upper().split(",")
            )
            and (
                "hiringdepartmentcodes" not in p
                or _get(rec, "hiringDepartmentCode") == p["hiringdepartmentcodes"]
            )
            and ("positionseries" not in p or bool(series & set(p["positionseries"].split(","))))
        )

    expected = [r for r in sim.historic_records() if keep(r)]
    assert expected, "the filter should select something"
    assert sim.historic_records(params) == expected
    assert sim.historic_count(params) == len(expected)


def test_control_number_filter(sim: SimulatorServer) -> None:
    wanted = [sim.control_numbers()[0], "600000001"]
    got = sim.historic_records({"usajobscontrolnumbers": ",".join(wanted)})
    assert sorted(str(_get(r, "usajobsControlNumber")) for r in got) == sorted(wanted)


def test_tokens_are_stateless_base64_ending_in_padding() -> None:
    params = (("endpositionopendate", "2019-12-31"), ("hiringagencycodes", "VATA"))
    token = encode_token(2000, params)
    assert token.endswith("==")
    assert decode_token(token) == (2000, dict(params))
    for bad in ("not-a-token", "eyJ9", ""):
        with pytest.raises(QueryError):
            decode_token(bad)


def test_paging_follows_next_to_the_end_and_returns_every_row_once() -> None:
    sim = _sim(historic_page_size=25)
    params = {"StartPositionOpenDate": "2018-01-01", "EndPositionOpenDate": "2019-12-31"}
    pages = _walk(sim, params)
    total = sim.historic_count(params)
    assert len(pages) == -(-total // 25) > 3
    first = pages[0]["paging"]
    assert first["metadata"]["totalCount"] == total and first["metadata"]["pageSize"] == 25
    assert first["metadata"]["continuationToken"].endswith("%3D%3D")
    nxt = first["next"]
    assert nxt.startswith("/api/historicjoa?continuationtoken=") and "%3D%3D&" in nxt
    names = [k for k, _ in parse_qsl(urlsplit(nxt).query)]
    assert names == [n.lower() for n in names]
    assert "startpositionopendate=2018-01-01" in nxt
    assert pages[-1]["paging"]["next"] is None
    assert pages[-1]["paging"]["metadata"]["continuationToken"] is None
    rows = [r for p in pages for r in p["data"]]
    assert rows == sim.historic_records(params)


def test_a_token_alone_resumes_its_query() -> None:
    sim = _sim(historic_page_size=10)
    params = {"StartPositionOpenDate": "2019-01-01", "EndPositionOpenDate": "2019-12-31"}
    token = _page(sim, params)["paging"]["next"].split("=", 1)[1].split("&", 1)[0]
    from urllib.parse import unquote

    page = _page(sim, {"ContinuationToken": unquote(token), "HiringAgencyCodes": "XXXX"})
    assert page["data"] == sim.historic_records(params)[10:20]


def test_no_rows_is_the_text_204_no_content_unless_configured_off() -> None:
    params = {"StartPositionOpenDate": "2031-01-01"}
    assert _page(_sim(), params) == NO_CONTENT
    empty = _page(_sim(historic_no_content_text=False), params)
    assert empty["data"] == [] and empty["paging"]["metadata"]["totalCount"] == 0
    assert empty["paging"]["next"] is None


def test_malformed_dates_are_refused() -> None:
    with pytest.raises(QueryError, match="startpositionopendate"):
        _page(_sim(), {"StartPositionOpenDate": "2019-13-01"})


def test_shortfall_month_serves_fewer_rows_than_total_count() -> None:
    sim = _sim(historic_page_size=20, historic_shortfall_months=("2019-03",))
    short = {"StartPositionOpenDate": "2019-03-01", "EndPositionOpenDate": "2019-05-31"}
    pages = _walk(sim, short)
    served = [r for p in pages for r in p["data"]]
    total = pages[0]["paging"]["metadata"]["totalCount"]
    assert total == sim.historic_count(short) == len(sim.historic_records(short))
    assert 0 < len(served) < total
    assert served == sim.historic_records(short, as_served=True)
    fine = {"StartPositionOpenDate": "2019-06-01", "EndPositionOpenDate": "2019-08-31"}
    assert len([r for p in _walk(sim, fine) for r in p["data"]]) == sim.historic_count(fine)


def test_repeated_token_fault_repeats_the_current_token_on_the_last_page() -> None:
    sim = _sim(historic_page_size=20, historic_repeat_token=True)
    params = {"StartPositionOpenDate": "2019-01-01", "EndPositionOpenDate": "2019-03-31"}
    first = _page(sim, params)
    nxt = first["paging"]["next"]
    second = _page(sim, dict(parse_qsl(urlsplit(nxt).query)))
    assert sim.historic_count(params) <= 40
    assert second["paging"]["next"] == nxt  # the same token again


def test_quirks_spell_some_records_like_the_real_api_and_can_be_turned_off() -> None:
    records = _sim(historic_jobs=2000).historic_records()
    keys = {k for r in records for k in r}
    assert {"HiringPaths", "hiringpaths", "hiringPaths", "disableAppyOnline"} <= keys
    assert any(isinstance(r.get("minimumSalary"), str) for r in records)
    assert any(isinstance(r["usajobsControlNumber"], str) for r in records)
    assert {r.get("teleworkEligible") for r in records} - {None} == {"Y", "N"}
    plain = _sim(historic_jobs=2000, historic_quirks=False).historic_records()
    assert {k for r in plain for k in r} <= {k for k in keys if k[0].islower()}
    assert not any("disableAppyOnline" in r or "HiringPaths" in r for r in plain)


def test_announcement_text_has_the_same_filters_and_long_texts(sim: SimulatorServer) -> None:
    params = {"StartPositionOpenDate": "2019-01-01", "EndPositionOpenDate": "2019-06-30"}
    rows = [r for p in _walk(sim, params, text=True) for r in p["data"]]
    assert [r["usajobsControlNumber"] for r in rows] == [
        int(_get(r, "usajobsControlNumber")) for r in sim.historic_records(params)
    ]
    assert rows == sim.historic_texts(params)
    for row in rows:
        assert len(row["requirementsQualifications"]) > 50
        assert row["requirementsEducation"]
        assert isinstance(row["requirementsConditionsOfEmployment"], str)
    cn = sim.control_numbers()[0]
    text = sim.historic_texts({"USAJOBSControlNumbers": cn})[0]
    details = sim.item(cn)["MatchedObjectDescriptor"]["UserArea"]["Details"]
    assert text["requirementsEducation"] == details["Education"]


def test_bad_shortfall_months_are_refused() -> None:
    assert SimulatorConfig(historic_shortfall_months=("2019-3",)).historic_shortfall_months == (
        "2019-03",
    )
    with pytest.raises(ValueError, match="YYYY-MM"):
        SimulatorConfig(historic_shortfall_months=("March 2019",))


def test_every_record_of_a_large_universe_renders_with_a_title() -> None:
    sim = _sim(jobs=20, historic_jobs=12_000, text="real")
    records = sim.historic_records()
    assert len(records) == 12_020
    assert all(_get(r, "positionTitle") for r in records)
    series = {c["series"] for r in records for c in _get(r, "jobCategories")}
    assert "1560" in series  # series only data-engineering search postings use appear too
    texts = sim.historic_texts({"StartPositionOpenDate": "2020-01-01",
                                "EndPositionOpenDate": "2020-01-31"})  # fmt: skip
    assert texts and all(t["summary"] for t in texts)
