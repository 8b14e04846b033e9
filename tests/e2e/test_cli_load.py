"""The README's promises about `load`, `runs`, `migrate` and exit codes, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from factories import DENVER, OMIT, search_item, search_page

from e2e_helpers import CLI, last_json
from realdata import FIXTURES, requires_fixtures


@requires_fixtures
def test_load_fixtures_with_db_url_then_again(cli: CLI, db_url: str) -> None:
    env = {"DB_URL": db_url}
    first = cli("load", str(FIXTURES), env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    summary = last_json(first.stdout)
    assert summary["status"] == "succeeded"
    assert (summary["inserted"], summary["quarantined"]) == (794, 0)
    assert set(summary) >= {
        "run_id",
        "status",
        "pages",
        "items",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "duplicates",
        "duration_s",
    }
    # stdout carries only the summary; logs are JSON lines on stderr
    assert len([line for line in first.stdout.splitlines() if line.strip()]) == 1
    assert all(json.loads(line)["level"] for line in first.stderr.splitlines() if line.strip())

    second = last_json(cli("load", str(FIXTURES), env=env).stdout)
    assert (second["inserted"], second["updated"]) == (0, 0)

    runs = cli("runs", env=env)
    assert runs.returncode == 0
    assert summary["run_id"] in runs.stdout and second["run_id"] in runs.stdout
    assert runs.stdout.index(second["run_id"]) < runs.stdout.index(summary["run_id"])
    shown = cli("runs", "show", summary["run_id"], env=env)
    assert shown.returncode == 0 and "page=0006" in shown.stdout


def test_load_with_embedded_postgres(cli: CLI, tmp_path: Path) -> None:
    item = search_item("900000001", port=True, PositionLocation=[DENVER])
    page = search_page([item], count=OMIT, count_all=OMIT)
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(page))
    result = cli("load", str(sample), env={"TASMAN_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert last_json(result.stdout)["inserted"] == 1
    assert (tmp_path / "home" / "pgdata").is_dir()
    assert list((tmp_path / "home" / "bronze").rglob("page=0001.json.gz"))
    status = cli("migrate", "--status", env={"TASMAN_HOME": str(tmp_path / "home")})
    assert status.returncode == 0 and "001_init.sql" in status.stdout and "applied" in status.stdout


def test_broken_file_is_named_and_exit_code_is_1(cli: CLI, db_url: str, tmp_path: Path) -> None:
    good = tmp_path / "in" / "good.json"
    good.parent.mkdir()
    good.write_text(json.dumps({"SearchResult": {"SearchResultItems": []}}))
    (tmp_path / "in" / "broken.json").write_text("{not json")
    result = cli("load", str(tmp_path / "in"), env={"DB_URL": db_url})
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.json" in errors[0] and "not valid JSON" in errors[0]
    assert last_json(result.stdout)["failed_pages"] == 1


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("load", "does-not-exist"), {}, "no such file or folder"),
        (("runs",), {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        (("runs",), {"DB_URL": "mysql://x"}, "DB_URL"),
        (("run",), {"RADIUS_MILES": "far"}, "RADIUS_MILES"),
        (("run",), {}, "USAJOBS_AUTH_KEY"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(
    cli: CLI, args: tuple[str, ...], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = cli(*args, env={"TASMAN_HOME": str(tmp_path / "home"), **env})
    assert result.returncode == 2, (result.stdout, result.stderr[-1000:])
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "home" / "pgdata").exists()  # nothing written


def test_db_password_is_masked_in_errors(cli: CLI, tmp_path: Path) -> None:
    url = "postgresql://etl:s3cr3t-pw-123@127.0.0.1:1/etl?connect_timeout=2"
    result = cli("runs", env={"DB_URL": url})
    assert result.returncode == 1
    assert "s3cr3t-pw-123" not in result.stderr + result.stdout
    assert "***" in result.stderr


@requires_fixtures
def test_load_records_the_search_its_files_answered(cli: CLI, db_url: str) -> None:
    """`load PAGE --keyword … --location … --radius …`: the jobs count for that search."""
    env = {"DB_URL": db_url}
    page = str(FIXTURES / "search_chicago_de_2025-09-03_page1.json")
    refused = cli("load", page, "--radius", "50", env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == "error: --radius needs --location"
    loaded = cli(
        "load",
        page,
        "--keyword",
        "data engineering",
        "--location",
        "Chicago, Illinois",
        "--radius",
        "50",
        env=env,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert last_json(loaded.stdout)["inserted"] == 25
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM gold.vw_de_jobs_all").fetchone()
    assert row == (25,)
