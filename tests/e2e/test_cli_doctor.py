"""`doctor` is the container health check: 0 when healthy, 1 with a reason otherwise."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import CLI


def test_doctor_healthy(cli: CLI, db_url: str, tmp_path: Path) -> None:
    result = cli("doctor", env={"DB_URL": db_url, "BRONZE_DIR": str(tmp_path / "bronze")})
    assert result.returncode == 0, result.stderr[-1000:]
    assert "database: ok" in result.stdout
    assert "bronze: ok" in result.stdout


def test_doctor_reports_unwritable_bronze_and_unreachable_db(cli: CLI, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = cli(
        "doctor",
        env={
            "DB_URL": "postgresql://u:pw-9f8e7d@127.0.0.1:1/x?connect_timeout=2",
            "BRONZE_DIR": str(blocker / "bronze"),
        },
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any(line.startswith("error: database:") for line in errors)
    assert any(line.startswith("error: bronze:") for line in errors)
    assert "pw-9f8e7d" not in result.stderr + result.stdout
