"""The advisory lock of a search scope: one session-level lock per scope hash.

It ends with its session, so a run killed outright frees it at once. Taking it over from
a dead or stale holder is `db/run_lock.py`'s.
"""

from __future__ import annotations

from typing import Any

import psycopg

from tasman_etl.db.errors import database_errors

__all__ = ["scope_lock_key", "try_lock_scope", "unlock_scope"]

Conn = psycopg.Connection[Any]


def scope_lock_key(scope_hash: str) -> int:
    """A signed 64-bit advisory-lock key derived from a search scope hash."""
    return int.from_bytes(bytes.fromhex(scope_hash[:16]), "big", signed=True)


@database_errors("cannot take the run lock of the search")
def try_lock_scope(conn: Conn, scope_hash: str) -> bool:
    """Take the session-level advisory lock of a search scope; False if another run holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (scope_lock_key(scope_hash),)).fetchone()
    if not conn.autocommit:
        conn.commit()
    return bool(row and row[0])


@database_errors("cannot release the run lock of the search")
def unlock_scope(conn: Conn, scope_hash: str) -> None:
    """Release the scope lock taken by `try_lock_scope` (no-op when not held).

    When the session is gone (closed, or lost while unlocking), so is its lock: nothing to
    do. A live session that cannot unlock raises `DatabaseError`.
    """
    try:
        conn.execute("SELECT pg_advisory_unlock(%s)", (scope_lock_key(scope_hash),))
        if not conn.autocommit:
            conn.commit()
    except psycopg.Error:
        if conn.closed or conn.broken:
            return
        raise
