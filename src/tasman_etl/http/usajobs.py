"""USAJOBS Search client: auth headers, paging, and planning under the cap.

``UsajobsClient.fetch_page`` returns a ``Page``: the raw body and parsed payload with the
request params and allow-listed response headers (never request headers: no key). Every
request is bounded (``bounded.py``): a deadline for the whole answer (retriable), a body cap
on the wire and decompressed (fatal), and the stop event polled between reads. What a
response means is ``responses.py``; the retry policy and the rate limiter every request goes
through are ``retry.py``; ``plan`` splits a capped search (``planning.py``).

The pieces of the search live in their own modules (``query.py``, ``page.py``,
``responses.py``, ``retry.py``, ``planning.py``); their public names are importable from
here too.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypedDict

import httpx
import structlog

from tasman_etl import __version__
from tasman_etl.errors import ConfigError, FetchError, RetriableFetchError
from tasman_etl.http.bounded import Bounds, Stopped, bounded_get, json_client
from tasman_etl.http.page import Page
from tasman_etl.http.partition import Paginator
from tasman_etl.http.planning import (
    ORGANIZATION_CODELIST,
    PROBE_ROWS,
    SERIES_CODELIST,
    CodelistSource,
    Partition,
    SearchPlan,
    plan_search,
)
from tasman_etl.http.query import MAX_RESULTS_PER_PAGE, ClientConfig, SearchQuery
from tasman_etl.http.responses import (
    HTTPX_ERRORS,
    classify_response,
    inspect_response,
    map_httpx_error,
    parse_retry_after,
    stopped,
)
from tasman_etl.http.retry import (
    DEADLINE_FACTOR,
    PooledClient,
    RateLimiter,
    Retrier,
    backoff_delay,
)
from tasman_etl.redact import register_secret, safe_headers

__all__ = [
    "ACCEPT",
    "DEADLINE_FACTOR",
    "HTTPX_ERRORS",
    "MAX_RESULTS_PER_PAGE",
    "ORGANIZATION_CODELIST",
    "PROBE_ROWS",
    "SEARCH_PATH",
    "SERIES_CODELIST",
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
    "stopped",
]

log = structlog.get_logger(__name__)

SEARCH_PATH = "/api/search"
ACCEPT = "application/hr+json, application/json"


class ClientStats(TypedDict):
    """Counters of one client: requests sent, retries taken, outcomes by status."""

    requests: int
    retries: int
    transport_errors: int
    budget_remaining: int
    by_status: dict[str, int]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UsajobsClient(PooledClient):
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
        trusted: Callable[[str], bool] | None = None,
        slot: threading.Semaphore | None = None,
    ) -> Page:
        """Fetch one page of ``query`` with retries; raises ``FetchError``/``AuthError``.

        ``trusted(sha256 hex of a 2xx body)`` says the body repeats a page parsed and
        loaded before: it is not parsed here (`Page.payload` parses it if asked).
        ``slot`` (a semaphore of requests in flight) is held from the first attempt to the
        last, backoff waits included (during an outage the run backs off as a whole), but
        let go while a body that arrived is hashed and decoded.
        """
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

        held = _Held(slot)
        held.take()
        try:
            return self._retrier.call(
                lambda: self._attempt(
                    params, page=page, part=part, what=what, trusted=trusted, held=held
                ),
                what=what,
                on_retry=on_retry,
            )
        finally:
            held.drop()

    def _bounds(self) -> Bounds:
        return Bounds(
            deadline_s=self.config.request_deadline_s,
            max_body_bytes=self.config.max_body_bytes,
            stop=self._stop,
        )

    def _attempt(
        self,
        params: dict[str, str],
        *,
        page: int,
        part: str | None,
        what: str,
        trusted: Callable[[str], bool] | None = None,
        held: _Held | None = None,
    ) -> Page:
        held = held or _Held(None)
        held.take()  # again, after a body that could not be used
        # From here to the end of the body, a request is in flight.
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
        held.drop()
        with self._lock:
            key = str(response.status_code)
            self._by_status[key] = self._by_status.get(key, 0) + 1
        payload: dict[str, Any] | None = None
        try:
            digest = _body_sha256(response) if trusted is not None else None
            if digest is None or trusted is None or not trusted(digest):
                payload, error = inspect_response(response)
                if error is not None:
                    raise error
                assert payload is not None
        except BaseException:
            held.take()  # what follows (a backoff wait, a retry) holds the slot again
            raise
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
            decoded=payload,
            body_sha256=digest,
        )
        log.debug(
            "usajobs.page",
            part=part,
            page=page,
            status=result.status,
            items=len(result.items) if payload is not None else None,
            count_all=result.count_all if payload is not None else None,
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


class _Held:
    """A request slot (a semaphore, or none) that a fetch takes and lets go of."""

    def __init__(self, slot: threading.Semaphore | None) -> None:
        self.slot = slot
        self.held = False

    def take(self) -> None:
        if self.slot is not None and not self.held:
            self.slot.acquire()
            self.held = True

    def drop(self) -> None:
        if self.slot is not None and self.held:
            self.held = False
            self.slot.release()


def _body_sha256(response: httpx.Response) -> str | None:
    """The SHA-256 hex of a non-empty 2xx body (the caller may trust it unparsed), or None."""
    if not 200 <= response.status_code <= 299 or not response.content:
        return None
    return hashlib.sha256(response.content).hexdigest()
