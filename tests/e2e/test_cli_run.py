"""`run` through the real CLI: the demo, SIGKILL/SIGTERM then --resume, concurrent runs."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

from e2e_helpers import CLI, last_json, spawn

KEY = "e2e-key-5d41402abc"
SEARCH = {"Keyword": "data engineering", "LocationName": "Chicago, Illinois", "Radius": "50"}


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is `folder` (the CLI's, and any child it left)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_demo_on_a_fresh_directory(cli: CLI, tmp_path: Path) -> None:
    result = cli("run", "--demo")
    assert result.returncode == 0, result.stderr[-2000:]
    # stdout is the summary alone (the GX worker process writes nothing there) ...
    assert len(result.stdout.strip().splitlines()) == 1, result.stdout[:2000]
    # ... and the worker is gone with the CLI
    assert _processes_in(tmp_path) == []
    summary = last_json(result.stdout)
    assert summary["status"] == "succeeded"
    assert summary["items"] > 0
    assert summary["inserted"] == summary["unique_jobs"] > 0
    assert (tmp_path / ".tasman" / "pgdata").is_dir()
    runs = cli("runs")
    assert runs.returncode == 0
    assert summary["run_id"] in runs.stdout


@pytest.fixture
def slow_sim() -> Iterator[SimulatorServer]:
    """~280 matching jobs; every search request after the first few takes 0.25 s."""
    faults = FaultPlan(by_request={n: "slow" for n in range(3, 400)}, slow_seconds=0.25)
    with SimulatorServer(SimulatorConfig(jobs=2000, seed=42, auth_key=KEY, faults=faults)) as sim:
        yield sim


def _env(db_url: str, sim: SimulatorServer, tmp_path: Path) -> dict[str, str]:
    return {
        "DB_URL": db_url,
        "USAJOBS_AUTH_KEY": KEY,
        "USAJOBS_USER_AGENT": "e2e@example.invalid",
        "USAJOBS_API_BASE": sim.base_url,
        "REQUESTS_PER_SECOND": "200",
        "BRONZE_DIR": str(tmp_path / "bronze"),
    }


def _loaded_pages(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM ingest_page WHERE status = 'loaded'").fetchone()
    return int(row[0]) if row else 0


def _running_runs(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM ingest_run WHERE status = 'running'").fetchone()
    return int(row[0]) if row else 0


def _wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _bronze_pages(tmp_path: Path) -> set[int]:
    return {int(p.name[5:9]) for p in (tmp_path / "bronze").rglob("page=*.json.gz")}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_killed_run_resumes_to_exact_counts_without_refetching(
    slow_sim: SimulatorServer, migrated_db_url: str, tmp_path: Path, cli: CLI, sig: int
) -> None:
    db_url = migrated_db_url
    env = _env(db_url, slow_sim, tmp_path)
    truth = set(slow_sim.matching(SEARCH))
    # 10 per page: ~28 pages, more than the run reads ahead (fetched, in bronze, not loaded)
    proc = spawn("run", "--results-per-page", "10", env=env, cwd=tmp_path)
    try:
        _wait_for(lambda: _loaded_pages(db_url) >= 3)
        proc.send_signal(sig)
        out, _err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    with psycopg.connect(db_url, autocommit=True) as conn:
        run_id, status = conn.execute("SELECT run_id, status FROM ingest_run").fetchone()  # type: ignore[misc]
        loaded = conn.execute("SELECT count(*) FROM job").fetchone()
    assert loaded is not None and 0 < loaded[0] < len(truth)
    if sig == signal.SIGTERM:
        assert proc.returncode == 1
        assert status == "aborted"
        assert last_json(out)["status"] == "aborted"
    else:
        assert proc.returncode == -signal.SIGKILL
        assert status == "running"
    in_bronze = _bronze_pages(tmp_path)
    before = len(slow_sim.requests())

    resumed = cli("run", "--resume", run_id, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = last_json(resumed.stdout)
    assert summary["run_id"] == run_id
    assert summary["complete"] is True
    with psycopg.connect(db_url, autocommit=True) as conn:
        jobs = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
    assert jobs == truth
    pages = [
        int(r.params["Page"])
        for r in slow_sim.requests()[before:]
        if r.path.lower().endswith("/search")
    ]
    # the last request reads page 1 again: the check that no row moved during the sweep
    assert pages[-1] == 1
    asked = set(pages[:-1])
    assert asked, "the resume fetched the pages that were missing"
    assert asked.isdisjoint(in_bronze), f"re-requested pages already in bronze: {asked & in_bronze}"


def test_second_run_of_the_same_search_is_refused_clearly(
    slow_sim: SimulatorServer, migrated_db_url: str, tmp_path: Path, cli: CLI
) -> None:
    db_url = migrated_db_url
    env = _env(db_url, slow_sim, tmp_path)
    first = spawn("run", "--results-per-page", "10", env=env, cwd=tmp_path)
    try:
        _wait_for(lambda: _running_runs(db_url) == 1)
        second = cli("run", "--results-per-page", "10", env=env)
        assert second.returncode == 1
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1
        assert "another run of the same search is in progress" in errors[0]
        out, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0
    assert last_json(out)["complete"] is True
