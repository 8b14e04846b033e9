"""Historic JOA client (``GET /api/HistoricJoa``, ``/api/HistoricJoa/AnnouncementText``).

No auth headers: the API needs none, and the search key is never sent here. Everything else
is shared with the search client: from ``retry.py`` the one retry policy (``Retrier``: 429,
5xx, timeouts, dropped connections, HTML or other non-JSON bodies; ``Retry-After`` honoured and
clamped; a persistent failure raises ``FatalFetchError``) and the ``RateLimiter``; from
``responses.py`` ``inspect_response`` and ``map_httpx_error``; and the bounded request
(deadline, body cap, stop event).

Paging follows the API as it behaves (usajobs-api.md §5): the first page is the query's URL;
every later page is ``paging.next`` followed verbatim (host prefixed: the token in it is
already %-encoded and is never re-encoded). `HistoricClient.pages` stops when ``next`` is
missing or blank, or when its continuation token was seen before in this query (then the
last page carries ``repeated_token=True``). A body of exactly ``204 No Content`` (the API's
answer for no rows, with HTTP 200) is an empty page with ``totalCount`` 0.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
import structlog

from tasman_etl import __version__
from tasman_etl.config import DEFAULT_API_BASE, check_base_url
from tasman_etl.errors import ConfigError, FetchError, RetriableFetchError
from tasman_etl.http.bounded import (
    DEFAULT_MAX_BODY_BYTES,
    Bounds,
    Stopped,
    bounded_get,
    json_client,
)
from tasman_etl.http.responses import HTTPX_ERRORS, inspect_response, map_httpx_error, stopped
from tasman_etl.http.retry import DEADLINE_FACTOR, PooledClient, RateLimiter, Retrier
from tasman_etl.redact import safe_headers


class Limiter(Protocol):
    """What paces requests: `RateLimiter` (threads), or one shared by processes."""

    def acquire(self) -> float:
        """Wait for the next free slot; return the seconds waited."""
        ...


__all__ = [
    "HISTORIC_PATH",
    "NO_CONTENT_PAYLOAD",
    "TEXT_PATH",
    "HistoricClient",
    "HistoricPage",
    "HistoricQuery",
    "Limiter",
    "continuation_token",
]

log = structlog.get_logger(__name__)

HISTORIC_PATH = "/api/HistoricJoa"
TEXT_PATH = "/api/HistoricJoa/AnnouncementText"
NO_CONTENT_PAYLOAD: dict[str, Any] = {"paging": {"metadata": {"totalCount": 0}}, "data": []}
"""The payload a ``204 No Content`` answer stands for."""
_NO_CONTENT = b"204 no content"
_TOKEN_PARAM = "continuationtoken"  # noqa: S105 - a parameter name, not a secret


@dataclass(frozen=True)
class HistoricQuery:
    """One Historic JOA query: an open-date window (inclusive), optionally agencies/series."""

    start_open: date
    end_open: date
    agencies: tuple[str, ...] = ()
    series: tuple[str, ...] = ()

    def params(self) -> dict[str, str]:
        """The API's parameters (lists comma-separated; dates ``YYYY-MM-DD``)."""
        out = {
            "StartPositionOpenDate": self.start_open.isoformat(),
            "EndPositionOpenDate": self.end_open.isoformat(),
        }
        if self.agencies:
            out["HiringAgencyCodes"] = ",".join(self.agencies)
        if self.series:
            out["PositionSeries"] = ",".join(self.series)
        return out


@dataclass(frozen=True)
class HistoricPage:
    """One Historic JOA response as received, with the request that produced it.

    ``url`` is the path and query exactly as sent (no host, no secrets: none are sent);
    ``body`` the bytes received (for bronze); ``payload`` the parsed JSON (for the
    ``204 No Content`` text: `NO_CONTENT_PAYLOAD`); ``next_url`` the verbatim ``next``, or
    None when missing, blank or repeating a token (``repeated_token`` then says so);
    ``token`` the continuation token this page was fetched with (None for a first page).
    """

    number: int
    url: str
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)
    payload: Any = field(repr=False)
    records: list[Any] = field(repr=False)
    total_count: int | None
    next_url: str | None
    sent_at: datetime
    received_at: datetime
    text: bool = False
    token: str | None = None
    repeated_token: bool = False
    no_content: bool = False


def continuation_token(url: str | None) -> str | None:
    """The raw (still %-encoded) ``continuationtoken`` value of a URL, any name case."""
    if not url:
        return None
    query = urlsplit(url.strip()).query
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name.lower() == _TOKEN_PARAM and value:
            return value
    return None


def _total(payload: Any) -> int | None:
    try:
        value = payload["paging"]["metadata"]["totalCount"]
    except (KeyError, TypeError):
        return None
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _next(payload: Any) -> str | None:
    paging = payload.get("paging") if isinstance(payload, dict) else None
    value = paging.get("next") if isinstance(paging, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HistoricClient(PooledClient):
    """Thread-safe Historic JOA client; see the module docstring."""

    def __init__(
        self,
        base_url: str = DEFAULT_API_BASE,
        *,
        user_agent: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        requests_per_second: float | None = None,
        backoff_base_s: float = 1.0,
        max_backoff_s: float = 60.0,
        deadline_s: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        limiter: Limiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        try:
            self.base_url = check_base_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"Historic JOA base URL {exc}") from None
        self._sleep = sleep
        self._clock = clock
        self._limiter: Limiter | None = limiter
        if limiter is None and requests_per_second is not None:
            self._limiter = RateLimiter(requests_per_second, clock=clock, sleep=sleep)
        self._bounds = Bounds(
            deadline_s=deadline_s if deadline_s is not None else DEADLINE_FACTOR * timeout,
            max_body_bytes=max_body_bytes,
            stop=stop,
        )
        self._http = json_client(
            {
                "User-Agent": user_agent or f"tasman-etl/{__version__}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
            },
            timeout,
            transport,
        )
        self._retrier = Retrier(
            max_attempts=max_attempts,
            base_s=backoff_base_s,
            max_backoff_s=max_backoff_s,
            budget=None,
            sleep=sleep,
            rng=rng,
        )
        self._lock = threading.Lock()
        self.requests = 0

    @property
    def retries(self) -> int:
        """Retries taken so far by this client."""
        return self._retrier.retries

    def first_url(self, query: HistoricQuery, *, text: bool = False) -> str:
        """Path and query of the first page of `query`."""
        pairs = "&".join(f"{k}={quote(v, safe=',')}" for k, v in query.params().items())
        return f"{TEXT_PATH if text else HISTORIC_PATH}?{pairs}"

    def _relative(self, url: str) -> str:
        """A ``next`` as path + query: an absolute one is cut to its path (same host only)."""
        url = url.strip()
        if url.lower().startswith(("http://", "https://")):
            parts = urlsplit(url)
            url = parts.path + (f"?{parts.query}" if parts.query else "")
        return url if url.startswith("/") else f"/{url}"

    def page(
        self,
        query: HistoricQuery | None = None,
        *,
        url: str | None = None,
        number: int = 1,
        text: bool = False,
    ) -> HistoricPage:
        """One page: the first page of `query`, or `url` (a ``next``) verbatim; with retries.

        ``next_url`` is None when ``next`` is missing, blank or repeats this page's token.
        Raises ``FatalFetchError`` when retries are exhausted or the answer is a 4xx.
        """
        if url is None:
            if query is None:
                raise ConfigError("a Historic JOA page needs a query or a URL")
            url = self.first_url(query, text=text)
        relative = self._relative(url)
        what = f"historic {'text ' if text else ''}page {number}"

        def on_retry(exc: RetriableFetchError, attempt: int, delay: float) -> None:
            log.warning(
                "historic.retry", page=number, attempt=attempt, delay_s=round(delay, 3),
                reason=str(exc),
            )  # fmt: skip

        return self._retrier.call(
            lambda: self._attempt(relative, number=number, text=text, what=what),
            what=what,
            on_retry=on_retry,
        )

    def _attempt(self, relative: str, *, number: int, text: bool, what: str) -> HistoricPage:
        if self._limiter is not None:
            self._limiter.acquire()
        with self._lock:
            self.requests += 1
        sent_at = _utcnow()
        try:
            headers, response = bounded_get(self._http, self.base_url + relative, self._bounds)
        except HTTPX_ERRORS as exc:
            raise map_httpx_error(exc, what=what) from exc
        except Stopped:
            raise stopped(self._sleep, what) from None
        except FetchError as exc:  # deadline passed, body over the cap or not decodable
            raise type(exc)(f"{what}: {exc}") from exc
        received_at = _utcnow()
        sent = response.request.url.raw_path.decode("ascii", "replace")
        body = response.content
        no_content = response.status_code == 204 or (
            200 <= response.status_code <= 299 and body.strip().lower() == _NO_CONTENT
        )
        payload: Any
        if no_content:
            payload = {"paging": {"metadata": {"totalCount": 0}}, "data": []}
        else:
            payload, error = inspect_response(response, expect_key="data")
            if error is not None:
                raise error
            if not isinstance(payload.get("data") if payload else None, list):
                raise RetriableFetchError(f"{what}: HTTP {response.status_code} data not a list")
        assert payload is not None
        token = continuation_token(sent)
        nxt = _next(payload)
        repeated = nxt is not None and token is not None and continuation_token(nxt) == token
        page = HistoricPage(
            number=number,
            url=sent,
            status=response.status_code,
            headers=safe_headers(headers),
            body=body,
            payload=payload,
            records=list(payload["data"]),
            total_count=_total(payload),
            next_url=None if repeated else nxt,
            sent_at=sent_at,
            received_at=received_at,
            text=text,
            token=token,
            repeated_token=repeated,
            no_content=no_content,
        )
        log.debug(
            "historic.page", page=number, status=page.status, records=len(page.records),
            total=page.total_count, repeated_token=repeated,
        )  # fmt: skip
        return page

    def pages(
        self,
        query: HistoricQuery,
        *,
        text: bool = False,
        start_url: str | None = None,
        start_number: int = 1,
    ) -> Iterator[HistoricPage]:
        """Every page of `query` (from `start_url`, page `start_number`, when resuming).

        Follows ``next`` verbatim; stops when it is missing or blank, or when its token was
        seen before in this iteration (that last page then has ``repeated_token=True``).
        """
        seen: set[str] = set()
        urls: set[str] = set()
        url, number = start_url, start_number
        while True:
            page = self.page(query, url=url, number=number, text=text)
            urls.add(page.url)
            if page.token is not None:
                seen.add(page.token)
            nxt = page.next_url
            token = continuation_token(nxt)
            # A token seen before (or a `next` without one that repeats a URL) loops forever.
            if nxt is not None and (token in seen or self._relative(nxt) in urls):
                page = dataclasses.replace(page, next_url=None, repeated_token=True)
            if page.repeated_token:
                log.warning("historic.repeated_token", page=number, url=page.url)
            yield page
            if page.next_url is None:
                return
            url, number = page.next_url, number + 1
