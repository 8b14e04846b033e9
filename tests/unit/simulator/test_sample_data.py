"""data/sample/ is what the simulator makes from the sample config: regenerated, not edited."""

from __future__ import annotations

import json
from pathlib import Path

from tasman_etl.simulator.sample import SAMPLE_CONFIG, sample_files, write_sample

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "data" / "sample"


def test_sample_on_disk_is_the_simulators_output_byte_for_byte() -> None:
    expected = sample_files()
    on_disk = {p.name: p.read_bytes() for p in SAMPLE_DIR.glob("*.json")}
    assert sorted(on_disk) == sorted(expected)
    changed = sorted(name for name, body in expected.items() if on_disk[name] != body)
    assert not changed, f"{changed} differ from the simulator's output: run `make sample`"


def test_sample_is_three_pages_of_fifty_jobs_and_a_codelist() -> None:
    files = sample_files()
    pages = [json.loads(files[f"search-page-{n}.json"]) for n in (1, 2, 3)]
    counts = [p["SearchResult"]["SearchResultCount"] for p in pages]
    assert counts == [20, 20, 10]
    assert {p["SearchResult"]["SearchResultCountAll"] for p in pages} == {SAMPLE_CONFIG.jobs}
    ids = [i["MatchedObjectId"] for p in pages for i in p["SearchResult"]["SearchResultItems"]]
    assert len(ids) == len(set(ids)) == 50
    codelist = json.loads(files["codelist-remunerationrateintervalcodes.json"])
    assert codelist["CodeList"][0]["ValidValue"]
    assert all(body.endswith(b"}\n") for body in files.values())  # one final newline


def test_write_sample_is_deterministic_and_replaces_a_larger_sample(tmp_path: Path) -> None:
    (tmp_path / "search-page-9.json").write_text("{}")
    first = {p.name: p.read_bytes() for p in write_sample(tmp_path)}
    second = {p.name: p.read_bytes() for p in write_sample(tmp_path)}
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(first)
