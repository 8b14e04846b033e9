"""`tasman-etl site`: the job seeker's page, built from the real recorded pages, driven in
headless Chromium over the DevTools protocol (tasman_etl.site.browser).

The recorded postings closed in 2025-2026; the tests reopen them (close dates moved into the
coming weeks) so that the page, which ships open jobs only, has something to list. Every
count the page shows is checked against the gold view or function that states the rule.
The page must not make a single request outside its folder: every request is observed and
any to the network fails the test (and is failed by the browser before it leaves).
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasman_etl.gold import resolve_place
from tasman_etl.site.browser import Chromium, Page, find_chromium

from e2e_helpers import CLI
from realdata import FIXTURES, load_payload, requires_fixtures

pytestmark = [
    pytest.mark.e2e,
    requires_fixtures,
    pytest.mark.skipif(find_chromium() is None, reason="no headless chromium on this machine"),
]

READY = "document.body.dataset.ready === '1'"
ACCENT, MARKER, LAND = (0x1A, 0x44, 0x80), (0xD8, 0x39, 0x33), (0xEE, 0xF1, 0xF4)


def _png(data: bytes) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """Width, height and pixel count per RGB colour of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * bpp
    counts: Counter[tuple[int, int, int]] = Counter()
    prev = bytearray(stride)
    for y in range(height):
        mode = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if mode == 1:
                line[i] = (line[i] + a) & 255
            elif mode == 2:
                line[i] = (line[i] + b) & 255
            elif mode == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif mode == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        counts.update(tuple(line[i : i + 3]) for i in range(0, stride, bpp))  # type: ignore[misc]
        prev = line
    return width, height, counts


def _near(counts: Counter[tuple[int, int, int]], rgb: tuple[int, int, int]) -> int:
    """Pixels within a small distance of ``rgb`` (anti-aliasing shifts colours a little)."""
    return sum(
        n for c, n in counts.items() if sum(abs(x - y) for x, y in zip(c, rgb, strict=True)) <= 24
    )


@pytest.fixture
def loaded(cli: CLI, migrated_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Every recorded page and code list loaded with `tasman-etl load`, the jobs reopened."""
    result = cli("load", str(FIXTURES), env={"DB_URL": migrated_db_url}, timeout=600)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        # closing in 0-39 days, spread by id, so "closing within N days" has work to do
        conn.execute(
            "UPDATE job SET application_close_date = date_trunc('day', now()) "
            "+ make_interval(days => (job_id % 40)::int) + interval '23 hours'"
        )
        assert conn.execute("SELECT count(*) FROM gold.vw_de_jobs_chicago").fetchone() == (25,)
        yield conn


def _count(page: Page) -> int:
    return int(page.evaluate("document.getElementById('count').dataset.count"))


def _apply(page: Page, state: dict[str, Any]) -> int:
    count = page.evaluate(f"TasmanSite.apply({json.dumps(state)})")
    assert count == _count(page)
    return int(count)


def _sql_set(conn: psycopg.Connection[Any], query: str, params: Any = None) -> set[str]:
    return {str(r[0]) for r in conn.execute(query, params).fetchall()}


def test_the_page_lists_what_gold_lists_offline(
    cli: CLI, migrated_db_url: str, loaded: psycopg.Connection[Any], tmp_path: Path
) -> None:
    conn = loaded
    out = tmp_path / "site"
    built = cli("site", str(out), env={"DB_URL": migrated_db_url})
    assert built.returncode == 0, built.stderr[-3000:]
    summary = json.loads(built.stdout.strip().splitlines()[-1])
    open_jobs = conn.execute("SELECT count(*) FROM gold.vw_jobs WHERE is_open").fetchone()
    assert open_jobs is not None and summary["jobs"] == open_jobs[0] > 700
    assert summary["founding_jobs"] == 25

    shots = tmp_path / "screenshots"  # kept under pytest's basetemp, to look at
    shots.mkdir()
    with Chromium() as browser:
        page = browser.open((out / "index.html").as_uri())
        page.wait_for(READY)

        # 1. defaults = the founding search = gold.vw_de_jobs_chicago, same jobs, same order
        view = [
            str(r[0])
            for r in conn.execute("SELECT control_number FROM gold.vw_de_jobs_chicago").fetchall()
        ]
        assert _count(page) == len(view) == 25
        assert page.evaluate("TasmanSite.controlNumbers()") == view
        assert page.evaluate("document.getElementById('f-q').value") == "data engineering"
        assert page.evaluate("document.getElementById('f-near').value") == "Chicago, Illinois"
        listed = page.evaluate(
            "[...document.querySelectorAll('#list button.job')].map(b => b.dataset.cn)"
        )
        assert listed == view

        # 2. a keyword nationwide = websearch_to_tsquery over title + summary, open jobs
        for keyword in ("engineer", "management analyst -supervisory", "nurse or physician"):
            want = _sql_set(
                conn,
                "SELECT v.control_number FROM gold.vw_jobs v JOIN gold.vw_job_search s "
                "USING (job_id) WHERE v.is_open "
                "AND s.search_tsv @@ websearch_to_tsquery('english', %s)",
                (keyword,),
            )
            assert _apply(page, {"q": keyword, "near": "", "r": ""}) == len(want) > 0, keyword
            assert set(page.evaluate("TasmanSite.controlNumbers()")) == want, keyword

        # 3. a place, a radius and a minimum annual pay = gold.jobs_near
        lat, lon = resolve_place(conn, "Washington, District of Columbia")
        want = _sql_set(
            conn,
            "SELECT control_number FROM gold.jobs_near(%s, %s, 25) WHERE is_open "
            "AND coalesce(pay_annual_max, pay_annual_min) >= 100000",
            (lat, lon),
        )
        state = {"q": "", "near": "Washington, District of Columbia", "r": 25, "pay": 100000}
        assert _apply(page, state) == len(want) > 0
        assert set(page.evaluate("TasmanSite.controlNumbers()")) == want

        # 4. telework, one agency, closing within 10 days (the closing day in New York)
        agency = "Federal Aviation Administration"
        want = _sql_set(
            conn,
            "SELECT control_number FROM gold.vw_jobs WHERE is_open AND telework_eligible "
            "AND organization_name = %s AND (application_close_date AT TIME ZONE 'UTC')::date "
            "<= (now() AT TIME ZONE 'America/New_York')::date + 10",
            (agency,),
        )
        state = {"q": "", "near": "", "remote": "telework", "agency": agency, "close": 10}
        assert _apply(page, state) == len(want) > 0
        assert set(page.evaluate("TasmanSite.controlNumbers()")) == want

        # the URL keeps the filters: the same link in a new tab shows the same jobs
        link = page.evaluate("location.href")
        assert "agency=Federal+Aviation+Administration" in link and "close=10" in link
        shared = browser.open(link)
        shared.wait_for(READY)
        assert _count(shared) == len(want)
        assert shared.evaluate("document.getElementById('f-agency').value") == agency

        # 5. a click opens the job's card with its apply link; the keyboard does too
        _apply(page, {})  # back to the founding search
        first = view[0]
        page.click("#list button.job")
        page.wait_for(f"document.getElementById('card').dataset.loaded === '{first}'")
        apply_url = conn.execute(
            "SELECT apply_url FROM gold.vw_de_jobs_chicago WHERE control_number = %s", (first,)
        ).fetchone()
        assert apply_url is not None and apply_url[0].startswith("https://")
        assert (
            page.evaluate("document.getElementById('card-apply').getAttribute('href')")
            == apply_url[0]
        )
        assert page.evaluate("document.getElementById('card').hidden") is False
        title = conn.execute(
            "SELECT position_title FROM gold.vw_jobs WHERE control_number = %s", (first,)
        ).fetchone()
        assert title is not None
        assert page.evaluate("document.getElementById('card-title').textContent") == title[0]
        assert f"job={first}" in page.evaluate("location.hash")
        summary_text = page.evaluate("document.getElementById('card-summary').textContent")
        assert len(summary_text) > 40  # the details file, loaded on demand
        page.press("Escape")
        assert page.evaluate("document.getElementById('card').hidden") is True
        assert page.evaluate("document.activeElement.dataset.cn") == first  # focus returns
        page.evaluate("document.querySelectorAll('#list button.job')[1].focus()")
        page.press("Enter")
        page.wait_for(f"document.getElementById('card').dataset.loaded === '{view[1]}'")

        # 6. a screenshot: the page is drawn (heading, states, job markers), not blank
        page.press("Escape")
        shot = page.screenshot()
        (shots / "site.png").write_bytes(shot)
        width, height, colours = _png(shot)
        assert (width, height) == (1280, 900)
        assert len(colours) > 50, colours.most_common(5)
        assert _near(colours, ACCENT) > 500  # titles, the 50-mile circle
        assert _near(colours, MARKER) > 20  # job markers
        assert _near(colours, LAND) > 20_000  # the states outline's fill

        # 7. readable on a phone: one column, nothing wider than the screen
        phone = browser.open((out / "index.html").as_uri(), width=390, height=844, mobile=True)
        phone.wait_for(READY)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.evaluate(
            "document.getElementById('results').getBoundingClientRect().top >= "
            "document.getElementById('map').getBoundingClientRect().bottom - 1"
        )
        (shots / "phone.png").write_bytes(phone.screenshot())

        # 8. nothing left the machine: every request of every tab was for a file of the site
        for tab in (page, shared, phone):
            assert tab.requests, "no request observed: the guard sees nothing"
            assert [u for u in tab.requests if not u.startswith("file://")] == []
            assert tab.blocked == []
            assert tab.console_errors == []
        assert any(u.endswith("/data/details/0000.js") for u in page.requests)
        # ... and the guard works: a request to the network is seen and failed
        page.evaluate("fetch('https://example.org/x').catch(() => null)")
        assert page.blocked == ["https://example.org/x"]


def test_the_page_stems_words_as_postgresql_does(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    """The page's Porter2 stemmer gives the lexemes of PostgreSQL's english_stem."""
    words: set[str] = set()
    for path in sorted(FIXTURES.glob("search_*.json")):
        for item in load_payload(path)["SearchResult"]["SearchResultItems"]:
            desc = item["MatchedObjectDescriptor"]
            summary = (desc.get("UserArea") or {}).get("Details", {}).get("JobSummary") or ""
            text = f"{desc.get('PositionTitle', '')} {summary}".lower()
            words.update(re.findall(r"\b[a-z]{2,}\b", text))
    assert len(words) > 2000
    out = tmp_path / "site"
    assert cli("site", str(out), env={"DB_URL": migrated_db_url}).returncode == 0
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT w, ts_lexize('english_stem', w) FROM unnest(%s::text[]) AS w",
            (sorted(words),),
        ).fetchall()
    expected = {w: lex[0] for w, lex in rows if lex}  # stop words have no lexeme
    with Chromium() as browser:
        page = browser.open((out / "index.html").as_uri())
        page.wait_for(READY)
        stems = page.evaluate(
            f"Object.fromEntries({json.dumps(sorted(expected))}.map(w => [w, TasmanSite.stem(w)]))"
        )
    wrong = {w: (stems[w], s) for w, s in expected.items() if stems[w] != s}
    assert wrong == {}
