"""COPY into temporary staging tables: the one way rows travel to PostgreSQL.

The silver rows of a page (`job`, its staging table and the child tables) travel in
COPY's binary format: no text to format in Python nor to parse in PostgreSQL, except the
`raw_json` text, which `jsonb` parses either way (bench/README.md, "Write amplification":
on 10,000 real-size jobs, -12 % load time, -17 % server CPU). The ledger, code lists and
quarantine keep text COPY (`copy_rows`).

A connection that COPYs asks the kernel for a send buffer of `SEND_BUFFER` bytes, so a
page's COPY data waits in the socket for PostgreSQL instead of in the client: with the
default (~200 kB) the server kept stopping for the next sip of a 8 MB page (bench/README.md,
"What the profile shows now").
"""

from __future__ import annotations

import contextlib
import os
import socket
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg.adapt import Dumper

__all__ = [
    "DROP_STAGING",
    "SEND_BUFFER",
    "JsonTextDumper",
    "copy_binary",
    "copy_rows",
    "create_staging",
    "ident_list",
    "widen_send_buffer",
]

Cursor = psycopg.Cursor[Any]

DROP_STAGING = (
    "DROP TABLE IF EXISTS pg_temp.stg_job, pg_temp.stg_quarantine, pg_temp.stg_historic,"
    " pg_temp.stg_text"
)
"""Drop a page's staging tables: ON COMMIT DROP only fires at a real commit, and inside an
outer transaction the previous page's may still exist."""


def ident_list(columns: Sequence[str]) -> sql.Composed:
    """``"a", "b", ...``: column names quoted as SQL identifiers."""
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def create_staging(cur: Cursor, stage: str, target: str, columns: Sequence[str]) -> None:
    """A temp table with `columns` typed like the same columns of `target`."""
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(stage), ident_list(columns), sql.Identifier(target)
        )
    )


def copy_rows(
    cur: Cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY `rows` into `columns` of `table` in text format."""
    with cur.copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), ident_list(columns))
    ) as copy:
        for row in rows:
            copy.write_row(row)


class JsonTextDumper(Dumper):
    """JSON text for a `jsonb` column in a binary COPY, sent as it is.

    The rows carry `raw_json` as strict JSON text already (`transform.storable_text`); the
    binary form of `jsonb` is a version byte (1) and that text, which PostgreSQL parses as it
    parses text input. (psycopg's own jsonb dumper would serialise the str again, storing a
    JSON string.) Registered by OID only, so it serves `Copy.set_types` and nothing else.
    """

    format = pq.Format.BINARY
    oid = psycopg.postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        """The binary `jsonb` of JSON text `obj`: version byte 1, then the text."""
        if not isinstance(obj, str):
            raise TypeError(f"jsonb text expected in a binary COPY, got {type(obj).__name__}")
        return b"\x01" + obj.encode()


# Per connection: (table, columns) -> the type OIDs of those columns (binary COPY needs them).
_COPY_TYPES: weakref.WeakKeyDictionary[Any, dict[tuple[str, tuple[str, ...]], list[int]]] = (
    weakref.WeakKeyDictionary()
)


SEND_BUFFER = 4 * 2**20
"""The socket send buffer a COPYing connection asks for (the kernel caps it at
``net.core.wmem_max``)."""


def widen_send_buffer(conn: Any, size: int = SEND_BUFFER) -> int | None:
    """Ask for a `size`-byte socket send buffer on `conn`; the size granted, or None.

    Best effort: a connection without a socket the kernel lets us tune keeps its own.
    """
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except (OSError, ValueError, psycopg.Error):  # closed, or not a socket
        return None
    with contextlib.closing(sock):  # closes our duplicate, not the connection's socket
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
            granted: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        except OSError:
            return None
    return granted


def _column_types(cur: Cursor, table: str, columns: Sequence[str]) -> list[int]:
    """The type OIDs of `columns` of `table`, read once per connection (a `LIMIT 0` query).

    A connection seen here for the first time also gets its send buffer widened.
    """
    known = _COPY_TYPES.get(cur.connection)
    if known is None:
        known = _COPY_TYPES.setdefault(cur.connection, {})
        widen_send_buffer(cur.connection)
    key = (table, tuple(columns))
    oids = known.get(key)
    if oids is None:
        cur.execute(
            sql.SQL("SELECT {} FROM {} LIMIT 0").format(ident_list(columns), sql.Identifier(table))
        )
        oids = [col.type_code for col in cur.description or ()]
        known[key] = oids
    return oids


def copy_binary(
    cur: Cursor,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types_of: str | None = None,
) -> None:
    """COPY `rows` in binary format; column types are those of `types_of` (default `table`).

    A staging table made from a silver table names that table in `types_of`, so the types
    are read once per connection, not once per page.
    """
    oids = _column_types(cur, types_of or table, columns)
    cur.adapters.register_dumper(None, JsonTextDumper)
    with cur.copy(
        sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table), ident_list(columns)
        )
    ) as copy:
        copy.set_types(oids)
        for row in rows:
            copy.write_row(row)
