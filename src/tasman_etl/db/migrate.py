"""Numbered plain-SQL migrations, applied once each, in order, under an advisory lock.

Migrations are the files ``NNN_name.sql`` of the package folder
``tasman_etl/db/migrations`` (or of any folder passed as ``source``), ordered by the
integer ``NNN``. Each pending file runs as one script in its own transaction, together
with its row in ``public.schema_migrations`` (version, name, SHA-256 of the file bytes).

Rules for migration files: no ``BEGIN``/``COMMIT`` of their own and nothing that cannot
run inside a transaction (e.g. ``CREATE INDEX CONCURRENTLY``); use ``SET LOCAL`` rather
than ``SET``. A file is never edited once applied: `apply_migrations` refuses to run when
an applied file changed or disappeared.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, LiteralString

import psycopg
import structlog
from psycopg import pq
from psycopg.rows import tuple_row

from tasman_etl.errors import DatabaseError, MigrationError

__all__ = [
    "MIGRATION_LOCK_KEY",
    "AppliedMigration",
    "Migration",
    "MigrationState",
    "MigrationStatus",
    "apply_migrations",
    "load_migrations",
    "migration_status",
]

log = structlog.get_logger(__name__)

#: Key of the session advisory lock that serialises migration runs ("tasman" in ASCII).
MIGRATION_LOCK_KEY = 0x7461736D616E

_FILE_RE = re.compile(r"^(?P<version>\d+)_(?P<label>[A-Za-z0-9][A-Za-z0-9_\-]*)\.sql$")

_CREATE_TABLE = """
create table if not exists public.schema_migrations (
    version    integer primary key,
    name       text not null,
    checksum   text not null,
    applied_at timestamptz not null default now()
)
"""

MigrationState = Literal["applied", "pending", "changed", "missing"]

# Any row factory: rows are read through tuple-row cursors.
Connection = psycopg.Connection[Any]


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, file name, SQL text and SHA-256 of its bytes."""

    version: int
    name: str
    sql: str
    checksum: str


@dataclass(frozen=True)
class AppliedMigration:
    """A migration applied by this call of `apply_migrations`."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationStatus:
    """State of one migration: file vs `schema_migrations` row.

    ``checksum`` is the file's (the recorded one when the file is missing);
    ``applied_at`` is None while pending.
    """

    version: int
    name: str
    checksum: str
    applied_at: datetime | None
    state: MigrationState


@dataclass(frozen=True)
class _Recorded:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def load_migrations(source: Path | None = None) -> list[Migration]:
    """Read the migrations of ``source`` (default: the package's) ordered by version.

    Files not ending in ``.sql`` are ignored. Raises `MigrationError` for a ``.sql``
    file that is not named ``NNN_name.sql``, or for two files with the same number.
    """
    folder: Traversable = source if source is not None else _package_folder()
    if not folder.is_dir():
        if source is not None:
            raise MigrationError(f"migration folder {source} does not exist")
        return []
    by_version: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql") or not entry.is_file():
            continue
        match = _FILE_RE.match(entry.name)
        if match is None:
            raise MigrationError(
                f"migration file {entry.name} is not named NNN_name.sql (e.g. 002_add_index.sql)"
            )
        version = int(match["version"])
        if version in by_version:
            raise MigrationError(
                f"migration files {by_version[version].name} and {entry.name} "
                f"share version {version}"
            )
        data = entry.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"migration file {entry.name} is not UTF-8: {exc}") from exc
        by_version[version] = Migration(
            version=version,
            name=entry.name,
            sql=text,
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [by_version[v] for v in sorted(by_version)]


def apply_migrations(conn: Connection, source: Path | None = None) -> list[AppliedMigration]:
    """Apply pending migrations in version order; return those applied (empty if none).

    ``conn`` must not be inside a transaction; it is switched to autocommit for the call
    and restored afterwards. A session advisory lock makes concurrent callers (threads or
    processes) wait, so each migration is applied exactly once. Nothing is applied when an
    applied file changed (checksum) or is gone: `MigrationError` names the file. A failing
    migration is rolled back and raises `MigrationError`; the ones before it stay applied.
    """
    migrations = load_migrations(source)
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise DatabaseError("apply_migrations needs a connection that is not in a transaction")
    was_autocommit = conn.autocommit
    applied: list[AppliedMigration] = []
    try:
        conn.autocommit = True
        _execute(conn, "select pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,), "taking the lock")
        try:
            # A loader login may not CREATE in public: only create the table when it is missing.
            with conn.cursor(row_factory=tuple_row) as cur:
                exists = cur.execute("select to_regclass('public.schema_migrations')").fetchone()
            if not exists or exists[0] is None:
                _execute(conn, _CREATE_TABLE, None, "creating schema_migrations")
            recorded = _read_recorded(conn)
            _check_history(migrations, recorded)
            for migration in migrations:
                if migration.version not in recorded:
                    applied.append(_apply_one(conn, migration))
        finally:
            _unlock(conn)
    finally:
        if not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            conn.autocommit = was_autocommit
    if applied:
        log.info("migrations_applied", versions=[m.version for m in applied])
    return applied


def migration_status(conn: Connection, source: Path | None = None) -> list[MigrationStatus]:
    """List every migration (files and recorded rows) with its state, by version.

    States: ``applied`` (recorded, file unchanged), ``pending`` (file not yet applied),
    ``changed`` (recorded, file edited since), ``missing`` (recorded, file gone).
    """
    migrations = {m.version: m for m in load_migrations(source)}
    try:
        with conn.transaction():
            exists = _fetch(conn, "select to_regclass('public.schema_migrations') is not null")
            recorded = _read_recorded(conn) if exists and exists[0] else {}
    except psycopg.Error as exc:
        raise DatabaseError(f"reading schema_migrations failed: {_reason(exc)}") from exc
    out: list[MigrationStatus] = []
    for version in sorted(migrations.keys() | recorded.keys()):
        file = migrations.get(version)
        row = recorded.get(version)
        if file is None:
            assert row is not None
            out.append(MigrationStatus(version, row.name, row.checksum, row.applied_at, "missing"))
        elif row is None:
            out.append(MigrationStatus(version, file.name, file.checksum, None, "pending"))
        else:
            state: MigrationState = "applied" if row.checksum == file.checksum else "changed"
            out.append(MigrationStatus(version, file.name, file.checksum, row.applied_at, state))
    return out


# --- internals ------------------------------------------------------------------------


def _package_folder() -> Traversable:
    return resources.files("tasman_etl.db") / "migrations"


def _read_recorded(conn: Connection) -> dict[int, _Recorded]:
    try:
        with conn.cursor(row_factory=tuple_row) as cur:
            rows = cur.execute(
                "select version, name, checksum, applied_at from public.schema_migrations"
                " order by version"
            ).fetchall()
    except psycopg.Error as exc:
        raise DatabaseError(f"reading schema_migrations failed: {_reason(exc)}") from exc
    return {r[0]: _Recorded(r[0], r[1], r[2], r[3]) for r in rows}


def _check_history(migrations: Iterable[Migration], recorded: dict[int, _Recorded]) -> None:
    files = {m.version: m for m in migrations}
    for version, row in sorted(recorded.items()):
        file = files.get(version)
        if file is None:
            raise MigrationError(
                f"migration {row.name} (version {version}) was applied but its file is missing"
            )
        if file.checksum != row.checksum:
            raise MigrationError(
                f"migration file {file.name} changed after it was applied "
                f"(recorded sha256 {row.checksum[:12]}…, file {file.checksum[:12]}…); "
                "add a new migration instead of editing an applied one"
            )


def _apply_one(conn: Connection, migration: Migration) -> AppliedMigration:
    started = time.monotonic()
    try:
        with conn.transaction():
            # No parameters: psycopg sends the whole file as one multi-statement script.
            conn.execute(migration.sql.encode("utf-8"))
            row = _fetch(
                conn,
                "insert into public.schema_migrations (version, name, checksum)"
                " values (%s, %s, %s) returning applied_at",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"migration {migration.name} failed: {_reason(exc)}") from exc
    assert row is not None
    log.info(
        "migration_applied",
        version=migration.version,
        name=migration.name,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return AppliedMigration(migration.version, migration.name, migration.checksum, row[0])


def _fetch(
    conn: Connection, query: LiteralString, params: tuple[object, ...] | None = None
) -> tuple[Any, ...] | None:
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(query, params).fetchone()


def _execute(conn: Connection, query: str, params: tuple[int, ...] | None, doing: str) -> None:
    try:
        conn.execute(query, params)
    except psycopg.Error as exc:
        raise DatabaseError(f"migrations: {doing} failed: {_reason(exc)}") from exc


def _unlock(conn: Connection) -> None:
    if conn.closed or conn.broken:
        return  # the server released the session lock with the session
    try:
        conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    except psycopg.Error as exc:
        log.warning("migration_unlock_failed", error=_reason(exc))


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
