"""Issue 12 item 3 through the CLI: a control number seen twice on a page is one row (the last
copy wins), counted in ``duplicates`` and reported as a data-quality warning; it never holds
the page. The ledger keeps the rule's result with ``"gating": false``."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from factories import OMIT, search_item, search_page

from e2e_helpers import CLI, last_json


def test_a_duplicated_control_number_loads_the_last_copy_and_warns(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    # 19 items, 700000004 twice: 18 jobs
    items = [
        search_item(str(700000000 + i), port=True, PositionTitle=f"Data Engineer {i}")
        for i in range(18)
    ]
    items.insert(12, search_item("700000004", port=True, PositionTitle="Data Engineer 4, reposted"))
    page = tmp_path / "dup.json"
    page.write_text(json.dumps(search_page(items, count=19, count_all=OMIT)))
    env = {"DB_URL": migrated_db_url, "BRONZE_DIR": str(tmp_path / "bronze")}

    loaded = cli("load", str(page), env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    summary = last_json(loaded.stdout)
    assert (summary["held_pages"], summary["inserted"], summary["duplicates"]) == (0, 18, 1)
    warnings = [
        event
        for event in map(json.loads, filter(str.strip, loaded.stderr.splitlines()))
        if event.get("event") == "dq_expectation_failed"
    ]
    assert [(w["expectation"], w["action"]) for w in warnings] == [
        ("control_numbers_unique", "warn")
    ]
    run_id = summary["run_id"]

    shown = cli("runs", "show", run_id, env=env)
    assert shown.returncode == 0
    line = next(x for x in shown.stdout.splitlines() if x.startswith("page=0001"))
    assert " loaded " in line

    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        titles = dict(conn.execute("SELECT control_number, position_title FROM job").fetchall())
        status, duplicates, dq = conn.execute(
            "SELECT status, duplicates, dq FROM ingest_page WHERE run_id = %s", (run_id,)
        ).fetchone() or (None, None, None)
    assert len(titles) == 18
    assert titles["700000004"] == "Data Engineer 4, reposted"  # last wins
    assert (status, duplicates) == ("loaded", 1)
    unique = next(r for r in dq["results"] if r["expectation"] == "control_numbers_unique")
    assert unique == {
        "expectation": "control_numbers_unique",
        "success": False,
        "unexpected_count": 2,
        "level": "page",
        "gating": False,
    }

    # replay gives the same: the page loads (unchanged), still last wins
    replayed = cli("replay", "--run-id", run_id, env=env)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert last_json(replayed.stdout)["held_pages"] == 0
