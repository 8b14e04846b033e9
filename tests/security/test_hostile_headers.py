"""Issue 11 item 5: any response header value is parsed or ignored, never raised.

``Retry-After``/``Date`` of ``Mon, 01 Jan 2024 00:00:00 +99999999999999999999`` made the
standard library raise ``OverflowError`` (a traceback on page 1). Hypothesis now throws
arbitrary strings at every header the clients read; a hostile server over HTTP is in
``tests/fault/test_bounded_requests.py``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sleeps import Sleeps
from tasman_etl.errors import RetriableFetchError
from tasman_etl.http.codelists import CodelistClient
from tasman_etl.http.usajobs import inspect_response, parse_retry_after

BAD = "Mon, 01 Jan 2024 00:00:00 +99999999999999999999"

# Header text as it can arrive on the wire: any latin-1 character but CR/LF.
header_text = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80
)
date_like = st.builds(
    lambda day, num, mon, year, clock, zone: f"{day}, {num} {mon} {year} {clock} {zone}",
    st.sampled_from(["Mon", "Tue", "Xyz", ""]),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["Jan", "Feb", "Dec", "Foo"]),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["00:00:00", "23:59:60", "99:99:99", "1:2", ""]),
    st.one_of(
        st.integers(-(10**25), 10**25).map(lambda n: f"{n:+d}"),
        st.sampled_from(["GMT", "UTC", "EST", "-0000", "+2400", "Z", ""]),
    ),
)
any_header = st.one_of(header_text, date_like)


def test_the_reported_values_are_ignored() -> None:
    assert parse_retry_after(BAD) is None
    response = httpx.Response(503, headers={"Retry-After": BAD, "Date": BAD})
    payload, error = inspect_response(response)
    assert payload is None
    assert isinstance(error, RetriableFetchError)
    assert error.retry_after is None
    # a good Retry-After is still honoured against a bad Date (then: now)
    response = httpx.Response(429, headers={"Retry-After": "7", "Date": BAD})
    error = inspect_response(response)[1]
    assert isinstance(error, RetriableFetchError) and error.retry_after == 7


@settings(max_examples=400, deadline=None, derandomize=True)
@given(value=any_header, now=st.datetimes(timezones=st.just(UTC)))
def test_parse_retry_after_never_raises(value: str, now: datetime) -> None:
    seconds = parse_retry_after(value, now=now)
    assert seconds is None or (seconds > 0 and not math.isnan(seconds))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    status=st.sampled_from([200, 429, 500, 503]),
    retry_after=any_header,
    date=any_header,
    content_type=header_text,
)
def test_inspect_response_never_raises_on_headers(
    status: int, retry_after: str, date: str, content_type: str
) -> None:
    headers = [
        (b"Retry-After", retry_after.encode("latin-1")),
        (b"Date", date.encode("latin-1")),
        (b"Content-Type", content_type.encode("latin-1")),
    ]
    response = httpx.Response(status, headers=headers, content=b"not json")
    payload, error = inspect_response(response)
    assert payload is None
    assert isinstance(error, RetriableFetchError)
    if status != 200 and error.retry_after is not None:
        assert error.retry_after > 0


def test_codelist_client_ignores_overflowing_headers() -> None:
    answers = iter(
        [
            httpx.Response(503, headers={"Retry-After": BAD, "Date": BAD}),
            httpx.Response(429, headers={"Retry-After": BAD, "Date": "Tue, 99 Foo 10000000"}),
            httpx.Response(
                200,
                headers={"Date": BAD},
                json={"CodeList": [{"ValidValue": [{"Code": "2210", "Value": "IT"}]}]},
            ),
        ]
    )
    sleeps = Sleeps()
    with CodelistClient(
        "http://codelists.invalid",
        transport=httpx.MockTransport(lambda request: next(answers)),
        sleep=sleeps,
    ) as client:
        assert client.codes("occupationalseries") == ["2210"]
    assert len(sleeps.calls) == 2  # both retried with backoff, the headers ignored
