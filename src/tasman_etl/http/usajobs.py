"""USAJOBS Search client: auth headers, one retry policy, one rate limiter, paging, the cap.

Pieces, from the wire up:

- ``classify_response`` decides, in one place, whether a response is usable, retriable
  (429, 5xx, empty or non-JSON 2xx bodies) or fatal (other 4xx; 401/403 are ``AuthError``).
  ``map_httpx_error`` does the same for httpx exceptions (timeouts, dropped connections and
  truncated bodies are retriable).
- ``Retrier`` is the one retry policy (tenacity, ``reraise=True``): full-jitter exponential
  backoff, ``Retry-After`` honoured and clamped, bounded attempts and a retry budget shared
  by every request of a client. Every wait goes through the injected ``sleep``.
- ``RateLimiter`` spaces all requests, retries included, ``1 / requests_per_second`` apart.
- ``UsajobsClient.fetch_page`` returns a ``Page``: the raw body and parsed payload with the
  request params and allow-listed response headers (never request headers: no key). Every
  request is bounded (``bounded.py``): a deadline for the whole answer (retriable), a body cap
  on the wire and decompressed (fatal), and the stop event polled between reads.
- Header values are the server's to write: ``Retry-After``/``Date`` that cannot be read are
  ignored, never raised.
- ``plan_search`` fetches page 1 and, when the query hits the 10,000-row cap, splits it by
  occupational series then organization (see ``partition.py``) into a ``SearchPlan``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypedDict, TypeVar

import httpx
import structlog
import tenacity
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tasman_etl import __version__, jsontext
from tasman_etl.config import DEFAULT_API_BASE, check_base_url, header_value_input
from tasman_etl.errors import (
    AuthError,
    ConfigError,
    FatalFetchError,
    FetchError,
    RetriableFetchError,
    TasmanError,
)
from tasman_etl.http.bounded import (
    DEFAULT_MAX_BODY_BYTES,
    Bounds,
    Stopped,
    bounded_get,
    json_client,
)
from tasman_etl.http.partition import (
    CAP,
    DEFAULT_MAX_FILTER_CHARS,
    Dimension,
    Filters,
    Paginator,
    is_capped,
    page_count,
    partition_key,
    split_cells,
)
from tasman_etl.redact import register_secret, safe_headers, scrub

if TYPE_CHECKING:
    from tasman_etl.config import Settings

__all__ = [
    "ACCEPT",
    "HTTPX_ERRORS",
    "PROBE_ROWS",
    "SEARCH_PATH",
    "ClientConfig",
    "ClientStats",
    "CodelistSource",
    "Page",
    "Partition",
    "RateLimiter",
    "Retrier",
    "SearchPlan",
    "SearchQuery",
    "UsajobsClient",
    "backoff_delay",
    "classify_response",
    "inspect_response",
    "map_httpx_error",
    "parse_retry_after",
    "plan_search",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

SEARCH_PATH = "/api/search"
ACCEPT = "application/hr+json, application/json"
MAX_RESULTS_PER_PAGE = 500
DEADLINE_FACTOR = 10.0
"""Without ``HTTP_DEADLINE_S``, a request may take this many times ``HTTP_TIMEOUT_S`` in all."""
SERIES_CODELIST = "occupationalseries"
ORGANIZATION_CODELIST = "agencysubelements"

# Parameter names the query owns; `extra` may not override them.
_RESERVED_PARAMS = frozenset(
    name.lower()
    for name in (
        "Keyword",
        "LocationName",
        "Radius",
        "JobCategoryCode",
        "Organization",
        "DatePosted",
        "Page",
        "ResultsPerPage",
    )
)


# --------------------------------------------------------------------------- query & config


class SearchQuery(BaseModel):
    """What to search for; ``to_params()`` renders the USAJOBS parameters.

    Empty strings mean "no such filter". Code tuples are stripped, de-duplicated and
    sorted so equal queries render equal parameters (and equal ``scope_hash``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    keyword: str | None = None
    location_name: str | None = None
    radius_miles: int | None = Field(default=None, ge=1)
    job_category_codes: tuple[str, ...] = ()
    organization_codes: tuple[str, ...] = ()
    date_posted_days: int | None = Field(default=None, ge=0)
    extra: tuple[tuple[str, str], ...] = ()

    @field_validator("keyword", "location_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("job_category_codes", "organization_codes", mode="before")
    @classmethod
    def _canonical_codes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(";")
        if isinstance(value, list | tuple | set | frozenset):
            return tuple(sorted({str(v).strip() for v in value if str(v).strip()}))
        return value

    @field_validator("extra")
    @classmethod
    def _no_reserved(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for name, _ in value:
            if name.lower() in _RESERVED_PARAMS:
                raise ValueError(f"{name!r} is set by a named field or by the pager")
        return value

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchQuery:
        """The configured search scope (``KEYWORD``, ``LOCATION_NAME``, ``RADIUS_MILES``)."""
        return cls(
            keyword=settings.keyword,
            location_name=settings.location_name,
            radius_miles=settings.radius_miles,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchQuery:
        """The query a set of USAJOBS parameters asked (paging ignored): ``to_params``'s inverse.

        Raises ValueError for values a query cannot hold (a ``Radius`` that is not a number).
        """
        named = {
            "keyword": "Keyword",
            "location_name": "LocationName",
            "radius_miles": "Radius",
            "job_category_codes": "JobCategoryCode",
            "organization_codes": "Organization",
            "date_posted_days": "DatePosted",
        }
        lowered = {str(k).lower(): v for k, v in params.items()}
        fields: dict[str, Any] = {}
        for field_name, param in named.items():
            value = lowered.get(param.lower())
            if value is not None and str(value).strip() != "":
                fields[field_name] = str(value)
        extra = tuple(
            sorted(
                (str(k), str(v))
                for k, v in params.items()
                if str(k).lower() not in _RESERVED_PARAMS and v is not None
            )
        )
        return cls.model_validate({**fields, "extra": extra})

    def to_params(self) -> dict[str, str]:
        """USAJOBS query parameters (no paging; ``Radius`` only with ``LocationName``)."""
        params: dict[str, str] = {}
        if self.keyword:
            params["Keyword"] = self.keyword
        if self.location_name:
            params["LocationName"] = self.location_name
            if self.radius_miles is not None:
                params["Radius"] = str(self.radius_miles)
        if self.job_category_codes:
            params["JobCategoryCode"] = ";".join(self.job_category_codes)
        if self.organization_codes:
            params["Organization"] = ";".join(self.organization_codes)
        if self.date_posted_days is not None:
            params["DatePosted"] = str(self.date_posted_days)
        for name, value in self.extra:
            params[name] = value
        return params

    def scope_hash(self) -> str:
        """Stable SHA-256 (hex) of the canonical parameters: identifies the search scope."""
        canonical = json.dumps(self.to_params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def narrowed(self, filters: Filters) -> SearchQuery:
        """This query with code filters (``job_category_codes``/``organization_codes``) set."""
        return SearchQuery.model_validate({**self.model_dump(), **filters})


class ClientConfig(BaseModel):
    """Everything the search client needs; build it with ``from_settings``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = DEFAULT_API_BASE
    auth_key: SecretStr | None = None
    user_agent: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    deadline_s: float | None = Field(default=None, gt=0)
    """Whole-request deadline (connect, headers, body); None = ``DEADLINE_FACTOR`` x timeout."""
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    """Cap of a response body, on the wire and decompressed."""
    max_attempts: int = Field(default=6, ge=1)
    retry_budget: int = Field(default=500, ge=0)
    requests_per_second: float = Field(default=2.0, gt=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    max_backoff_s: float = Field(default=60.0, gt=0)
    results_per_page: int = Field(default=MAX_RESULTS_PER_PAGE, ge=1, le=MAX_RESULTS_PER_PAGE)

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        # No credentials, query or fragment: the endpoint is stored in bronze and the ledger.
        return check_base_url(value)

    @field_validator("auth_key", "user_agent", mode="before")
    @classmethod
    def _header_value(cls, value: Any) -> Any:
        # Surrounding whitespace stripped, control characters refused (never echoed).
        return header_value_input(value)

    @property
    def request_deadline_s(self) -> float:
        """The deadline of one request: ``deadline_s``, or ``DEADLINE_FACTOR`` x ``timeout_s``."""
        if self.deadline_s is not None:
            return self.deadline_s
        return DEADLINE_FACTOR * self.timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientConfig:
        """Client settings from the validated application ``Settings``."""
        return cls(
            api_base=settings.usajobs_api_base,
            auth_key=settings.usajobs_auth_key,
            user_agent=settings.usajobs_user_agent,
            timeout_s=settings.http_timeout_s,
            deadline_s=settings.http_deadline_s,
            max_body_bytes=settings.http_max_body_bytes,
            max_attempts=settings.max_attempts,
            retry_budget=settings.retry_budget,
            requests_per_second=settings.requests_per_second,
            max_backoff_s=settings.max_backoff_s,
            results_per_page=settings.results_per_page,
        )


# --------------------------------------------------------------------------- page


@dataclass(frozen=True)
class Page:
    """One Search response as received, with the request that produced it.

    ``params`` are the query parameters (never headers: the key is not here); ``headers``
    are allow-listed response headers; ``body`` the raw bytes; ``payload`` the parsed JSON.
    """

    part: str | None
    page: int
    endpoint: str
    params: dict[str, str]
    sent_at: datetime
    received_at: datetime
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)
    payload: dict[str, Any] = field(repr=False)

    @property
    def search_result(self) -> dict[str, Any]:
        """The ``SearchResult`` object of the payload."""
        result: dict[str, Any] = self.payload["SearchResult"]
        return result

    @property
    def count_all(self) -> int:
        """``SearchResultCountAll``: rows matching the query (saturates at the cap)."""
        return int(self.search_result.get("SearchResultCountAll") or 0)

    @property
    def count(self) -> int:
        """``SearchResultCount``: rows on this page, as the API states it."""
        return int(self.search_result.get("SearchResultCount") or 0)

    @property
    def items(self) -> list[dict[str, Any]]:
        """``SearchResultItems`` (empty list when absent)."""
        items: list[dict[str, Any]] = self.search_result.get("SearchResultItems") or []
        return items

    @property
    def control_numbers(self) -> list[str]:
        """``MatchedObjectId`` of every item, as strings, in page order."""
        return [str(item.get("MatchedObjectId")) for item in self.items if isinstance(item, dict)]

    def with_part(self, part: str | None) -> Page:
        """A copy of this page labelled with partition key ``part``."""
        return dataclasses.replace(self, part=part)


# --------------------------------------------------------------------------- classification


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date).

    Returns None when absent, unparsable, zero or in the past (= "use backoff").
    ``now`` is the reference for dates (the response's ``Date`` header when known).
    Never raises: a header is the server's to write, so any value that cannot be read
    (``OverflowError`` from a zone offset of 20 digits, a year out of range...) is ignored.
    """
    try:
        return _retry_after_seconds(value, now)
    except Exception:  # any unreadable header value means "no hint"
        return None


def _retry_after_seconds(value: str | None, now: datetime | None) -> float | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        when = _http_date(text)
        if when is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or seconds <= 0:  # NaN or not in the future
        return None
    return seconds


def _http_date(text: str) -> datetime | None:
    """An HTTP-date as an aware datetime (zone-less = UTC), or None; never raises."""
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        when.utcoffset()  # offsets beyond a day fail here, not later in arithmetic
    except Exception:  # any unreadable header value is ignored
        return None
    return when


def _response_date(response: httpx.Response) -> datetime | None:
    try:
        raw = response.headers.get("date")
    except Exception:  # a header that cannot be read is no header
        return None
    if not isinstance(raw, str) or not raw.strip():
        return None
    return _http_date(raw)


def _credentials_hint(status: int) -> str:
    return (
        f"USAJOBS refused the credentials (HTTP {status}): check USAJOBS_AUTH_KEY and "
        "USAJOBS_USER_AGENT (the e-mail address the key was issued to)"
    )


def inspect_response(
    response: httpx.Response, *, expect_key: str = "SearchResult"
) -> tuple[dict[str, Any] | None, FetchError | ConfigError | None]:
    """Classify ``response`` and parse its body once: ``(payload, None)`` or ``(None, error)``.

    429 and 5xx are retriable (with ``retry_after``); 401/403 give ``AuthError``; other
    non-2xx statuses are fatal. A 2xx body that is empty, not JSON, not an object or
    without ``expect_key`` (an object) is retriable: truncated bodies and HTML error pages.
    """
    status = response.status_code
    if status == 429 or 500 <= status <= 599:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), now=_response_date(response)
        )
        return None, RetriableFetchError(f"HTTP {status}", retry_after=retry_after)
    if status in (401, 403):
        return None, AuthError(_credentials_hint(status))
    if not 200 <= status <= 299:
        return None, FatalFetchError(f"HTTP {status} (not retried)")
    body = response.content
    if not body.strip():
        return None, RetriableFetchError(f"HTTP {status} with an empty body")
    try:
        payload = jsontext.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        kind = response.headers.get("content-type", "unknown content type")
        return None, RetriableFetchError(
            f"HTTP {status} body is not valid JSON ({len(body)} bytes, {scrub(kind)})"
        )
    if not isinstance(payload, dict) or not isinstance(payload.get(expect_key), dict | list):
        return None, RetriableFetchError(f"HTTP {status} JSON without {expect_key!r}")
    if expect_key == "SearchResult":
        problem = _search_result_problem(payload["SearchResult"])
        if problem:
            return None, RetriableFetchError(f"HTTP {status} malformed SearchResult: {problem}")
    return payload, None


def _search_result_problem(result: Any) -> str | None:
    if not isinstance(result, dict):
        return "not an object"
    if not isinstance(result.get("SearchResultItems", []), list):
        return "SearchResultItems is not a list"
    for name in ("SearchResultCountAll", "SearchResultCount"):
        value = result.get(name, 0)
        if isinstance(value, bool):
            return f"{name} is not a number"
        try:
            int(value)
        except (TypeError, ValueError):
            return f"{name} is not a number"
    return None


def classify_response(
    response: httpx.Response, *, expect_key: str = "SearchResult"
) -> FetchError | ConfigError | None:
    """None when ``response`` is usable, else the error to raise (see ``inspect_response``)."""
    return inspect_response(response, expect_key=expect_key)[1]


HTTPX_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.CookieConflict,
    httpx.StreamError,
)
"""Every exception family httpx raises; catch these where a request is made."""

# First match wins: specific classes before their bases.
_HTTPX_ERROR_MAP: tuple[tuple[type[Exception], type[TasmanError], str], ...] = (
    (httpx.TimeoutException, RetriableFetchError, "timed out"),
    (httpx.NetworkError, RetriableFetchError, "network error"),
    (httpx.RemoteProtocolError, RetriableFetchError, "connection dropped or body truncated"),
    (httpx.LocalProtocolError, FatalFetchError, "invalid request"),
    (httpx.ProtocolError, RetriableFetchError, "protocol error"),
    (httpx.ProxyError, RetriableFetchError, "proxy error"),
    (httpx.UnsupportedProtocol, ConfigError, "unsupported URL scheme (check USAJOBS_API_BASE)"),
    (httpx.DecodingError, RetriableFetchError, "body could not be decoded"),
    (httpx.TooManyRedirects, FatalFetchError, "too many redirects"),
    (httpx.TransportError, RetriableFetchError, "transport error"),
    (httpx.RequestError, FatalFetchError, "request failed"),
    (httpx.InvalidURL, ConfigError, "invalid URL (check USAJOBS_API_BASE)"),
    (httpx.CookieConflict, FatalFetchError, "cookie conflict"),
    (httpx.StreamError, FatalFetchError, "response stream misused"),
    (httpx.HTTPError, FatalFetchError, "HTTP error"),
)


def map_httpx_error(exc: Exception, *, what: str = "request") -> TasmanError:
    """The tasman error for an httpx exception (raise it ``from exc``).

    ``HTTPStatusError`` is classified by its response like any other response.
    """
    if isinstance(exc, httpx.HTTPStatusError):
        error = classify_response(exc.response)
        if error is not None:
            return error
    for kind, target, description in _HTTPX_ERROR_MAP:
        if isinstance(exc, kind):
            return target(f"{what}: {description}: {type(exc).__name__}: {scrub(str(exc))}")
    return FatalFetchError(f"{what}: unexpected error {type(exc).__name__}: {scrub(str(exc))}")


def stopped(sleep: Callable[[float], None], what: str) -> BaseException:
    """The error for a request ended by the stop event: whatever the injected ``sleep``
    raises when a stop is requested (the runner's ``RunAborted``), else a fatal error."""
    try:
        sleep(0.0)
    except BaseException as exc:  # the caller's abort signal, passed on
        return exc
    return FatalFetchError(f"{what}: stopped while the request was in flight")


# --------------------------------------------------------------------------- retry & rate


def backoff_delay(
    retry_index: int,
    *,
    retry_after: float | None,
    base_s: float,
    max_backoff_s: float,
    rng: random.Random,
) -> float:
    """Delay before retry ``retry_index`` (0 = first retry).

    A positive ``retry_after`` wins, clamped to ``max_backoff_s``; otherwise full jitter:
    ``uniform(0, min(max_backoff_s, base_s * 2**retry_index))``.
    """
    if retry_after is not None and retry_after > 0:
        return min(retry_after, max_backoff_s)
    ceiling = min(max_backoff_s, base_s * 2.0 ** min(retry_index, 64))
    return rng.uniform(0.0, ceiling)


class Retrier:
    """The one retry policy, shared by the search and codelist clients.

    Retries ``RetriableFetchError`` up to ``max_attempts`` attempts per call while the
    shared ``budget`` (retries per client; None = unlimited) lasts. Exhausted attempts or
    budget raise ``FatalFetchError`` chained to the last retriable error; any other error
    (fatal, auth) propagates at once. Thread-safe.
    """

    def __init__(
        self,
        *,
        max_attempts: int,
        base_s: float,
        max_backoff_s: float,
        budget: int | None,
        sleep: Callable[[float], None],
        rng: random.Random | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_s = base_s
        self.max_backoff_s = max_backoff_s
        self.budget = budget
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only
        self._lock = threading.Lock()
        self._spent = 0

    @property
    def retries(self) -> int:
        """Retries taken so far (= budget spent)."""
        with self._lock:
            return self._spent

    @property
    def budget_remaining(self) -> int | None:
        """Retries left in the budget (None = unlimited)."""
        with self._lock:
            return None if self.budget is None else max(0, self.budget - self._spent)

    def _try_spend(self) -> bool:
        with self._lock:
            if self.budget is not None and self._spent >= self.budget:
                return False
            self._spent += 1
            return True

    def delay(self, retry_index: int, retry_after: float | None) -> float:
        """Backoff before retry ``retry_index`` (see ``backoff_delay``)."""
        with self._lock:
            return backoff_delay(
                retry_index,
                retry_after=retry_after,
                base_s=self.base_s,
                max_backoff_s=self.max_backoff_s,
                rng=self._rng,
            )

    def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        on_retry: Callable[[RetriableFetchError, int, float], None] | None = None,
    ) -> T:
        """Run ``fn`` with retries; ``on_retry(error, attempt, delay_s)`` before each wait."""
        out_of_budget = False

        def stop(state: tenacity.RetryCallState) -> bool:
            nonlocal out_of_budget
            if state.attempt_number >= self.max_attempts:
                return True
            if not self._try_spend():
                out_of_budget = True
                return True
            return False

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            retry_after = exc.retry_after if isinstance(exc, RetriableFetchError) else None
            return self.delay(state.attempt_number - 1, retry_after)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            if on_retry is not None and isinstance(exc, RetriableFetchError):
                on_retry(exc, state.attempt_number, delay)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(RetriableFetchError),
            stop=stop,
            wait=wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except RetriableFetchError as exc:
            if out_of_budget:
                raise FatalFetchError(
                    f"retry budget exhausted ({self.budget} retries per run); "
                    f"{what}: last error: {exc}"
                ) from exc
            raise FatalFetchError(
                f"{what}: giving up after {self.max_attempts} attempts; last error: {exc}"
            ) from exc


class RateLimiter:
    """Spaces calls at least ``1 / rate_per_s`` apart across threads (injected clock/sleep)."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ConfigError("requests_per_second must be > 0")
        self.interval_s = 1.0 / rate_per_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: float | None = None

    def acquire(self) -> float:
        """Wait for the next free slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval_s
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)


# --------------------------------------------------------------------------- client


class ClientStats(TypedDict):
    """Counters of one client: requests sent, retries taken, outcomes by status."""

    requests: int
    retries: int
    transport_errors: int
    budget_remaining: int
    by_status: dict[str, int]


class CodelistSource(Protocol):
    """Anything that lists the codes of a code list (``CodelistClient`` does)."""

    def codes(self, name: str) -> list[str]:
        """Codes of code list ``name`` (disabled ones included)."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UsajobsClient:
    """Thread-safe USAJOBS Search client; share one between fetcher threads."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._stop = stop
        key = config.auth_key.get_secret_value() if config.auth_key is not None else None
        register_secret(key)
        headers = {
            "Host": httpx.URL(config.api_base).netloc.decode("ascii"),
            "User-Agent": config.user_agent or f"tasman-etl/{__version__}",
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",  # what the body cap can decode in bounded steps
        }
        if key:
            headers["Authorization-Key"] = key
        self._http = json_client(headers, config.timeout_s, transport)
        self._limiter = RateLimiter(config.requests_per_second, clock=clock, sleep=sleep)
        self._retrier = Retrier(
            max_attempts=config.max_attempts,
            base_s=config.backoff_base_s,
            max_backoff_s=config.max_backoff_s,
            budget=config.retry_budget,
            sleep=sleep,
            rng=rng,
        )
        self._lock = threading.Lock()
        self._requests = 0
        self._transport_errors = 0
        self._by_status: dict[str, int] = {}

    @property
    def endpoint(self) -> str:
        """Full URL of the Search endpoint."""
        return self.config.api_base + SEARCH_PATH

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the request counters."""
        with self._lock:
            by_status = dict(self._by_status)
            requests, errors = self._requests, self._transport_errors
        return ClientStats(
            requests=requests,
            retries=self._retrier.retries,
            transport_errors=errors,
            budget_remaining=self._retrier.budget_remaining or 0,
            by_status=by_status,
        )

    def fetch_page(
        self,
        query: SearchQuery,
        page: int,
        *,
        part: str | None = None,
        results_per_page: int | None = None,
    ) -> Page:
        """Fetch one page of ``query`` with retries; raises ``FetchError``/``AuthError``."""
        rpp = results_per_page if results_per_page is not None else self.config.results_per_page
        if not 1 <= rpp <= MAX_RESULTS_PER_PAGE:
            raise ConfigError(f"results per page must be 1..{MAX_RESULTS_PER_PAGE}, got {rpp}")
        if page < 1:
            raise ConfigError(f"page numbers start at 1, got {page}")
        params = {**query.to_params(), "ResultsPerPage": str(rpp), "Page": str(page)}
        what = f"search page {page}" + (f" of partition {part}" if part else "")

        def on_retry(exc: RetriableFetchError, attempt: int, delay: float) -> None:
            log.warning(
                "usajobs.retry",
                part=part,
                page=page,
                attempt=attempt,
                delay_s=round(delay, 3),
                reason=str(exc),
            )

        return self._retrier.call(
            lambda: self._attempt(params, page=page, part=part, what=what),
            what=what,
            on_retry=on_retry,
        )

    def _bounds(self) -> Bounds:
        return Bounds(
            deadline_s=self.config.request_deadline_s,
            max_body_bytes=self.config.max_body_bytes,
            stop=self._stop,
        )

    def _attempt(self, params: dict[str, str], *, page: int, part: str | None, what: str) -> Page:
        self._limiter.acquire()
        sent_at = _utcnow()
        started = self._clock()
        with self._lock:
            self._requests += 1
        try:
            headers, response = bounded_get(
                self._http, self.endpoint, self._bounds(), params=params
            )
        except HTTPX_ERRORS as exc:
            with self._lock:
                self._transport_errors += 1
            raise map_httpx_error(exc, what=what) from exc
        except Stopped:
            raise stopped(self._sleep, what) from None
        except FetchError as exc:  # deadline passed, body over the cap or not decodable
            with self._lock:
                self._transport_errors += 1
            raise type(exc)(f"{what}: {exc}") from exc
        received_at = _utcnow()
        with self._lock:
            key = str(response.status_code)
            self._by_status[key] = self._by_status.get(key, 0) + 1
        payload, error = inspect_response(response)
        if error is not None:
            raise error
        assert payload is not None
        result = Page(
            part=part,
            page=page,
            endpoint=self.endpoint,
            params=dict(params),
            sent_at=sent_at,
            received_at=received_at,
            status=response.status_code,
            headers=safe_headers(headers),
            body=response.content,
            payload=payload,
        )
        log.debug(
            "usajobs.page",
            part=part,
            page=page,
            status=result.status,
            items=len(result.items),
            count_all=result.count_all,
            elapsed_ms=round((self._clock() - started) * 1000, 1),
        )
        return result

    def plan(
        self,
        query: SearchQuery,
        *,
        codelists: CodelistSource | None,
        results_per_page: int | None = None,
        concurrency: int = 1,
    ) -> SearchPlan:
        """Plan ``query`` under the 10,000-row cap (see ``plan_search``)."""
        return plan_search(
            self,
            query,
            codelists=codelists,
            results_per_page=results_per_page,
            concurrency=concurrency,
        )

    def iter_pages(self, partition: Partition) -> Iterator[Page]:
        """Yield every page of ``partition`` in order, page 1 first (planning may have fetched it).

        Stops after the last page by ``SearchResultCountAll`` or on an empty page; a page
        repeating the previous one raises ``FatalFetchError``.
        """
        first = partition.first_page
        if first is None:
            first = self.fetch_page(
                partition.query, 1, part=partition.key, results_per_page=partition.results_per_page
            )
        yield first
        pager = Paginator(partition.pages, first.control_numbers)
        while pager.has_more():
            number = pager.next_page
            fetched = self.fetch_page(
                partition.query,
                number,
                part=partition.key,
                results_per_page=partition.results_per_page,
            )
            pager.advance(fetched.control_numbers)
            yield fetched

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Partition:
    """One query of a plan, under the cap unless ``over_cap``.

    ``key`` is None when the search needed no split; then ``first_page`` is the page 1 that
    planning fetched. A split search's partitions were counted by one-row probes, so their
    ``first_page`` is None and page 1 is fetched like any other page. ``pages`` counts every
    page including page 1, and is at least 1: an empty result still has its page 1.
    """

    key: str | None
    query: SearchQuery
    count_all: int
    pages: int
    results_per_page: int
    first_page: Page | None = field(default=None, repr=False)
    over_cap: bool = False

    @property
    def params(self) -> dict[str, str]:
        """The partition's USAJOBS parameters (without paging)."""
        return self.query.to_params()

    def remaining_pages(self) -> range:
        """Page numbers still to fetch: 2..pages."""
        return range(2, self.pages + 1)


@dataclass(frozen=True)
class SearchPlan:
    """How a search is fetched: partitions in a stable order, and what planning cost."""

    query: SearchQuery
    results_per_page: int
    partitions: tuple[Partition, ...]
    requests_used: int

    @property
    def over_cap(self) -> list[Partition]:
        """Partitions still capped after every split: they will be under-collected."""
        return [p for p in self.partitions if p.over_cap]

    @property
    def total_pages(self) -> int:
        """Pages over all partitions, pages 1 included."""
        return sum(p.pages for p in self.partitions)

    def pages_to_fetch(self) -> Iterator[tuple[Partition, int]]:
        """``(partition, page)`` for every page not fetched yet, in plan order."""
        for partition in self.partitions:
            if partition.first_page is None:
                yield partition, 1
            for number in partition.remaining_pages():
                yield partition, number


PROBE_ROWS = 1
"""Rows a planning probe asks for: only its ``SearchResultCountAll`` is used."""


def _dimension(
    name: str, given: Sequence[str], codelists: CodelistSource | None, codelist: str
) -> Dimension:
    if given:
        return Dimension(name, tuple(given))
    if codelists is None:
        return Dimension(name, ())
    return Dimension(name, tuple(dict.fromkeys(c for c in codelists.codes(codelist) if c)))


def plan_search(
    client: UsajobsClient,
    query: SearchQuery,
    *,
    codelists: CodelistSource | None,
    results_per_page: int | None = None,
    cap: int = CAP,
    max_filter_chars: int = DEFAULT_MAX_FILTER_CHARS,
    concurrency: int = 1,
) -> SearchPlan:
    """Fetch page 1 of ``query`` and split it into partitions that each fit under ``cap``.

    The probes of one level of the split are sent ``concurrency`` at a time (behind the
    client's rate limiter); the partitions are the same whatever the concurrency.

    Under the cap: one partition, key None. At or over it: bisect the occupational series
    (``occupationalseries`` codes, or the query's own), then organizations
    (``agencysubelements``) for a single series still capped; what cannot be split further
    is kept with ``over_cap=True``. Empty partitions are dropped. Partition keys
    ``p001``, ``p002``... follow plan order.

    Only the count of a probe is used, so probes ask for ``PROBE_ROWS`` row(s) a page: a
    split of a large search moves a few kilobytes per probe instead of up to 500 items, and
    no probe's page is held until the engine reaches its partition (ADR 0029). Page 1 of
    an unsplit search is the planning request itself and is kept.
    """
    rpp = results_per_page if results_per_page is not None else client.config.results_per_page
    root = client.fetch_page(query, 1, results_per_page=rpp)
    requests = 1
    if not is_capped(root.count_all, cap):
        only = Partition(
            key=None,
            query=query,
            count_all=root.count_all,
            pages=max(1, page_count(root.count_all, rpp, cap)),
            results_per_page=rpp,
            first_page=root,
        )
        return SearchPlan(query, rpp, (only,), requests_used=1)

    dimensions = [
        _dimension("job_category_codes", query.job_category_codes, codelists, SERIES_CODELIST),
        _dimension(
            "organization_codes", query.organization_codes, codelists, ORGANIZATION_CODELIST
        ),
    ]
    lock = threading.Lock()

    def probe(filters: Filters) -> int:
        nonlocal requests
        fetched = client.fetch_page(query.narrowed(filters), 1, results_per_page=PROBE_ROWS)
        with lock:
            requests += 1
        return fetched.count_all

    def probe_many(filters: list[Filters]) -> list[int]:
        if concurrency <= 1 or len(filters) <= 1:
            return [probe(f) for f in filters]
        workers = min(concurrency, len(filters))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
            return list(pool.map(probe, filters))

    log.info("usajobs.plan.split", count_all=root.count_all, cap=cap)
    cells = split_cells(
        root.count_all,
        dimensions,
        probe,
        cap=cap,
        max_filter_chars=max_filter_chars,
        probe_many=probe_many,
    )
    single = len(cells) == 1 and not cells[0].filters
    partitions = []
    for index, cell in enumerate(cells, start=1):
        key = None if single else partition_key(index)
        partitions.append(
            Partition(
                key=key,
                query=query.narrowed(cell.filters),
                count_all=cell.count_all,
                pages=max(1, page_count(cell.count_all, rpp, cap)),
                results_per_page=rpp,
                first_page=root if single else None,
                over_cap=cell.over_cap,
            )
        )
    plan = SearchPlan(query, rpp, tuple(partitions), requests_used=requests)
    log.info(
        "usajobs.plan",
        partitions=len(partitions),
        over_cap=len(plan.over_cap),
        requests_used=requests,
        pages=plan.total_pages,
    )
    return plan
