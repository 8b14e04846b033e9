"""Issue 11 item 4 through the real CLI: one SIGTERM ends a run stuck in a trickled fetch.

Page 2 trickles at 1 byte/s (`tests/hostile_http.py`); HTTP_TIMEOUT_S=2 never fires and the
request deadline is set far away (HTTP_DEADLINE_S=600), so only the signal can end the
fetch. Before: the first SIGTERM set the stop flag and the run kept reading for hours. Now
the client polls the stop event between reads: exit 1, run `aborted`, then `--resume`
completes against a healthy API, exact.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psycopg
import pytest

from hostile_http import HostileServer
from tasman_etl.simulator import SimulatorConfig, SimulatorServer

from e2e_helpers import CLI, cli, last_json, spawn

__all__ = ["cli"]

pytestmark = [pytest.mark.fault, pytest.mark.e2e]

KEY = "stuck-fetch-key-2b7e"


@pytest.mark.timeout(120)
def test_one_sigterm_ends_a_run_stuck_in_a_trickle(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    with SimulatorServer(SimulatorConfig(jobs=200, seed=3, auth_key=KEY)) as sim:
        env = {
            "DB_URL": migrated_db_url,
            "USAJOBS_AUTH_KEY": KEY,
            "USAJOBS_USER_AGENT": "stuck@tasman-etl.invalid",
            "KEYWORD": "",
            "LOCATION_NAME": "",
            "RESULTS_PER_PAGE": "40",
            "REQUESTS_PER_SECOND": "1000",
            "HTTP_TIMEOUT_S": "2",
            "HTTP_DEADLINE_S": "600",
            "BRONZE_DIR": str(tmp_path / "bronze"),
        }
        with HostileServer(sim.base_url, {2: ["trickle"]}) as hostile:
            proc = spawn("run", env={**env, "USAJOBS_API_BASE": hostile.base_url}, cwd=tmp_path)
            try:
                assert hostile.started.wait(60), "the trickle never started"
                time.sleep(1.0)  # a byte or two into the body
                signalled = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                out, err = proc.communicate(timeout=30)
                took = time.monotonic() - signalled
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        print(f"SIGTERM to exit: {took:.2f} s")
        assert proc.returncode == 1, err[-2000:]
        summary = last_json(out)
        assert summary["status"] == "aborted"
        run_id = summary["run_id"]
        with psycopg.connect(migrated_db_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT status, error FROM ingest_run WHERE run_id = %s", (run_id,)
            ).fetchone()
        assert row is not None and row[0] == "aborted"
        assert f"--resume {run_id}" in row[1]

        resumed = cli(
            "run", "--resume", run_id, env={**env, "USAJOBS_API_BASE": sim.base_url}, timeout=120
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        done = last_json(resumed.stdout)
        assert done["status"] == "succeeded" and done["complete"] is True
        with psycopg.connect(migrated_db_url, autocommit=True) as conn:
            jobs = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
        assert jobs == set(sim.matching({}))
