"""Values PostgreSQL cannot index never fail a page (issue 11, item 3).

A btree entry holds at most 2,704 bytes and a tsvector at most 1 MB. A 6,000-character
location name, position id, category, grade or hiring-path code, a 2 MB title or summary,
or a 10,000-digit control number (whose reason broke the quarantine insert) used to fail
their whole page; over HTTP the run stopped with pages unloaded. Now the odd item loads
with its raw JSON intact and bounded indexed copies, or is quarantined with its reason,
and the other 499 items of its page load: exit 0, the run complete, no `--resume`.

The values are random letters and digits: PostgreSQL compresses an index entry before
measuring it (pglz), so a repeated character would fit and prove nothing.
"""

from __future__ import annotations

import copy
import json
import random
import string
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from factories import page_record, search_page
from tasman_etl.db.repository import PageRecord, load_page_rows
from tasman_etl.errors import DatabaseError
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.load import load_paths
from tasman_etl.runner.run import RunOptions, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore
from tasman_etl.transform import (
    BTREE_TEXT_CHARS,
    SUMMARY_CHARS,
    TITLE_CHARS,
    dump_json,
    transform_page,
)

from e2e_helpers import cli_env, last_json

pytestmark = [pytest.mark.integration]

KEY = "unindexable-key-5d2c"
PAGE = 500


def _noise(n: int, seed: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """`n` random characters: incompressible, so an index sees every byte."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def _prose(n_bytes: int, seed: int) -> str:
    """About `n_bytes` of distinct random words: its tsvector would exceed 1 MB."""
    rng = random.Random(seed)
    letters = string.ascii_lowercase
    words: list[str] = []
    size = 0
    while size < n_bytes:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(5, 9)))
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def _details(item: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = item["MatchedObjectDescriptor"]["UserArea"]["Details"]
    return details


def _set_location(item: dict[str, Any]) -> None:
    item["MatchedObjectDescriptor"]["PositionLocation"][0]["LocationName"] = _noise(6000, 1)


def _set_position_id(item: dict[str, Any]) -> None:
    item["MatchedObjectDescriptor"]["PositionID"] = _noise(6000, 2)


def _set_category(item: dict[str, Any]) -> None:
    item["MatchedObjectDescriptor"]["JobCategory"][0]["Code"] = _noise(6000, 3)


def _set_grade(item: dict[str, Any]) -> None:
    item["MatchedObjectDescriptor"]["JobGrade"] = [{"Code": _noise(6000, 4)}]


def _set_hiring_path(item: dict[str, Any]) -> None:
    _details(item)["HiringPath"] = [_noise(6000, 5, string.ascii_lowercase), "public"]


def _set_summary(item: dict[str, Any]) -> None:
    _details(item)["JobSummary"] = _prose(2_000_000, 6)


def _set_title(item: dict[str, Any]) -> None:
    item["MatchedObjectDescriptor"]["PositionTitle"] = _prose(2_000_000, 7)


def _set_control_number(item: dict[str, Any]) -> None:
    item["MatchedObjectId"] = _noise(10_000, 8, string.digits)


KINDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "location_name": _set_location,
    "position_id": _set_position_id,
    "category_code": _set_category,
    "grade_code": _set_grade,
    "hiring_path": _set_hiring_path,
    "summary_2mb": _set_summary,
    "title_2mb": _set_title,
    "control_number_10k": _set_control_number,
}
QUARANTINED = {"control_number_10k"}

_BASE = list(SimulatorServer(SimulatorConfig(jobs=PAGE, seed=11)).items)


def _check_odd_item(conn: psycopg.Connection[Any], kind: str, item: dict[str, Any]) -> None:
    """The odd item is in silver with its raw JSON intact, or quarantined with a reason."""
    text = dump_json(item)
    if kind in QUARANTINED:
        row = conn.execute(
            "SELECT reason, control_number, raw_json = %s::jsonb FROM quarantine",
            (text,),
        ).fetchone()
        assert row is not None, "the odd item was neither loaded nor quarantined"
        reason, cn, same = row
        assert "control number" in reason and len(reason) <= 500
        assert cn is not None and len(cn) <= 64
        assert same is True
        return
    desc = item["MatchedObjectDescriptor"]
    row = conn.execute(
        "SELECT job_id, raw_json = %s::jsonb, position_id, position_title, job_summary "
        "FROM job WHERE control_number = %s",
        (text, item["MatchedObjectId"]),
    ).fetchone()
    assert row is not None, f"{kind}: the odd item is not in job"
    job_id, same, position_id, title, summary = row
    assert same is True, "raw_json must be the item exactly as received"
    if kind == "position_id":
        assert position_id == desc["PositionID"][:BTREE_TEXT_CHARS]
    if kind == "title_2mb":
        assert title == desc["PositionTitle"][:TITLE_CHARS]
    if kind == "summary_2mb":
        assert summary == _details(item)["JobSummary"][:SUMMARY_CHARS]
    if kind == "location_name":
        (name,) = conn.execute(
            "SELECT location_name FROM job_location WHERE job_id = %s AND loc_idx = 0", (job_id,)
        ).fetchone() or (None,)
        assert name == desc["PositionLocation"][0]["LocationName"][:BTREE_TEXT_CHARS]
    if kind in ("category_code", "grade_code", "hiring_path"):
        table = {"category_code": "job_category", "grade_code": "job_grade"}.get(
            kind, "job_hiring_path"
        )
        codes = {
            r[0]
            for r in conn.execute(
                f"SELECT code FROM {table} WHERE job_id = %s",
                (job_id,),
            ).fetchall()
        }
        assert codes and max(len(c) for c in codes) == BTREE_TEXT_CHARS


def _counts(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    jobs = conn.execute("SELECT count(*) FROM job").fetchone()
    quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()
    assert jobs is not None and quarantined is not None
    return int(jobs[0]), int(quarantined[0])


def _serve_with(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, kinds: list[str]
) -> tuple[Any, list[dict[str, Any]]]:
    """Run over HTTP: one page of 500 from the simulator, items 100, 101, ... made odd."""
    sim = SimulatorServer(SimulatorConfig(jobs=PAGE, seed=11, auth_key=KEY))
    truth = sim.matching({})
    odd: dict[int, dict[str, Any]] = {}
    for n, kind in enumerate(kinds):
        index = sim.universe.index_of(truth[100 + n])
        item = sim.universe.item(index)
        KINDS[kind](item)
        odd[index] = item
    original = sim.universe.item_bytes

    def item_bytes(idx: int, *, radial: bool) -> bytes:
        if idx not in odd:
            body: bytes = original(idx, radial=radial)
            return body
        item = copy.deepcopy(odd[idx])
        item["MatchedObjectDescriptor"]["UserArea"]["IsRadialSearch"] = radial
        return json.dumps(item, ensure_ascii=False).encode()

    sim.universe.item_bytes = item_bytes  # type: ignore[method-assign]
    with sim:
        config = ClientConfig(
            api_base=sim.base_url,
            auth_key=SecretStr(KEY),
            user_agent="unindexable@tasman-etl.invalid",
            requests_per_second=1000,
            timeout_s=60,
            max_attempts=2,
        )
        with UsajobsClient(config, sleep=lambda s: None) as client:
            result = execute_run(
                conn,
                store,
                client,
                RunOptions(query=SearchQuery(), results_per_page=PAGE),
                stop=threading.Event(),
            )
    items = []
    for index in odd:
        item = odd[index]
        item["MatchedObjectDescriptor"]["UserArea"]["IsRadialSearch"] = False
        items.append(item)
    return result, items


@pytest.mark.parametrize("kind", list(KINDS))
def test_unindexable_value_over_http_loads_the_page(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, kind: str
) -> None:
    result, (item,) = _serve_with(conn, store, [kind])
    s = result.summary
    assert not result.failed, s  # exit 0
    assert s["status"] == "succeeded" and s["complete"] is True, s
    assert (s["pages"], s["failed_pages"], s["items"]) == (1, 0, PAGE)
    jobs, quarantined = _counts(conn)
    expected_quarantined = 1 if kind in QUARANTINED else 0
    assert (jobs, quarantined) == (PAGE - expected_quarantined, expected_quarantined)
    _check_odd_item(conn, kind, item)


def test_every_unindexable_value_on_one_page_over_http(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    result, items = _serve_with(conn, store, list(KINDS))
    s = result.summary
    assert not result.failed, s
    assert s["status"] == "succeeded" and s["complete"] is True, s
    assert (s["pages"], s["failed_pages"], s["quarantined"]) == (1, 0, len(QUARANTINED))
    assert _counts(conn) == (PAGE - len(QUARANTINED), len(QUARANTINED))
    for kind, item in zip(KINDS, items, strict=True):
        _check_odd_item(conn, kind, item)


def _odd_page(kinds: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items = copy.deepcopy(_BASE)
    odd = []
    for n, kind in enumerate(kinds):
        KINDS[kind](items[100 + n])
        odd.append(items[100 + n])
    return search_page(items), odd


@pytest.mark.slow
def test_load_of_a_file_with_every_unindexable_value_exits_0(
    migrated_db_url: str, tmp_path: Path
) -> None:
    """The real CLI (`tasman-etl load`, the data-quality gate included) on one page of 500."""
    payload, items = _odd_page(list(KINDS))
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    env = cli_env({"DB_URL": migrated_db_url, "BRONZE_DIR": str(tmp_path / "bronze")})
    proc = subprocess.run(
        [sys.executable, "-m", "tasman_etl", "load", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = last_json(proc.stdout)
    assert (s["items"], s["inserted"], s["quarantined"]) == (
        PAGE,
        PAGE - len(QUARANTINED),
        len(QUARANTINED),
    )
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        for kind, item in zip(KINDS, items, strict=True):
            _check_odd_item(conn, kind, item)


@pytest.mark.parametrize("kind", list(KINDS))
def test_load_of_a_file_with_one_unindexable_value(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path, kind: str
) -> None:
    payload, (item,) = _odd_page([kind])
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    result = load_paths(conn, store, [path])
    assert not result.failed, result.summary
    expected_quarantined = 1 if kind in QUARANTINED else 0
    assert _counts(conn) == (PAGE - expected_quarantined, expected_quarantined)
    _check_odd_item(conn, kind, item)


# ------------------------------------------------- a refusal nobody foresaw, on one item


def _record(run_id: str) -> PageRecord:
    return page_record(run_id, sha256="f" * 64)


@pytest.mark.parametrize("fixture", ["conn", "db_conn"])  # autocommit on (CLI) and off
def test_an_item_the_database_refuses_is_quarantined_and_the_page_loads(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    """Any item-level refusal (here a CHECK constraint the transform knows nothing of)."""
    conn: psycopg.Connection[Any] = request.getfixturevalue(fixture)
    conn.execute("INSERT INTO ingest_run (run_id, command) VALUES ('r1', 'load')")
    conn.execute(
        "ALTER TABLE job_location ADD CONSTRAINT test_no_atlantis "
        "CHECK (location_name IS DISTINCT FROM 'Atlantis')"
    )
    conn.commit()
    items = copy.deepcopy(_BASE[:10])
    items[3]["MatchedObjectDescriptor"]["PositionLocation"][0]["LocationName"] = "Atlantis"
    items[7]["MatchedObjectDescriptor"]["PositionLocation"][0]["LocationName"] = "Atlantis"
    rows = transform_page(items)
    rows.new = set(rows.control_numbers)
    counts = load_page_rows(conn, rows, record=_record("r1"), seen_at=_now(conn))
    assert (counts.inserted, counts.quarantined) == (8, 2)
    refused = {items[3]["MatchedObjectId"], items[7]["MatchedObjectId"]}
    assert refused.isdisjoint(rows.control_numbers)  # the caller sees them moved
    got = conn.execute(
        "SELECT item_index, control_number, reason FROM quarantine ORDER BY item_index"
    ).fetchall()
    assert [(r[0], r[1]) for r in got] == [
        (3, items[3]["MatchedObjectId"]),
        (7, items[7]["MatchedObjectId"]),
    ]
    assert all("test_no_atlantis" in r[2] and "23514" in r[2] for r in got)
    assert _counts(conn) == (8, 2)
    page = conn.execute("SELECT status, inserted, quarantined FROM ingest_page").fetchone()
    assert page == ("loaded", 8, 2)
    # Loading the same page again changes nothing (the quarantine row is not doubled).
    again = transform_page(items)
    load_page_rows(conn, again, record=_record("r1"), seen_at=_now(conn))
    assert _counts(conn) == (8, 2)


def test_a_refusal_no_single_item_explains_fails_the_page_whole(
    conn: psycopg.Connection[Any],
) -> None:
    """A page-wide refusal (here: the ledger) raises, and nothing of the page is written."""
    conn.execute("INSERT INTO ingest_run (run_id, command) VALUES ('r1', 'load')")
    conn.execute("ALTER TABLE ingest_page ADD CONSTRAINT test_no_pages CHECK (page < 0)")
    rows = transform_page(copy.deepcopy(_BASE[:5]))
    with pytest.raises(DatabaseError, match="test_no_pages"):
        load_page_rows(conn, rows, record=_record("r1"), seen_at=_now(conn))
    assert _counts(conn) == (0, 0)


def _now(conn: psycopg.Connection[Any]) -> Any:
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


def test_a_page_the_database_refuses_whole_fails_that_page_not_the_run(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    """Over HTTP, a refusal of a whole page (no item alone explains it) fails that page only.

    The scope table refuses jobs past the first page's 40 (a stand-in for any unforeseen
    page-wide error): page 1 loads, the later pages are recorded failed with the reason,
    the run closes as failed (exit 1) instead of raising out of `execute_run`.
    """
    sim = SimulatorServer(SimulatorConfig(jobs=120, seed=11, auth_key=KEY))
    # Refuse by control number, not job_id: pages may load in any order.
    conn.execute("CREATE TABLE test_page_one (control_number text PRIMARY KEY)")
    with conn.cursor().copy("COPY test_page_one FROM STDIN") as copy:
        for cn in sim.control_numbers()[:40]:
            copy.write_row((cn,))
    conn.execute(
        """
        CREATE FUNCTION test_first_page_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM job j JOIN test_page_one t USING (control_number)
                            WHERE j.job_id = NEW.job_id) THEN
                RAISE EXCEPTION 'test_first_page_only refuses job %', NEW.job_id
                      USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    conn.execute(
        "CREATE TRIGGER test_first_page_only BEFORE INSERT OR UPDATE ON job_scope "
        "FOR EACH ROW EXECUTE FUNCTION test_first_page_only()"
    )
    with sim:
        config = ClientConfig(
            api_base=sim.base_url,
            auth_key=SecretStr(KEY),
            user_agent="unindexable@tasman-etl.invalid",
            requests_per_second=1000,
            max_attempts=2,
        )
        with UsajobsClient(config, sleep=lambda s: None) as client:
            result = execute_run(
                conn,
                store,
                client,
                RunOptions(query=SearchQuery(), results_per_page=40),
                stop=threading.Event(),
            )
    assert result.failed and result.summary["status"] == "failed"
    pages = conn.execute("SELECT page, status, error FROM ingest_page ORDER BY page").fetchall()
    assert [(p, s) for p, s, _ in pages] == [(1, "loaded"), (2, "failed"), (3, "failed")]
    assert all("test_first_page_only" in (e or "") for _, _, e in pages[1:])
    assert _counts(conn) == (40, 0)
