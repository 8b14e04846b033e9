"""Migration runner against a real PostgreSQL (fresh database per test)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from tasman_etl.db.migrate import (
    AppliedMigration,
    apply_migrations,
    load_migrations,
    migration_status,
)
from tasman_etl.errors import DatabaseError, MigrationError


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        yield c


def recorded(conn: psycopg.Connection) -> list[tuple[int, str, str]]:
    with conn.transaction():
        rows = conn.execute(
            "select version, name, checksum from schema_migrations order by version"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def table_exists(conn: psycopg.Connection, name: str) -> bool:
    with conn.transaction():
        row = conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()
    assert row is not None
    return bool(row[0])


BASIC = {
    "001_create.sql": "create table t (x int);\ncreate table log (msg text);\n",
    # `%` must survive: the file is sent without parameters.
    "002_seed.sql": "insert into t values (2);\ninsert into log values ('100% seeded');\n",
    # 10 sorts after 2 only as an integer ("010" vs "002" would too, but "10" vs "2" not).
    "10_scale.sql": "update t set x = x * 10;",
}


def test_applies_in_numeric_order_once_and_records_checksums(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    src = write(tmp_path / "m", BASIC)

    first = apply_migrations(conn, src)

    assert [(m.version, m.name) for m in first] == [
        (1, "001_create.sql"),
        (2, "002_seed.sql"),
        (10, "10_scale.sql"),
    ]
    assert all(isinstance(m, AppliedMigration) and m.applied_at is not None for m in first)
    with conn.transaction():
        assert conn.execute("select x from t").fetchall() == [(20,)]
        assert conn.execute("select msg from log").fetchall() == [("100% seeded",)]
    expected = [
        (v, n, hashlib.sha256((src / n).read_bytes()).hexdigest())
        for v, n in [(1, "001_create.sql"), (2, "002_seed.sql"), (10, "10_scale.sql")]
    ]
    assert recorded(conn) == expected
    assert [m.checksum for m in first] == [c for _, _, c in expected]

    assert apply_migrations(conn, src) == []
    with conn.transaction():
        assert conn.execute("select x from t").fetchall() == [(20,)]


def test_restores_autocommit_and_rejects_open_transaction(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    src = write(tmp_path / "m", {"001_a.sql": "create table a (x int);"})
    assert conn.autocommit is False
    apply_migrations(conn, src)
    assert conn.autocommit is False

    conn.execute("select 1")  # opens a transaction
    with pytest.raises(DatabaseError, match="not in a transaction"):
        apply_migrations(conn, src)


def test_edited_applied_file_is_refused_and_nothing_applied(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    src = write(tmp_path / "m", {"001_create.sql": "create table t (x int);"})
    apply_migrations(conn, src)
    write(
        src,
        {
            "001_create.sql": "create table t (x int, y int);",
            "002_more.sql": "create table u (x int);",
        },
    )

    with pytest.raises(MigrationError, match=r"001_create\.sql.*changed"):
        apply_migrations(conn, src)

    assert not table_exists(conn, "u")
    assert [v for v, _, _ in recorded(conn)] == [1]


def test_recorded_migration_whose_file_is_gone_is_refused(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    src = write(
        tmp_path / "m",
        {"001_a.sql": "create table a (x int);", "002_b.sql": "create table b (x int);"},
    )
    apply_migrations(conn, src)
    (src / "002_b.sql").unlink()
    write(src, {"003_c.sql": "create table c (x int);"})

    with pytest.raises(MigrationError, match=r"002_b\.sql.*missing"):
        apply_migrations(conn, src)

    assert not table_exists(conn, "c")
    assert [v for v, _, _ in recorded(conn)] == [1, 2]


def test_failing_migration_rolls_back_and_names_the_file(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    src = write(
        tmp_path / "m",
        {
            "001_ok.sql": "create table ok (x int);",
            "002_bad.sql": "create table half (x int);\nselect 1 / 0;\n",
            "003_later.sql": "create table later (x int);",
        },
    )

    with pytest.raises(MigrationError, match=r"002_bad\.sql.*division by zero") as info:
        apply_migrations(conn, src)

    assert isinstance(info.value.__cause__, psycopg.Error)
    assert table_exists(conn, "ok")
    assert not table_exists(conn, "half")
    assert not table_exists(conn, "later")
    assert [v for v, _, _ in recorded(conn)] == [1]
    assert conn.autocommit is False


def test_status_reports_every_state(tmp_path: Path, conn: psycopg.Connection) -> None:
    src = write(
        tmp_path / "m",
        {
            "001_a.sql": "create table a (x int);",
            "002_b.sql": "create table b (x int);",
            "003_c.sql": "create table c (x int);",
        },
    )
    before = migration_status(conn, src)
    assert [(s.version, s.state, s.applied_at) for s in before] == [
        (1, "pending", None),
        (2, "pending", None),
        (3, "pending", None),
    ]

    apply_migrations(conn, src)
    write(src, {"002_b.sql": "create table b (x bigint);", "004_d.sql": "select 1;"})
    (src / "003_c.sql").unlink()

    status = {s.version: s for s in migration_status(conn, src)}

    assert {v: s.state for v, s in status.items()} == {
        1: "applied",
        2: "changed",
        3: "missing",
        4: "pending",
    }
    assert status[1].applied_at is not None
    assert status[3].name == "003_c.sql"
    assert status[3].applied_at is not None
    assert status[2].checksum == hashlib.sha256((src / "002_b.sql").read_bytes()).hexdigest()
    assert status[4].applied_at is None


def test_concurrent_callers_apply_each_migration_exactly_once(tmp_path: Path, db_url: str) -> None:
    src = write(
        tmp_path / "m",
        {
            "001_log.sql": "create table log (version int not null);",
            # pg_sleep widens the window in which the other caller would slip in
            "002_a.sql": "select pg_sleep(0.2);\ninsert into log values (2);",
            "003_b.sql": "insert into log values (3);",
        },
    )
    barrier = threading.Barrier(3)
    results: list[list[AppliedMigration]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with psycopg.connect(db_url) as c:
                barrier.wait()
                results.append(apply_migrations(c, src))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert len(results) == 3
    assert sorted(m.version for r in results for m in r) == [1, 2, 3]
    assert sorted(len(r) for r in results) == [0, 0, 3]
    with psycopg.connect(db_url) as c:
        assert c.execute("select version from log order by version").fetchall() == [(2,), (3,)]
        assert [v for v, _, _ in recorded(c)] == [1, 2, 3]


def test_works_with_any_row_factory(tmp_path: Path, db_url: str) -> None:
    src = write(tmp_path / "m", {"001_a.sql": "create table a (x int);"})
    with psycopg.connect(db_url, row_factory=dict_row) as c:
        assert [m.version for m in apply_migrations(c, src)] == [1]
        assert [(s.version, s.state) for s in migration_status(c, src)] == [(1, "applied")]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"01-init.sql": "select 1;"}, r"01-init\.sql is not named"),
        ({"001_a.sql": "select 1;", "1_b.sql": "select 1;"}, "share version 1"),
    ],
)
def test_bad_folder_layout_is_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    src = write(tmp_path / "m", files)
    with pytest.raises(MigrationError, match=message):
        load_migrations(src)


def test_non_sql_files_are_ignored(tmp_path: Path) -> None:
    src = write(tmp_path / "m", {"001_a.sql": "select 1;", "README.md": "notes", "__init__.py": ""})
    assert [m.name for m in load_migrations(src)] == ["001_a.sql"]


def test_package_migrations_apply_cleanly(conn: psycopg.Connection) -> None:
    package = load_migrations()
    if not package:
        pytest.skip("no .sql files in tasman_etl/db/migrations yet")

    applied = apply_migrations(conn)

    assert [m.version for m in applied] == [m.version for m in package]
    assert {s.state for s in migration_status(conn)} == {"applied"}
    assert apply_migrations(conn) == []


def test_migrated_fixtures_hold_the_package_schema(
    db_conn: psycopg.Connection, migrated_db_url: str
) -> None:
    package = load_migrations()
    if not package:
        pytest.skip("no .sql files in tasman_etl/db/migrations yet")
    statuses = migration_status(db_conn)
    assert [(s.version, s.state) for s in statuses] == [(m.version, "applied") for m in package]
    assert "/" + db_conn.info.dbname == urlsplit(migrated_db_url).path
