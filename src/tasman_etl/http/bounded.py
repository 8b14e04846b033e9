"""Bounded HTTP requests: a total deadline, a body cap, and a stop that ends a stuck read.

``HTTP_TIMEOUT_S`` bounds each socket operation, not a request: a server that trickles a
page one byte a second never trips it. ``bounded_get`` adds, for one GET:

- a **deadline** for the whole exchange (connect, headers, body). With the transport of
  ``guarded_transport`` every socket read waits at most ``min(HTTP_TIMEOUT_S, time left,
  POLL_S)`` and is resumed while time is left, so trickled headers are bounded too; with an
  injected transport the deadline is checked between body chunks;
- a **stop event**: checked between reads (every ``POLL_S`` at most), so one SIGTERM ends a
  fetch that is waiting on the network;
- a **body cap**, on the wire and after decompression: the body is streamed, decoded here
  (gzip/deflate) with a bounded output per step, and refused once it passes the cap, so a
  gzip bomb never reaches memory. A ``Content-Length`` above the cap is refused unread.

Outcomes: ``DeadlineExceeded`` (retriable), ``BodyTooLarge`` (fatal: a body over the cap
does not shrink on retry), ``Stopped`` (the caller turns it into its abort), and the httpx
exceptions of the transport, left to ``map_httpx_error``.
"""

from __future__ import annotations

import contextlib
import math
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from tasman_etl.errors import FatalFetchError, RetriableFetchError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "POLL_S",
    "BodyTooLarge",
    "Bounds",
    "DeadlineExceeded",
    "Stopped",
    "bounded_get",
    "guarded_transport",
    "is_guarded",
    "json_client",
]

DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024
"""Default cap of a response body, on the wire and decompressed (real pages: up to ~18 MB)."""

POLL_S = 0.25
"""Longest a socket read waits before the stop event and the deadline are checked again."""

_CHUNK = 64 * 1024


class DeadlineExceeded(RetriableFetchError):  # noqa: N818 - named like the other outcomes
    """The request did not complete within its deadline."""


class BodyTooLarge(FatalFetchError):  # noqa: N818
    """The body passed the cap (on the wire or decompressed); retrying will not shrink it."""


class Stopped(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The stop event was set while the request was in flight."""


class _Interrupted(Exception):  # noqa: N818
    """Raised from inside the transport; mapped by ``bounded_get``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Bounds:
    """The limits of one request."""

    deadline_s: float
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    stop: threading.Event | None = None
    clock: Callable[[], float] = time.monotonic


# --------------------------------------------------------------------------- transport guard

_local = threading.local()


@dataclass(frozen=True)
class _Guard:
    deadline: float
    stop: threading.Event | None
    clock: Callable[[], float]

    def check(self) -> float:
        """Seconds left; raises ``_Interrupted`` on stop or when none are left."""
        if self.stop is not None and self.stop.is_set():
            raise _Interrupted("stop")
        left = self.deadline - self.clock()
        if left <= 0:
            raise _Interrupted("deadline")
        return left


def _current() -> _Guard | None:
    guard: _Guard | None = getattr(_local, "guard", None)
    return guard


@contextlib.contextmanager
def _guarding(guard: _Guard) -> Iterator[None]:
    previous = _current()
    _local.guard = guard
    try:
        yield
    finally:
        _local.guard = previous


def _bounded(timeout: float | None, left: float) -> float:
    return left if timeout is None else min(timeout, left)


class _GuardedStream(httpcore.NetworkStream):
    """A socket stream whose reads poll the stop event and the deadline of this thread."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        guard = _current()
        if guard is None:
            return self._inner.read(max_bytes, timeout)
        started = guard.clock()
        while True:
            left = guard.check()
            waited = guard.clock() - started
            budget = math.inf if timeout is None else timeout - waited
            if budget <= 0:
                raise httpcore.ReadTimeout("timed out")
            try:
                return self._inner.read(max_bytes, min(budget, left, POLL_S))
            except httpcore.ReadTimeout:
                continue  # a slice ended: check stop/deadline/read timeout, then read on

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        guard = _current()
        if guard is None:
            self._inner.write(buffer, timeout)
            return
        self._inner.write(buffer, _bounded(timeout, guard.check()))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        guard = _current()
        if guard is not None:
            timeout = _bounded(timeout, guard.check())
        return _GuardedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with connects and streams bounded by the thread's guard."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        guard = _current()
        if guard is not None:
            timeout = _bounded(timeout, guard.check())
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _GuardedStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        guard = _current()
        if guard is not None:
            timeout = _bounded(timeout, guard.check())
        return _GuardedStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def json_client(
    headers: dict[str, str], timeout_s: float, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The HTTP client every USAJOBS client uses: no redirects, the guarded transport.

    `headers` are the request headers (User-Agent, Accept, Accept-Encoding limited to what the
    body cap can decode in bounded steps, and any credential); `transport` replaces the
    guarded one in tests.
    """
    return httpx.Client(
        headers=headers,
        timeout=httpx.Timeout(timeout_s),
        transport=transport if transport is not None else guarded_transport(),
        follow_redirects=False,
    )


def guarded_transport() -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose socket reads honour ``bounded_get``'s deadline and stop.

    The guard goes into the transport's httpcore pool (``network_backend``); if a future
    httpx lays its pool out differently the transport still works, and ``bounded_get`` then
    checks deadline and stop between body chunks only (``is_guarded`` says which).
    """
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        setattr(pool, "_network_backend", _GuardedBackend(backend))  # noqa: B010
    return transport


def is_guarded(transport: httpx.BaseTransport) -> bool:
    """True when ``transport`` came from ``guarded_transport`` and carries the guard."""
    pool = getattr(transport, "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), _GuardedBackend)


# --------------------------------------------------------------------------- body


class _Decoder:
    """Content-Encoding decoding (identity, gzip, deflate) with bounded output per step."""

    def __init__(self, encoding: str, limit: int) -> None:
        names = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        names = [n for n in names if n != "identity"]
        if len(names) > 1 or (names and names[0] not in ("gzip", "x-gzip", "deflate")):
            raise FatalFetchError(f"unsupported Content-Encoding {encoding[:80]!r}")
        self.kind = names[0] if names else "identity"
        self.limit = limit
        self.size = 0
        self._parts: list[bytes] = []
        self._first = True
        self._zlib: Any = None
        if self.kind in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.kind == "deflate":
            self._zlib = zlib.decompressobj()

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLarge(
                f"response body passed the cap of {self.limit} bytes after decompression "
                f"({self.kind}); not retried"
            )
        if data:
            self._parts.append(data)

    def _undecodable(self, exc: zlib.error) -> RetriableFetchError:
        return RetriableFetchError(f"body could not be decoded ({self.kind}): {exc}")

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._keep(data)
            return
        if self._first and self.kind == "deflate":
            self._first = False
            probe = zlib.decompressobj()
            try:
                probe.decompress(data[:2])
            except zlib.error:  # raw deflate without the zlib header (as httpx accepts)
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = data
        while pending:
            try:
                out = self._zlib.decompress(pending, self.limit - self.size + 1)
            except zlib.error as exc:
                raise self._undecodable(exc) from exc
            self._keep(out)
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                break

    def finish(self) -> bytes:
        if self._zlib is not None:
            try:
                self._keep(self._zlib.flush())
            except zlib.error as exc:
                raise self._undecodable(exc) from exc
            if self.kind != "deflate" and not self._zlib.eof:
                raise RetriableFetchError(f"compressed body ended early ({self.kind})")
        return b"".join(self._parts)


def _content_length(response: httpx.Response) -> int | None:
    try:
        value = int(response.headers.get("content-length", "").strip())
    except (ValueError, TypeError, OverflowError):
        return None
    return value if value >= 0 else None


def _capped(body: bytes, cap: int) -> bytes:
    if len(body) > cap:
        raise BodyTooLarge(f"response body passed the cap of {cap} bytes; not retried")
    return body


def _read_body(response: httpx.Response, cap: int, guard: _Guard) -> bytes:
    decoder = _Decoder(response.headers.get("content-encoding", ""), cap)
    wire = 0
    for chunk in response.iter_raw(_CHUNK):
        wire += len(chunk)
        if wire > cap:
            raise BodyTooLarge(
                f"response body passed the cap of {cap} bytes on the wire; not retried"
            )
        decoder.feed(chunk)
        guard.check()
    return decoder.finish()


def bounded_get(
    http: httpx.Client,
    url: str,
    bounds: Bounds,
    *,
    params: dict[str, str] | None = None,
) -> tuple[httpx.Headers, httpx.Response]:
    """GET ``url`` within ``bounds``; returns ``(headers as received, readable response)``.

    The readable response has the status, the decoded body as ``content`` and the headers
    without ``Content-Encoding``/``Content-Length`` (they described the wire). Raises
    ``DeadlineExceeded``, ``BodyTooLarge``, ``Stopped``, a ``RetriableFetchError`` or
    ``FatalFetchError`` for bodies that cannot be decoded, or an httpx exception.
    """
    guard = _Guard(bounds.clock() + bounds.deadline_s, bounds.stop, bounds.clock)
    try:
        with _guarding(guard):
            guard.check()
            with http.stream("GET", url, params=params) as response:
                declared = _content_length(response)
                if declared is not None and declared > bounds.max_body_bytes:
                    raise BodyTooLarge(
                        f"response body of {declared} bytes (Content-Length) passes the cap "
                        f"of {bounds.max_body_bytes} bytes; not retried"
                    )
                if response.is_stream_consumed:  # already in memory (a mock transport)
                    body = _capped(response.content, bounds.max_body_bytes)
                else:
                    body = _read_body(response, bounds.max_body_bytes, guard)
    except _Interrupted as exc:
        if exc.reason == "stop":
            raise Stopped("stop requested while the request was in flight") from None
        raise DeadlineExceeded(
            f"no complete answer within the request deadline of {bounds.deadline_s:g} s "
            "(HTTP_DEADLINE_S)"
        ) from None
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length")
    ]
    readable = httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )
    return response.headers, readable
