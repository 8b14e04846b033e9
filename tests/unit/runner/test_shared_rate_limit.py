"""The rate limit `backfill --workers N` processes share through a file."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tasman_etl.runner.fanout import SharedRateLimiter


def test_limiters_on_one_file_share_the_slots(tmp_path: Path) -> None:
    waits: list[float] = []
    path = tmp_path / "api.rate"
    a = SharedRateLimiter(path, 10.0, sleep=waits.append, clock=lambda: 100.0)
    b = SharedRateLimiter(path, 10.0, sleep=waits.append, clock=lambda: 100.0)
    got = [a.acquire(), b.acquire(), a.acquire(), b.acquire()]
    assert got == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert waits == pytest.approx([0.1, 0.2, 0.3])


def test_a_limiter_on_another_file_is_independent(tmp_path: Path) -> None:
    a = SharedRateLimiter(tmp_path / "a.rate", 1.0, sleep=lambda s: None, clock=lambda: 5.0)
    b = SharedRateLimiter(tmp_path / "b.rate", 1.0, sleep=lambda s: None, clock=lambda: 5.0)
    assert (a.acquire(), b.acquire(), a.acquire()) == (0.0, 0.0, pytest.approx(1.0))


def _take(path: str, n: int, out: multiprocessing.Queue[float]) -> None:
    limiter = SharedRateLimiter(Path(path), 1000.0, sleep=lambda s: None, clock=lambda: 0.0)
    for _ in range(n):
        out.put(limiter.acquire())


def test_processes_never_get_the_same_slot(tmp_path: Path) -> None:
    path = tmp_path / "shared.rate"
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[float] = ctx.Queue()
    procs = [ctx.Process(target=_take, args=(str(path), 25, out)) for _ in range(3)]
    for p in procs:
        p.start()
    waits = sorted(round(out.get(timeout=60) * 1000) for _ in range(75))
    for p in procs:
        p.join(timeout=60)
    # With a frozen clock every acquire moves the slot on by 1 ms: 75 distinct slots.
    assert waits == list(range(75))
