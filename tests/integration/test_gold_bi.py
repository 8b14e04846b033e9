"""Gold for BI tools (migration 009), on the real recorded Chicago page.

The founding search (Keyword 'data engineering', LocationName 'Chicago, Illinois', Radius
50) is run in process, as `tasman-etl run` does, against an HTTP server on 127.0.0.1 that
answers every search request with the page the real API returned on 2025-09-03: so the
run records the founding scope for each job, and the views are checked against what the
API returned.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.run import RunOptions, execute_run
from tasman_etl.storage.bronze import LocalBronzeStore

from realdata import FIXTURES, load_payload, requires_fixtures

CHICAGO_PAGE = FIXTURES / "search_chicago_de_2025-09-03_page1.json"
PAGE_2021 = FIXTURES / "search_unfiltered_2021-04_page1_capped10000.json"
FOUNDING = SearchQuery(
    keyword="data engineering", location_name="Chicago, Illinois", radius_miles=50
)
CHICAGO = (41.8781, -87.6298)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHICAGO_PAGE.is_file(), reason=f"real recorded page {CHICAGO_PAGE.name} not found"
    ),
]


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 3958.8 * math.asin(min(1.0, math.sqrt(h)))


class _RecordedApi:
    """Serves one recorded search payload for every /api/search request."""

    def __init__(self, payload: bytes) -> None:
        self.requests: list[str] = []
        body = payload
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                if not self.path.lower().startswith("/api/search"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/hr+json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _RecordedApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _founding_run(url: str, store: LocalBronzeStore) -> dict[str, Any]:
    with _RecordedApi(CHICAGO_PAGE.read_bytes()) as api:
        config = ClientConfig(
            api_base=api.base_url,
            auth_key=SecretStr("recorded-key"),
            user_agent="gold@tasman-etl.invalid",
            requests_per_second=1000,
        )
        with (
            psycopg.connect(url, autocommit=True) as conn,
            UsajobsClient(config, sleep=lambda s: None) as client,
        ):
            result = execute_run(
                conn, store, client, RunOptions(query=FOUNDING), stop=threading.Event()
            )
        assert api.requests and all("Keyword=data+engineering" in r for r in api.requests)
    return result.summary


@pytest.fixture
def founding(migrated_db_url: str, tmp_path: Path) -> Iterator[psycopg.Connection[Any]]:
    """A database holding one run of the founding search (the recorded page)."""
    summary = _founding_run(migrated_db_url, LocalBronzeStore(tmp_path / "b", "bronze/usajobs"))
    assert summary["inserted"] == 25, summary
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        yield conn


def _columns(conn: psycopg.Connection[Any], name: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold' "
            "AND table_name = %s ORDER BY ordinal_position",
            (name,),
        ).fetchall()
    ]


@requires_fixtures
def test_founding_jobs_all_appear_in_the_chicago_view_while_open(
    founding: psycopg.Connection[Any],
) -> None:
    conn = founding
    recorded = {
        str(i["MatchedObjectId"])
        for i in load_payload(CHICAGO_PAGE)["SearchResult"]["SearchResultItems"]
    }
    assert len(recorded) == 25
    every = {r[0] for r in conn.execute("SELECT control_number FROM gold.vw_de_jobs_all")}
    assert every == recorded
    # the recorded postings closed in 2025: open while they were, they all show
    assert conn.execute("SELECT count(*) FROM gold.vw_de_jobs_chicago").fetchone() == (0,)
    conn.execute("UPDATE job SET application_close_date = now() + interval '30 days'")
    rows = conn.execute(
        "SELECT control_number, distance_miles, nearest_location, keyword_match, is_open "
        "FROM gold.vw_de_jobs_chicago"
    ).fetchall()
    assert {r[0] for r in rows} == recorded
    assert all(r[4] is True and r[1] is not None and r[1] <= 50 for r in rows)
    by_cn = {r[0]: r for r in rows}
    # nearest to Chicago, not the first location: 825917700 lists 48 places
    assert by_cn["825917700"][2] == "Chicago Ridge, Illinois"
    assert by_cn["825917700"][1] == pytest.approx(14.4, abs=0.05)
    # the full-text rule is a column now; it used to be the filter (0 of 25 matched)
    matches = sum(1 for r in rows if r[3])
    assert matches < 25
    assert conn.execute(
        "SELECT count(*) FROM gold.vw_de_jobs_chicago WHERE keyword_match"
    ).fetchone() == (matches,)
    # marked inactive (gone from the search): no longer open, no longer listed
    conn.execute("UPDATE job SET inactive_since = now() WHERE control_number = '825917700'")
    assert "825917700" not in {
        r[0] for r in conn.execute("SELECT control_number FROM gold.vw_de_jobs_chicago")
    }


@requires_fixtures
def test_search_scopes_are_found_by_their_parameters(founding: psycopg.Connection[Any]) -> None:
    row = founding.execute(
        "SELECT scope_hash, keyword, location_name, radius_miles, runs, jobs, search_params "
        "FROM gold.vw_search_scopes WHERE keyword = 'data engineering' "
        "AND location_name = 'Chicago, Illinois' AND radius_miles = '50'"
    ).fetchone()
    assert row is not None
    assert row[0] == FOUNDING.scope_hash()
    assert row[4:6] == (1, 25)
    assert json.loads(row[6]) == FOUNDING.to_params()
    # the views compute the founding hash in SQL the way SearchQuery.scope_hash does
    canonical = json.dumps(FOUNDING.to_params(), sort_keys=True, separators=(",", ":"))
    sql_hash = founding.execute(
        "SELECT encode(sha256(convert_to(%s, 'UTF8')), 'hex')", (canonical,)
    ).fetchone()
    assert sql_hash == (FOUNDING.scope_hash(),)


@requires_fixtures
def test_jobs_near_returns_whole_rows_with_the_nearest_location(
    founding: psycopg.Connection[Any],
) -> None:
    conn = founding
    near = conn.execute("SELECT * FROM gold.jobs_near(%s, %s, 50)", CHICAGO)
    names = [c.name for c in near.description or []]
    assert names == [*_columns(conn, "vw_jobs"), "distance_miles", "nearest_location"]
    rows = [dict(zip(names, r, strict=True)) for r in near.fetchall()]
    assert len(rows) == 25
    assert [r["distance_miles"] for r in rows] == sorted(r["distance_miles"] for r in rows)
    items = {
        str(i["MatchedObjectId"]): i["MatchedObjectDescriptor"]
        for i in load_payload(CHICAGO_PAGE)["SearchResult"]["SearchResultItems"]
    }
    for r in rows:
        places = [
            (haversine(CHICAGO, (float(loc["Latitude"]), float(loc["Longitude"]))), i, loc)
            for i, loc in enumerate(items[r["control_number"]]["PositionLocation"])
        ]
        best = min(places, key=lambda p: (p[0], p[1]))
        assert r["distance_miles"] == pytest.approx(best[0], rel=1e-9)
        assert r["nearest_location"] == best[2]["LocationName"].strip()
        assert r["position_title"] == items[r["control_number"]]["PositionTitle"]


@requires_fixtures
def test_job_view_pay_label_scale_grade_series_and_summary(
    founding: psycopg.Connection[Any],
) -> None:
    conn = founding
    rows = conn.execute(
        "SELECT control_number, pay_interval_code, pay_interval, pay_min, pay_max, "
        "pay_annual_min, pay_plan, grade, series, series_name, job_summary FROM gold.vw_jobs"
    ).fetchall()
    assert len(rows) == 25
    items = {
        str(i["MatchedObjectId"]): i["MatchedObjectDescriptor"]
        for i in load_payload(CHICAGO_PAGE)["SearchResult"]["SearchResultItems"]
    }
    for cn, code, label, low, high, annual, plan, grade, series, series_name, summary in rows:
        d = items[cn]
        assert (code, label) == ("PA", "Per Year")
        assert all(v is None or v.as_tuple().exponent == -2 for v in (low, high, annual))
        assert plan == ", ".join(sorted({g["Code"] for g in d["JobGrade"]}))
        details = d["UserArea"]["Details"]
        low_g, high_g = details.get("LowGrade"), details.get("HighGrade")
        assert grade == (low_g if high_g in (None, low_g) else f"{low_g}-{high_g}")
        assert series == ", ".join(sorted(c["Code"] for c in d["JobCategory"]))
        assert series_name
        assert summary == details["JobSummary"]
    pay = conn.execute("SELECT pay_min::text FROM gold.vw_jobs WHERE control_number = '825950500'")
    assert (pay.fetchone() or [""])[0].endswith(".00")


@requires_fixtures
def test_map_view_has_one_row_per_job_and_location(
    founding: psycopg.Connection[Any], tmp_path: Path
) -> None:
    conn = founding
    locations = conn.execute("SELECT count(*) FROM job_location").fetchone()
    assert conn.execute("SELECT count(*) FROM gold.vw_job_map").fetchone() == locations
    assert locations is not None and locations[0] == 16_200  # PROVENANCE.md: 16,200 rows
    per_job = conn.execute(
        "SELECT control_number, count(*) FROM gold.vw_job_map GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    assert per_job is not None and per_job[1] == 1176  # an FAA posting
    columns = _columns(conn, "vw_job_map")
    assert {"latitude", "longitude", "location_name", "position_title", "pay_interval"} <= set(
        columns
    )


@requires_fixtures
def test_a_2021_page_that_sent_labels_as_codes_gets_labels(
    migrated_db_url: str, tmp_path: Path
) -> None:
    from tasman_etl.runner.load import collect_files, load_paths

    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        result = load_paths(
            conn, LocalBronzeStore(tmp_path / "b", "bronze/usajobs"), collect_files([PAGE_2021])
        )
        assert not result.failed
        labels = conn.execute(
            "SELECT DISTINCT pay_interval_code, pay_interval FROM gold.vw_jobs"
        ).fetchall()
    # 2021 pages sent "Per Year" as the code and no description: the code is normalised
    # on load, and the label comes back from it
    assert set(labels) == {
        ("PA", "Per Year"),
        ("PH", "Per Hour"),
        ("WC", "Without Compensation"),
    }


CHICAGO_ENVELOPE = FIXTURES / "search_chicago_de_2025-09-03_page1.envelope.json.gz"


def _founding_jobs(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute("SELECT control_number FROM gold.vw_de_jobs_all")}


@requires_fixtures
@pytest.mark.parametrize("how", ["envelope", "payload-with-search", "payload-alone"])
def test_loaded_files_count_for_the_search_they_answered(
    migrated_db_url: str, tmp_path: Path, how: str
) -> None:
    """A bronze envelope names its search (its request parameters); a raw payload is given
    one with `load --keyword/--location/--radius`, or belongs to none."""
    from tasman_etl.runner.load import collect_files, load_paths

    recorded = {
        str(i["MatchedObjectId"])
        for i in load_payload(CHICAGO_PAGE)["SearchResult"]["SearchResultItems"]
    }
    path = CHICAGO_ENVELOPE if how == "envelope" else CHICAGO_PAGE
    scope = FOUNDING if how == "payload-with-search" else None
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        result = load_paths(
            conn,
            LocalBronzeStore(tmp_path / "b", "bronze/usajobs"),
            collect_files([path]),
            scope=scope,
        )
        assert not result.failed, result.summary
        assert result.summary["inserted"] == 25
        found = _founding_jobs(conn)
        scopes = {r[0] for r in conn.execute("SELECT DISTINCT scope_hash FROM job_scope")}
    if how == "payload-alone":
        assert found == set() and scopes == set()
    else:
        assert found == recorded
        assert scopes == {FOUNDING.scope_hash()}


def test_a_query_reads_back_from_its_parameters() -> None:
    for query in (
        FOUNDING,
        SearchQuery(),
        SearchQuery(job_category_codes=("2210", "1550"), organization_codes=("TR",)),
        SearchQuery(keyword="x", date_posted_days=3, extra=(("Fields", "Full"),)),
    ):
        params = {**query.to_params(), "Page": "3", "ResultsPerPage": "500"}
        assert SearchQuery.from_params(params) == query
        assert SearchQuery.from_params(params).scope_hash() == query.scope_hash()
