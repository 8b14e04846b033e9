"""Unit tests of the USAJOBS search client over httpx.MockTransport (no sockets, no sleeping)."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from factories import search_page
from tasman_etl.config import Settings
from tasman_etl.errors import (
    AuthError,
    ConfigError,
    FatalFetchError,
    RetriableFetchError,
    TasmanError,
)
from tasman_etl.http.usajobs import (
    ACCEPT,
    ClientConfig,
    Partition,
    RateLimiter,
    SearchQuery,
    UsajobsClient,
    backoff_delay,
    classify_response,
    map_httpx_error,
    parse_retry_after,
)

KEY = "K3y-Sup3r-S3cret-0123456789"
UA = "etl-owner@example.org"
BASE = "https://data.usajobs.gov"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """Monotonic clock that only moves when something sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def payload(ids: list[str], count_all: int) -> dict[str, Any]:
    """A whole API response: the page of ``ids`` (items with a title only) and its envelope."""
    items = [
        {"MatchedObjectId": i, "MatchedObjectDescriptor": {"PositionTitle": f"Job {i}"}}
        for i in ids
    ]
    page = search_page(
        items, count_all=count_all, user_area={"NumberOfPages": "999", "IsRadialSearch": False}
    )
    return {"LanguageCode": "EN", "SearchParameters": {}, **page}


def ok(ids: list[str] | None = None, count_all: int | None = None, **kw: Any) -> httpx.Response:
    ids = ["1"] if ids is None else ids
    return httpx.Response(
        200,
        json=payload(ids, len(ids) if count_all is None else count_all),
        headers={"Content-Type": "application/hr+json; charset=utf-8", **kw.pop("headers", {})},
        **kw,
    )


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with ``responses`` in order (an exception is raised)."""
    seen: list[httpx.Request] = []
    queue: Iterator[httpx.Response | Exception] = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        nxt = next(queue)
        if isinstance(nxt, Exception):
            raise nxt
        return nxt

    return handler, seen


def make_client(
    handler: Handler, clock: FakeClock | None = None, *, seed: int = 7, **overrides: Any
) -> tuple[UsajobsClient, FakeClock]:
    clock = clock or FakeClock()
    settings: dict[str, Any] = {
        "api_base": BASE,
        "auth_key": SecretStr(KEY),
        "user_agent": UA,
        "requests_per_second": 1000.0,
        "max_backoff_s": 60.0,
        "backoff_base_s": 1.0,
        "max_attempts": 6,
        "retry_budget": 100,
    }
    settings.update(overrides)
    client = UsajobsClient(
        ClientConfig(**settings),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(seed),
    )
    return client, clock


QUERY = SearchQuery(keyword="data engineering", location_name="Chicago, Illinois", radius_miles=50)


# ----------------------------------------------------------------------------- query


def test_query_params_use_usajobs_names() -> None:
    q = SearchQuery(
        keyword=" data engineering ",
        location_name="Chicago, Illinois",
        radius_miles=50,
        job_category_codes=("2210", "1550", "2210"),
        organization_codes=("TR",),
        date_posted_days=7,
        extra=(("HiringPath", "public;vet"),),
    )
    assert q.to_params() == {
        "Keyword": "data engineering",
        "LocationName": "Chicago, Illinois",
        "Radius": "50",
        "JobCategoryCode": "1550;2210",
        "Organization": "TR",
        "DatePosted": "7",
        "HiringPath": "public;vet",
    }


def test_query_blank_filters_and_radius_without_location_are_dropped() -> None:
    assert SearchQuery(keyword="  ", location_name="", radius_miles=25).to_params() == {}
    assert SearchQuery().to_params() == {}


def test_query_is_frozen_and_strict() -> None:
    with pytest.raises(ValidationError):
        SearchQuery.model_validate({"keywords": "typo"})
    with pytest.raises(ValidationError):
        QUERY.keyword = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="set by a named field or by the pager"):
        SearchQuery(extra=(("page", "3"),))


def test_scope_hash_is_stable_and_canonical() -> None:
    a = SearchQuery(keyword="x", job_category_codes=("2210", "1550"))
    b = SearchQuery(keyword="x", job_category_codes=("1550", "2210"))
    c = SearchQuery(keyword="y", job_category_codes=("1550", "2210"))
    assert a.scope_hash() == b.scope_hash()
    assert a.scope_hash() != c.scope_hash()
    assert len(a.scope_hash()) == 64
    # radius is meaningless without a location, so it does not change the scope
    assert (
        SearchQuery(keyword="x", radius_miles=5).scope_hash()
        == SearchQuery(keyword="x").scope_hash()
    )


def test_query_narrowed_sets_code_filters() -> None:
    narrowed = QUERY.narrowed({"job_category_codes": ("2210",), "organization_codes": ("TR", "AF")})
    assert narrowed.to_params()["JobCategoryCode"] == "2210"
    assert narrowed.to_params()["Organization"] == "AF;TR"
    assert narrowed.keyword == QUERY.keyword
    assert QUERY.job_category_codes == ()


def test_query_and_config_from_settings() -> None:
    settings = Settings(
        _env_file=None,
        usajobs_auth_key=SecretStr(KEY),
        usajobs_user_agent=UA,
        usajobs_api_base="http://127.0.0.1:9/",
        keyword="data engineering",
        location_name="Chicago, Illinois",
        radius_miles=50,
        results_per_page=250,
        max_attempts=3,
        retry_budget=9,
        requests_per_second=4,
        http_timeout_s=5,
        max_backoff_s=20,
    )
    cfg = ClientConfig.from_settings(settings)
    assert cfg.api_base == "http://127.0.0.1:9"
    assert cfg.auth_key is not None
    assert cfg.auth_key.get_secret_value() == KEY
    assert (cfg.max_attempts, cfg.retry_budget, cfg.results_per_page) == (3, 9, 250)
    assert (cfg.requests_per_second, cfg.timeout_s, cfg.max_backoff_s) == (4, 5, 20)
    assert SearchQuery.from_settings(settings) == QUERY
    with pytest.raises(ValidationError):
        ClientConfig(results_per_page=501)


# ----------------------------------------------------------------------------- request


def test_headers_params_and_page() -> None:
    handler, seen = scripted(
        ok(["11", "12"], count_all=742, headers={"Set-Cookie": "session=abc", "Date": "x"})
    )
    client, _ = make_client(handler)
    page = client.fetch_page(QUERY, 1)

    request = seen[0]
    assert request.method == "GET"
    assert request.url.host == "data.usajobs.gov"
    assert request.url.path == "/api/search"
    assert request.headers["Host"] == "data.usajobs.gov"
    assert request.headers["User-Agent"] == UA
    assert request.headers["Authorization-Key"] == KEY
    assert request.headers["Accept"] == ACCEPT == "application/hr+json, application/json"
    assert dict(request.url.params) == {
        "Keyword": "data engineering",
        "LocationName": "Chicago, Illinois",
        "Radius": "50",
        "ResultsPerPage": "500",
        "Page": "1",
    }

    assert (page.part, page.page, page.status) == (None, 1, 200)
    assert page.endpoint == "https://data.usajobs.gov/api/search"
    assert page.params == dict(request.url.params)
    assert (page.count_all, page.count, len(page.items)) == (742, 2, 2)
    assert page.control_numbers == ["11", "12"]
    assert json.loads(page.body) == page.payload
    assert page.headers["content-type"].startswith("application/hr+json")
    assert "set-cookie" not in {k.lower() for k in page.headers}
    assert page.sent_at <= page.received_at
    assert page.sent_at.tzinfo is not None


def test_host_header_keeps_port_of_a_local_api() -> None:
    handler, seen = scripted(ok())
    client, _ = make_client(handler, api_base="http://127.0.0.1:8765")
    client.fetch_page(SearchQuery(), 3, part="p007", results_per_page=25)
    assert seen[0].headers["Host"] == "127.0.0.1:8765"
    assert seen[0].url.params["ResultsPerPage"] == "25"
    assert seen[0].url.params["Page"] == "3"


def test_fetch_page_rejects_bad_paging_arguments() -> None:
    handler, seen = scripted()
    client, _ = make_client(handler)
    with pytest.raises(ConfigError):
        client.fetch_page(QUERY, 0)
    with pytest.raises(ConfigError):
        client.fetch_page(QUERY, 1, results_per_page=501)
    assert seen == []


def test_no_key_configured_sends_no_key_header() -> None:
    handler, seen = scripted(ok())
    client, _ = make_client(handler, auth_key=None, user_agent=None)
    client.fetch_page(QUERY, 1)
    assert "Authorization-Key" not in seen[0].headers
    assert seen[0].headers["User-Agent"].startswith("tasman-etl/")


# ----------------------------------------------------------------------------- retries


def test_429_with_retry_after_seconds_then_success() -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    client, clock = make_client(handler)
    page = client.fetch_page(QUERY, 1)
    assert page.status == 200
    assert clock.sleeps == [7.0]
    assert len(seen) == 2
    assert client.stats == {
        "requests": 2,
        "retries": 1,
        "transport_errors": 0,
        "budget_remaining": 99,
        "by_status": {"429": 1, "200": 1},
    }


def test_429_with_retry_after_http_date() -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    handler, _ = scripted(
        httpx.Response(429, headers={"Date": date, "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}),
        ok(),
    )
    client, clock = make_client(handler)
    client.fetch_page(QUERY, 1)
    assert clock.sleeps == [30.0]


def test_retry_after_is_clamped_to_max_backoff() -> None:
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": "3600"}), ok())
    client, clock = make_client(handler, max_backoff_s=12.5)
    client.fetch_page(QUERY, 1)
    assert clock.sleeps == [12.5]


@pytest.mark.parametrize("value", ["0", "soon", "-5", ""])
def test_retry_after_zero_or_garbage_uses_jittered_backoff(value: str) -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": value}), ok())
    client, clock = make_client(handler, seed=11, backoff_base_s=2.0)
    client.fetch_page(QUERY, 1)
    assert clock.sleeps == [random.Random(11).uniform(0, 2.0)]


def test_full_jitter_delays_for_5xx_timeouts_and_broken_bodies() -> None:
    handler, seen = scripted(
        httpx.Response(500),
        httpx.Response(503),
        httpx.ReadTimeout("read timed out"),
        httpx.Response(200, content=b'{"SearchResult": {"SearchResultCou'),  # truncated JSON
        httpx.Response(200, content=b"<html>Service Unavailable</html>"),
        httpx.Response(200, content=b""),
        httpx.Response(200, json={"Message": "no search result"}),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        ok(["9"]),
    )
    client, clock = make_client(
        handler, seed=3, max_attempts=10, backoff_base_s=0.5, max_backoff_s=20
    )
    page = client.fetch_page(QUERY, 1)
    assert page.control_numbers == ["9"]
    assert len(seen) == 9

    replay = random.Random(3)
    expected = [replay.uniform(0, min(20.0, 0.5 * 2**k)) for k in range(8)]
    assert clock.sleeps == expected
    for k, delay in enumerate(clock.sleeps):
        assert 0 <= delay <= min(20.0, 0.5 * 2**k)
    stats = client.stats
    assert stats["retries"] == 8
    assert stats["requests"] == 9
    assert stats["transport_errors"] == 2
    assert stats["by_status"] == {"500": 1, "503": 1, "200": 5}


def test_backoff_delay_bounds_and_cap() -> None:
    rng = random.Random(1)
    for k in range(12):
        d = backoff_delay(k, retry_after=None, base_s=1.0, max_backoff_s=30.0, rng=rng)
        assert 0 <= d <= min(30.0, 2.0**k)
    assert backoff_delay(3, retry_after=90.0, base_s=1, max_backoff_s=30.0, rng=rng) == 30.0
    assert backoff_delay(3, retry_after=4.5, base_s=1, max_backoff_s=30.0, rng=rng) == 4.5
    # a huge attempt number must not overflow
    assert backoff_delay(10_000, retry_after=None, base_s=1, max_backoff_s=5, rng=rng) <= 5


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_stop_at_once(status: int) -> None:
    handler, seen = scripted(httpx.Response(status), ok())
    client, clock = make_client(handler)
    with pytest.raises(AuthError) as info:
        client.fetch_page(QUERY, 1)
    assert isinstance(info.value, ConfigError)
    assert "USAJOBS_AUTH_KEY" in str(info.value)
    assert "USAJOBS_USER_AGENT" in str(info.value)
    assert str(status) in str(info.value)
    assert len(seen) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [400, 404, 414, 422, 302])
def test_other_client_errors_are_fatal_without_retry(status: int) -> None:
    handler, seen = scripted(httpx.Response(status), ok())
    client, _ = make_client(handler)
    with pytest.raises(FatalFetchError, match=str(status)):
        client.fetch_page(QUERY, 1)
    assert len(seen) == 1
    assert client.stats["retries"] == 0


def test_attempts_are_bounded() -> None:
    handler, seen = scripted(*[httpx.Response(503) for _ in range(10)])
    client, clock = make_client(handler, max_attempts=3)
    with pytest.raises(FatalFetchError, match="giving up after 3 attempts") as info:
        client.fetch_page(QUERY, 2, part="p001")
    assert isinstance(info.value.__cause__, RetriableFetchError)
    assert "page 2 of partition p001" in str(info.value)
    assert len(seen) == 3
    assert len(clock.sleeps) == 2


def test_retry_budget_is_shared_and_exhausts() -> None:
    handler, seen = scripted(*[httpx.Response(503) for _ in range(10)])
    client, _ = make_client(handler, max_attempts=10, retry_budget=2)
    with pytest.raises(FatalFetchError, match="retry budget exhausted"):
        client.fetch_page(QUERY, 1)
    assert len(seen) == 3  # 1 try + 2 retries
    # the budget is per client: the next page gets no retry at all
    with pytest.raises(FatalFetchError, match="retry budget exhausted"):
        client.fetch_page(QUERY, 2)
    assert len(seen) == 4
    assert client.stats["retries"] == 2
    assert client.stats["budget_remaining"] == 0


# ----------------------------------------------------------------------------- rate limit


def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock.now)
    assert starts == [0.0, 0.25, 0.5, 0.75, 1.0]
    clock.now = 10.0  # idle for a while: no wait, no burst credit beyond one slot
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.25


def test_rate_limiter_rejects_non_positive_rate() -> None:
    with pytest.raises(ConfigError):
        RateLimiter(0)


def test_rate_limit_applies_to_every_request_including_retries() -> None:
    sent_at: list[float] = []
    clock = FakeClock()
    responses = iter([httpx.Response(503, headers={"Retry-After": "0.1"}), ok(), ok()])

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return next(responses)

    client, _ = make_client(handler, clock, requests_per_second=2.0)
    client.fetch_page(QUERY, 1)
    client.fetch_page(QUERY, 2)
    assert sent_at == [0.0, 0.5, 1.0]
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert all(g >= 0.5 for g in gaps)


def test_client_is_thread_safe_and_limiter_gives_distinct_slots() -> None:
    lock = threading.Lock()
    served = []

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            served.append(request.url.params["Page"])
        return ok([request.url.params["Page"]])

    waits: list[float] = []
    client = UsajobsClient(
        ClientConfig(api_base=BASE, requests_per_second=100.0),
        transport=httpx.MockTransport(handler),
        sleep=waits.append,  # no-op sleep, the clock never moves
        clock=lambda: 0.0,
    )

    def work(start: int) -> None:
        for n in range(start, start + 5):
            assert client.fetch_page(QUERY, n).control_numbers == [str(n)]

    threads = [threading.Thread(target=work, args=(i * 5 + 1,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(served, key=int) == [str(n) for n in range(1, 21)]
    assert client.stats["requests"] == 20
    assert sorted(waits) == pytest.approx([k / 100.0 for k in range(1, 20)])


# ----------------------------------------------------------------------------- classification


def _resp(
    status: int, content: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers or {})


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (ok(), None),
        (_resp(200, b'{"SearchResult": {"SearchResultCountAll": 0}}'), None),
        (_resp(429), RetriableFetchError),
        (_resp(500), RetriableFetchError),
        (_resp(502), RetriableFetchError),
        (_resp(503), RetriableFetchError),
        (_resp(599), RetriableFetchError),
        (_resp(200), RetriableFetchError),
        (_resp(204), RetriableFetchError),
        (_resp(200, b"   \n"), RetriableFetchError),
        (_resp(200, b"<html></html>", {"Content-Type": "text/html"}), RetriableFetchError),
        (_resp(200, b'{"SearchResult": '), RetriableFetchError),
        (_resp(200, b"[1, 2]"), RetriableFetchError),
        (_resp(200, b'{"SearchResult": "nope"}'), RetriableFetchError),
        (_resp(200, b'{"SearchResult": []}'), RetriableFetchError),
        (_resp(200, b'{"SearchResult": {"SearchResultItems": {}}}'), RetriableFetchError),
        (_resp(200, b'{"SearchResult": {"SearchResultCountAll": "many"}}'), RetriableFetchError),
        (_resp(200, b'{"SearchResult": {"SearchResultCount": true}}'), RetriableFetchError),
        (_resp(200, b'{"SearchResult": {"SearchResultCountAll": "36"}}'), None),
        (_resp(200, b"\xff\xfe\x00"), RetriableFetchError),
        (_resp(401), AuthError),
        (_resp(403), AuthError),
        (_resp(400), FatalFetchError),
        (_resp(404), FatalFetchError),
        (_resp(301, headers={"Location": "https://elsewhere.example/"}), FatalFetchError),
    ],
)
def test_classify_response(response: httpx.Response, expected: type[Exception] | None) -> None:
    result = classify_response(response)
    if expected is None:
        assert result is None
    else:
        assert type(result) is expected


def test_classify_response_attaches_retry_after() -> None:
    error = classify_response(_resp(503, headers={"Retry-After": "12"}))
    assert isinstance(error, RetriableFetchError)
    assert error.retry_after == 12.0
    error = classify_response(_resp(500))
    assert isinstance(error, RetriableFetchError)
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", None),
        ("-3", None),
        ("nan", None),
        ("never", None),
        ("120", 120.0),
        ("1.5", 1.5),
        (" 30 ", 30.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", None),  # in the past
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    from email.utils import parsedate_to_datetime

    now = parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT")
    assert parse_retry_after(value, now=now) == expected


def _httpx_error(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", "https://data.usajobs.gov/api/search")
    if cls is httpx.HTTPStatusError:
        return cls("boom", request=request, response=httpx.Response(503, request=request))
    if issubclass(cls, httpx.StreamError) and cls is not httpx.StreamError:
        return cls()  # type: ignore[call-arg]  # subclasses build their own message
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    return cls("boom")


# Every exception class httpx exports, and what it must become. A new httpx class fails
# `test_httpx_error_mapping_is_complete` until someone decides how to classify it.
EXPECTED_MAPPING: dict[type[Exception], type[TasmanError]] = {
    httpx.HTTPError: FatalFetchError,
    httpx.RequestError: FatalFetchError,
    httpx.TransportError: RetriableFetchError,
    httpx.TimeoutException: RetriableFetchError,
    httpx.ConnectTimeout: RetriableFetchError,
    httpx.ReadTimeout: RetriableFetchError,
    httpx.WriteTimeout: RetriableFetchError,
    httpx.PoolTimeout: RetriableFetchError,
    httpx.NetworkError: RetriableFetchError,
    httpx.ConnectError: RetriableFetchError,
    httpx.ReadError: RetriableFetchError,
    httpx.WriteError: RetriableFetchError,
    httpx.CloseError: RetriableFetchError,
    httpx.ProtocolError: RetriableFetchError,
    httpx.RemoteProtocolError: RetriableFetchError,
    httpx.LocalProtocolError: FatalFetchError,
    httpx.ProxyError: RetriableFetchError,
    httpx.UnsupportedProtocol: ConfigError,
    httpx.DecodingError: RetriableFetchError,
    httpx.TooManyRedirects: FatalFetchError,
    httpx.HTTPStatusError: RetriableFetchError,  # classified by its (503) response
    httpx.InvalidURL: ConfigError,
    httpx.CookieConflict: FatalFetchError,
    httpx.StreamError: FatalFetchError,
    httpx.StreamConsumed: FatalFetchError,
    httpx.StreamClosed: FatalFetchError,
    httpx.ResponseNotRead: FatalFetchError,
    httpx.RequestNotRead: FatalFetchError,
}


def test_httpx_error_mapping_is_complete() -> None:
    exported = {
        obj
        for name in httpx.__all__
        if isinstance(obj := getattr(httpx, name), type) and issubclass(obj, Exception)
    }
    assert exported == set(EXPECTED_MAPPING), "classify the new/removed httpx exceptions"
    for cls, target in EXPECTED_MAPPING.items():
        mapped = map_httpx_error(_httpx_error(cls), what="search page 1")
        assert type(mapped) is target, cls
        if target is not RetriableFetchError or cls is not httpx.HTTPStatusError:
            assert "search page 1" in str(mapped)


def test_transport_errors_are_caught_from_a_real_transport() -> None:
    # nothing listens on port 9 of loopback: a real ConnectError, mapped and retried
    client = UsajobsClient(
        ClientConfig(api_base="http://127.0.0.1:9", max_attempts=2, timeout_s=2),
        sleep=lambda s: None,
    )
    with client, pytest.raises(FatalFetchError, match="giving up after 2 attempts") as info:
        client.fetch_page(QUERY, 1)
    assert isinstance(info.value.__cause__, RetriableFetchError)
    assert isinstance(info.value.__cause__.__cause__, httpx.ConnectError)
    assert client.stats["transport_errors"] == 2


# ----------------------------------------------------------------------------- secrets


def test_key_never_reaches_pages_errors_or_logs() -> None:
    echo = {"X-Echo-Authorization-Key": KEY, "Content-Type": "application/json"}
    handler, seen = scripted(
        httpx.Response(503, headers={"Retry-After": "1"}),
        httpx.ReadTimeout(f"timed out sending {KEY}"),  # even if a message carried it
        ok(headers=echo),
        httpx.Response(401, headers=echo),
        *[httpx.Response(500) for _ in range(6)],
    )
    client, _ = make_client(handler)
    with capture_logs() as logs:
        page = client.fetch_page(QUERY, 1)
        with pytest.raises(AuthError) as auth:
            client.fetch_page(QUERY, 2)
        with pytest.raises(FatalFetchError) as fatal:
            client.fetch_page(QUERY, 3)
    assert seen[0].headers["Authorization-Key"] == KEY  # it was sent...
    texts = [
        repr(page),
        str(page),
        json.dumps(page.params),
        json.dumps(page.headers),
        str(auth.value),
        repr(auth.value),
        str(fatal.value),
        repr(fatal.value),
        str(fatal.value.__cause__),
        repr(client.config),
        str(client.stats),
        repr(logs),
    ]
    assert any(e["event"] == "usajobs.retry" for e in logs)
    for text in texts:
        assert KEY not in text  # ...and nowhere else
    assert all("headers" not in e for e in logs)


# ----------------------------------------------------------------------------- paging


def _partition(first: Any, pages: int, rpp: int = 2) -> Partition:
    return Partition(
        key="p001",
        query=QUERY,
        count_all=first.count_all,
        pages=pages,
        results_per_page=rpp,
        first_page=first,
    )


def test_iter_pages_follows_count_and_labels_part() -> None:
    handler, seen = scripted(ok(["1", "2"], 5), ok(["3", "4"], 5), ok(["5"], 5))
    client, _ = make_client(handler)
    first = client.fetch_page(QUERY, 1, part="p001", results_per_page=2)
    pages = list(client.iter_pages(_partition(first, 3)))
    assert [p.page for p in pages] == [1, 2, 3]
    assert [p.part for p in pages] == ["p001"] * 3
    assert [n for p in pages for n in p.control_numbers] == ["1", "2", "3", "4", "5"]
    assert [r.url.params["ResultsPerPage"] for r in seen] == ["2", "2", "2"]
    assert len(seen) == 3


def test_iter_pages_stops_early_on_an_empty_page() -> None:
    handler, seen = scripted(ok(["1", "2"], 6), ok([], 6), ok(["never"], 6))
    client, _ = make_client(handler)
    first = client.fetch_page(QUERY, 1, results_per_page=2)
    pages = list(client.iter_pages(_partition(first, 3)))
    assert [p.page for p in pages] == [1, 2]
    assert len(seen) == 2


def test_iter_pages_refuses_a_repeated_page() -> None:
    handler, _ = scripted(ok(["1", "2"], 6), ok(["1", "2"], 6))
    client, _ = make_client(handler)
    first = client.fetch_page(QUERY, 1, results_per_page=2)
    with pytest.raises(FatalFetchError, match="pagination loop"):
        list(client.iter_pages(_partition(first, 3)))


def test_client_context_manager_closes() -> None:
    handler, _ = scripted(ok())
    client, _ = make_client(handler)
    with client as entered:
        assert entered is client
    with pytest.raises(RuntimeError):
        client._http.get("https://data.usajobs.gov/api/search")


# ----------------------------------------------------------------------------- request slot


def _free(slot: threading.Semaphore) -> bool:
    """Whether `slot` can be taken right now (it is given back at once)."""
    if slot.acquire(blocking=False):
        slot.release()
        return True
    return False


def test_the_request_slot_is_let_go_while_a_body_is_hashed_and_checked() -> None:
    slot = threading.BoundedSemaphore(1)
    during: list[bool] = []
    handler, _ = scripted(ok(["1", "2"]))
    client, _ = make_client(handler)

    def trusted(digest: str) -> bool:
        during.append(_free(slot))  # another fetcher could send its request now
        return False

    page = client.fetch_page(QUERY, 1, trusted=trusted, slot=slot)
    assert page.control_numbers == ["1", "2"]
    assert during == [True]
    assert _free(slot)


class SlotClock(FakeClock):
    """A fake clock whose sleeps note whether `slot` was held meanwhile."""

    def __init__(self, slot: threading.Semaphore) -> None:
        super().__init__()
        self.slot = slot
        self.held: list[bool] = []

    def sleep(self, seconds: float) -> None:
        self.held.append(not _free(self.slot))
        super().sleep(seconds)


def test_the_request_slot_is_held_through_backoff_waits() -> None:
    slot = threading.BoundedSemaphore(1)
    not_json = httpx.Response(
        200, content=b"<html>busy</html>", headers={"Content-Type": "text/html"}
    )
    handler, seen = scripted(httpx.Response(503), not_json, ok(["7"]))
    clock = SlotClock(slot)
    client, _ = make_client(handler, clock)
    page = client.fetch_page(QUERY, 1, slot=slot)
    assert page.control_numbers == ["7"]
    assert len(seen) == 3
    assert clock.held == [True, True]  # after the 503, and after the body that is not JSON
    assert _free(slot)


def test_the_request_slot_is_given_back_when_a_fetch_fails() -> None:
    slot = threading.BoundedSemaphore(1)
    handler, _ = scripted(httpx.Response(401))
    client, _ = make_client(handler)
    with pytest.raises(AuthError):
        client.fetch_page(QUERY, 1, slot=slot)
    assert _free(slot)
