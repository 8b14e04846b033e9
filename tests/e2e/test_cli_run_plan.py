"""`tasman-etl run --plan` (issue 13): the plan a run would fetch, and nothing written.

Against the built-in simulator (`--demo`, real HTTP): the planning requests are made (page
1, and the split probes of a search over the 10,000-row cap), the partitions and pages are
printed, and no database, bronze object or ledger row comes of it. A real run of the same
search then fetches exactly the pages the plan announced.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from e2e_helpers import CLI, last_json


def _tables(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_plan_prints_pages_and_writes_nothing(cli: CLI, db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"DB_URL": db_url, "TASMAN_HOME": str(home), "BRONZE_DIR": str(tmp_path / "bronze")}
    before = _tables(db_url)
    planned = cli("run", "--plan", "--demo", "--results-per-page", "25", env=env)
    assert planned.returncode == 0, planned.stderr[-2000:]
    lines = planned.stdout.splitlines()
    assert lines[0].startswith("plan (dry run, nothing written): Keyword=data engineering")
    assert "planning made 1 request(s)" in lines[1]
    plan = last_json(planned.stdout)
    assert plan["plan"] is True and plan["written"] is False
    assert plan["planning_requests"] == 1 and len(plan["partitions"]) == 1
    part = plan["partitions"][0]
    assert part["pages"] == -(-part["api_total"] // 25) > 1
    assert part["pages_to_request"] == list(range(2, part["pages"] + 1))
    assert plan["requests_to_fetch"] == part["pages"] - 1
    # nothing written: not a table (no migration either), no bronze, no home folder
    assert _tables(db_url) == before
    assert not (tmp_path / "bronze").exists() and not home.exists()

    # the run it announced fetches exactly those pages
    ran = cli("run", "--demo", "--results-per-page", "25", env=env)
    assert ran.returncode == 0, ran.stderr[-2000:]
    summary = last_json(ran.stdout)
    assert summary["pages"] == plan["pages"]
    assert summary["partitions"][0]["api_total"] == part["api_total"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        runs = conn.execute("SELECT count(*) FROM ingest_run").fetchone()
        pages = conn.execute("SELECT count(*) FROM ingest_page").fetchone()
    assert runs == (1,) and pages == (plan["pages"],)


def test_plan_of_a_search_over_the_cap_lists_its_partitions(
    cli: CLI, db_url: str, tmp_path: Path
) -> None:
    env = {"DB_URL": db_url, "TASMAN_HOME": str(tmp_path / "home")}
    before = _tables(db_url)
    planned = cli(
        "run",
        "--plan",
        "--demo",
        "--demo-jobs",
        "12000",
        "--keyword",
        "",
        "--location",
        "",
        env=env,
    )
    assert planned.returncode == 0, planned.stderr[-2000:]
    plan = json.loads(planned.stdout.splitlines()[-1])
    parts = plan["partitions"]
    assert len(parts) > 1 and all(p["part"] for p in parts)
    assert plan["planning_requests"] > len(parts) >= 2  # page 1 of the search, then the probes
    # a job of two series is in two partitions: the totals cover every job, some twice
    assert sum(p["api_total"] for p in parts) >= 12000
    assert all(p["api_total"] < 10000 and not p["over_cap"] for p in parts)
    assert plan["pages"] == sum(p["pages"] for p in parts)
    assert _tables(db_url) == before
    assert not (tmp_path / "home").exists()
