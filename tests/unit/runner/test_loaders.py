"""Page loads on loader threads and their own connections, with fake connections.

`Loaders` and `LoadQueue` (`tasman_etl.runner.loaders`) are checked with plain objects that
stand in for psycopg connections (no database, no network). Every wait has a timeout, and
the test checks it did not run out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import psycopg
import pytest
from structlog.testing import capture_logs

from tasman_etl.errors import DatabaseError
from tasman_etl.runner.loaders import Loaded, Loaders, LoadQueue

WAIT_S = 10.0


class FakeConn:
    """What `Loaders` and `connection_lost` look at in a connection."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.broken = False

    def close(self) -> None:
        self.closed = True


class Connector:
    """A `connect()` giving numbered `FakeConn`s; attempts from `down_from` on are refused."""

    def __init__(self, down_from: int | None = None) -> None:
        self.down_from = down_from
        self.lock = threading.Lock()
        self.attempts = 0
        self.made: list[FakeConn] = []

    def __call__(self) -> Any:
        with self.lock:
            attempt = self.attempts
            self.attempts += 1
            if self.down_from is not None and attempt >= self.down_from:
                raise psycopg.OperationalError("connection refused")
            conn = FakeConn(len(self.made))
            self.made.append(conn)
            return conn


def lose(conn: FakeConn) -> NoReturn:
    """Fail a statement the way a lost session does."""
    conn.broken = True
    raise DatabaseError("lost") from psycopg.OperationalError("server closed the connection")


def outcome(loaders: Loaders, load: Callable[[Any], Any]) -> Loaded[Any]:
    return loaders.submit(load).result(timeout=WAIT_S)


@pytest.fixture
def connector() -> Connector:
    return Connector()


@pytest.fixture
def loaders(connector: Connector) -> Iterator[Loaders]:
    pool = Loaders(connector, size=2, within_s=0)
    yield pool
    pool.close()


# -- Loaders: threads and connections ------------------------------------------------------


def test_two_loads_run_at_once_on_two_connections(loaders: Loaders) -> None:
    both = threading.Barrier(2, timeout=WAIT_S)

    def load(conn: FakeConn) -> FakeConn:
        both.wait()  # raises BrokenBarrierError unless the other load runs at the same time
        return conn

    first, second = (loaders.submit(load) for _ in range(2))
    a, b = first.result(timeout=WAIT_S), second.result(timeout=WAIT_S)
    assert (a.error, b.error) == (None, None)
    assert a.result is not b.result


def test_each_loader_thread_keeps_its_connection_for_later_loads(
    loaders: Loaders, connector: Connector
) -> None:
    seen: dict[str, set[int]] = {}
    lock = threading.Lock()

    def load(conn: FakeConn) -> int:
        with lock:
            seen.setdefault(threading.current_thread().name, set()).add(conn.number)
        return conn.number

    futures = [loaders.submit(load) for _ in range(12)]
    assert all(f.result(timeout=WAIT_S).error is None for f in futures)
    assert 1 <= connector.attempts <= 2
    assert all(len(numbers) == 1 for numbers in seen.values())
    assert len({n for numbers in seen.values() for n in numbers}) == len(seen)


def test_close_closes_every_connection_opened(connector: Connector) -> None:
    loaders = Loaders(connector, size=2, within_s=0)
    both = threading.Barrier(2, timeout=WAIT_S)

    def load(conn: FakeConn) -> None:
        both.wait()

    futures = [loaders.submit(load) for _ in range(2)]
    assert [f.result(timeout=WAIT_S).error for f in futures] == [None, None]
    assert not any(conn.closed for conn in connector.made)
    loaders.close()
    assert len(connector.made) == 2
    assert all(conn.closed for conn in connector.made)


def test_close_with_no_load_opens_no_connection(connector: Connector) -> None:
    Loaders(connector).close()
    assert connector.attempts == 0


# -- Loaders: a lost connection ------------------------------------------------------------


def _lose_broken(conn: FakeConn) -> NoReturn:
    lose(conn)


def _lose_closed(conn: FakeConn) -> NoReturn:
    conn.closed = True
    raise DatabaseError("lost")


def _lose_by_cause(cause: psycopg.Error) -> Callable[[FakeConn], NoReturn]:
    def fail(conn: FakeConn) -> NoReturn:
        raise DatabaseError("lost") from cause

    return fail


@pytest.mark.parametrize(
    "fail",
    [
        _lose_broken,
        _lose_closed,
        _lose_by_cause(psycopg.OperationalError("server closed the connection")),
        _lose_by_cause(psycopg.errors.AdminShutdown("terminating connection")),
        _lose_by_cause(psycopg.errors.ConnectionFailure("connection failure")),
    ],
    ids=["broken", "closed", "no-sqlstate", "admin-shutdown", "class-08"],
)
def test_a_load_whose_connection_is_lost_runs_again_on_a_new_one(
    loaders: Loaders, connector: Connector, fail: Callable[[FakeConn], NoReturn]
) -> None:
    tried: list[FakeConn] = []

    def load(conn: FakeConn) -> int:
        tried.append(conn)
        if len(tried) == 1:
            fail(conn)
        return conn.number

    got = outcome(loaders, load)
    assert (got.result, got.error, got.gone) == (1, None, False)
    assert got.seconds >= 0
    assert connector.attempts == 2
    assert tried == connector.made
    assert connector.made[0].closed
    assert not connector.made[1].closed


def test_a_reconnect_is_logged(loaders: Loaders) -> None:
    tried: list[FakeConn] = []

    def load(conn: FakeConn) -> str:
        tried.append(conn)
        if len(tried) == 1:
            lose(conn)
        return "ok"

    with capture_logs() as logs:
        got = outcome(loaders, load)
    assert got.result == "ok"
    warned = [e for e in logs if e["event"] == "database_reconnected"]
    assert len(warned) == 1
    assert warned[0]["log_level"] == "warning"
    assert warned[0]["thread"].startswith("load")


def test_the_thread_keeps_the_new_connection_after_a_reconnect(
    connector: Connector,
) -> None:
    loaders = Loaders(connector, size=1, within_s=0)
    lost_once: list[bool] = []

    def load(conn: FakeConn) -> int:
        if not lost_once:
            lost_once.append(True)
            lose(conn)
        return conn.number

    try:
        assert [outcome(loaders, load).result for _ in range(3)] == [1, 1, 1]
        assert connector.attempts == 2
    finally:
        loaders.close()
    assert all(conn.closed for conn in connector.made)


# -- Loaders: a refused statement ----------------------------------------------------------


def _refuse_plain(conn: FakeConn) -> NoReturn:
    raise DatabaseError("refused")


@pytest.mark.parametrize(
    "fail",
    [
        _refuse_plain,
        _lose_by_cause(psycopg.errors.UniqueViolation("duplicate key")),
        _lose_by_cause(psycopg.errors.QueryCanceled("statement timeout")),
        _lose_by_cause(psycopg.errors.ProgramLimitExceeded("index row too big")),
    ],
    ids=["no-cause", "unique-violation", "query-canceled", "program-limit"],
)
def test_a_load_refused_on_a_live_connection_is_not_run_again(
    loaders: Loaders, connector: Connector, fail: Callable[[FakeConn], NoReturn]
) -> None:
    calls: list[FakeConn] = []

    def load(conn: FakeConn) -> NoReturn:
        calls.append(conn)
        fail(conn)

    got = outcome(loaders, load)
    assert got.result is None
    assert isinstance(got.error, DatabaseError)
    assert got.gone is False
    assert len(calls) == 1
    assert connector.attempts == 1
    assert not connector.made[0].closed


def test_a_refusal_leaves_the_thread_its_connection(connector: Connector) -> None:
    loaders = Loaders(connector, size=1, within_s=0)
    try:
        assert outcome(loaders, _refuse_plain).error is not None
        assert outcome(loaders, lambda conn: conn.number).result == 0
        assert connector.attempts == 1
    finally:
        loaders.close()


def test_a_retry_refused_on_the_new_connection_is_not_gone(
    loaders: Loaders, connector: Connector
) -> None:
    tried: list[FakeConn] = []

    def load(conn: FakeConn) -> NoReturn:
        tried.append(conn)
        if len(tried) == 1:
            lose(conn)
        raise DatabaseError("refused")

    got = outcome(loaders, load)
    assert (got.result, got.gone) == (None, False)
    assert str(got.error) == "refused"
    assert len(tried) == 2
    assert connector.attempts == 2


# -- Loaders: the database is gone ---------------------------------------------------------


def test_a_retry_that_loses_its_connection_again_is_gone(
    loaders: Loaders, connector: Connector
) -> None:
    tried: list[FakeConn] = []

    def load(conn: FakeConn) -> NoReturn:
        tried.append(conn)
        lose(conn)

    got = outcome(loaders, load)
    assert (got.result, got.gone) == (None, True)
    assert isinstance(got.error, DatabaseError)
    assert len(tried) == 2  # run again once, not more
    assert connector.attempts == 2
    assert tried == connector.made


def test_a_retry_lost_by_its_cause_alone_is_gone(loaders: Loaders, connector: Connector) -> None:
    fail = _lose_by_cause(psycopg.OperationalError("connection socket closed"))
    tried: list[FakeConn] = []

    def load(conn: FakeConn) -> NoReturn:
        tried.append(conn)
        fail(conn)

    got = outcome(loaders, load)
    assert len(tried) == 2  # the first loss was seen: the load was run again
    assert got.gone is True


@pytest.mark.parametrize("stopped", [False, True], ids=["deadline", "stop"])
def test_a_reconnect_that_cannot_connect_is_gone(stopped: bool) -> None:
    connector = Connector(down_from=1)
    stop = threading.Event()
    if stopped:
        stop.set()
    loaders = Loaders(connector, size=1, stop=stop, within_s=0)
    calls: list[FakeConn] = []

    def load(conn: FakeConn) -> NoReturn:
        calls.append(conn)
        lose(conn)

    try:
        got = outcome(loaders, load)
    finally:
        loaders.close()
    assert (got.result, got.gone) == (None, True)
    assert isinstance(got.error, DatabaseError)
    assert isinstance(got.error.__cause__, psycopg.OperationalError)
    assert len(calls) == 1
    assert connector.attempts >= 2
    if stopped:
        assert connector.attempts == 2  # a stop ends the retries at the first refusal
    assert connector.made[0].closed  # by `close`: the reconnect never got that far


def test_a_first_connect_that_fails_is_gone() -> None:
    connector = Connector(down_from=0)
    loaders = Loaders(connector, size=1, within_s=0)
    calls: list[FakeConn] = []
    try:
        got = outcome(loaders, calls.append)
    finally:
        loaders.close()
    assert (got.result, got.gone) == (None, True)
    assert isinstance(got.error, DatabaseError)
    assert isinstance(got.error.__cause__, psycopg.OperationalError)
    assert calls == []


def test_the_load_after_a_failed_reconnect_connects_again() -> None:
    connector = Connector(down_from=1)
    loaders = Loaders(connector, size=1, within_s=0)
    try:
        assert outcome(loaders, lose).gone is True
        connector.down_from = None  # the server is back
        got = outcome(loaders, lambda conn: conn.number)
    finally:
        loaders.close()
    assert (got.result, got.error, got.gone) == (1, None, False)


def test_an_error_other_than_a_database_error_is_raised_by_the_future(
    loaders: Loaders, connector: Connector
) -> None:
    def load(conn: FakeConn) -> NoReturn:
        raise ValueError("bad page")

    with pytest.raises(ValueError, match="bad page"):
        loaders.submit(load).result(timeout=WAIT_S)
    assert connector.attempts == 1


# -- LoadQueue -----------------------------------------------------------------------------


class Settled:
    """The `settle` callback of a `LoadQueue`: records ``(page, loaded)`` in call order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Loaded[Any]]] = []

    def __call__(self, page: Any, loaded: Loaded[Any]) -> None:
        self.calls.append((page, loaded))

    @property
    def pages(self) -> list[Any]:
        return [page for page, _ in self.calls]


class Made:
    """The `loaders` factory of a `LoadQueue`: every `Loaders` it made, on one `Connector`."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.connector = Connector()
        self.made: list[Loaders] = []

    def __call__(self) -> Loaders:
        loaders = Loaders(self.connector, size=self.size, within_s=0)
        self.made.append(loaders)
        return loaders


@pytest.fixture
def settled() -> Settled:
    return Settled()


@pytest.fixture
def made() -> Made:
    return Made()


@pytest.fixture
def queue(made: Made, settled: Settled) -> Iterator[LoadQueue]:
    q = LoadQueue(made, settled, size=4)
    yield q
    q.close()


def returns(value: Any) -> Callable[[Any], Any]:
    return lambda conn: value


def test_pages_settle_in_hand_over_order_when_a_later_load_finishes_first(
    made: Made, settled: Settled
) -> None:
    queue = LoadQueue(made, settled, size=2)
    second_done = threading.Event()

    def first(conn: FakeConn) -> bool:
        return second_done.wait(WAIT_S)

    def second(conn: FakeConn) -> str:
        second_done.set()
        return "second"

    try:
        queue.put("p1", frozenset({"a"}), first)
        queue.put("p2", frozenset({"b"}), second)
        queue.settle()
    finally:
        queue.close()
    assert settled.pages == ["p1", "p2"]
    assert [loaded.result for _, loaded in settled.calls] == [True, "second"]


def test_put_hands_over_without_settling_while_fewer_than_size_are_under_way(
    made: Made, settled: Settled
) -> None:
    queue = LoadQueue(made, settled, size=2)
    both = threading.Barrier(2, timeout=WAIT_S)

    def load(conn: FakeConn) -> int:
        return both.wait()  # breaks unless the two pages are loaded at once

    try:
        queue.put("p1", frozenset({"a"}), load)
        queue.put("p2", frozenset({"b"}), load)
        assert settled.calls == []
        assert len(queue) == 2
        queue.settle()
    finally:
        queue.close()
    assert settled.pages == ["p1", "p2"]
    assert all(loaded.error is None for _, loaded in settled.calls)


def test_put_settles_the_oldest_once_size_pages_are_under_way(made: Made, settled: Settled) -> None:
    events: list[str] = []  # settling and loading on one timeline

    def load(page: str) -> Callable[[FakeConn], str]:
        def run(conn: FakeConn) -> str:
            events.append(f"load {page}")
            return page

        return run

    def settle(page: Any, loaded: Loaded[Any]) -> None:
        events.append(f"settle {page}")
        settled(page, loaded)

    queue = LoadQueue(made, settle, size=2)
    try:
        queue.put("p1", frozenset({"a"}), load("p1"))
        queue.put("p2", frozenset({"b"}), load("p2"))
        queue.put("p3", frozenset({"c"}), load("p3"))
        assert settled.pages == ["p1"]
        assert settled.calls[0][1].result == "p1"  # it waited for p1's load
        assert len(queue) == 2
        assert events.index("settle p1") < events.index("load p3")
        queue.put("p4", frozenset({"d"}), load("p4"))
        assert settled.pages == ["p1", "p2"]
    finally:
        queue.close()


def test_settle_with_jobs_settles_the_pages_sharing_one_and_those_before_them(
    queue: LoadQueue, settled: Settled
) -> None:
    for page, job in [("p1", "a"), ("p2", "b"), ("p3", "c"), ("p4", "d")]:
        queue.put(page, frozenset({job}), returns(page))
    queue.settle(frozenset({"b", "x"}))
    assert settled.pages == ["p1", "p2"]
    assert len(queue) == 2
    queue.settle({"d"})
    assert settled.pages == ["p1", "p2", "p3", "p4"]
    assert len(queue) == 0


def test_settle_with_jobs_no_page_shares_settles_nothing(
    queue: LoadQueue, settled: Settled
) -> None:
    queue.put("p1", frozenset({"a", "b"}), returns(1))
    queue.put("p2", frozenset({"c"}), returns(2))
    queue.settle(frozenset({"x"}))
    queue.settle(frozenset())
    assert settled.calls == []
    assert len(queue) == 2


def test_settle_without_jobs_settles_every_page(queue: LoadQueue, settled: Settled) -> None:
    for n in range(4):
        queue.put(f"p{n}", frozenset({f"job{n}"}), returns(n))
    queue.settle()
    assert settled.pages == ["p0", "p1", "p2", "p3"]
    assert [loaded.result for _, loaded in settled.calls] == [0, 1, 2, 3]
    assert len(queue) == 0
    queue.settle()  # nothing left: a no-op
    assert len(settled.calls) == 4


def test_a_refused_load_is_settled_with_its_error(queue: LoadQueue, settled: Settled) -> None:
    queue.put("p1", frozenset({"a"}), _refuse_plain)
    queue.settle()
    [(page, loaded)] = settled.calls
    assert page == "p1"
    assert (loaded.result, loaded.gone) == (None, False)
    assert isinstance(loaded.error, DatabaseError)


def test_close_leaves_nothing_to_settle_and_put_makes_new_loaders(
    queue: LoadQueue, settled: Settled, made: Made
) -> None:
    ran = threading.Event()

    def load(conn: FakeConn) -> None:
        ran.set()

    queue.put("p1", frozenset({"a"}), load)
    queue.put("p2", frozenset({"b"}), returns(2))
    queue.close()
    assert ran.is_set()  # close waited for the loads under way
    assert len(queue) == 0
    queue.settle()
    assert settled.calls == []
    assert len(made.made) == 1
    assert all(conn.closed for conn in made.connector.made)

    queue.put("p3", frozenset({"a"}), returns(3))
    queue.settle()
    assert len(made.made) == 2
    assert settled.pages == ["p3"]
    assert settled.calls[0][1].result == 3


def test_close_before_any_put_makes_no_loaders(made: Made, settled: Settled) -> None:
    LoadQueue(made, settled).close()
    assert made.made == []


def test_an_error_other_than_a_database_error_propagates_from_settle(
    queue: LoadQueue, settled: Settled
) -> None:
    def load(conn: FakeConn) -> NoReturn:
        raise ValueError("bad page")

    queue.put("p1", frozenset({"a"}), returns(1))
    queue.put("p2", frozenset({"b"}), load)
    queue.put("p3", frozenset({"c"}), returns(3))
    with pytest.raises(ValueError, match="bad page"):
        queue.settle()
    assert settled.pages == ["p1"]
    assert len(queue) == 1  # the page whose load raised is no longer under way
    queue.settle()
    assert settled.pages == ["p1", "p3"]
