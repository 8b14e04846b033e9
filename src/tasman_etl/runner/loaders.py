"""Page loads on their own threads and connections, `LOADERS` at a time (ADR 0030).

A page's load is PostgreSQL's work (COPY, indexes, TOAST, WAL) far more than Python's, and
one backend does it on one core. `Loaders` runs up to `size` loads at once, each on its
thread's own connection, so two pages' database work can use two cores. Which pages may
overlap, and in what order their outcomes count, is the `Run`'s business
(`tasman_etl.runner.lifecycle`): it never hands over two pages with a job in common.

A load whose connection is lost (the server restarted, the backend was terminated) is
tried once more on a new connection: its transaction was rolled back whole, or committed,
and loading is idempotent.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, NamedTuple, TypeVar

import psycopg
import structlog

from tasman_etl.errors import DatabaseError
from tasman_etl.runner.connections import RECONNECT_S, connection_lost, reconnect

__all__ = ["LOADERS", "LoadQueue", "Loaded", "Loaders"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
Conn = psycopg.Connection[Any]

LOADERS = 2
"""Pages loaded at once (bench/README.md: the machine the targets are set on has two
cores; a third load would only queue behind the first two in PostgreSQL's WAL)."""


class Loaded(NamedTuple, Generic[T]):
    """What a load gave: its result, or the database error that ended it."""

    result: T | None
    error: DatabaseError | None
    gone: bool
    """The database could not be reached even on a new connection: the run cannot go on."""
    seconds: float
    reconnected: bool = False
    """The loader's connection was lost (the run's others may have been too)."""


class Loaders:
    """Up to `size` threads, each loading on its own connection from `connect`."""

    def __init__(
        self,
        connect: Callable[[], Conn],
        *,
        size: int = LOADERS,
        stop: threading.Event | None = None,
        within_s: float = RECONNECT_S,
    ) -> None:
        self.connect = connect
        self.stop = stop or threading.Event()
        self.within_s = within_s
        self._pool = ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix="load")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[Conn] = []

    def submit(self, load: Callable[[Conn], T]) -> Future[Loaded[T]]:
        """Run ``load(connection)`` on a loader thread."""
        return self._pool.submit(self._run, load)

    def close(self) -> None:
        """Wait for the loads under way, then close every loader connection."""
        self._pool.shutdown(wait=True)
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _run(self, load: Callable[[Conn], T]) -> Loaded[T]:
        started = time.perf_counter()
        reconnected = False
        try:
            conn = self._conn()
            try:
                result = load(conn)
            except DatabaseError as exc:
                if not connection_lost(conn, exc.__cause__):
                    raise
                reconnected = True
                conn = self._replace(conn)
                log.warning("database_reconnected", thread=threading.current_thread().name)
                result = load(conn)
        except DatabaseError as exc:
            now: Conn | None = getattr(self._local, "conn", None)
            gone = now is None or connection_lost(now, exc.__cause__)
            return Loaded(None, exc, gone, time.perf_counter() - started, reconnected)
        return Loaded(result, None, False, time.perf_counter() - started, reconnected)

    def _conn(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self.connect()
            except psycopg.Error as exc:
                raise DatabaseError(f"cannot connect a loader to the database: {exc}") from exc
            self._keep(conn)
        return conn

    def _replace(self, old: Conn) -> Conn:
        self._local.conn = None
        try:
            fresh = reconnect(old, self.connect, self.stop, within_s=self.within_s)
        except psycopg.Error as exc:  # not a lost server: refused (a password changed...)
            raise DatabaseError(f"cannot reconnect a loader to the database: {exc}") from exc
        self._keep(fresh)
        return fresh

    def _keep(self, conn: Conn) -> None:
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)


class _Handed(NamedTuple):
    page: Any
    jobs: frozenset[str]
    future: Future[Loaded[Any]]
    nbytes: int


class LoadQueue:
    """Pages handed to `Loaders`, each settled by ``settle(page, loaded)`` in hand-over order.

    `put` hands a page over once fewer than `size` are under way; `settle` waits for the
    pages under way that share a job with ``jobs`` (all of them without ``jobs``), and every
    page handed over before them, so that what a page reads of earlier ones (the jobs they
    wrote, the duplicates they saw) is what sequential loads would have left. Used by the
    owner thread only.
    """

    def __init__(
        self,
        loaders: Callable[[], Loaders],
        settle: Callable[[Any, Loaded[Any]], None],
        *,
        size: int = LOADERS,
    ) -> None:
        self._make = loaders
        self._loaders: Loaders | None = None
        self._settle_one = settle
        self.size = max(1, size)
        self._handed: deque[_Handed] = deque()
        self.nbytes = 0
        """What the pages under way weigh (`put`'s ``nbytes``): the engine's window counts it."""

    def __len__(self) -> int:
        return len(self._handed)

    def put(
        self, page: Any, jobs: frozenset[str], load: Callable[[Conn], Any], nbytes: int = 0
    ) -> None:
        """Hand `page` over (its `load` runs on a loader thread), after room is made."""
        while len(self._handed) >= self.size:
            self._next()
        if self._loaders is None:
            self._loaders = self._make()
        self._handed.append(_Handed(page, jobs, self._loaders.submit(load), nbytes))
        self.nbytes += nbytes

    def settle(self, jobs: frozenset[str] | set[str] | None = None) -> None:
        """Settle every page under way (with ``jobs``: until none of them shares one)."""
        while self._handed and (
            jobs is None or any(not h.jobs.isdisjoint(jobs) for h in self._handed)
        ):
            self._next()

    def close(self) -> None:
        """Close the loaders (pages still under way are waited for, not settled)."""
        self._handed.clear()
        self.nbytes = 0
        if self._loaders is not None:
            self._loaders.close()
            self._loaders = None

    def _next(self) -> None:
        handed = self._handed.popleft()
        self.nbytes -= handed.nbytes
        self._settle_one(handed.page, handed.future.result())
