"""How a page's silver rows reach PostgreSQL: binary COPY, and the TOAST settings of 010.

The loader COPYs `job`, its staging table and the child tables in binary format
(`repository._copy_binary`). These tests read every loaded value back and compare it with
the row `transform` built, so a type the binary format carried differently from text would
show; and they check that migration 010 left each long column cheaper to write (lz4 where
the server has it, else uncompressed out of line).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from factories import page_record
from tasman_etl.db.repository import _JsonTextDumper, load_page_rows, start_run
from tasman_etl.simulator import SimulatorConfig
from tasman_etl.simulator.data import Universe
from tasman_etl.transform import (
    CATEGORY_COLUMNS,
    DETAILS_COLUMNS,
    GRADE_COLUMNS,
    HIRING_PATH_COLUMNS,
    JOB_COLUMNS,
    LOCATION_COLUMNS,
    PageRows,
    transform_page,
)

from realdata import fixture_items, requires_fixtures

_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("job", "jobs", JOB_COLUMNS),
    ("job_location", "locations", LOCATION_COLUMNS),
    ("job_category", "categories", CATEGORY_COLUMNS),
    ("job_grade", "grades", GRADE_COLUMNS),
    ("job_hiring_path", "hiring_paths", HIRING_PATH_COLUMNS),
    ("job_details", "details", DETAILS_COLUMNS),
)

# Columns of migration 010: compressed with lz4 where the server has it; without lz4, stored
# uncompressed out of line (EXTERNAL), except the history snapshot (pglz, as before).
_LZ4 = {
    "job": ("raw_json", "job_summary"),
    "job_version": ("snapshot",),
    "job_details": (
        "qualification_summary",
        "major_duties",
        "key_requirements",
        "agency_marketing_statement",
        "education",
        "requirements",
        "evaluations",
        "how_to_apply",
        "what_to_expect_next",
        "required_documents",
        "benefits",
        "other_information",
    ),
}
_KEEPS_PGLZ = {("job_version", "snapshot")}


def _simulated_items(jobs: int = 40) -> list[dict[str, Any]]:
    """Real-size simulated items (long Details texts, several locations)."""
    universe = Universe(SimulatorConfig(jobs=jobs, text="real", locations="real"))
    return [universe.item(idx) for idx in universe.live_order()]


def _load(conn: psycopg.Connection[Any], items: Sequence[Any], page: int = 1) -> PageRows:
    rows = transform_page(items)
    assert not rows.quarantine, rows.quarantine
    record = page_record(page=page, source=None)
    load_page_rows(conn, rows, record=record, seen_at=datetime.now(UTC))
    return rows


def _stored(conn: psycopg.Connection[Any], table: str, columns: Sequence[str]) -> set[Any]:
    """Every row of `table` as loaded: control number first, then `columns[1:]`."""
    query = sql.SQL("SELECT j.control_number, {} FROM {} t JOIN job j USING (job_id)").format(
        sql.SQL(", ").join(sql.Identifier("t", c) for c in columns[1:]), sql.Identifier(table)
    )
    if table == "job":
        query = sql.SQL("SELECT {} FROM job").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
    return {_hashable(row) for row in conn.execute(query).fetchall()}


def _hashable(row: Sequence[Any]) -> tuple[Any, ...]:
    """A row as a set member: lists as tuples, JSON objects as canonical text."""
    out: list[Any] = []
    for value in row:
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        out.append(value)
    return tuple(out)


def _expected(rows: PageRows, attr: str, table: str) -> set[Any]:
    out = set()
    raw = JOB_COLUMNS.index("raw_json")
    for row in getattr(rows, attr):
        if table == "job":  # jsonb comes back parsed: compare with the item it holds
            row = (*row[:raw], json.loads(row[raw]), *row[raw + 1 :])
        out.add(_hashable(row))
    return out


def _assert_every_value_as_transformed(conn: psycopg.Connection[Any], rows: PageRows) -> None:
    for table, attr, columns in _TABLES:
        assert _stored(conn, table, columns) == _expected(rows, attr, table), table


def test_every_value_reads_back_as_transform_built_it(conn: psycopg.Connection[Any]) -> None:
    start_run(conn, "r1", command="test", params={}, scope_hash=None, code_version="0")
    rows = _load(conn, _simulated_items())
    assert len(rows.jobs) == 40 and rows.locations and rows.details
    _assert_every_value_as_transformed(conn, rows)
    kinds = conn.execute("SELECT DISTINCT jsonb_typeof(raw_json) FROM job").fetchall()
    assert kinds == [("object",)]  # the JSON text was parsed, not stored as a JSON string


@requires_fixtures
def test_real_items_read_back_as_transform_built_them(conn: psycopg.Connection[Any]) -> None:
    start_run(conn, "r1", command="test", params={}, scope_hash=None, code_version="0")
    by_cn = {item["MatchedObjectId"]: item for _, _, item in fixture_items()}
    rows = _load(conn, list(by_cn.values()))
    assert len(rows.jobs) == 794
    _assert_every_value_as_transformed(conn, rows)


def test_changed_jobs_go_through_the_staging_table_in_binary_too(
    conn: psycopg.Connection[Any],
) -> None:
    start_run(conn, "r1", command="test", params={}, scope_hash=None, code_version="0")
    items = _simulated_items(10)
    _load(conn, items)
    for item in items[:4]:
        item["MatchedObjectDescriptor"]["PositionTitle"] += " (changed)"
    rows = transform_page(items)
    rows.new.clear()  # as the runner sees it: all ten are stored (4 changed, 6 the same)
    record = page_record(page=2, source=None)
    counts = load_page_rows(conn, rows, record=record, seen_at=datetime.now(UTC))
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 4, 6)
    _assert_every_value_as_transformed(conn, rows)
    kinds = conn.execute("SELECT DISTINCT jsonb_typeof(raw_json) FROM job").fetchall()
    assert kinds == [("object",)]


def test_a_copying_connection_asks_for_a_wide_send_buffer(
    migrated_db_url: str,
) -> None:
    import socket

    from tasman_etl.db.staging import SEND_BUFFER, widen_send_buffer

    def send_buffer(c: psycopg.Connection[Any]) -> int:
        with socket.socket(fileno=c.fileno()) as sock:
            try:
                size: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                return size
            finally:
                sock.detach()  # the connection's socket, not ours to close

    with psycopg.connect(migrated_db_url, autocommit=True) as c:
        before = send_buffer(c)
        start_run(c, "r1", command="test", params={}, scope_hash=None, code_version="0")
        load_page_rows(
            c,
            transform_page(_simulated_items(3)),
            record=page_record(source=None),
            seen_at=datetime.now(UTC),
        )
        after = send_buffer(c)
        wmem_max = Path("/proc/sys/net/core/wmem_max")  # the kernel's ceiling for a request
        ceiling = int(wmem_max.read_text()) if wmem_max.exists() else SEND_BUFFER
        assert after >= min(SEND_BUFFER, ceiling) > 0
        assert after > before or before >= min(SEND_BUFFER, ceiling)
        assert c.execute("SELECT count(*) FROM job").fetchone() == (3,)  # still usable
    assert widen_send_buffer(c) is None  # closed: nothing to widen, no error


def test_the_jsonb_dumper_takes_json_text_only() -> None:
    dumper = _JsonTextDumper(str)
    assert dumper.dump('{"a":"é"}') == b'\x01{"a":"\xc3\xa9"}'
    with pytest.raises(TypeError, match="jsonb text expected"):
        dumper.dump({"a": 1})


def _server_has_lz4(conn: psycopg.Connection[Any]) -> bool:
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE TEMP TABLE lz4_probe (t text COMPRESSION lz4)")
    except psycopg.errors.FeatureNotSupported:
        return False
    return True


def _toast_settings(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str]
) -> dict[str, tuple[str, str]]:
    rows = conn.execute(
        "SELECT attname, attstorage, attcompression FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = ANY(%s)",
        (table, list(columns)),
    ).fetchall()
    return {name: (storage, compression) for name, storage, compression in rows}


def test_long_columns_are_lz4_or_uncompressed_out_of_line(conn: psycopg.Connection[Any]) -> None:
    lz4 = _server_has_lz4(conn)
    for table, columns in _LZ4.items():
        found = _toast_settings(conn, table, columns)
        assert set(found) == set(columns), table
        for column, setting in found.items():
            if lz4:
                expected = ("x", "l")  # EXTENDED (compress, then out of line), with lz4
            elif (table, column) in _KEEPS_PGLZ:
                expected = ("x", "")  # as before: EXTENDED with the default (pglz)
            else:
                expected = ("e", "")  # EXTERNAL: out of line, never compressed
            assert setting == expected, (table, column, setting)


def test_uncompressed_or_lz4_values_still_read_back_whole(conn: psycopg.Connection[Any]) -> None:
    start_run(conn, "r1", command="test", params={}, scope_hash=None, code_version="0")
    long_text = "Data engineering pipelines. " * 2_000  # 56 KB: out of line, TOAST for sure
    item = _simulated_items(1)[0]
    item["MatchedObjectDescriptor"]["UserArea"]["Details"]["Education"] = long_text
    item["MatchedObjectDescriptor"]["UserArea"]["Details"]["JobSummary"] = long_text
    _load(conn, [item])
    row = conn.execute(
        "SELECT d.education, j.job_summary,"
        " j.raw_json #>> '{MatchedObjectDescriptor,UserArea,Details,Education}',"
        " pg_column_size(j.raw_json), pg_column_size(j.job_summary),"
        " pg_column_size(d.education)"
        " FROM job j JOIN job_details d USING (job_id)"
    ).fetchone()
    assert row is not None
    assert row[0] == row[1] == row[2] == long_text
    if not _server_has_lz4(conn):  # stored as they are, not compressed
        assert row[3] > 2 * len(long_text)
        assert row[4] >= len(long_text) and row[5] >= len(long_text)
