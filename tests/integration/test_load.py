"""`load` against a real PostgreSQL: counts, idempotency, exact values, quarantine, failures."""

from __future__ import annotations

import contextlib
import copy
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from factories import page_record, search_item, search_page
from tasman_etl.runner.load import load_paths
from tasman_etl.storage.bronze import LocalBronzeStore, read_envelope

from realdata import FIXTURES, SEARCH_FILES, fixture_items, load_payload, requires_fixtures

SILVER = (
    "job",
    "job_location",
    "job_category",
    "job_grade",
    "job_hiring_path",
    "job_details",
    "job_version",
    "quarantine",
    "codelist",
)


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    out = {}
    for table in SILVER:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        out[table] = row[0]
    return out


@requires_fixtures
def test_load_real_fixtures_twice(conn: psycopg.Connection[Any], store: LocalBronzeStore) -> None:
    first = load_paths(conn, store, [FIXTURES])
    s = first.summary
    assert not first.failed, s
    assert s["inserted"] == 794
    assert s["quarantined"] == 0
    # the .envelope.json.gz repeats the 25 items of the 2025 page
    assert s["duplicates"] == 25
    assert s["codelist_values"] > 4000
    counts = _counts(conn)
    assert counts["job"] == 794
    expected_locations = sum(
        len(i["MatchedObjectDescriptor"]["PositionLocation"]) for _, _, i in fixture_items()
    )
    assert counts["job_location"] == expected_locations
    assert counts["job_details"] == 794
    assert counts["job_version"] == 794
    assert counts["quarantine"] == 0

    second = load_paths(conn, store, [FIXTURES])
    assert second.summary["inserted"] == 0
    assert second.summary["updated"] == 0
    assert second.summary["unchanged"] == 794 + 25
    assert _counts(conn) == counts  # not one row more anywhere


@requires_fixtures
def test_raw_json_hourly_pay_and_dates_are_exact(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    load_paths(conn, store, SEARCH_FILES)
    items = {i["MatchedObjectId"]: i for _, _, i in fixture_items()}
    with conn.cursor() as cur:
        # every raw_json equals its source item (jsonb equality), checked in the database
        cur.execute("CREATE TEMP TABLE src (cn text, item jsonb)")
        with cur.copy("COPY src (cn, item) FROM STDIN") as cp:
            for cn, item in items.items():
                cp.write_row((cn, json.dumps(item)))
        cur.execute(
            "SELECT count(*) FROM job j JOIN src s ON s.cn = j.control_number "
            "WHERE j.raw_json = s.item"
        )
        row = cur.fetchone()
        assert row is not None and row[0] == len(items) == 794
        cur.execute(
            "SELECT pay_min, pay_max, pay_interval_code FROM job WHERE pay_interval_code "
            "= 'PH' ORDER BY control_number LIMIT 1"
        )
        hourly = cur.fetchone()
        assert hourly is not None
        cn = cur.execute(
            "SELECT control_number FROM job WHERE pay_interval_code = 'PH' "
            "ORDER BY control_number LIMIT 1"
        ).fetchone()
        assert cn is not None
        raw_pay = items[cn[0]]["MatchedObjectDescriptor"]["PositionRemuneration"][0]
        assert hourly[0] == Decimal(raw_pay["MinimumRange"])
        assert str(hourly[0]) == raw_pay["MinimumRange"]
        # one item from each date format, compared as UTC instants
        cur.execute(
            "SELECT control_number, publication_start_date, application_close_date FROM job"
        )
        checked = set()
        for cn_value, published, closes in cur.fetchall():
            text = items[cn_value]["MatchedObjectDescriptor"]["PublicationStartDate"]
            fmt = (
                "Z"
                if text.endswith("Z")
                else ("frac" if "." in text else ("date" if len(text) == 10 else "other"))
            )
            assert published.utcoffset().total_seconds() == 0
            assert published.strftime("%Y-%m-%d") == text[:10]
            if len(text) > 10:
                assert published.strftime("%H:%M:%S") == text[11:19]
            close_text = items[cn_value]["MatchedObjectDescriptor"]["ApplicationCloseDate"]
            if close_text.endswith(".9970"):
                assert closes.microsecond == 997000
            checked.add(fmt)
        assert checked == {"Z", "frac", "date"}


def _item(cn: str, **changes: Any) -> dict[str, Any]:
    """A Chicago job paid 90,000-120,000 a year, in category 2210, open to two hiring paths."""
    descriptor: dict[str, Any] = {
        "PositionRemuneration": [
            {
                "MinimumRange": "90000",
                "MaximumRange": "120000",
                "RateIntervalCode": "PA",
                "Description": "Per Year",
            }
        ],
        "JobCategory": [{"Name": "IT", "Code": "2210"}],
        "UserArea": {"Details": {"HiringPath": ["public", "vet"]}},
    }
    return search_item(cn, port=True, **{**descriptor, **changes})


def test_mixed_page_loads_valid_and_quarantines_invalid(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    bad_lat = _item("100000003", PositionLocation=[{"Latitude": 95.0, "Longitude": 1.0}])
    bad_pay = _item("100000004", PositionRemuneration=[{"MinimumRange": "5", "MaximumRange": "1"}])
    no_title = _item("100000005", PositionTitle="")
    nul = _item("100000006", PositionTitle="a\x00b")
    items = [_item("100000001"), 42, bad_lat, _item("100000002"), bad_pay, no_title, nul]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(search_page(items)))
    result = load_paths(conn, store, [path])
    assert result.summary["inserted"] == 2
    assert result.summary["quarantined"] == 5
    rows = conn.execute(
        "SELECT item_index, control_number, reason, raw_json, raw_text FROM quarantine "
        "ORDER BY item_index"
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 4, 5, 6]
    assert rows[0][3] == 42 and "not a JSON object" in rows[0][2]
    assert rows[1][3] == bad_lat and "latitude" in rows[1][2]
    assert rows[2][3] == bad_pay and "pay_min" in rows[2][2]
    assert rows[3][3] == no_title and "PositionTitle" in rows[3][2]
    assert rows[4][3] is None and "NUL" in rows[4][2] and "\\u0000" in rows[4][4]
    # a second load of the same page does not quarantine the same items twice
    load_paths(conn, store, [path])
    again = conn.execute("SELECT count(*) FROM quarantine").fetchone()
    assert again is not None and again[0] == 5


def test_change_rewrites_children_and_versions_once(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(search_page([_item("200000001"), _item("200000002")])))
    load_paths(conn, store, [path])
    changed = _item(
        "200000001",
        PositionRemuneration=[
            {"MinimumRange": "95000", "MaximumRange": "120000", "RateIntervalCode": "PA"}
        ],
        PositionLocation=[
            {"LocationName": "Denver, Colorado", "Latitude": 39.7, "Longitude": -105.0},
            {"LocationName": "Remote"},
        ],
    )
    stamps = "SELECT control_number, updated_at FROM job ORDER BY 1"
    before = dict(conn.execute(stamps).fetchall())
    path2 = tmp_path / "p2.json"
    path2.write_text(json.dumps(search_page([changed, _item("200000002")])))
    result = load_paths(conn, store, [path2])
    assert (result.summary["inserted"], result.summary["updated"], result.summary["unchanged"]) == (
        0,
        1,
        1,
    )
    # an update touches updated_at; a job seen unchanged keeps it
    after = dict(conn.execute(stamps).fetchall())
    assert after["200000001"] > before["200000001"]
    assert after["200000002"] == before["200000002"]
    versions = conn.execute(
        "SELECT control_number, count(*), count(*) FILTER (WHERE valid_to IS NULL) "
        "FROM job_version GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert versions == [("200000001", 2, 1), ("200000002", 1, 1)]
    # the closed version keeps the item it had; the current one is job.raw_json (NULL here)
    history = conn.execute(
        "SELECT v.snapshot, v.valid_to IS NULL, j.raw_json FROM job_version v "
        "JOIN job j USING (job_id) WHERE v.control_number = '200000001' ORDER BY v.version_id"
    ).fetchall()
    assert [(snap is None, current) for snap, current, _ in history] == [
        (False, False),
        (True, True),
    ]
    old_item, new_item = history[0][0], history[1][2]
    assert old_item == json.loads(json.dumps(_item("200000001")))
    assert new_item == json.loads(json.dumps(changed))
    locs = conn.execute(
        "SELECT l.location_name FROM job_location l JOIN job j USING (job_id) "
        "WHERE j.control_number = '200000001' ORDER BY loc_idx"
    ).fetchall()
    assert [r[0] for r in locs] == ["Denver, Colorado", "Remote"]
    pay = conn.execute("SELECT pay_min FROM job WHERE control_number = '200000001'").fetchone()
    assert pay is not None and pay[0] == Decimal(95000)
    paths = conn.execute("SELECT count(*) FROM job_hiring_path").fetchone()
    assert paths is not None and paths[0] == 4


def test_bad_file_is_named_and_others_still_load(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    good = tmp_path / "a_good.json.gz"
    good.write_bytes(gzip.compress(json.dumps(search_page([_item("300000001")])).encode()))
    broken = tmp_path / "b_broken.json"
    broken.write_text('{"SearchResult": {"SearchResultItems": [')
    result = load_paths(conn, store, [tmp_path])
    assert result.failed
    assert result.summary["inserted"] == 1
    assert result.summary["failed_pages"] == 1
    assert any("b_broken.json" in e and "not valid JSON" in e for e in result.summary["errors"])
    status = conn.execute(
        "SELECT page_key, status, error FROM ingest_page WHERE run_id = %s ORDER BY page_key",
        (result.run_id,),
    ).fetchall()
    assert [(r[0], r[1]) for r in status] == [("page=0001", "loaded"), ("page=0002", "failed")]
    run = conn.execute(
        "SELECT status FROM ingest_run WHERE run_id = %s", (result.run_id,)
    ).fetchone()
    assert run == ("failed",)


def test_bronze_objects_are_written_and_readable(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    path = tmp_path / "one.json"
    raw = json.dumps(search_page([_item("400000001")])).encode()
    path.write_bytes(raw)
    result = load_paths(conn, store, [path])
    keys = list(store.list(run_id=result.run_id))
    assert len(keys) == 1
    envelope = read_envelope(store.get(keys[0]))
    assert envelope.payload == json.loads(raw)
    row = conn.execute(
        "SELECT bronze_key, sha256 FROM ingest_page WHERE run_id = %s", (result.run_id,)
    ).fetchone()
    assert row is not None and row[0] == keys[0].path
    assert row[1] == envelope.ingest["sha256"]


@pytest.mark.parametrize("outer", [False, True], ids=["own-transaction", "in-a-transaction"])
def test_rows_believed_new_but_already_stored_fall_back_to_the_upsert(
    conn: psycopg.Connection[Any], outer: bool
) -> None:
    """In its own transaction the page is loaded again as an upsert; inside another one
    (which it cannot redo) its new jobs' COPY falls back in a savepoint."""
    from datetime import UTC, datetime

    from tasman_etl.db.repository import load_page_rows, start_run
    from tasman_etl.transform import transform_page

    start_run(conn, "r1", command="test", params={}, scope_hash=None, code_version="0")
    with conn.transaction() if outer else contextlib.nullcontext():
        first = transform_page([_item("500000001"), _item("500000002")])
        record = page_record(source=None)
        counts = load_page_rows(conn, first, record=record, seen_at=datetime.now(UTC))
        assert (counts.inserted, counts.updated, counts.unchanged) == (2, 0, 0)
        # another writer got there first: these rows are marked new but the jobs exist
        # (in a transaction, the first page's staging tables still exist too)
        again = transform_page([_item("500000001", PositionTitle="Changed"), _item("500000002")])
        assert again.new == {"500000001", "500000002"}
        record2 = page_record(page=2, source=None)
        counts = load_page_rows(conn, again, record=record2, seen_at=datetime.now(UTC))
        assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 1)
    titles = dict(conn.execute("SELECT control_number, position_title FROM job").fetchall())
    assert titles == {"500000001": "Changed", "500000002": "Data Engineer"}
    versions = conn.execute("SELECT count(*) FROM job_version").fetchone()
    assert versions == (3,)
    pages = conn.execute("SELECT page, status FROM ingest_page ORDER BY page").fetchall()
    assert pages == [(1, "loaded"), (2, "loaded")]


@requires_fixtures
def test_the_later_file_wins_when_a_job_changes_back_within_one_load(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    """Files are parsed ahead of the load on worker threads; a job a later file changes
    back to what the database held when it was looked up must not be taken as unchanged."""
    payload = load_payload(SEARCH_FILES[0])
    item = payload["SearchResult"]["SearchResultItems"][0]
    control_number = str(item["MatchedObjectId"]).strip()

    def write(path: Path, title: str) -> None:
        changed = copy.deepcopy(item)
        changed["MatchedObjectDescriptor"]["PositionTitle"] = title
        result = {"SearchResultCount": 1, "SearchResultCountAll": 1}
        page = {"SearchResult": {**result, "SearchResultItems": [changed]}}
        path.write_text(json.dumps(page), encoding="utf-8")

    write(tmp_path / "first.json", "Title A")
    assert not load_paths(conn, store, [tmp_path / "first.json"]).failed
    later = tmp_path / "later"
    later.mkdir()
    titles = ["Title B", "Title A"] * 3
    for n, title in enumerate(titles, 1):
        write(later / f"f{n}.json", title)
    result = load_paths(conn, store, [later])
    assert not result.failed, result.summary
    assert (result.summary["updated"], result.summary["unchanged"]) == (6, 0)
    stored = conn.execute(
        "SELECT position_title FROM job WHERE control_number = %s", (control_number,)
    ).fetchone()
    assert stored == ("Title A",)
    versions = conn.execute(
        "SELECT count(*) FROM job_version v JOIN job j USING (job_id) WHERE j.control_number = %s",
        (control_number,),
    ).fetchone()
    assert versions == (7,)
