"""What a USAJOBS answer means: usable, retriable or fatal, decided in one place.

Shared by the search, code-list and Historic JOA clients:

- ``inspect_response`` / ``classify_response``: 429, 5xx, empty or non-JSON 2xx bodies are
  retriable (with ``Retry-After`` read); 401/403 are ``AuthError``; other 4xx are fatal.
- ``map_httpx_error``: the same for httpx exceptions (timeouts, dropped connections and
  truncated bodies are retriable); ``HTTPX_ERRORS`` are the families to catch.
- ``stopped``: the error for a request ended by the stop event.
- Header values are the server's to write: ``Retry-After``/``Date`` that cannot be read are
  ignored, never raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tasman_etl import jsontext
from tasman_etl.errors import (
    AuthError,
    ConfigError,
    FatalFetchError,
    FetchError,
    RetriableFetchError,
    TasmanError,
)
from tasman_etl.redact import scrub

__all__ = [
    "HTTPX_ERRORS",
    "classify_response",
    "inspect_response",
    "map_httpx_error",
    "parse_retry_after",
    "stopped",
]


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
