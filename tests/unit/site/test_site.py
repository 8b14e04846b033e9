"""The site writer (tasman_etl.site.build) on hand-made data: files, shapes, folder safety."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tasman_etl.errors import ConfigError
from tasman_etl.site import DETAILS_PER_FILE, FOUNDING, SiteData, write_site
from tasman_etl.site.data import Job, Place


def _job(n: int, places: list[int]) -> Job:
    return Job(
        control_number=f"9{n:08d}",
        title=f"Data Engineer {n}",
        agency="Agency A" if n % 2 else "Agency B",
        department="Department D",
        pay_min=25.43,
        pay_max=30.0,
        pay_interval="Per Hour",
        pay_annual_min=53072.41,
        pay_annual_max=62610.0,
        grade="12-13",
        published="2026-01-02",
        closes="2026-02-03",
        remote=n % 3 == 0,
        telework=True,
        apply_url=f"https://www.usajobs.gov/job/9{n:08d}",
        places=places,
        details={"summary": f"Summary {n}", "pay_plan": "GS"},
    )


def _data(jobs: int = DETAILS_PER_FILE + 1) -> SiteData:
    places = [Place("Chicago, Illinois", 41.88, -87.63), Place("Anywhere in the U.S.", None, None)]
    return SiteData(
        jobs=[_job(n, [0, 1] if n == 0 else [0]) for n in range(jobs)],
        places=places,
        lexemes={"engin": [0, 5, 40, 41], "data": list(range(jobs))},
        founding_jobs=[0, 5],
        keyword_jobs=[0, 5, 7],
        built_at=datetime(2026, 1, 5, 12, tzinfo=UTC),
    )


def _global(path: Path, name: str) -> Any:
    text = path.read_text(encoding="utf-8")
    prefix = f"window.{name}="
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix) : -2])


def test_writes_the_page_its_assets_and_the_data_as_scripts(tmp_path: Path) -> None:
    result = write_site(_data(), tmp_path / "site")
    site = tmp_path / "site"
    assert result.jobs == DETAILS_PER_FILE + 1 and result.details_files == 2
    for name in ("index.html", "assets/app.js", "assets/site.css", "data/jobs.js"):
        assert (site / name).is_file(), name
    doc = _global(site / "data" / "jobs.js", "TASMAN_JOBS")
    assert doc["defaults"] == {
        "q": FOUNDING.keyword,
        "near": "Chicago, Illinois",
        "lat": 41.8781,
        "lon": -87.6298,
        "r": 50.0,
    }
    assert doc["searched"] == {"data engineering": [0, 5, 7]}
    assert doc["tiles"] is None  # no network unless asked
    first = doc["jobs"][0]
    assert first[0] == "900000000" and first[13] == [0, 1] and first[3] == 25.43
    assert doc["places"][1] == ["Anywhere in the U.S.", None, None]
    assert doc["agencies"] == [["Agency B", "Department D"], ["Agency A", "Department D"]]
    # the word index: base-36 deltas that add up to the job indexes
    words = _global(site / "data" / "words.js", "TASMAN_WORDS")
    at, decoded = 0, []
    for part in words["engin"].split(","):
        at += int(part, 36)
        decoded.append(at)
    assert decoded == [0, 5, 40, 41]
    # details: DETAILS_PER_FILE jobs a file, keyed by control number, loaded on demand
    shard = (site / "data" / "details" / "0001.js").read_text(encoding="utf-8")
    assert shard.startswith("(window.TASMAN_DETAILS=window.TASMAN_DETAILS||{})[1]=")
    assert f'"9{DETAILS_PER_FILE:08d}":{{"summary":"Summary {DETAILS_PER_FILE}"' in shard


def test_every_asset_is_local_and_every_library_has_its_licence(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(_data(3), site)
    html = (site / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(not re.match(r"^[a-z]+:", r) or r == "#" for r in refs if r != "#")
    assert all((site / r).is_file() for r in refs if not r.startswith("#")), refs
    for path in (site / "assets").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        if path.name == "app.js":
            assert "http://" not in text and "https://" not in text
    vendor = site / "assets" / "vendor"
    for folder in ("leaflet-1.9.4", "leaflet.markercluster-1.5.3", "porter2-1.1.0"):
        assert (vendor / folder / "LICENSE").is_file(), folder
    assert (vendor / "us-states" / "LICENSE.us-atlas").is_file()
    assert "window.porter2 = {}" in (vendor / "porter2-1.1.0" / "porter2.js").read_text()
    states = (vendor / "us-states" / "us-states.js").read_text(encoding="utf-8")
    names = re.findall(r'"name":"([^"]+)"', states)
    assert "Illinois" in names and len(names) == 56


def test_a_rebuild_replaces_a_site_but_never_a_folder_of_something_else(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(_data(), site)
    assert (site / "data" / "details" / "0001.js").is_file()
    write_site(_data(3), site)  # fewer jobs: the old details file goes
    assert not (site / "data" / "details" / "0001.js").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        write_site(_data(3), other)
    assert (other / "keep.txt").read_text() == "mine"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        write_site(_data(3), a_file)


def test_tiles_are_written_only_when_asked(tmp_path: Path) -> None:
    write_site(
        _data(2),
        tmp_path / "s",
        tiles="https://t.example/{z}/{x}/{y}.png",
        tiles_attribution="(c) T",
    )
    doc = _global(tmp_path / "s" / "data" / "jobs.js", "TASMAN_JOBS")
    assert doc["tiles"] == {"url": "https://t.example/{z}/{x}/{y}.png", "attribution": "(c) T"}
