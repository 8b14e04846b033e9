"""A fault that outlasts the retry budget, through the real `tasman-etl run` command.

The simulator answers 503 to every search request after the first. With MAX_ATTEMPTS=3 and
RETRY_BUDGET=4 the run records the 4 remaining pages (200 jobs, 40 a page) as failed, prints
its summary and exits 1; `runs show` lists them with their reason; once the API is healthy,
`run --resume` completes the run (exit 0) and silver is exact. Backoff is capped at 10 ms
(MAX_BACKOFF_S=0.01): the CLI sleeps for real, so the cap keeps the waits negligible.

SIGTERM/SIGKILL mid-run then `--resume`, and two concurrent runs of one search, are covered
by tests/e2e/test_cli_run.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

from e2e_helpers import CLI, cli, last_json

__all__ = ["cli"]

pytestmark = [pytest.mark.fault, pytest.mark.e2e]

KEY = "cli-fault-key-91c2d7"
JOBS = 200


def test_fault_outlasting_the_budget_exits_1_then_resume_completes(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    outage = FaultPlan(by_request={n: "503" for n in range(2, 1000)}, retry_after=None)
    with SimulatorServer(SimulatorConfig(jobs=JOBS, seed=21, auth_key=KEY, faults=outage)) as sim:
        truth = set(sim.matching({}))
        env = {
            "DB_URL": migrated_db_url,
            "USAJOBS_AUTH_KEY": KEY,
            "USAJOBS_USER_AGENT": "faults@tasman-etl.invalid",
            "USAJOBS_API_BASE": sim.base_url,
            "KEYWORD": "",
            "LOCATION_NAME": "",
            "RESULTS_PER_PAGE": "40",
            "REQUESTS_PER_SECOND": "1000",
            "MAX_ATTEMPTS": "3",
            "RETRY_BUDGET": "4",
            "MAX_BACKOFF_S": "0.01",
            "BRONZE_DIR": str(tmp_path / "bronze"),
        }
        first = cli("run", env=env, timeout=120)
        assert first.returncode == 1, first.stderr[-2000:]
        summary = last_json(first.stdout)
        run_id = summary["run_id"]
        assert summary["status"] == "failed"
        assert summary["pages"] == 1
        assert summary["failed_pages"] == 4
        assert summary["retries"] == 4
        assert summary["requests"] == 1 + 3 + 3 + 2  # page 1, two pages x 3 attempts, 2 x 1
        assert summary["complete"] is False
        assert f"--resume {run_id}" in first.stderr

        shown = cli("runs", "show", run_id, "--format", "json", env=env)
        assert shown.returncode == 0, shown.stderr[-2000:]
        pages = json.loads(shown.stdout)["pages"]
        failed = {p["page_key"]: p["error"] for p in pages if p["status"] == "failed"}
        assert len(failed) == 4
        assert "giving up after 3 attempts" in failed["page=0002"]
        assert all(
            "giving up after 3 attempts" in e or "retry budget exhausted" in e
            for e in failed.values()
        )
        assert sum("retry budget exhausted" in e for e in failed.values()) == 2

        sim.faults = FaultPlan()
        resumed = cli("run", "--resume", run_id, env=env, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    done = last_json(resumed.stdout)
    assert done["run_id"] == run_id
    assert done["status"] == "succeeded"
    assert done["complete"] is True
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        jobs = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
        statuses = conn.execute("SELECT DISTINCT status FROM ingest_page").fetchall()
    assert jobs == truth
    assert statuses == [("loaded",)]
