"""A 50 MB page in bounded memory, and values nested 1,000 deep, with a clear outcome each.

* 50 MB: 500 items with a 100 kB qualification summary each, loaded by the real
  `tasman-etl load` in a subprocess whose peak RSS is read from `wait4`. It loads whole
  (500 rows, text intact) and the process stays far below the bound.
* 1,000 deep: past Python's recursion limit (1,000) the JSON parser gives up. Through `load`
  the file is a failed page whose error says why, and the run exits 1; other files load.
  Over HTTP (`run`) the body is retried as unparseable, then the page fails; values deep
  enough to parse but not to hash or serialise are quarantined with a reason.
* NaN over HTTP (Python's json accepts it): bronze keeps the bytes, the item is quarantined.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from factories import search_page
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.load import load_paths
from tasman_etl.runner.run import RunOptions, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore
from tasman_etl.transform import transform_page

from e2e_helpers import cli_env, last_json

pytestmark = [pytest.mark.integration]

_BASE = list(SimulatorServer(SimulatorConfig(jobs=500, seed=3)).items)
PAGE_MB = 50
RSS_BOUND_MB = 1024  # the bound asserted (GX and pandas included)
DEPTH = 1000


def _deep_text(depth: int) -> str:
    """JSON text of a string nested in `depth` arrays (json.dumps itself cannot write it)."""
    return "[" * depth + '"bottom"' + "]" * depth


def _nested(depth: int, leaf: Any = "bottom") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.slow
def test_50_mb_page_loads_whole_in_bounded_memory(migrated_db_url: str, tmp_path: Path) -> None:
    items = copy.deepcopy(_BASE)
    filler = ("Builds and runs federal data pipelines; documents them. " * 1800)[:100_000]
    for n, item in enumerate(items):
        item["MatchedObjectDescriptor"]["QualificationSummary"] = f"{n:03d} {filler}"
    path = tmp_path / "big.json"
    path.write_text(json.dumps(search_page(items)), encoding="utf-8")
    size_mb = path.stat().st_size / 1e6
    assert size_mb >= PAGE_MB

    env = cli_env({"DB_URL": migrated_db_url, "BRONZE_DIR": str(tmp_path / "bronze")})
    with (tmp_path / "out").open("w") as out, (tmp_path / "err").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tasman_etl", "load", str(path)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024  # kB on Linux
    assert proc.returncode == 0, (tmp_path / "err").read_text()[-2000:]
    summary = last_json((tmp_path / "out").read_text())
    assert (summary["items"], summary["inserted"], summary["quarantined"]) == (500, 500, 0)
    assert peak_mb < RSS_BOUND_MB, f"peak RSS {peak_mb:.0f} MB for a {size_mb:.0f} MB page"
    with psycopg.connect(migrated_db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), min(length(d.qualification_summary)), "
            "sum(octet_length(j.raw_json::text)) "
            "FROM job j JOIN job_details d USING (job_id)"
        ).fetchone()
    assert row is not None
    assert row[0] == 500
    assert row[1] == len(filler) + 4  # every text whole
    assert row[2] >= PAGE_MB * 1e6


def test_1000_deep_value_in_a_loaded_file_fails_that_page_with_a_reason(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, tmp_path: Path
) -> None:
    deep, good = copy.deepcopy(_BASE[:5]), copy.deepcopy(_BASE[5:10])
    deep[2]["MatchedObjectDescriptor"]["UserArea"]["Details"]["Extra"] = "@DEEP@"
    text = json.dumps(search_page(deep)).replace('"@DEEP@"', _deep_text(DEPTH))
    (tmp_path / "a_deep.json").write_text(text)
    (tmp_path / "b_good.json").write_text(json.dumps(search_page(good)))
    result = load_paths(conn, store, [tmp_path / "a_deep.json", tmp_path / "b_good.json"])
    s = result.summary
    assert result.failed  # exit 1
    assert (s["failed_pages"], s["pages"], s["inserted"]) == (1, 1, 5)
    row = conn.execute("SELECT status, error FROM ingest_page WHERE error IS NOT NULL").fetchone()
    assert row is not None
    assert row[0] == "failed"
    assert "a_deep.json" in row[1] and "recursion" in row[1]
    loaded = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
    assert loaded == {i["MatchedObjectId"] for i in good}


def _run_with_item(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, raw_suffix: bytes, victim_page: int
) -> tuple[Any, set[str], str]:
    """Run against the simulator with one item of page `victim_page` given extra JSON."""
    sim = SimulatorServer(SimulatorConfig(jobs=120, seed=8, auth_key="deep-key"))
    truth = sim.matching({})
    victim = truth[(victim_page - 1) * 40 + 7]
    index = sim.universe.index_of(victim)
    original = sim.universe.item_bytes

    def item_bytes(idx: int, *, radial: bool) -> bytes:
        body: bytes = original(idx, radial=radial)
        return body[:-1] + b',"Deep":' + raw_suffix + b"}" if idx == index else body

    sim.universe.item_bytes = item_bytes  # type: ignore[method-assign]
    config = ClientConfig(
        api_base="http://127.0.0.1:1",
        auth_key=SecretStr("deep-key"),
        user_agent="deep@tasman-etl.invalid",
        requests_per_second=1000,
        max_attempts=2,
    )
    with sim:
        config = config.model_copy(update={"api_base": sim.base_url})
        with UsajobsClient(config, sleep=lambda s: None) as client:
            result = execute_run(
                conn,
                store,
                client,
                RunOptions(query=SearchQuery(), results_per_page=40),
                stop=threading.Event(),
            )
    return result, set(truth), victim


def test_1000_deep_value_over_http_fails_the_page_not_the_run(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    result, _, victim = _run_with_item(conn, store, _deep_text(DEPTH).encode(), victim_page=2)
    pages = {
        key: (status, error)
        for key, status, error in conn.execute(
            "SELECT page_key, status, error FROM ingest_page WHERE page = 2"
        ).fetchall()
    }
    quarantined = conn.execute(
        "SELECT count(*) FROM quarantine WHERE control_number = %s", (victim,)
    ).fetchone()
    # 1,000 arrays deep is past the JSON parser's recursion limit, so the whole body cannot be
    # parsed: there is no item to quarantine. The body is retried as unparseable, then page 2
    # is recorded failed with that reason and the run fails (exit 1, resumable) while its other
    # pages load (docs/reliability.md).
    status, error = pages["page=0002"]
    assert status == "failed"
    assert "not valid JSON" in error
    assert quarantined == (0,)
    assert result.summary["status"] == "failed"


def test_nan_over_http_quarantines_the_item_not_the_run(
    conn: psycopg.Connection[Any], store: LocalBronzeStore
) -> None:
    result, _, victim = _run_with_item(conn, store, b"NaN", victim_page=2)
    page = conn.execute("SELECT status, error FROM ingest_page WHERE page = 2").fetchone()
    quarantined = conn.execute(
        "SELECT count(*) FROM quarantine WHERE control_number = %s", (victim,)
    ).fetchone()
    # Python's json parses NaN, so the page is whole and loads; only the item holding it
    # cannot be stored (jsonb has no NaN) and is quarantined, and the run succeeds.
    assert page == ("loaded", None)
    assert quarantined == (1,)
    assert result.summary["status"] == "succeeded"


def test_deep_value_holding_a_nul_is_quarantined() -> None:
    item = copy.deepcopy(_BASE[0])
    item["Extra"] = _nested(600, "a\x00b")
    rows = transform_page([item])
    assert len(rows.quarantine) == 1 and "NUL" in rows.quarantine[0].reason


def test_value_near_the_recursion_limit_is_quarantined() -> None:
    item = copy.deepcopy(_BASE[0])
    item["Extra"] = _nested(980)
    rows = transform_page([item])
    assert rows.items == 1
    # 980 arrays deep parses, but hashing the item recurses past Python's limit: the item is
    # quarantined with that reason, never loaded and never an exception.
    assert rows.jobs == []
    assert len(rows.quarantine) == 1
    assert "nested too deeply" in rows.quarantine[0].reason


def test_moderately_deep_values_load() -> None:
    item = copy.deepcopy(_BASE[0])
    item["Extra"] = _nested(300)
    rows = transform_page([item])
    assert len(rows.jobs) == 1 and not rows.quarantine
