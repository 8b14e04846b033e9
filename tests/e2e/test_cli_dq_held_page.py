"""Issue 4's flow through the CLI: a page failing a page-level expectation is held, shown by
`runs show`, and loads after `replay` with DQ_ENFORCE=false."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from e2e_helpers import CLI, last_json


def _item(cn: str, title: str) -> dict[str, Any]:
    return {
        "MatchedObjectId": cn,
        "MatchedObjectDescriptor": {
            "PositionTitle": title,
            "PositionURI": f"https://www.usajobs.gov:443/job/{cn}",
            "PositionLocation": [
                {"LocationName": "Chicago, Illinois", "Latitude": 41.88, "Longitude": -87.63}
            ],
        },
    }


def test_held_page_is_shown_then_loaded_by_replay_without_enforcement(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    # the same control number twice on one page: the page-level rule holds the whole page
    items = [
        _item("700000001", "Data Engineer"),
        _item("700000002", "Analyst"),
        _item("700000001", "Data Engineer II"),
    ]
    page = tmp_path / "dup.json"
    page.write_text(
        json.dumps({"SearchResult": {"SearchResultCount": 3, "SearchResultItems": items}})
    )
    env = {"DB_URL": migrated_db_url, "BRONZE_DIR": str(tmp_path / "bronze")}

    loaded = cli("load", str(page), env=env)
    assert loaded.returncode == 1
    summary = last_json(loaded.stdout)
    assert summary["held_pages"] == 1
    assert summary["inserted"] == 0
    run_id = summary["run_id"]

    shown = cli("runs", "show", run_id, env=env)
    assert shown.returncode == 0
    line = next(x for x in shown.stdout.splitlines() if x.startswith("page=0001"))
    assert " held " in line
    assert "control_numbers_unique" in line

    strict = cli("replay", "--run-id", run_id, env=env)
    assert strict.returncode == 1  # still held while enforced
    replayed = cli("replay", "--run-id", run_id, env={**env, "DQ_ENFORCE": "false"})
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert last_json(replayed.stdout)["inserted"] == 2

    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        titles = dict(conn.execute("SELECT control_number, position_title FROM job").fetchall())
        status = conn.execute(
            "SELECT status FROM ingest_page WHERE run_id = %s", (run_id,)
        ).fetchone()
    assert titles == {"700000001": "Data Engineer II", "700000002": "Analyst"}  # last wins
    assert status == ("loaded",)  # the replay settled the held page of the source run
