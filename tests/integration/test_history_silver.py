"""Search items and Historic JOA records in silver: one job per control number, the search
record wins, both raw items kept, and what history says about being open (ADR 0028).

Real PostgreSQL; rows from the simulator's universe through the real transforms and loader.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from factories import page_record
from tasman_etl.db import repository as repo
from tasman_etl.historic import transform_historic_page
from tasman_etl.historic_text import transform_text_page
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.transform import transform_page

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> SimulatorServer:
    return SimulatorServer(SimulatorConfig(jobs=30, seed=11, now=NOW.isoformat(), historic_jobs=40))


def _run(conn: psycopg.Connection[Any], run_id: str) -> None:
    repo.start_run(conn, run_id, command="test", params={}, scope_hash=None, code_version="t")


_pages = iter(range(1, 10_000))


def _load(
    conn: psycopg.Connection[Any], items: list[Any], *, historic: bool, seen: datetime
) -> repo.LoadCounts:
    run_id = "hist" if historic else "search"
    _run(conn, run_id)
    kind = "historic" if historic else "search"
    cns = [str(i.get("usajobsControlNumber") if historic else i["MatchedObjectId"]) for i in items]
    stored = repo.stored_hashes(conn, cns, kind=kind)
    rows = (transform_historic_page if historic else transform_page)(items, stored=stored)
    page = next(_pages)
    record = page_record(run_id, page, source="t")
    return repo.load_page_rows(conn, rows, record=record, seen_at=seen)


def _job(conn: psycopg.Connection[Any], cn: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT j.source, j.raw_json, j.inactive_since, j.position_title, h.raw_json, "
        "h.closed_on, (SELECT count(*) FROM job_version v WHERE v.job_id = j.job_id) "
        "FROM job j LEFT JOIN job_historic h USING (control_number) "
        "WHERE j.control_number = %s",
        (cn,),
    ).fetchone()
    assert row is not None
    keys = ("source", "raw", "inactive_since", "title", "historic_raw", "closed_on", "versions")
    return dict(zip(keys, row, strict=True))


def _open_pair(sim: SimulatorServer) -> tuple[str, dict[str, Any], dict[str, Any]]:
    cn = sim.control_numbers()[0]
    record = next(r for r in sim.historic_records() if str(r.get("usajobsControlNumber")) == cn)
    return cn, sim.item(cn), record


def _closed(record: dict[str, Any], on: datetime) -> dict[str, Any]:
    closed = copy.deepcopy(record)
    closed["positionOpeningStatus"] = "Job closed"
    closed["positionCloseDate"] = on.date().isoformat()
    return closed


def test_history_never_overwrites_what_a_search_returned(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    cn, item, record = _open_pair(sim)
    _load(conn, [item], historic=False, seen=NOW - timedelta(days=3))
    changed = copy.deepcopy(record)
    changed["positionTitle"] = "A title only history has"
    counts = _load(conn, [changed], historic=True, seen=NOW - timedelta(days=2))
    job = _job(conn, cn)
    assert job["source"] == "search"
    assert job["raw"] == item and job["title"] != "A title only history has"
    assert job["historic_raw"] == changed
    assert job["versions"] == 1
    assert (counts.inserted, counts.updated) == (0, 0)
    # the same record again: unchanged, nothing written
    again = _load(conn, [changed], historic=True, seen=NOW - timedelta(days=1))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_a_close_in_history_ends_a_searched_job_until_a_search_sees_it_again(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    cn, item, record = _open_pair(sim)
    _load(conn, [item], historic=False, seen=NOW - timedelta(days=10))
    closed_on = NOW - timedelta(days=5)
    _load(conn, [_closed(record, closed_on)], historic=True, seen=NOW - timedelta(days=1))
    job = _job(conn, cn)
    assert job["inactive_since"] == closed_on.replace(hour=0)
    assert job["source"] == "search" and job["raw"] == item
    _load(conn, [item], historic=False, seen=NOW)  # the Search API lists it again: open
    assert _job(conn, cn)["inactive_since"] is None


def test_history_does_not_close_a_job_a_search_saw_after_that_day(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    cn, item, record = _open_pair(sim)
    _load(conn, [item], historic=False, seen=NOW - timedelta(days=1))
    _load(conn, [_closed(record, NOW - timedelta(days=5))], historic=True, seen=NOW)
    assert _job(conn, cn)["inactive_since"] is None


def test_a_job_only_history_has_follows_its_record(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    record = next(
        r
        for r in sim.historic_records()
        if str(r.get("usajobsControlNumber")) not in set(sim.control_numbers())
    )
    cn = str(record["usajobsControlNumber"])
    reopened = copy.deepcopy(record)
    reopened["positionOpeningStatus"] = "Accepting applications"
    reopened["positionCloseDate"] = (NOW + timedelta(days=9)).date().isoformat()
    reopened["positionExpireDate"] = None
    first = _load(conn, [reopened], historic=True, seen=NOW - timedelta(days=3))
    job = _job(conn, cn)
    assert first.inserted == 1
    assert (job["source"], job["inactive_since"], job["versions"]) == ("historic", None, 1)
    assert job["raw"] == reopened == job["historic_raw"]
    closed_on = NOW - timedelta(days=1)
    later = _load(conn, [_closed(reopened, closed_on)], historic=True, seen=NOW)
    job = _job(conn, cn)
    assert later.updated == 1
    assert job["inactive_since"] == closed_on.replace(hour=0)
    assert job["versions"] == 2  # the change is history too
    # a search item for it wins from then on
    search_item = copy.deepcopy(sim.item(sim.control_numbers()[1]))
    search_item["MatchedObjectId"] = cn
    _load(conn, [search_item], historic=False, seen=NOW + timedelta(hours=1))
    job = _job(conn, cn)
    assert (job["source"], job["inactive_since"]) == ("search", None)
    assert job["raw"] == search_item and job["historic_raw"] == _closed(reopened, closed_on)


def test_the_monthly_history_view_counts_postings_by_month_agency_and_series(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    records = sim.historic_records()
    _load(conn, records, historic=True, seen=NOW)
    expected: dict[tuple[str, str, str], int] = {}
    for raw in records:
        r = {k.lower(): v for k, v in raw.items()}  # key case varies, as in the real API
        month = str(r["positionopendate"])[:7] + "-01"
        codes = {s.get("series") for s in r.get("jobcategories") or [] if s.get("series")}
        for code in codes or {"(none)"}:
            key = (month, str(r.get("hiringagencyname") or "(unknown)"), str(code))
            expected[key] = expected.get(key, 0) + 1
    got = {
        (m.isoformat(), agency, series): n
        for m, agency, series, n in conn.execute(
            "SELECT month, agency, series, postings FROM gold.vw_history_monthly"
        ).fetchall()
    }
    assert got == expected
    shares = conn.execute(
        "SELECT min(share_remote), max(share_remote), min(share_telework), "
        "max(share_telework), count(median_annual_pay) FROM gold.vw_history_monthly"
    ).fetchone()
    assert shares is not None
    assert 0 <= shares[0] <= shares[1] <= 1 and 0 <= shares[2] <= shares[3] <= 1
    assert shares[4] > 0


# ---- AnnouncementText records (`backfill --texts`) ---------------------------------------


def _load_texts(conn: psycopg.Connection[Any], texts: list[Any]) -> repo.LoadCounts:
    _run(conn, "texts")
    page = next(_pages)
    part = "historic-text.2019-03"
    record = page_record("texts", page, part=part, source="t")
    return repo.load_page_rows(conn, transform_text_page(texts), record=record, seen_at=NOW)


def _details(conn: psycopg.Connection[Any], cn: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT d.xmin::text, d.qualification_summary, d.education, d.requirements,"
        " d.how_to_apply, d.major_duties FROM job_details d JOIN job j USING (job_id)"
        " WHERE j.control_number = %s",
        (cn,),
    ).fetchone()
    assert row is not None
    keys = ("xmin", "qualification_summary", "education", "requirements", "how_to_apply", "duties")
    return dict(zip(keys, row, strict=True))


def _stored_texts(conn: psycopg.Connection[Any]) -> dict[str, tuple[Any, str]]:
    rows = conn.execute("SELECT control_number, raw_json, xmin::text FROM job_historic_text")
    return {cn: (raw, xmin) for cn, raw, xmin in rows.fetchall()}


def test_texts_fill_history_only_details_keep_searched_ones_and_quarantine_orphans(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    searched, item, record = _open_pair(sim)
    only = next(
        r
        for r in sim.historic_records()
        if str(r.get("usajobsControlNumber")) not in set(sim.control_numbers())
    )
    only_cn = str(only["usajobsControlNumber"])
    _load(conn, [item], historic=False, seen=NOW - timedelta(days=1))
    _load(conn, [record, only], historic=True, seen=NOW)
    texts = {str(t["usajobsControlNumber"]): t for t in sim.historic_texts()}
    orphan = {"usajobsControlNumber": 990000001, "requirementsEducation": "None required."}
    before = _details(conn, searched)

    first = _load_texts(conn, [texts[searched], texts[only_cn], orphan])

    assert (first.inserted, first.updated, first.unchanged, first.quarantined) == (2, 0, 0, 1)
    stored = _stored_texts(conn)
    assert {cn: raw for cn, (raw, _) in stored.items()} == {
        searched: texts[searched],
        only_cn: texts[only_cn],
    }
    filled = _details(conn, only_cn)
    text = texts[only_cn]
    assert filled["qualification_summary"] == text["requirementsQualifications"]
    assert filled["education"] == text["requirementsEducation"]
    assert filled["requirements"] == text["requirementsConditionsOfEmployment"]
    assert filled["how_to_apply"] == text["howToApply"]
    assert filled["duties"] == [d for d in text["duties"].split("\n") if d.strip()]
    assert _details(conn, searched) == before  # the search's details: not even rewritten
    quarantined = conn.execute(
        "SELECT control_number, reason, raw_json FROM quarantine WHERE run_id = 'texts'"
    ).fetchall()
    assert len(quarantined) == 1
    assert quarantined[0][0] == "990000001" and "no job has it" in quarantined[0][1]
    assert quarantined[0][2] == orphan

    again = _load_texts(conn, [texts[searched], texts[only_cn]])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert _stored_texts(conn) == stored  # same text: nothing rewritten
    assert _details(conn, only_cn) == filled

    # A later change of the historic record rewrites the job's children: its texts stay.
    changed = copy.deepcopy(only)
    changed["positionTitle"] = "Renamed in history"
    assert _load(conn, [changed], historic=True, seen=NOW + timedelta(hours=1)).updated == 1
    kept = _details(conn, only_cn)
    assert {k: v for k, v in kept.items() if k != "xmin"} == {
        k: v for k, v in filled.items() if k != "xmin"
    }
