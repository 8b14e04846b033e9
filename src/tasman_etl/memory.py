"""Process-wide memory settings for the command line.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and memory
freed in one arena is not reused by another: the page engine's worker threads parse
multi-megabyte pages that the owner thread frees after loading, so every arena grows to
its own high-water mark. Two arenas hold the peak of a 10,000-job run about 20 MB lower
(bench/README.md) at no measurable cost in time.

Python's cyclic garbage collector runs a young collection every 700 container allocations
and a full one every 100 young ones. Parsing a page of 500 items allocates a few hundred
thousand dicts and lists, none of them in a cycle, so a run spent about a seventh of its
Python time in collections that found nothing (ADR 0029). `relax_gc` collects every
`GC_YOUNG_THRESHOLD` allocations instead and freezes what the imports made, so a full
collection no longer walks every module's objects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys

__all__ = ["GC_YOUNG_THRESHOLD", "MALLOC_ARENAS", "limit_malloc_arenas", "relax_gc"]

MALLOC_ARENAS = 2
GC_YOUNG_THRESHOLD = 50_000
"""Container allocations between young collections (Python's default is 700)."""
_M_ARENA_MAX = -8  # glibc's mallopt parameter number for M_ARENA_MAX


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would); True when it applied.

    Call it before threads start. Elsewhere than glibc (macOS, musl) it does nothing and
    returns False; an explicit ``MALLOC_ARENA_MAX`` in the environment has already applied
    and is left alone.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


def relax_gc(young: int = GC_YOUNG_THRESHOLD) -> None:
    """Collect garbage cycles every ``young`` allocations, and freeze what exists now.

    Call it once the command's modules are imported. Cycles are still collected (a
    reference cycle lives at most ``young`` allocations longer); only the collector's
    cadence changes, and objects alive at the call are left out of later full collections.
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young, older, oldest)
