"""The "no successful run" alarm counts scheduled pulls only (issue 17, item 2).

Every command that loads data logs a `run_summary` event; the CloudWatch metric filter
RunsSucceeded (infra/terraform/monitoring.tf) must match the one of a complete `run` and
not those of `load` and `replay`, which an operator runs by hand and which fetch nothing new.
The filter pattern is read from the Terraform file and evaluated on the real log events.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import hcl2
import psycopg
from pydantic import SecretStr
from structlog.testing import capture_logs

from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.load import load_paths
from tasman_etl.runner.replay import replay
from tasman_etl.runner.run import RunOptions, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore

REPO = Path(__file__).resolve().parents[2]
KEY = "sim-key-metric-7d2a"


def _pattern() -> str:
    with (REPO / "infra" / "terraform" / "monitoring.tf").open(encoding="utf-8") as fh:
        parsed = hcl2.load(fh)
    for block in parsed.get("locals", []):
        if "log_metrics" in block:
            pattern = str(block["log_metrics"]["run_succeeded"]["pattern"])
            return pattern[1:-1].replace('\\"', '"') if pattern.startswith('"') else pattern
    raise AssertionError("no run_succeeded metric in monitoring.tf")


def _matches(pattern: str, event: dict[str, Any]) -> bool:
    """CloudWatch JSON filter semantics for the clauses the pattern uses: `&&` of
    `$.field = "text"`, `$.field = number` and `$.field IS TRUE`."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    for clause in body[1:-1].split("&&"):
        clause = clause.strip()
        if m := re.fullmatch(r'\$\.(\w+) = "([^"]*)"', clause):
            ok = event.get(m.group(1)) == m.group(2)
        elif m := re.fullmatch(r"\$\.(\w+) = (-?\d+)", clause):
            ok = event.get(m.group(1)) == int(m.group(2))
        elif m := re.fullmatch(r"\$\.(\w+) IS TRUE", clause):
            ok = event.get(m.group(1)) is True
        else:
            raise AssertionError(f"clause the test does not model: {clause}")
        if not ok:
            return False
    return True


def test_only_a_complete_run_counts_as_a_success(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    pattern = _pattern()
    query = SearchQuery(keyword="data engineering", location_name="Chicago, Illinois")
    config_for = lambda base: ClientConfig(  # noqa: E731
        api_base=base,
        auth_key=SecretStr(KEY),
        user_agent="tests@tasman-etl.invalid",
        requests_per_second=1000,
        timeout_s=5,
    )
    with capture_logs() as logs:
        with (
            SimulatorServer(SimulatorConfig(jobs=120, seed=3, auth_key=KEY)) as sim,
            UsajobsClient(config_for(sim.base_url)) as client,
        ):
            ran = execute_run(
                conn, store, client, RunOptions(query=query, results_per_page=50),
                stop=threading.Event(),
            )  # fmt: skip
        replayed = replay(conn, store, run_id=ran.run_id)
        loaded = load_paths(conn, store, [REPO / "data" / "sample" / "search-page-1.json"])
    assert not ran.failed and not replayed.failed and not loaded.failed
    summaries = [e for e in logs if e.get("event") == "run_summary"]
    by_command = {e["command"]: e for e in summaries}
    assert set(by_command) == {"run", "replay", "load"}
    assert all(e["status"] == "succeeded" for e in summaries)  # all three "succeeded" ...
    assert _matches(pattern, by_command["run"])  # ... but only the pull counts
    assert not _matches(pattern, by_command["replay"])
    assert not _matches(pattern, by_command["load"])
    # the log field does not leak into the summary (the stdout contract and the ledger)
    assert "command" not in ran.summary


def test_an_incomplete_run_does_not_count() -> None:
    pattern = _pattern()
    event = {"event": "run_summary", "command": "run", "status": "succeeded", "complete": False}
    assert not _matches(pattern, event)
    assert _matches(pattern, {**event, "complete": True})
    assert not _matches(pattern, {**event, "complete": True, "status": "failed"})
