"""`tasman-etl jobs` as a person reads it (issue 13), over the real recorded fixtures.

"showing N of M" when --limit stops the list (--limit 0: all), titles cut with an
ellipsis, the location column naming the location nearest the point asked (with its
distance in the miles column), pay with its interval's label.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from e2e_helpers import CLI, last_json
from realdata import FIXTURES, SEARCH_FILES, load_payload, requires_fixtures

CHICAGO = (41.8781, -87.6298)


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 3958.8 * math.asin(min(1.0, math.sqrt(h)))


def _nearest() -> dict[str, tuple[float, str]]:
    """control number -> (distance, name) of its location nearest CHICAGO (first on ties)."""
    out: dict[str, tuple[float, str]] = {}
    for path in SEARCH_FILES:
        for item in load_payload(path)["SearchResult"]["SearchResultItems"]:
            best: tuple[float, str] | None = None
            for loc in item["MatchedObjectDescriptor"].get("PositionLocation") or []:
                if loc.get("Latitude") in (None, "") or loc.get("Longitude") in (None, ""):
                    continue
                d = haversine(CHICAGO, (float(loc["Latitude"]), float(loc["Longitude"])))
                if best is None or d < best[0]:
                    best = (d, loc["LocationName"].strip())
            if best is not None:
                out[str(item["MatchedObjectId"]).strip()] = best
    return out


@requires_fixtures
def test_jobs_table_reads_well_over_the_real_fixtures(cli: CLI, db_url: str) -> None:
    env = {"DB_URL": db_url}
    loaded = cli("load", str(FIXTURES), env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert last_json(loaded.stdout)["inserted"] == 794
    nearest = _nearest()
    within = {cn for cn, (d, _) in nearest.items() if d <= 50}
    point = ["--lat", str(CHICAGO[0]), "--lon", str(CHICAGO[1])]

    table = cli("jobs", *point, "--limit", "5", env=env)
    assert table.returncode == 0, table.stderr[-2000:]
    lines = table.stdout.splitlines()
    assert lines[-1] == f"showing 5 of {len(within)} jobs (--limit 0 shows all)"
    rows = lines[1:-1]
    assert len(rows) == 5
    header = lines[0]
    loc_at, miles_end = header.index("location (nearest)"), header.index("miles") + len("miles")
    for row in rows:
        cn = row.split()[1]
        distance, name = nearest[cn]
        shown_place = row[loc_at : loc_at + 32].strip()
        assert shown_place.startswith(name[:31].rstrip("\u2026")) or shown_place.startswith(
            name[:31]
        ), (shown_place, name)
        assert float(row[miles_end - 6 : miles_end]) == pytest.approx(distance, abs=0.05)
        assert re.search(r"\d Per (Year|Hour)$", row), row

    # titles longer than the column end in an ellipsis, never cut mid-word silently
    everything = cli("jobs", "--limit", "0", env=env)
    assert everything.returncode == 0, everything.stderr[-2000:]
    all_rows = everything.stdout.splitlines()[1:]
    assert len(all_rows) == 794  # --limit 0 = all: no "showing" line
    title_at = everything.stdout.splitlines()[0].index("title")
    titles = [r[title_at : title_at + 40] for r in all_rows]
    assert any(t.endswith("\u2026") for t in titles)
    assert all(len(t) == 40 for t in titles)
    assert "PA" not in {r.split()[-1] for r in all_rows}

    # JSON and CSV stay data only on stdout; the note goes to stderr
    as_json = cli("jobs", *point, "--limit", "2", "--format", "json", env=env)
    assert as_json.returncode == 0
    got = json.loads(as_json.stdout)
    assert len(got) == 2
    assert f"showing 2 of {len(within)} jobs" in as_json.stderr
    for r in got:
        assert r["nearest_location"] == nearest[r["control_number"]][1]
        assert r["pay_interval"] in ("Per Year", "Per Hour")
    every = cli("jobs", *point, "--limit", "0", "--format", "json", env=env)
    assert {r["control_number"] for r in json.loads(every.stdout)} == within
    assert "showing" not in every.stderr
