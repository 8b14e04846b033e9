"""Code lists: parsing every real recorded list, lookups, and the cached, retrying client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tasman_etl.errors import FatalFetchError, RetriableFetchError
from tasman_etl.http.codelists import (
    Codelist,
    CodelistClient,
    CodeValue,
    label_lookup,
    parse_codelist,
)

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "usajobs"
FIXTURE_FILES = sorted(FIXTURES.glob("codelist_*.json")) if FIXTURES.is_dir() else []
needs_fixtures = pytest.mark.skipif(
    not FIXTURE_FILES, reason="real USAJOBS fixtures (../shared/fixtures/usajobs) not present"
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"codelist_{name}.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- parsing


@needs_fixtures
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_parse_every_real_codelist(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    name = path.stem.removeprefix("codelist_")
    # rows with a blank code cannot be keyed (one real one: "   " = Marrakech): skipped
    rows = [r for block in raw["CodeList"] for r in block["ValidValue"] if r["Code"].strip()]
    fetched = datetime(2026, 1, 2, tzinfo=UTC)
    codelist = parse_codelist(name, raw, fetched_at=fetched)

    assert codelist.name == name
    assert codelist.list_id == raw["CodeList"][0]["id"]
    assert codelist.fetched_at == fetched
    assert len(codelist.values) == len(rows)
    assert codelist.date_generated is not None
    assert codelist.date_generated.tzinfo is not None
    assert codelist.date_generated.year == 2024
    for row, value in zip(rows, codelist.values, strict=True):
        assert value.code == row["Code"].strip()
        assert value.code
        assert value.code == value.code.strip()
        assert value.value == (row.get("Value") or row.get("GroupingName") or "").strip()
        assert value.is_disabled is (row["IsDisabled"] == "Yes")
        assert value.last_modified is not None
        assert value.last_modified.utcoffset() is not None
        assert value.last_modified.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert set(value.extra) == set(row) - {"Code", "Value", "LastModified", "IsDisabled"}


@needs_fixtures
def test_real_codelist_quirks() -> None:
    subdivisions = parse_codelist("countrysubdivisions", load("countrysubdivisions"))
    illinois = [
        v for v in subdivisions.values if v.code == "IL" and v.extra.get("ParentCode") == "US"
    ]
    assert [v.value for v in illinois] == ["Illinois"]
    assert len(subdivisions.values) == 2127 - 1
    assert "Marrakech" not in {v.value for v in subdivisions.values}

    groupings = parse_codelist("cyberworkgroupings", load("cyberworkgroupings"))
    assert all(v.value for v in groupings.values)
    assert "GroupingName" in groupings.values[0].extra

    series = parse_codelist("occupationalseries", load("occupationalseries"))
    it = next(v for v in series.values if v.code == "2210")
    assert it.extra["JobFamily"] == "2200"
    assert len(series.codes()) == 822
    assert len(series.codes(include_disabled=False)) < 822

    agencies = parse_codelist("agencysubelements", load("agencysubelements"))
    assert agencies.values[0].extra == {"ParentCode": "AF", "Acronym": "AF"}
    assert sum("ParentCode" not in v.extra for v in agencies.values) == 28

    first = parse_codelist("academichonors", load("academichonors")).values[0]
    assert first.last_modified == datetime(2010, 7, 13, 10, 13, 29, 860000, tzinfo=UTC)


@needs_fixtures
def test_hiring_paths_match_search_codes_case_insensitively() -> None:
    labels = label_lookup(parse_codelist("hiringpaths", load("hiringpaths")))
    assert "fed-competitive" in labels
    assert labels["fed-competitive"] == labels["FED-COMPETITIVE"]
    assert labels.get("public") is not None
    assert labels.get("no-such-path") is None
    assert labels.get("no-such-path", "?") == "?"


def test_label_lookup_prefers_enabled_rows_then_first() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    codelist = Codelist(
        name="x",
        values=[
            CodeValue("AJ", "Old", None, True),
            CodeValue("aj", "Ajman", None, False),
            CodeValue("AJ ", "Later", None, False),
            CodeValue("ZZ", "First", None, False),
            CodeValue("zz", "Second", None, False),
        ],
        date_generated=now,
        fetched_at=now,
    )
    labels = label_lookup(codelist)
    assert labels["aj"] == "Ajman"
    assert labels[" AJ "] == "Ajman"
    assert labels["ZZ"] == "First"
    assert "QQ" not in labels


def test_parse_codelist_missing_value_and_bad_rows() -> None:
    payload = {
        "CodeList": [
            {
                "ValidValue": [
                    {"Code": " A ", "LastModified": "garbage", "IsDisabled": "Yes"},
                    {"Code": "", "Value": "no code"},
                    "not a row",
                    {"Code": "B", "Value": " Bee ", "LastModified": "2020-01-01T00:00:00Z"},
                ],
                "id": "Thing",
            }
        ],
    }
    codelist = parse_codelist("things", payload)
    assert [(v.code, v.value, v.is_disabled) for v in codelist.values] == [
        ("A", "", True),
        ("B", "Bee", False),
    ]
    assert codelist.values[0].last_modified is None
    assert codelist.values[1].last_modified == datetime(2020, 1, 1, tzinfo=UTC)
    assert codelist.date_generated is None


@pytest.mark.parametrize(
    "payload",
    [None, [], {"CodeList": "x"}, {"CodeList": ["x"]}, {"CodeList": [{"ValidValue": 3}]}],
)
def test_parse_codelist_rejects_wrong_shapes(payload: Any) -> None:
    with pytest.raises(FatalFetchError, match="codelist things"):
        parse_codelist("things", payload)


# ----------------------------------------------------------------------------- client

SMALL = {
    "CodeList": [
        {
            "ValidValue": [
                {"Code": "PUBLIC", "Value": "The public", "IsDisabled": "No"},
                {"Code": "VET", "Value": "Veterans", "IsDisabled": "No"},
            ],
            "id": "HiringPath",
        }
    ],
    "DateGenerated": "2024-07-01T16:39:08.7550641Z",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(
    *responses: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue: Iterator[httpx.Response | Exception] = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        nxt = next(queue)
        if isinstance(nxt, Exception):
            raise nxt
        return nxt

    return handler, seen


def make(
    handler: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> tuple[CodelistClient, FakeClock]:
    clock = FakeClock()
    client = CodelistClient(
        "https://data.usajobs.gov/",
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        **kw,
    )
    return client, clock


def test_client_gets_without_auth_and_caches() -> None:
    handler, seen = scripted(httpx.Response(200, json=SMALL))
    client, _ = make(handler)
    first = client.get("HiringPaths")
    again = client.get("hiringpaths")
    assert again is first
    assert len(seen) == 1
    request = seen[0]
    assert str(request.url) == "https://data.usajobs.gov/api/codelist/hiringpaths"
    assert "Authorization-Key" not in request.headers
    assert first.codes() == ["PUBLIC", "VET"]
    assert client.codes("hiringpaths") == ["PUBLIC", "VET"]
    assert client.requests == 1


def test_cache_expires_after_ttl_and_can_be_invalidated() -> None:
    handler, seen = scripted(*[httpx.Response(200, json=SMALL) for _ in range(3)])
    client, clock = make(handler, ttl_s=100)
    client.get("hiringpaths")
    clock.now = 99.0
    client.get("hiringpaths")
    assert len(seen) == 1
    clock.now = 100.0
    client.get("hiringpaths")
    assert len(seen) == 2
    client.invalidate("hiringpaths")
    client.get("hiringpaths")
    assert len(seen) == 3


def test_client_retries_5xx_transport_errors_and_broken_bodies() -> None:
    handler, seen = scripted(
        httpx.Response(503, headers={"Retry-After": "4"}),
        httpx.ConnectError("refused"),
        httpx.Response(200, content=b'{"CodeList": [{"ValidVal'),
        httpx.Response(200, content=b"<html>oops</html>"),
        httpx.Response(200, json=SMALL),
    )
    client, clock = make(handler, max_attempts=5, max_backoff_s=30)
    codelist = client.get("hiringpaths")
    assert len(codelist.values) == 2
    assert len(seen) == 5
    assert clock.sleeps[0] == 4.0
    assert len(clock.sleeps) == 4
    for k, delay in enumerate(clock.sleeps[1:], start=1):
        assert 0 <= delay <= min(30.0, 2**k)


def test_client_gives_up_after_max_attempts() -> None:
    handler, seen = scripted(*[httpx.Response(500) for _ in range(5)])
    client, _ = make(handler, max_attempts=3)
    with pytest.raises(FatalFetchError, match="giving up after 3 attempts") as info:
        client.get("payplans")
    assert isinstance(info.value.__cause__, RetriableFetchError)
    assert len(seen) == 3


@pytest.mark.parametrize("status", [404, 401])
def test_unknown_list_is_fatal_without_retry(status: int) -> None:
    handler, seen = scripted(httpx.Response(status), httpx.Response(200, json=SMALL))
    client, clock = make(handler)
    with pytest.raises(FatalFetchError, match=f"codelist nosuchlist: HTTP {status}"):
        client.get("nosuchlist")
    assert len(seen) == 1
    assert clock.sleeps == []


def test_client_context_manager_and_bad_base() -> None:
    handler, _ = scripted()
    with make(handler)[0] as client:
        assert client.url("Pay Plans") == "https://data.usajobs.gov/api/codelist/pay%20plans"
    from tasman_etl.errors import ConfigError

    with pytest.raises(ConfigError):
        CodelistClient("data.usajobs.gov")
