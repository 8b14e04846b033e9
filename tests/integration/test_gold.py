"""The gold schema on a real PostgreSQL: gold.jobs_near, the views, and `tasman_etl.gold`.

Jobs are loaded through the real transform and loader; distances are checked against
a Haversine computed here.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from factories import page_record, search_item
from tasman_etl import __version__
from tasman_etl.db.repository import load_page_rows, start_run
from tasman_etl.errors import ConfigError
from tasman_etl.gold import JOB_FIELDS, query_jobs, resolve_place
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.transform import transform_page

R_MILES = 3958.8
CHICAGO = (41.8781, -87.6298)
FOUNDING = SearchQuery(
    keyword="data engineering", location_name="Chicago, Illinois", radius_miles=50
)
NOW = datetime.now(UTC)


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_MILES * math.asin(min(1.0, math.sqrt(h)))


def _day(offset: int) -> str:
    return (NOW + timedelta(days=offset)).strftime("%Y-%m-%dT%H:%M:%S.0000")


def item(
    cn: str,
    points: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str = "Data Engineer",
    summary: str = "Build data pipelines.",
    posted: int = -10,
    closes: int = 20,
    apply: list[str] | None = None,
) -> dict[str, Any]:
    return search_item(
        cn,
        PositionTitle=title,
        ApplyURI=[f"https://apply.example.gov/{cn}"] if apply is None else apply,
        OrganizationName="Test Agency",
        DepartmentName="Department of Tests",
        PositionLocation=[
            {"LocationName": name, "Latitude": lat, "Longitude": lon} for name, lat, lon in points
        ],
        PositionRemuneration=[
            {"MinimumRange": "40.5", "MaximumRange": "50", "RateIntervalCode": "PH"}
        ],
        PublicationStartDate=_day(posted),
        ApplicationCloseDate=_day(closes),
        UserArea={"Details": {"JobSummary": summary, "TeleworkEligible": True}},
    )


def load(conn: psycopg.Connection[Any], items: list[dict[str, Any]], run_id: str = "r1") -> None:
    start_run(conn, run_id, command="load", params={}, scope_hash=None, code_version=__version__)
    rows = transform_page(items)
    assert rows.quarantine == []
    record = page_record(run_id)
    load_page_rows(conn, rows, record=record, seen_at=NOW)
    conn.commit()


def near(conn: psycopg.Connection[Any], lat: float, lon: float, miles: float) -> dict[str, float]:
    rows = conn.execute(
        "SELECT j.control_number, n.distance_miles FROM gold.jobs_near(%s, %s, %s) AS n "
        "JOIN job AS j USING (job_id)",
        (lat, lon, miles),
    ).fetchall()
    conn.rollback()
    return {cn: d for cn, d in rows}


@pytest.fixture
def conn(db_conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """A connection (autocommit off) on a fresh migrated database."""
    return db_conn


# ------------------------------------------------------------------ gold.jobs_near


def test_jobs_near_takes_the_nearest_location_of_each_job(conn: psycopg.Connection[Any]) -> None:
    evanston = (42.0451, -87.6877)
    naperville = (41.7508, -88.1535)
    denver = (39.7392, -104.9903)
    load(
        conn,
        [
            item("100000001", [("Denver, Colorado", *denver), ("Evanston, Illinois", *evanston)]),
            item("100000002", [("Naperville, Illinois", *naperville)]),
            item("100000003", [("Denver, Colorado", *denver)]),
            item("100000004", [("Anywhere in the U.S.", None, None)]),
        ],
    )
    found = near(conn, *CHICAGO, 50)
    assert set(found) == {"100000001", "100000002"}
    assert found["100000001"] == pytest.approx(haversine(CHICAGO, evanston), rel=1e-9)
    assert found["100000002"] == pytest.approx(haversine(CHICAGO, naperville), rel=1e-9)
    assert set(near(conn, *CHICAGO, 1000)) == {"100000001", "100000002", "100000003"}
    assert near(conn, *CHICAGO, -5) == {}
    assert conn.execute("SELECT count(*) FROM gold.jobs_near(NULL, 0, 10)").fetchone() == (0,)


def test_jobs_near_wraps_the_antimeridian_and_crosses_poles(conn: psycopg.Connection[Any]) -> None:
    load(
        conn,
        [
            item("200000001", [("Taveuni, Fiji", -16.85, -179.95)]),
            item("200000002", [("Vanua Levu, Fiji", -16.60, 179.40)]),
            item("200000003", [("North Pole A", 89.95, 0.0)]),
            item("200000004", [("North Pole B", 89.95, 180.0)]),
            item("200000005", [("Suva, Fiji", -18.14, 178.44)]),
        ],
    )
    east = near(conn, -16.8, 179.9, 60)
    assert set(east) == {"200000001", "200000002"}
    assert east["200000001"] == pytest.approx(haversine((-16.8, 179.9), (-16.85, -179.95)))
    west = near(conn, -16.8, -179.9, 60)
    assert set(west) == {"200000001", "200000002"}
    assert set(near(conn, -16.8, 540.1, 60)) == set(west)  # longitude normalised
    polar = near(conn, 89.95, 90.0, 10)
    assert set(polar) == {"200000003", "200000004"}
    assert polar["200000004"] == pytest.approx(haversine((89.95, 90.0), (89.95, 180.0)))


def test_jobs_near_equals_brute_force_haversine(conn: psycopg.Connection[Any]) -> None:
    rng = random.Random(20250903)
    points = [(rng.uniform(-89.5, 89.5), rng.uniform(-180, 180)) for _ in range(300)] + [
        (rng.uniform(60, 89.9), rng.uniform(-180, 180)) for _ in range(100)
    ]
    items = [
        item(f"3{i:08d}", [(f"P{i}a", *points[2 * i]), (f"P{i}b", *points[2 * i + 1])])
        for i in range(len(points) // 2)
    ]
    load(conn, items)
    for _ in range(40):
        centre = (rng.uniform(-85, 85), rng.uniform(-180, 180))
        miles = rng.choice([50.0, 300.0, 1500.0, 4000.0])
        expected = {}
        for i in range(len(points) // 2):
            d = min(haversine(centre, points[2 * i]), haversine(centre, points[2 * i + 1]))
            if d <= miles:
                expected[f"3{i:08d}"] = d
        got = near(conn, *centre, miles)
        assert set(got) == set(expected), (centre, miles)
        for cn, d in expected.items():
            assert got[cn] == pytest.approx(d, rel=1e-9, abs=1e-9)


def test_jobs_near_prefilters_on_the_latlon_index(conn: psycopg.Connection[Any]) -> None:
    # jobs_near is SECURITY DEFINER (004_roles), so it is not inlined: read the plan of
    # the statement inside it from auto_explain, sent to this client as a notice.
    load(conn, [item("400000001", [("Chicago, Illinois", 41.88415, -87.63241)])])
    plans: list[str] = []
    conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
    try:
        conn.execute("LOAD 'auto_explain'")
    except psycopg.Error as exc:
        pytest.skip(f"auto_explain cannot be loaded on this server: {exc}")
    for setting in (
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_nested_statements = on",
        "auto_explain.log_level = notice",
        "client_min_messages = notice",
        "enable_seqscan = off",
    ):
        conn.execute(f"SET {setting}")
    rows = conn.execute("SELECT * FROM gold.jobs_near(41.8781, -87.6298, 50)").fetchall()
    conn.rollback()
    assert len(rows) == 1
    inner = [p for p in plans if "job_location" in p]
    assert inner and "job_location_latlon_idx" in inner[0], plans


# ------------------------------------------------------------------ views


def test_views_hold_the_founding_scope_denormalise_and_order(
    conn: psycopg.Connection[Any],
) -> None:
    chicago = ("Chicago, Illinois", 41.88415, -87.63241)
    load(
        conn,
        [
            item("500000001", [chicago, ("Denver, Colorado", 39.7392, -104.9903)], posted=-1),
            item("500000002", [chicago], title="Nurse", summary="Care for patients."),
            item("500000003", [chicago], closes=-2, posted=-30),  # closed
            item("500000004", [("Denver, Colorado", 39.7392, -104.9903)], posted=-3),  # far
            item("500000005", [chicago], posted=-5, apply=[]),
            item("500000006", [chicago], posted=-6),  # marked inactive below
            item(
                "500000007",
                [chicago],
                title="IT Specialist",
                summary="Engineering of data platforms.",
                posted=-7,
            ),
            item("500000008", [chicago], posted=-2),  # not returned by the founding search
        ],
    )
    # what a run of the founding search records: its scope for every job it returned
    conn.execute(
        "INSERT INTO job_scope (scope_hash, job_id, first_seen_at, last_seen_at, "
        "last_seen_run_id) SELECT %s, job_id, now(), now(), 'r1' FROM job "
        "WHERE control_number <> '500000008'",
        (FOUNDING.scope_hash(),),
    )
    conn.execute("UPDATE job SET inactive_since = now() WHERE control_number = '500000006'")
    conn.commit()
    de_all = conn.execute(
        "SELECT control_number, is_open, locations, apply_url, pay_annual_min, telework_eligible, "
        "keyword_match FROM gold.vw_de_jobs_all"
    ).fetchall()
    assert [r[0] for r in de_all] == [
        "500000001",
        "500000004",
        "500000005",
        "500000006",
        "500000007",
        "500000002",
        "500000003",
    ]
    by_cn = {r[0]: r for r in de_all}
    assert by_cn["500000001"][1:3] == (True, ["Chicago, Illinois", "Denver, Colorado"])
    assert by_cn["500000003"][1] is False and by_cn["500000006"][1] is False
    assert by_cn["500000005"][3] == "https://www.usajobs.gov/job/500000005"
    assert by_cn["500000001"][3] == "https://apply.example.gov/500000001"
    assert float(by_cn["500000001"][4]) == pytest.approx(40.5 * 2087)
    assert by_cn["500000001"][5] is True
    # the full-text rule is a column to filter on, no longer the definition
    assert [cn for cn, *rest in de_all if not rest[-1]] == ["500000002"]

    chicago_rows = conn.execute(
        "SELECT control_number, distance_miles, nearest_location FROM gold.vw_de_jobs_chicago"
    ).fetchall()
    assert [r[0] for r in chicago_rows] == [
        "500000001",
        "500000004",
        "500000005",
        "500000007",
        "500000002",
    ]
    assert chicago_rows[0][1] == pytest.approx(haversine(CHICAGO, chicago[1:]), rel=1e-9)
    assert chicago_rows[0][2] == "Chicago, Illinois"
    denver = haversine(CHICAGO, (39.7392, -104.9903))
    assert chicago_rows[1][1:] == (pytest.approx(denver, rel=1e-9), "Denver, Colorado")
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold' "
            "AND table_name = 'vw_de_jobs_chicago' ORDER BY ordinal_position"
        ).fetchall()
    ]
    assert set(JOB_FIELDS) <= set(columns)


def test_open_means_the_closing_day_in_new_york_is_not_over(conn: psycopg.Connection[Any]) -> None:
    today_ny = conn.execute("SELECT (now() AT TIME ZONE 'America/New_York')::date").fetchone()
    assert today_ny is not None
    closes_today = datetime.combine(today_ny[0], datetime.min.time(), UTC)
    rows = conn.execute(
        "SELECT gold.is_open(%s, NULL), gold.is_open(%s, NULL), gold.is_open(%s, now()), "
        "gold.is_open(NULL, NULL)",
        (closes_today, closes_today - timedelta(seconds=1), closes_today + timedelta(days=9)),
    ).fetchone()
    assert rows == (True, False, False, True)


# ------------------------------------------------------------------ tasman_etl.gold


def test_resolve_place_from_loaded_locations(conn: psycopg.Connection[Any]) -> None:
    load(
        conn,
        [
            item("600000001", [("Chicago, Illinois", 41.88415, -87.63241)]),
            item("600000002", [(" chicago, illinois", 41.88415, -87.63241)]),
            item("600000003", [("Springfield, Illinois", 39.80, -89.64)]),
            item("600000004", [("Springfield, Illinois", 39.70, -89.66)]),
        ],
    )
    assert resolve_place(conn, "CHICAGO, Illinois ") == pytest.approx((41.88415, -87.63241))
    assert resolve_place(conn, "Springfield, Illinois") == pytest.approx((39.75, -89.65))
    with pytest.raises(ConfigError, match=r"unknown place 'Chicago, IL'.*Chicago, Illinois"):
        resolve_place(conn, "Chicago, IL")
    with pytest.raises(ConfigError, match="unknown place 'Atlantis'"):
        resolve_place(conn, "Atlantis")


def test_query_jobs_one_row_per_job_with_filters(conn: psycopg.Connection[Any]) -> None:
    many = [("Chicago, Illinois", 41.88415, -87.63241), ("Evanston, Illinois", 42.0451, -87.6877)]
    load(
        conn,
        [
            item("700000001", many, posted=-1),
            item("700000002", [("Gary, Indiana", 41.5934, -87.3464)], posted=-2, closes=-2),
            item(
                "700000003",
                [("Joliet, Illinois", 41.525, -88.0817)],
                posted=-2,
                title="Nurse",
                summary="Care.",
            ),
            item("700000004", [("Denver, Colorado", 39.7392, -104.9903)], posted=-4),
        ],
    )
    rows = query_jobs(conn, lat=CHICAGO[0], lon=CHICAGO[1], radius=50)
    assert [r["control_number"] for r in rows] == ["700000001", "700000002", "700000003"]
    assert all(tuple(r) == JOB_FIELDS for r in rows)
    assert rows[0]["locations"] == ["Chicago, Illinois", "Evanston, Illinois"]
    assert rows[0]["distance_miles"] == pytest.approx(haversine(CHICAGO, many[0][1:]), rel=1e-9)
    assert [r["control_number"] for r in query_jobs(conn, lat=41.9, lon=-87.6, open_only=True)] == [
        "700000001",
        "700000003",
    ]
    assert [
        r["control_number"] for r in query_jobs(conn, lat=41.9, lon=-87.6, keyword="data engineer")
    ] == ["700000001", "700000002"]
    assert [r["control_number"] for r in query_jobs(conn, keyword="nurse")] == ["700000003"]
    everything = query_jobs(conn, limit=3)
    assert [r["control_number"] for r in everything] == ["700000001", "700000002", "700000003"]
    assert all(r["distance_miles"] is None for r in everything)
    with pytest.raises(ConfigError, match="both --lat and --lon"):
        query_jobs(conn, lat=41.0)
    with pytest.raises(ConfigError, match="latitude"):
        query_jobs(conn, lat=91.0, lon=0.0)
