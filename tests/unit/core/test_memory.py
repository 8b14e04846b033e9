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


def test_relax_gc_collects_less_often_but_still_collects_cycles() -> None:
    code = """
import gc, weakref
from tasman_etl.memory import GC_YOUNG_THRESHOLD, relax_gc
before = gc.get_threshold()
relax_gc()
after = gc.get_threshold()
print(before[1:] == after[1:], after[0] == GC_YOUNG_THRESHOLD, gc.get_freeze_count() > 0)
class Node:
    pass
a = Node(); b = Node(); a.other = b; b.other = a
alive = weakref.ref(a)
del a, b
keep = [[None] for _ in range(GC_YOUNG_THRESHOLD * 3)]  # live allocations trigger it
print(alive() is None)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "True", "True", "True"]


def test_the_command_line_relaxes_the_collector() -> None:
    code = (
        "import gc, sys\n"
        "from tasman_etl.cli import main\n"
        "sys.argv = ['tasman-etl', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(gc.get_threshold()[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    from tasman_etl.memory import GC_YOUNG_THRESHOLD

    assert out[-1] == str(GC_YOUNG_THRESHOLD)
