"""`tasman-etl jobs` and `tasman-etl dq` through the real CLI, over the real fixtures.

Also the gate inside the page loader (PageIngestor) on a real database: what the `dq`
suite decides is what silver and the ledger get.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import math
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
import pytest

from factories import DENVER, OMIT, search_item, search_page
from tasman_etl.dq import build_gate
from tasman_etl.dq.gx.offline import remote_assets
from tasman_etl.dq.outcome import PageGate
from tasman_etl.gold import JOB_FIELDS
from tasman_etl.runner.engine import Done
from tasman_etl.runner.lifecycle import Run
from tasman_etl.runner.pages import Package, make_record, page_key
from tasman_etl.storage.bronze import LocalBronzeStore

from e2e_helpers import CLI, last_json
from realdata import FIXTURES, SEARCH_FILES, load_payload, requires_fixtures

R_MILES = 3958.8
CHICAGO_PAGE = FIXTURES / "search_chicago_de_2025-09-03_page1.json"
TRIMMED_PAGE = FIXTURES / "search_2024-06_it_specialist_portland_trimmed.json"


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_MILES * math.asin(min(1.0, math.sqrt(h)))


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fixture_jobs() -> dict[str, dict[str, Any]]:
    """control number -> publication date and coordinates, straight from the JSON."""
    jobs: dict[str, dict[str, Any]] = {}
    for path in SEARCH_FILES:
        for item in load_payload(path)["SearchResult"]["SearchResultItems"]:
            d = item["MatchedObjectDescriptor"]
            points = [
                (float(loc["Latitude"]), float(loc["Longitude"]))
                for loc in d.get("PositionLocation") or []
                if loc.get("Latitude") not in (None, "") and loc.get("Longitude") not in (None, "")
            ]
            jobs[str(item["MatchedObjectId"]).strip()] = {
                "posted": _when(d.get("PublicationStartDate")),
                "points": points,
                "names": [loc.get("LocationName") for loc in d.get("PositionLocation") or []],
            }
    return jobs


def _place(jobs: dict[str, dict[str, Any]], name: str) -> tuple[float, float]:
    """The documented rule: the average of the distinct coordinates of locations so named."""
    found = set()
    for path in SEARCH_FILES:
        for item in load_payload(path)["SearchResult"]["SearchResultItems"]:
            for loc in item["MatchedObjectDescriptor"].get("PositionLocation") or []:
                if (loc.get("LocationName") or "").strip().lower() == name.lower():
                    found.add((float(loc["Latitude"]), float(loc["Longitude"])))
    assert found, name
    return (
        sum(p[0] for p in found) / len(found),
        sum(p[1] for p in found) / len(found),
    )


@requires_fixtures
def test_jobs_near_chicago_over_the_real_fixtures(cli: CLI, db_url: str) -> None:
    env = {"DB_URL": db_url}
    loaded = cli("load", str(FIXTURES), env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert last_json(loaded.stdout)["inserted"] == 794

    jobs = _fixture_jobs()
    assert len(jobs) == 794
    point = _place(jobs, "Chicago, Illinois")
    # The loaded "Chicago, Illinois" point is USAJOBS' own, ~0.5 mi from the view centroid.
    assert point == pytest.approx((41.88415, -87.63241))
    nearest = {
        cn: min(haversine(point, p) for p in j["points"]) for cn, j in jobs.items() if j["points"]
    }
    # no job sits within floating-point noise of the 50-mile edge
    assert all(abs(d - 50) > 1e-6 for d in nearest.values())
    within = [cn for cn, d in nearest.items() if d <= 50]
    expected = sorted(
        within,
        key=lambda cn: (
            jobs[cn]["posted"] is None,
            -(jobs[cn]["posted"].timestamp() if jobs[cn]["posted"] else 0),
            cn,
        ),
    )
    assert 10 < len(expected) < 794

    result = cli(
        "jobs",
        "--near",
        "Chicago, Illinois",
        "--radius",
        "50",
        "--format",
        "json",
        "--limit",
        "5000",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    got = json.loads(result.stdout)
    assert [r["control_number"] for r in got] == expected
    assert all(list(r) == list(JOB_FIELDS) for r in got)
    for r in got:
        assert r["distance_miles"] == pytest.approx(nearest[r["control_number"]], rel=1e-9)
        assert len(r["locations"]) == len(jobs[r["control_number"]]["names"])
    # multi-location jobs (FAA: 1,176 locations) come back once each
    assert max(len(r["locations"]) for r in got) > 1
    assert len({r["control_number"] for r in got}) == len(got)

    as_csv = cli(
        "jobs",
        "--lat",
        str(point[0]),
        "--lon",
        str(point[1]),
        "--format",
        "csv",
        "--limit",
        "5000",
        env=env,
    )
    assert as_csv.returncode == 0, as_csv.stderr[-2000:]
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["control_number"] for r in table] == expected
    assert list(table[0]) == list(JOB_FIELDS)

    shown = cli("jobs", "--near", "chicago, illinois", "--limit", "3", env=env)
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("posted") and len(lines) == 5
    assert expected[0] in lines[1]
    assert lines[-1] == f"showing 3 of {len(expected)} jobs (--limit 0 shows all)"

    # every recorded posting closed long ago
    still_open = cli(
        "jobs", "--near", "Chicago, Illinois", "--open-only", "--format", "json", env=env
    )
    assert still_open.returncode == 0 and json.loads(still_open.stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--near", "Atlantis, Nowhere"), "unknown place 'Atlantis, Nowhere'"),
        (("--near", "Chicago, Illinois", "--lat", "41"), "either --near or --lat/--lon"),
        (("--lat", "41"), "both --lat and --lon"),
        (("--radius", "10"), "--radius needs --near or --lat/--lon"),
        (("--format", "xml"), "--format must be table, json or csv"),
    ],
)
def test_jobs_usage_errors_exit_2(
    cli: CLI, db_url: str, args: tuple[str, ...], message: str
) -> None:
    result = cli("jobs", *args, env={"DB_URL": db_url})
    assert result.returncode == 2, (result.stdout, result.stderr[-1000:])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert result.stdout == ""


def test_jobs_without_a_point_lists_newest_jobs(cli: CLI, db_url: str, tmp_path: Path) -> None:
    def item(cn: str, posted: str) -> dict[str, Any]:
        return search_item(
            cn,
            PublicationStartDate=posted,
            PositionRemuneration=[{"MinimumRange": "95000", "MaximumRange": "120000.50"}],
            PositionLocation=[DENVER],
        )

    page = search_page(
        [item("1", "2024-01-01"), item("2", "2025-01-01")], count=OMIT, count_all=OMIT
    )
    (tmp_path / "page.json").write_text(json.dumps(page))
    env = {"DB_URL": db_url}
    assert cli("load", str(tmp_path / "page.json"), env=env).returncode == 0
    result = cli("jobs", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)
    assert [(r["control_number"], r["distance_miles"]) for r in rows] == [("2", None), ("1", None)]
    assert (rows[0]["pay_min"], rows[0]["pay_max"]) == (95000, 120000.5)
    assert rows[0]["publication_start_date"].startswith("2025-01-01")


# ------------------------------------------------------------------ dq


@requires_fixtures
def test_dq_passes_a_clean_envelope_and_fails_the_trimmed_page_with_data_docs(
    cli: CLI, tmp_path: Path
) -> None:
    ok = cli("dq", str(FIXTURES / "search_chicago_de_2025-09-03_page1.envelope.json.gz"))
    assert ok.returncode == 0, ok.stderr[-2000:]
    report = json.loads(ok.stdout)
    assert report["success"] is True and report["failed_expectations"] == []
    assert report["items"] == report["jobs"] == 25
    assert {r["expectation"] for r in report["results"]} >= {
        "position_uri_is_http_url",
        "control_numbers_unique",
        "item_count_matches_search_result_count",
    }
    assert all(r["success"] for r in report["results"])

    docs = tmp_path / "docs"
    bad = cli("dq", str(TRIMMED_PAGE), "--docs", str(docs))
    assert bad.returncode == 1, bad.stderr[-2000:]
    report = json.loads(bad.stdout)
    assert report["failed_expectations"] == ["item_count_matches_search_result_count"]
    assert report["held"] is True
    index = docs / "index.html"
    assert report["docs"] == str(index.resolve())
    html = index.read_text(encoding="utf-8")
    assert "tasman_jobs" in html and "tasman_page" in html
    # pages are linked from the index's table data (inside scripts), so match paths
    local = set(re.findall(r"[\"'](?:\./)?((?:expectations|validations|static)/[\w./%-]+)", html))
    assert "expectations/tasman_jobs.html" in local
    validations = {p for p in local if p.startswith("validations/") and p.endswith(".html")}
    suites = {v.split("/")[1] for v in validations}
    assert suites == {"tasman_jobs", "tasman_page", "tasman_page_counts"}
    missing = [p for p in local if not (docs / unquote(p)).is_file()]
    assert missing == []  # every local page and asset index.html refers to exists
    # offline: no page loads a script, stylesheet or image from the network
    for page in docs.rglob("*.html"):
        if "vendor" not in page.parts:
            assert remote_assets(page.read_text(encoding="utf-8")) == [], page
    assert not any("__none__" in str(page) for page in docs.rglob("*"))
    counts = docs / "validations" / "tasman_page_counts"
    page_text = " ".join(re.sub(r"<[^>]+>", " ", next(counts.rglob("*.html")).read_text()).split())
    # the failed item-count expectation: 2 items, SearchResultCount 25
    assert "Values in items and search_result_count must always be equal" in page_text
    assert "Unsuccessful Expectations 1" in page_text


@requires_fixtures
def test_dq_rejects_what_is_not_a_search_page_with_exit_2(cli: CLI, tmp_path: Path) -> None:
    codelist = cli("dq", str(FIXTURES / "codelist_payplans.json"))
    assert codelist.returncode == 2 and "codelist" in codelist.stderr
    (tmp_path / "x.json").write_text("[1, 2]")
    not_page = cli("dq", str(tmp_path / "x.json"))
    assert not_page.returncode == 2 and "not a search response" in not_page.stderr
    missing = cli("dq", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and missing.stdout == ""


# Headless, and no traffic off this machine: every host name resolves to nothing (Chromium
# phones home at start-up without these flags; the Data Docs must not need the network).
OFFLINE_CHROMIUM = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--virtual-time-budget=5000",  # let the page's scripts draw the tables
)
# Bootstrap 4's colours: table borders, body text, the success and failure icons/text. A page
# without its CSS, icon font and scripts (what a CDN-only site shows offline) has none of them.
BORDER, TEXT, SUCCESS, DANGER = "dee2e6", "212529", "28a745", "dc3545"


def _png_colours(data: bytes) -> Counter[str]:
    """Pixel count per RGB colour (hex) of an 8-bit, non-interlaced RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * bpp
    counts: Counter[str] = Counter()
    prev = bytearray(stride)
    for y in range(height):
        kind_of_filter = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind_of_filter == 1:
                line[i] = (line[i] + a) & 255
            elif kind_of_filter == 2:
                line[i] = (line[i] + b) & 255
            elif kind_of_filter == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind_of_filter == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        counts.update(bytes(line[i : i + 3]).hex() for i in range(0, stride, bpp))
        prev = line
    return counts


def _rendered_text(dom: str) -> str:
    """The text a person reads: the DOM Chromium rendered, without scripts, styles and tags."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@requires_fixtures
@pytest.mark.skipif(
    not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    reason="no headless chromium on this machine",
)
def test_data_docs_render_offline_in_headless_chromium(cli: CLI, tmp_path: Path) -> None:
    """Data Docs open from disk with no network: the tables are drawn, styled and readable."""
    browser = next(
        b for b in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if b
    )
    docs = tmp_path / "docs"
    assert cli("dq", str(TRIMMED_PAGE), "--docs", str(docs)).returncode == 1
    pages = sorted(p for p in docs.rglob("*.html") if "vendor" not in p.parts)
    for page in pages:  # nothing left to fetch from a CDN
        assert remote_assets(page.read_text(encoding="utf-8")) == [], page
    assert "__none__" not in " ".join(str(p) for p in pages)
    failed = next((docs / "validations" / "tasman_page_counts").rglob("*.html"))
    run_name = failed.relative_to(docs).parts[2]
    assert re.fullmatch(r"dq-\d{8}T\d{6}Z\.search_2024-06_it_specialist_portland_trimmed", run_name)

    shots = tmp_path / "screenshots"  # kept by pytest under its basetemp, to look at
    shots.mkdir()
    seen: dict[str, tuple[str, Counter[str]]] = {}
    for name, page in (("index", docs / "index.html"), ("failed_validation", failed)):
        shot = shots / f"{name}.png"
        for mode in ("--dump-dom", f"--screenshot={shot}"):
            result = subprocess.run(
                [browser, *OFFLINE_CHROMIUM, mode, page.as_uri()],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            if mode == "--dump-dom":
                dom = result.stdout
        seen[name] = (_rendered_text(dom), _png_colours(shot.read_bytes()))

    index_text, index_pixels = seen["index"]
    # the validation table, drawn by bootstrap-table from the page's data: one row per suite
    assert "Showing 1 to 3 of 3 rows" in index_text, index_text[:3000]
    assert index_text.count(run_name) == 3
    for suite in ("tasman_jobs", "tasman_page", "tasman_page_counts"):
        assert suite in index_text
    # styled (Bootstrap), with the pass/fail icons (Font Awesome): two passed, one failed
    assert index_pixels[BORDER] > 2000 and index_pixels[TEXT] > 1000, index_pixels.most_common(8)
    assert index_pixels[SUCCESS] > 100 and index_pixels[DANGER] > 10

    failed_text, failed_pixels = seen["failed_validation"]
    for words in (
        f"Validations / tasman_page_counts / {run_name}",
        "Evaluated Expectations 1 Successful Expectations 0 Unsuccessful Expectations 1",
        "Values in items and search_result_count must always be equal.",
        "1 unexpected values found.",
    ):
        assert words in failed_text, failed_text[:3000]
    assert failed_pixels[BORDER] > 2000 and failed_pixels[DANGER] > 200


# ------------------------------------------------------------------ the gate in the loader


@requires_fixtures
def test_gate_in_the_loader_quarantines_rows_and_holds_pages(
    migrated_db_url: str, tmp_path: Path
) -> None:
    store = LocalBronzeStore(tmp_path / "bronze", "bronze/usajobs")
    payload = load_payload(FIXTURES / "search_2016-05_keyword_rpp500_page1.json")
    bad = payload["SearchResult"]["SearchResultItems"][123]
    bad["MatchedObjectDescriptor"]["PositionURI"] = "ftp://example.org/job"
    trimmed = load_payload(TRIMMED_PAGE)

    seen = datetime(2025, 9, 3, tzinfo=UTC)

    def load(run: Run, gate: PageGate, page: int, body: dict[str, Any]) -> None:
        """One page through the stages (parse, gate) and the owner's load, as `load` does."""
        stages = run.stages(store, date(2025, 9, 3), gate, note_captures=False)
        pkg = Package(make_record("r1", page_key(page), page, source=f"p{page}"), seen)
        pkg.payload = body
        run.finish(Done(pkg, stages.prepare(pkg), None))

    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        with Run(conn, "r1", command="load") as run:
            load(run, build_gate(enforce=True, known_rate_codes=()), 1, payload)
            assert run.summary("x")["inserted"] == 499
            assert run.summary("x")["quarantined"] == 1
            load(run, build_gate(enforce=True, known_rate_codes=()), 2, trimmed)
            assert run.summary("x")["inserted"] == 499
        quarantine = conn.execute(
            "SELECT item_index, control_number, reason, raw_json FROM quarantine"
        ).fetchall()
        assert [(q[0], q[1], q[2]) for q in quarantine] == [
            (123, str(bad["MatchedObjectId"]).strip(), "dq:position_uri_is_http_url")
        ]
        assert quarantine[0][3] == bad
        pages = conn.execute(
            "SELECT page, status, error, dq FROM ingest_page ORDER BY page"
        ).fetchall()
        assert [(p[0], p[1]) for p in pages] == [(1, "loaded"), (2, "held")]
        assert "item_count_matches_search_result_count" in pages[1][2]
        stored = {r["expectation"]: r for r in pages[0][3]["results"]}
        assert stored["position_uri_is_http_url"]["unexpected_count"] == 1
        assert not pages[1][3]["results"][-1]["success"]
        assert conn.execute("SELECT count(*) FROM job").fetchone() == (499,)

        with Run(conn, "r1", command="load") as run:
            load(run, build_gate(enforce=False, known_rate_codes=()), 2, trimmed)
        assert conn.execute("SELECT status FROM ingest_page WHERE page = 2").fetchone() == (
            "loaded",
        )
        assert conn.execute("SELECT count(*) FROM job").fetchone() == (501,)
