"""REQUIRE_DB_URL (set in the image and the ECS task): no DB_URL is a configuration error,
never an embedded PostgreSQL inside a container whose disk goes away with it (issue 17,
item 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasman_etl.config import load_settings
from tasman_etl.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_URL", "REQUIRE_DB_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("given", [None, "", "   "])
def test_required_and_missing_or_empty_is_refused(
    monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    monkeypatch.setenv("REQUIRE_DB_URL", "true")
    if given is not None:
        monkeypatch.setenv("DB_URL", given)  # an ECS secret with an empty value
    with pytest.raises(ConfigError, match=r"REQUIRE_DB_URL: .*DB_URL is not set"):
        load_settings(_env_file=None)


def test_required_and_given_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_DB_URL", "true")
    monkeypatch.setenv("DB_URL", "postgresql://etl@db.example.internal/tasman")
    settings = load_settings(_env_file=None)
    assert settings.require_db_url is True
    assert settings.db_url is not None


def test_not_required_by_default_so_the_laptop_keeps_its_embedded_server() -> None:
    settings = load_settings(_env_file=None)
    assert settings.require_db_url is False
    assert settings.db_url is None


def test_a_bad_db_url_is_reported_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_DB_URL", "true")
    monkeypatch.setenv("DB_URL", "mysql://nope")
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None)
    assert "must be a postgresql:// URL" in str(refused.value)
    assert "REQUIRE_DB_URL" not in str(refused.value)


def test_the_container_command_exits_2_at_once_and_starts_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DB_URL", "PGHOST")}
    env.update(REQUIRE_DB_URL="true", TASMAN_HOME=str(tmp_path / "home"), LOG_FORMAT="json")
    done = subprocess.run(
        [sys.executable, "-m", "tasman_etl", "doctor"],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "DB_URL" in done.stderr
    assert not (tmp_path / "home" / "pgdata").exists(), "an embedded server was started"
