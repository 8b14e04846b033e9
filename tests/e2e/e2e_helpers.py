"""Run the real `tasman-etl` command in a subprocess with a controlled environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_OWN_VARS = (
    "DB_URL",
    "USAJOBS_AUTH_KEY",
    "USAJOBS_USER_AGENT",
    "USAJOBS_API_BASE",
    "BRONZE_S3_BUCKET",
    "BRONZE_DIR",
    "TASMAN_HOME",
    "KEYWORD",
    "LOCATION_NAME",
    "RADIUS_MILES",
    "MAX_PAGES",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "DQ_ENFORCE",
)

CLI = Callable[..., subprocess.CompletedProcess[str]]


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object on the last non-empty stdout line (the run summary)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "no output on stdout"
    value: dict[str, Any] = json.loads(lines[-1])
    return value


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    """`cli(*args, env={...})` runs `python -m tasman_etl` in tmp_path, returns the result."""
    base = {k: v for k, v in os.environ.items() if k not in _OWN_VARS}
    base["LOG_FORMAT"] = "json"

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tasman_etl", *args],
            cwd=cwd or tmp_path,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment `cli` uses: this process's, minus tasman-etl settings, JSON logs."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_VARS}
    env["LOG_FORMAT"] = "json"
    env.update(extra or {})
    return env


def spawn(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start `python -m tasman_etl ARGS` without waiting (for signal tests)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tasman_etl", *args],
        cwd=cwd,
        env=cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
