"""The README's example: `load data/sample/`, then `jobs`, on a clone with nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_helpers import CLI, last_json

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_load_the_sample_then_query_it(cli: CLI, db_url: str) -> None:
    env = {"DB_URL": db_url}
    loaded = cli("load", str(SAMPLE_DIR), env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    summary = last_json(loaded.stdout)
    assert summary["status"] == "succeeded"
    assert (summary["pages"], summary["items"]) == (3, 50)
    assert (summary["inserted"], summary["quarantined"]) == (50, 0)

    listed = cli("jobs", "--limit", "100", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    jobs = json.loads(listed.stdout)
    assert len(jobs) == 50
    assert all(job["pay_interval_code"] for job in jobs)

    again = last_json(cli("load", str(SAMPLE_DIR), env=env).stdout)
    assert (again["inserted"], again["updated"]) == (0, 0)
