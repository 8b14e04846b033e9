"""USAJOBS code lists (``GET /api/codelist/{name}``, no auth) with an in-memory TTL cache.

Real payloads look like::

    {"CodeList": [{"ValidValue": [{"Code": "IL ", "Value": "Illinois",
                                   "LastModified": "2011-07-21T12:58:11.03",
                                   "IsDisabled": "No", "ParentCode": "US"}],
                   "id": "CountrySubdivisionCode"}],
     "DateGenerated": "2024-07-01T16:39:02.5735105Z"}

``parse_codelist`` turns that into a ``Codelist``: codes and values stripped, ``IsDisabled``
as a bool, zone-less timestamps read as UTC, ``GroupingName`` used when ``Value`` is
missing, and any other keys (``ParentCode``, ``JobFamily``, ``Acronym``...) kept in
``extra``. Fetching uses the shared ``Retrier`` (``retry.py``) and ``inspect_response``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from tasman_etl import __version__
from tasman_etl.config import DEFAULT_API_BASE
from tasman_etl.errors import ConfigError, FatalFetchError, FetchError, RetriableFetchError
from tasman_etl.http.bounded import (
    DEFAULT_MAX_BODY_BYTES,
    Bounds,
    Stopped,
    bounded_get,
    json_client,
)
from tasman_etl.http.responses import HTTPX_ERRORS, inspect_response, map_httpx_error, stopped
from tasman_etl.http.retry import DEADLINE_FACTOR, PooledClient, RateLimiter, Retrier

__all__ = [
    "CODELIST_PATH",
    "CodeValue",
    "Codelist",
    "CodelistClient",
    "label_lookup",
    "parse_codelist",
]

log = structlog.get_logger(__name__)

CODELIST_PATH = "/api/codelist/{name}"
_KNOWN_KEYS = frozenset({"Code", "Value", "LastModified", "IsDisabled"})


@dataclass(frozen=True)
class CodeValue:
    """One row of a code list; ``extra`` holds list-specific keys (``ParentCode``...)."""

    code: str
    value: str
    last_modified: datetime | None
    is_disabled: bool
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Codelist:
    """A whole code list as served, disabled rows included."""

    name: str
    values: list[CodeValue]
    date_generated: datetime | None
    fetched_at: datetime
    list_id: str | None = None

    def codes(self, *, include_disabled: bool = True) -> list[str]:
        """Distinct codes in served order."""
        return list(
            dict.fromkeys(v.code for v in self.values if include_disabled or not v.is_disabled)
        )


def _timestamp(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in {"yes", "y", "true", "1"}


def _text(raw: Any) -> str:
    return raw.strip() if isinstance(raw, str) else ("" if raw is None else str(raw))


def parse_codelist(name: str, payload: Any, *, fetched_at: datetime | None = None) -> Codelist:
    """Parse a ``/api/codelist/{name}`` payload (pure; rows without a code are skipped).

    Raises ``FatalFetchError`` when the payload does not have the code-list shape.
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("CodeList"), list):
        raise FatalFetchError(f"codelist {name}: payload has no 'CodeList' list")
    values: list[CodeValue] = []
    list_id: str | None = None
    for block in payload["CodeList"]:
        if not isinstance(block, Mapping) or not isinstance(block.get("ValidValue", []), list):
            raise FatalFetchError(f"codelist {name}: malformed 'CodeList' entry")
        list_id = list_id or (str(block["id"]) if block.get("id") is not None else None)
        for row in block.get("ValidValue", []):
            if not isinstance(row, Mapping):
                continue
            code = _text(row.get("Code"))
            if not code:
                continue
            value = _text(row.get("Value")) if "Value" in row else _text(row.get("GroupingName"))
            values.append(
                CodeValue(
                    code=code,
                    value=value,
                    last_modified=_timestamp(row.get("LastModified")),
                    is_disabled=_flag(row.get("IsDisabled", "No")),
                    extra={k: v for k, v in row.items() if k not in _KNOWN_KEYS},
                )
            )
    return Codelist(
        name=name,
        values=values,
        date_generated=_timestamp(payload.get("DateGenerated")),
        fetched_at=fetched_at or datetime.now(UTC),
        list_id=list_id,
    )


class _Labels(dict[str, str]):
    """A dict keyed by case-folded code; lookups fold (and strip) the key too."""

    @staticmethod
    def _fold(key: object) -> object:
        return key.strip().casefold() if isinstance(key, str) else key

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(str(self._fold(key)))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._fold(key))

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(str(self._fold(key)), default)


def label_lookup(codelist: Codelist) -> dict[str, str]:
    """Code -> label, matching codes case-insensitively (``"vet"`` finds ``"VET"``).

    Keys are stored case-folded. When a code repeats, an enabled row wins over a disabled
    one, then the first row wins.
    """
    labels = _Labels()
    disabled: set[str] = set()
    for row in codelist.values:
        key = row.code.casefold()
        if key not in labels or (key in disabled and not row.is_disabled):
            dict.__setitem__(labels, key, row.value)
            if row.is_disabled:
                disabled.add(key)
            else:
                disabled.discard(key)
    return labels


class CodelistClient(PooledClient):
    """Fetches code lists (no auth headers) and caches each for ``ttl_s`` seconds.

    Retries 429/5xx/transport errors and broken bodies with the shared ``Retrier``;
    an unknown list (404) raises ``FatalFetchError``. Thread-safe.
    """

    def __init__(
        self,
        api_base: str = DEFAULT_API_BASE,
        *,
        transport: httpx.BaseTransport | None = None,
        ttl_s: float = 86_400.0,
        timeout_s: float = 30.0,
        max_attempts: int = 4,
        max_backoff_s: float = 30.0,
        backoff_base_s: float = 1.0,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        limiter: RateLimiter | None = None,
        deadline_s: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        stop: threading.Event | None = None,
    ) -> None:
        if not api_base.startswith(("http://", "https://")):
            raise ConfigError("codelist API base must start with http:// or https://")
        self.api_base = api_base.rstrip("/")
        self.ttl_s = ttl_s
        self._clock = clock
        self._limiter = limiter
        self._sleep = sleep
        self._bounds = Bounds(
            deadline_s=deadline_s if deadline_s is not None else DEADLINE_FACTOR * timeout_s,
            max_body_bytes=max_body_bytes,
            stop=stop,
        )
        self._http = json_client(
            {
                "User-Agent": user_agent or f"tasman-etl/{__version__}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
            },
            timeout_s,
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
        self._cache: dict[str, tuple[float, Codelist]] = {}
        self.requests = 0

    def url(self, name: str) -> str:
        """URL of code list ``name``."""
        return self.api_base + CODELIST_PATH.format(name=quote(name.strip().lower(), safe=""))

    def get(self, name: str) -> Codelist:
        """Code list ``name`` from the cache, or fetched when missing or older than ``ttl_s``."""
        key = name.strip().lower()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self.ttl_s:
            return cached[1]
        codelist = self._retrier.call(
            lambda: self._fetch(key),
            what=f"codelist {key}",
            on_retry=lambda exc, attempt, delay: log.warning(
                "codelist.retry",
                codelist=key,
                attempt=attempt,
                delay_s=round(delay, 3),
                reason=str(exc),
            ),
        )
        with self._lock:
            self._cache[key] = (self._clock(), codelist)
        return codelist

    def codes(self, name: str) -> list[str]:
        """Distinct codes of code list ``name``, disabled ones included."""
        return self.get(name).codes()

    def invalidate(self, name: str | None = None) -> None:
        """Forget one cached list, or all of them."""
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name.strip().lower(), None)

    def _fetch(self, name: str) -> Codelist:
        if self._limiter is not None:
            self._limiter.acquire()
        with self._lock:
            self.requests += 1
        what = f"codelist {name}"
        try:
            _, response = bounded_get(self._http, self.url(name), self._bounds)
        except HTTPX_ERRORS as exc:
            raise map_httpx_error(exc, what=what) from exc
        except Stopped:
            raise stopped(self._sleep, what) from None
        except FetchError as exc:  # deadline passed, body over the cap or not decodable
            raise type(exc)(f"{what}: {exc}") from exc
        payload, error = inspect_response(response, expect_key="CodeList")
        if error is not None:
            if isinstance(error, RetriableFetchError):
                raise error
            raise FatalFetchError(f"{what}: HTTP {response.status_code} (not retried)")
        codelist = parse_codelist(name, payload)
        log.info("codelist.fetched", codelist=name, values=len(codelist.values))
        return codelist
