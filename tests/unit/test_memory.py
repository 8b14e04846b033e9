"""The malloc arena cap the command line sets before its threads start."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_the_cap_applies_on_glibc_and_an_explicit_environment_value_wins() -> None:
    code = "from tasman_etl.memory import limit_malloc_arenas; print(limit_malloc_arenas())"
    env_free = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={}
    )
    assert env_free.stdout.strip() == "True"
    explicit = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"MALLOC_ARENA_MAX": "4"},
    )
    assert explicit.stdout.strip() == "False"
