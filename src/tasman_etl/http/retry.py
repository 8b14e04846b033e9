"""What every USAJOBS client shares about sending requests: retries, pacing, pool lifetime.

- ``Retrier`` is the one retry policy (tenacity, ``reraise=True``): full-jitter exponential
  backoff, ``Retry-After`` honoured and clamped, bounded attempts and a retry budget shared
  by every request of a client. Every wait goes through the injected ``sleep``.
- ``RateLimiter`` spaces all requests, retries included, ``1 / requests_per_second`` apart.
- ``DEADLINE_FACTOR``: without an explicit deadline, how long one request may take in all.
- ``PooledClient``: ``close`` and the context manager of a client that owns an httpx pool.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

import httpx
import tenacity

from tasman_etl.errors import ConfigError, FatalFetchError, RetriableFetchError

__all__ = [
    "DEADLINE_FACTOR",
    "PooledClient",
    "RateLimiter",
    "Retrier",
    "backoff_delay",
]

T = TypeVar("T")

DEADLINE_FACTOR = 10.0
"""Without ``HTTP_DEADLINE_S``, a request may take this many times ``HTTP_TIMEOUT_S`` in all."""


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
    """The one retry policy, shared by the search, code-list and Historic JOA clients.

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


class PooledClient:
    """Base of the clients that own an httpx connection pool (``_http``): close it, or ``with``."""

    _http: httpx.Client

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
