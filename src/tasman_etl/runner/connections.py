"""The run's database connections: reconnecting the main one, sharing a second one.

The owner thread holds the main connection (`tasman_etl.runner.lifecycle.Run`); worker
threads share one `SideConn`, one statement at a time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg
import structlog

from tasman_etl.db import repository as repo
from tasman_etl.db.known import KnownPage, known_page, known_payload
from tasman_etl.errors import DatabaseError
from tasman_etl.storage.bronze import BronzeKey

__all__ = ["RECONNECT_S", "SideConn", "connection_lost", "reconnect", "reconnector"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
RECONNECT_S = 60.0
"""How long a lost connection is retried (the server may be restarting)."""

# SQLSTATEs of a session that is gone: connection exceptions (class 08) and the server
# shutting down or terminating the backend. Other OperationalErrors (a program limit such as
# an index row too big, a statement timeout) are refusals on a live connection.
_LOST_STATES = ("57P01", "57P02", "57P03")


def connection_lost(conn: psycopg.Connection[Any], cause: BaseException | None) -> bool:
    """Did a load fail because the database session is gone (worth a reconnect)?"""
    if conn.closed or conn.broken:
        return True
    if not isinstance(cause, psycopg.OperationalError):
        return False
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in _LOST_STATES


def reconnector(conn: psycopg.Connection[Any]) -> Callable[[], psycopg.Connection[Any]]:
    """A factory for a new connection like `conn` (same DSN and password, autocommit)."""
    dsn, password = conn.info.dsn, conn.info.password

    def connect() -> psycopg.Connection[Any]:
        if password:
            return psycopg.connect(dsn, autocommit=True, password=password)
        return psycopg.connect(dsn, autocommit=True)

    return connect


class SideConn:
    """A second connection for the worker threads, one statement at a time.

    If its session is lost (the server restarted), the next statement reconnects once with
    `connect` and is sent again: all of them are reads, or idempotent writes.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        connect: Callable[[], psycopg.Connection[Any]] | None = None,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        self.conn = conn
        self.connect = connect
        self.stop = stop or threading.Event()
        self.lock = threading.Lock()

    def _call(self, statement: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self.lock:
            try:
                return statement(self.conn)
            except DatabaseError as exc:
                if self.connect is None or not connection_lost(self.conn, exc.__cause__):
                    raise
                self.conn = reconnect(self.conn, self.connect, self.stop)
                return statement(self.conn)

    def stored_hashes(self, control_numbers: list[str], kind: str = "search") -> Mapping[str, str]:
        """Which items the database holds, with their content hashes (`repo.stored_hashes`)."""
        if not control_numbers:
            return {}
        return self._call(lambda conn: repo.stored_hashes(conn, control_numbers, kind=kind))

    def known_payload(self, payload_sha256: str) -> bool:
        """Whether a cleanly loaded page had this payload (`db.known.known_payload`)."""
        return self._call(lambda conn: known_payload(conn, payload_sha256))

    def known_page(self, payload_sha256: str, salt: str = "") -> KnownPage | None:
        """The known page with this payload whose jobs are unchanged (`db.known`), or None."""
        return self._call(lambda conn: known_page(conn, payload_sha256, salt))

    def captured_sha256(self, key: BronzeKey) -> tuple[bool, str | None]:
        """`repo.captured_sha256` of a bronze object's page in the run that captured it."""
        return self._call(
            lambda conn: repo.captured_sha256(conn, key.run_id, key.part or "", key.page)
        )

    def note_capture(self, record: repo.PageRecord) -> None:
        """Record a page's payload hash in the ledger as soon as it is in bronze.

        `--resume` checks bronze pages against it, including pages captured but not loaded
        before the process died. Best effort: the load records the hash again.
        """
        try:
            self._call(
                lambda conn: repo.record_capture(
                    conn,
                    record.run_id,
                    record.page_key,
                    record.bronze_key or "",
                    record.sha256 or "",
                )
            )
        except (DatabaseError, psycopg.Error) as exc:
            log.warning("capture_not_recorded", page_key=record.page_key, error=str(exc)[:300])


def reconnect(
    old: psycopg.Connection[Any],
    connect: Callable[[], psycopg.Connection[Any]],
    stop: threading.Event,
    *,
    within_s: float = RECONNECT_S,
) -> psycopg.Connection[Any]:
    """A fresh connection from `connect`, retried while the server restarts; `old` closed."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            fresh = connect()
            break
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline or stop.wait(0.5):
                raise DatabaseError(f"cannot reconnect to the database: {exc}") from exc
    with contextlib.suppress(psycopg.Error):
        old.close()
    return fresh
