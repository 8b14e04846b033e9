"""`tasman-etl backfill` end to end: the CLI over real HTTP (the simulator's Historic JOA API),
a real PostgreSQL and a local bronze store, checked against the simulator's truth."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

from e2e_helpers import CLI, last_json, spawn

KEY = "backfill-test-key"
NOW = "2026-06-15T12:00:00Z"


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DB_URL": db_url,
        "TASMAN_HOME": str(tmp_path / "home"),
        "BRONZE_DIR": str(tmp_path / "bronze"),
        "REQUESTS_PER_SECOND": "1000",
        "LOG_LEVEL": "info",
    }


def _sim(**changes: Any) -> SimulatorServer:
    config = {"jobs": 60, "seed": 7, "auth_key": KEY, "now": NOW, "historic_page_size": 200}
    config.update(changes)
    return SimulatorServer(SimulatorConfig(**config))


def _ten_years(sim: SimulatorServer) -> tuple[str, str]:
    today = sim.universe.today
    return (today - timedelta(days=3653 + 31)).isoformat(), today.isoformat()


def _stored(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT control_number, raw_json FROM job_historic").fetchall()
    return {cn: raw for cn, raw in rows}


def _truth(sim: SimulatorServer, start: str, end: str) -> dict[str, Any]:
    records = sim.historic_records({"StartPositionOpenDate": start, "EndPositionOpenDate": end})
    out: dict[str, Any] = {}
    for r in records:
        cn = str(r.get("usajobsControlNumber") or r.get("USAJOBSControlNumber"))
        assert cn not in out, f"the simulator served {cn} twice"
        out[cn] = r
    return out


def _assert_exact(db_url: str, truth: dict[str, Any]) -> None:
    stored = _stored(db_url)
    assert set(stored) == set(truth), (
        f"missing {len(set(truth) - set(stored))}, extra {len(set(stored) - set(truth))}"
    )
    differ = [cn for cn, raw in truth.items() if stored[cn] != raw]
    assert not differ, f"{len(differ)} records differ from the simulator's, e.g. {differ[:3]}"
    with psycopg.connect(db_url) as conn:
        jobs, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT control_number) FROM job"
        ).fetchone() or (0, 0)
        versions = conn.execute("SELECT count(*) FROM job_version").fetchone()
    assert jobs == distinct == len(truth)
    assert versions == (len(truth),)  # each posting written once: one version


def test_ten_year_backfill_of_50000_postings_loads_each_exactly_once(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    with _sim(historic_jobs=50_000, historic_page_size=1000) as sim:
        start, end = _ten_years(sim)
        truth = _truth(sim, start, end)
        result = cli(
            "backfill",
            "--from",
            start,
            "--to",
            end,
            "--api-base",
            sim.base_url,
            "--workers",
            "2",
            env=_env(migrated_db_url, tmp_path),
            timeout=900,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = last_json(result.stdout)
    assert summary["status"] == "succeeded"
    assert summary["window_status"] == {"complete": summary["windows"]}
    assert summary["windows"] >= 120  # ten years and a month, by month
    assert summary["unique_jobs"] == len(truth) >= 50_000
    assert summary["expected_rows"] == len(truth)
    _assert_exact(migrated_db_url, truth)
    with psycopg.connect(migrated_db_url) as conn:
        sources = dict(conn.execute("SELECT source, count(*) FROM job GROUP BY 1").fetchall())
        closed = conn.execute(
            "SELECT count(*) FROM job WHERE inactive_since IS NOT NULL"
        ).fetchone()
        complete = conn.execute(
            "SELECT complete, status FROM ingest_run WHERE run_id = %s", (summary["run_id"],)
        ).fetchone()
    assert sources == {"historic": len(truth)}
    assert closed is not None and closed[0] >= 50_000  # the closed postings are inactive
    assert complete == (True, "succeeded")


def _wait_for_workers_to_stop(db_url: str) -> None:
    """Until no process holds a window's lock: its workers stop on their parent's death."""
    deadline = time.monotonic() + 60
    with psycopg.connect(db_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            ).fetchone()
            if row == (0,):
                return
            assert time.monotonic() < deadline, "a worker still holds a window after 60 s"
            time.sleep(0.1)


def _loaded_pages(db_url: str, run_id: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ingest_page WHERE run_id = %s AND status = 'loaded'", (run_id,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_sigkill_mid_backfill_then_resume_ends_exact(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    slow = FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=0.04)
    with _sim(historic_jobs=6_000, faults=slow) as sim:
        start, end = _ten_years(sim)
        truth = _truth(sim, start, end)
        env = _env(migrated_db_url, tmp_path)
        proc = spawn(
            "backfill",
            "--from",
            start,
            "--to",
            end,
            "--api-base",
            sim.base_url,
            "--workers",
            "2",
            "--run-id",
            "bf-killed",
            env=env,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 120
        while _loaded_pages(migrated_db_url, "bf-killed") < 8:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no page loaded in time"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _wait_for_workers_to_stop(migrated_db_url)
        partial = _stored(migrated_db_url)
        assert 0 < len(partial) < len(truth)
        resumed = cli(
            "backfill",
            "--resume",
            "bf-killed",
            "--api-base",
            sim.base_url,
            env=env,
            timeout=600,
        )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = last_json(resumed.stdout)
    assert summary["run_id"] == "bf-killed"
    assert summary["status"] == "succeeded"
    assert summary["unique_jobs"] == len(truth)
    _assert_exact(migrated_db_url, truth)


def test_a_window_that_falls_short_is_reported_not_complete(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    with _sim(historic_jobs=4_000, historic_shortfall_months=("2019-03",)) as sim:
        served = sim.historic_records(
            {"StartPositionOpenDate": "2019-03-01", "EndPositionOpenDate": "2019-03-31"},
            as_served=True,
        )
        full = sim.historic_count(
            {"StartPositionOpenDate": "2019-03-01", "EndPositionOpenDate": "2019-03-31"}
        )
        result = cli(
            "backfill",
            "--from",
            "2019-01-01",
            "--to",
            "2019-06-30",
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-short",
            env=_env(migrated_db_url, tmp_path),
        )
    assert len(served) < full
    assert result.returncode == 1, result.stderr[-2000:]
    summary = last_json(result.stdout)
    assert summary["status"] == "failed"
    assert summary["window_status"] == {"complete": 5, "short": 1}
    assert summary["under_collection"] == [
        {"window": "2019-03", "status": "short", "expected": full, "rows": len(served)}
    ]
    assert '"event": "backfill_window_short"' in result.stderr
    with psycopg.connect(migrated_db_url) as conn:
        row = conn.execute(
            "SELECT status, error FROM ingest_partition WHERE run_id = 'bf-short' "
            "AND part = 'historic.2019-03'"
        ).fetchone()
        complete = conn.execute(
            "SELECT complete FROM ingest_run WHERE run_id = 'bf-short'"
        ).fetchone()
    assert row is not None and row[0] == "short"
    assert f"{len(served)} of {full}" in row[1]
    assert complete == (False,)


def _search_env(db_url: str, tmp_path: Path, sim: SimulatorServer) -> dict[str, str]:
    return {
        **_env(db_url, tmp_path),
        "USAJOBS_AUTH_KEY": KEY,
        "USAJOBS_USER_AGENT": "backfill-test@example.invalid",
        "USAJOBS_API_BASE": sim.base_url,
        "KEYWORD": "",
        "LOCATION_NAME": "",
    }


@pytest.mark.parametrize("search_first", [True, False], ids=["search-first", "history-first"])
def test_a_posting_in_both_apis_is_one_job_with_both_raw_items(
    cli: CLI, migrated_db_url: str, tmp_path: Path, search_first: bool
) -> None:
    with _sim(historic_jobs=300) as sim:
        start, end = _ten_years(sim)
        env = _search_env(migrated_db_url, tmp_path, sim)
        search = ("run",)
        history = ("backfill", "--from", start, "--to", end, "--api-base", sim.base_url)
        for args in (search, history) if search_first else (history, search):
            done = cli(*args, env=env)
            assert done.returncode == 0, (args, done.stderr[-2000:])
        open_cns = set(sim.control_numbers())
        items = {cn: sim.item(cn) for cn in open_cns}
        truth = _truth(sim, start, end)
    both = open_cns & set(truth)
    assert len(both) >= 50
    with psycopg.connect(migrated_db_url) as conn:
        rows = conn.execute(
            "SELECT j.control_number, j.source, j.raw_json, h.raw_json, j.inactive_since "
            "FROM job j LEFT JOIN job_historic h USING (control_number) "
            "WHERE j.control_number = ANY(%s)",
            (sorted(both),),
        ).fetchall()
        counts = conn.execute("SELECT count(*), count(DISTINCT control_number) FROM job").fetchone()
    assert counts == (len(open_cns | set(truth)),) * 2
    assert len(rows) == len(both)
    for cn, source, raw, historic_raw, inactive in rows:
        assert source == "search", cn  # the Search API's record wins (ADR 0028)
        assert raw == items[cn], cn
        assert historic_raw == truth[cn], cn
        assert inactive is None, cn  # open in both


def test_plan_then_one_task_per_window_then_finish(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    env = _env(migrated_db_url, tmp_path)
    plan_file = tmp_path / "plan.json"
    with _sim(historic_jobs=2_000) as sim:
        planned = cli(
            "backfill",
            "--from",
            "2020-01-15",
            "--to",
            "2020-06-30",
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-units",
            "--plan",
            "--json",
            "--plan-out",
            str(plan_file),
            env=env,
        )
        assert planned.returncode == 0, planned.stderr[-2000:]
        plan = json.loads(planned.stdout)
        assert plan["run_id"] == "bf-units"
        ids = [w["id"] for w in plan["windows"]]
        assert ids == [
            "2020-01-15_2020-01-31",
            "2020-02",
            "2020-03",
            "2020-04",
            "2020-05",
            "2020-06",
        ]
        assert json.loads(plan_file.read_text()) == plan["windows"]
        assert _stored(migrated_db_url) == {}  # planning reads no window

        outputs = []
        for window_id in reversed(ids):  # any order, any process
            done = cli(
                "backfill",
                "--run-id",
                "bf-units",
                "--window",
                window_id,
                "--api-base",
                sim.base_url,
                env=env,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            outputs.append(json.loads(done.stdout))
        again = cli(
            "backfill",
            "--run-id",
            "bf-units",
            "--window",
            ids[0],
            "--api-base",
            sim.base_url,
            env=env,
        )
        finished = cli("backfill", "--run-id", "bf-units", "--finish", env=env)
        truth = _truth(sim, "2020-01-15", "2020-06-30")
    assert [o["window"] for o in outputs] == list(reversed(ids))
    assert all(o["status"] == "complete" for o in outputs)
    assert sum(o["rows"] for o in outputs) == len(truth)
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "complete"
    assert finished.returncode == 0, finished.stderr[-2000:]
    summary = last_json(finished.stdout)
    assert summary["status"] == "succeeded" and summary["unique_jobs"] == len(truth)
    _assert_exact(migrated_db_url, truth)


def test_concurrent_backfills_writing_the_same_postings_neither_deadlock_nor_lose_rows(
    migrated_db_url: str, tmp_path: Path
) -> None:
    with _sim(historic_jobs=5_000, historic_page_size=100) as sim:
        start, end = _ten_years(sim)
        truth = _truth(sim, start, end)
        procs = [
            spawn(
                "backfill",
                "--from",
                start,
                "--to",
                end,
                "--api-base",
                sim.base_url,
                "--workers",
                "2",
                "--run-id",
                f"bf-twin-{i}",
                env=_env(migrated_db_url, tmp_path / f"p{i}"),
                cwd=tmp_path,
            )
            for i in range(2)
        ]
        outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "deadlock" not in err.lower()
        assert last_json(out)["status"] == "succeeded"
    _assert_exact(migrated_db_url, truth)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("backfill",), "--from and --to are required"),
        (("backfill", "--from", "2020-02-01", "--to", "2020-01-01"), "before --from"),
        (("backfill", "--from", "2020-13-01", "--to", "2021-01-01"), "--from must be YYYY-MM-DD"),
        (("backfill", "--window", "2020-01"), "need --run-id"),
        (("backfill", "--run-id", "x", "--window", "2020-01", "--finish"), "only one of"),
        (("backfill", "--from", "2020-01-01", "--to", "2020-02-01", "--json"), "go with --plan"),
        (("backfill", "--run-id", "a b", "--finish"), "run id must match"),
        (("backfill", "--run-id", "r", "--window", "2020-1"), "not a window id"),
        (("backfill", "--resume", "../x"), "run id must match"),
        (("run", "--demo", "--run-id", "a/b"), "run id must match"),
        (("load", "--run-id", "a b", "x.json"), "run id must match"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    cli: CLI, migrated_db_url: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args, env=_env(migrated_db_url, tmp_path))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg.connect(migrated_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM ingest_run").fetchone() == (0,)
    assert not (tmp_path / "bronze").exists()


def test_a_window_of_an_unknown_run_is_a_usage_error(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    result = cli(
        "backfill",
        "--run-id",
        "nope",
        "--window",
        "2020-01",
        "--api-base",
        "http://127.0.0.1:9",
        env=_env(migrated_db_url, tmp_path),
    )
    assert result.returncode == 2
    assert "no run 'nope'" in result.stderr


def test_plan_dates_cover_the_range(cli: CLI, migrated_db_url: str, tmp_path: Path) -> None:
    with _sim(historic_jobs=500) as sim:
        planned = cli(
            "backfill",
            "--from",
            "2018-02-10",
            "--to",
            "2018-05-03",
            "--plan",
            "--json",
            "--api-base",
            sim.base_url,
            env=_env(migrated_db_url, tmp_path),
        )
    windows = json.loads(planned.stdout)["windows"]
    days = [(date.fromisoformat(w["from"]), date.fromisoformat(w["to"])) for w in windows]
    assert days[0][0] == date(2018, 2, 10) and days[-1][1] == date(2018, 5, 3)
    for (_, end), (nxt, _) in itertools.pairwise(days):
        assert nxt == end + timedelta(days=1)


def test_pages_are_in_bronze_under_a_historic_part(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    with _sim(historic_jobs=400) as sim:
        done = cli(
            "backfill",
            "--from",
            "2021-01-01",
            "--to",
            "2021-12-31",
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-bronze",
            "--texts",
            env=_env(migrated_db_url, tmp_path),
        )
    assert done.returncode == 0, done.stderr[-2000:]
    keys = sorted(
        p.relative_to(tmp_path / "bronze").as_posix()
        for p in (tmp_path / "bronze").rglob("*.json.gz")
    )
    records = [k for k in keys if "/run=bf-bronze/part=historic.2021-" in k]
    texts = [k for k in keys if "/run=bf-bronze/part=historic-text.2021-" in k]
    assert records and texts and len(records) + len(texts) == len(keys)
    with psycopg.connect(migrated_db_url) as conn:
        before = conn.execute(
            "SELECT count(*), max(xmin::text::bigint) FROM job_historic_text"
        ).fetchone()
    replayed = cli("replay", "--run-id", "bf-bronze", env=_env(migrated_db_url, tmp_path))
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    summary = last_json(replayed.stdout)
    assert summary["pages"] == len(keys)
    # same records and texts: nothing rewritten
    assert summary["inserted"] == summary["updated"] == 0
    assert summary["unique_jobs"] > 0
    with psycopg.connect(migrated_db_url) as conn:
        after = conn.execute(
            "SELECT count(*), max(xmin::text::bigint) FROM job_historic_text"
        ).fetchone()
    assert before is not None and before[0] > 0
    assert after == before


def test_windows_without_rows_answered_as_text_are_complete_and_kept(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    import gzip

    with _sim(historic_jobs=200) as sim:
        done = cli(
            "backfill",
            "--from",
            "2001-01-01",
            "--to",
            "2001-02-28",
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-empty",
            env=_env(migrated_db_url, tmp_path),
        )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = last_json(done.stdout)
    assert summary["window_status"] == {"complete": 2}
    assert summary["items"] == 0 and summary["pages"] == 2
    objects = sorted((tmp_path / "bronze").rglob("*.json.gz"))
    assert len(objects) == 2
    for path in objects:
        envelope = json.loads(gzip.decompress(path.read_bytes()))
        assert envelope["response"]["payload"] == {
            "paging": {"metadata": {"totalCount": 0}},
            "data": [],
        }
        assert "204 No Content" in envelope["ingest"]["notes"]


# ---- --texts: AnnouncementText pages for the same windows --------------------------------


def _texts_truth(sim: SimulatorServer, start: str, end: str) -> dict[str, Any]:
    params = {"StartPositionOpenDate": start, "EndPositionOpenDate": end}
    return {str(t["usajobsControlNumber"]): t for t in sim.historic_texts(params)}


def _stored_texts(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT control_number, raw_json FROM job_historic_text").fetchall()
    return {cn: raw for cn, raw in rows}


def _assert_texts_exact(db_url: str, truth: dict[str, Any]) -> None:
    stored = _stored_texts(db_url)
    assert set(stored) == set(truth), (
        f"missing {len(set(truth) - set(stored))}, extra {len(set(stored) - set(truth))}"
    )
    differ = [cn for cn, raw in truth.items() if stored[cn] != raw]
    assert not differ, f"{len(differ)} texts differ from the simulator's, e.g. {differ[:3]}"


def _details(db_url: str, cns: list[str]) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT j.control_number, d.xmin::text, d.qualification_summary, d.education,"
            " d.requirements, d.evaluations, d.how_to_apply, d.what_to_expect_next,"
            " d.required_documents, d.other_information, d.major_duties"
            " FROM job j JOIN job_details d USING (job_id) WHERE j.control_number = ANY(%s)",
            (cns,),
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_backfill_with_texts_keeps_each_text_and_fills_only_history_only_details(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    with _sim(historic_jobs=300) as sim:
        start, end = _ten_years(sim)
        env = _search_env(migrated_db_url, tmp_path, sim)
        searched = cli("run", env=env)
        assert searched.returncode == 0, searched.stderr[-2000:]
        open_cns = sorted(sim.control_numbers())
        before = _details(migrated_db_url, open_cns)
        done = cli(
            "backfill",
            "--from",
            start,
            "--to",
            end,
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-texts",
            "--texts",
            env=env,
        )
        truth = _truth(sim, start, end)
        texts = _texts_truth(sim, start, end)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = last_json(done.stdout)
    assert summary["status"] == "succeeded"
    assert summary["texts"] == summary["expected_texts"] == len(texts) == len(truth)
    assert summary["quarantined"] == 0
    _assert_texts_exact(migrated_db_url, texts)
    assert _details(migrated_db_url, open_cns) == before  # search wins: not even rewritten
    only = sorted(set(truth) - set(open_cns))
    assert len(only) >= 250
    for cn, row in _details(migrated_db_url, only).items():
        t = texts[cn]
        assert row[1:] == (
            t["requirementsQualifications"],
            t["requirementsEducation"],
            t["requirementsConditionsOfEmployment"],
            t["evaluations"],
            t["howToApply"],
            t["whatToExpectNext"],
            t["requiredDocuments"],
            t["otherInformation"],
            [d for d in t["duties"].split("\n") if d.strip()],
        ), cn
    keys = [p.as_posix() for p in (tmp_path / "bronze").rglob("*.json.gz")]
    text_keys = [k for k in keys if "/run=bf-texts/part=historic-text." in k]
    assert text_keys and all(k.endswith(".json.gz") for k in text_keys)
    with psycopg.connect(migrated_db_url) as conn:
        parts = conn.execute(
            "SELECT count(*) FILTER (WHERE part LIKE 'historic-text.%%'),"
            " count(*) FILTER (WHERE part LIKE 'historic.%%'), array_agg(DISTINCT status)"
            " FROM ingest_partition WHERE run_id = 'bf-texts'"
        ).fetchone()
    assert parts is not None and parts[0] == parts[1] == summary["windows"]
    assert parts[2] == ["complete"]


def test_sigkill_mid_backfill_with_texts_then_resume_ends_exact(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    slow = FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=0.04)
    with _sim(historic_jobs=3_000, faults=slow) as sim:
        start, end = _ten_years(sim)
        truth = _truth(sim, start, end)
        texts = _texts_truth(sim, start, end)
        env = _env(migrated_db_url, tmp_path)
        proc = spawn(
            "backfill",
            "--from",
            start,
            "--to",
            end,
            "--api-base",
            sim.base_url,
            "--workers",
            "2",
            "--texts",
            "--run-id",
            "bf-killed-texts",
            env=env,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 120
        while _loaded_pages(migrated_db_url, "bf-killed-texts") < 12:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no page loaded in time"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _wait_for_workers_to_stop(migrated_db_url)
        assert 0 < len(_stored_texts(migrated_db_url)) < len(texts)
        resumed = cli(
            "backfill",
            "--resume",
            "bf-killed-texts",
            "--api-base",
            sim.base_url,
            "--workers",
            "2",
            env=env,
            timeout=600,
        )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = last_json(resumed.stdout)
    assert summary["status"] == "succeeded"
    assert summary["texts"] == summary["expected_texts"] == len(texts)
    _assert_exact(migrated_db_url, truth)
    _assert_texts_exact(migrated_db_url, texts)


def test_a_plan_with_texts_makes_each_window_unit_read_its_texts(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    env = _env(migrated_db_url, tmp_path)
    with _sim(historic_jobs=1_000) as sim:
        planned = cli(
            "backfill",
            "--from",
            "2020-01-01",
            "--to",
            "2020-03-31",
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-unit-texts",
            "--plan",
            "--json",
            "--texts",
            env=env,
        )
        assert planned.returncode == 0, planned.stderr[-2000:]
        plan = json.loads(planned.stdout)
        assert plan["texts"] is True
        outputs = []
        for window in plan["windows"]:
            done = cli(
                "backfill",
                "--run-id",
                "bf-unit-texts",
                "--window",
                window["id"],
                "--api-base",
                sim.base_url,
                env=env,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            outputs.append(json.loads(done.stdout))
        refused = cli(
            "backfill", "--run-id", "bf-unit-texts", "--window", "2020-01", "--texts", env=env
        )
        finished = cli("backfill", "--run-id", "bf-unit-texts", "--finish", env=env)
        truth = _truth(sim, "2020-01-01", "2020-03-31")
        texts = _texts_truth(sim, "2020-01-01", "2020-03-31")
    assert [o["status"] for o in outputs] == ["complete"] * 3
    assert sum(o["texts"]["rows"] for o in outputs) == len(texts) == len(truth) > 0
    assert all(o["texts"]["status"] == "complete" for o in outputs)
    assert refused.returncode == 2 and "--texts is chosen when" in refused.stderr
    assert finished.returncode == 0, finished.stderr[-2000:]
    summary = last_json(finished.stdout)
    assert summary["status"] == "succeeded" and summary["texts"] == len(texts)
    _assert_exact(migrated_db_url, truth)
    _assert_texts_exact(migrated_db_url, texts)


def test_a_page_served_twice_never_makes_a_short_window_look_complete(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    # The API repeats a continuation token (a page comes twice) and leaves rows out: the
    # rows are counted by distinct control number, so the window is still short.
    months = ("2019-03",)
    with _sim(
        historic_jobs=4_000, historic_shortfall_months=months, historic_repeat_token=True
    ) as sim:
        params = {"StartPositionOpenDate": "2019-03-01", "EndPositionOpenDate": "2019-03-31"}
        served = sim.historic_records(params, as_served=True)
        full = sim.historic_count(params)
        env = _env(migrated_db_url, tmp_path)
        result = cli(
            "backfill",
            "--from",
            "2019-03-01",
            "--to",
            "2019-04-30",
            "--api-base",
            sim.base_url,
            "--run-id",
            "bf-twice",
            env=env,
        )
        assert result.returncode == 1, result.stderr[-2000:]
        summary = last_json(result.stdout)
        assert summary["window_status"] == {"complete": 1, "short": 1}
        assert summary["under_collection"] == [
            {"window": "2019-03", "status": "short", "expected": full, "rows": len(served)}
        ]
        # One window again, as an orchestrator retries it: read from its first page, still
        # short (exit 1, not a usage error), nothing loaded twice.
        again = cli(
            "backfill",
            "--run-id",
            "bf-twice",
            "--window",
            "2019-03",
            "--api-base",
            sim.base_url,
            env=env,
        )
    assert again.returncode == 1, again.stderr[-2000:]
    out = json.loads(again.stdout)
    assert (out["window"], out["status"], out["rows"], out["expected"]) == (
        "2019-03",
        "short",
        len(served),
        full,
    )
    with psycopg.connect(migrated_db_url) as conn:
        cns = conn.execute(
            "SELECT count(*), count(DISTINCT control_number) FROM job_historic"
        ).fetchone()
    assert cns is not None and cns[0] == cns[1]


def test_the_runs_filters_apply_in_every_process(
    cli: CLI, migrated_db_url: str, tmp_path: Path
) -> None:
    with _sim(historic_jobs=3_000) as sim:
        start, end = _ten_years(sim)
        everything = _truth(sim, start, end)
        agency = str(next(iter(everything.values()))["hiringAgencyCode"])
        wanted = {
            str(r["usajobsControlNumber"])
            for r in sim.historic_records(
                {
                    "StartPositionOpenDate": start,
                    "EndPositionOpenDate": end,
                    "HiringAgencyCodes": agency,
                }
            )
        }
        env = _env(migrated_db_url, tmp_path)
        done = cli(
            "backfill",
            "--from",
            start,
            "--to",
            end,
            "--agency",
            agency,
            "--workers",
            "3",
            "--api-base",
            sim.base_url,
            env=env,
        )
        refused = cli("backfill", "--resume", "x", "--agency", agency, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 0 < len(wanted) < len(everything)
    assert set(_stored(migrated_db_url)) == wanted
    assert refused.returncode == 2 and "chosen when a backfill is planned" in refused.stderr
