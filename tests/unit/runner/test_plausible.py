"""Plausibility of a run's result against its scope's history, and sweep partition keys."""

from __future__ import annotations

import pytest

from tasman_etl.runner.plausible import shrink_reason
from tasman_etl.runner.run import split_sweep, sweep_key


@pytest.mark.parametrize(
    ("found", "baseline", "share"),
    [
        (400, None, 0.5),  # no history: nothing to compare with
        (400, 400, 0.5),
        (450, 400, 0.5),  # growth is never suspicious
        (200, 400, 0.5),  # exactly the allowed share
        (361, 400, 0.1),
        (0, 0, 0.5),  # an empty scope staying empty
        (0, 400, 1.0),  # the guard switched off
    ],
)
def test_believable_results(found: int, baseline: int | None, share: float) -> None:
    assert shrink_reason(found, baseline, share) is None


@pytest.mark.parametrize(
    ("found", "baseline", "share", "words"),
    [
        (0, 400, 0.5, "0 jobs against a median of 400"),
        (0, 1, 0.99, "100% gone"),
        (40, 400, 0.5, "90% gone"),
        (199, 400, 0.5, "50% gone"),  # 50.25 % rounds to 50 % but is over the share
        (359, 400, 0.1, "SHRINK_GUARD_SHARE allows 10%"),
    ],
)
def test_collapses_are_named(found: int, baseline: int, share: float, words: str) -> None:
    reason = shrink_reason(found, baseline, share)
    assert reason is not None and words in reason


@pytest.mark.parametrize(
    ("base", "sweep", "key"),
    [(None, 1, None), (None, 2, "sweep2"), ("p001", 1, "p001"), ("p001", 3, "p001.sweep3")],
)
def test_sweep_keys_round_trip(base: str | None, sweep: int, key: str | None) -> None:
    assert sweep_key(base, sweep) == key
    assert split_sweep(key) == (base or "", sweep)


def test_partition_keys_that_only_look_like_sweeps_are_first_sweeps() -> None:
    assert split_sweep("sweepx") == ("sweepx", 1)
    assert split_sweep("p001.sweep") == ("p001.sweep", 1)
