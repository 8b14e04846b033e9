"""Deterministic fault decisions and the bodies of faulted responses."""

from __future__ import annotations

import random

from tasman_etl.simulator.config import FaultPlan

__all__ = ["ERROR_BODIES", "decide_fault"]

# (status, content type, body) of the error statuses; 503 looks like a gateway page.
ERROR_BODIES: dict[str, tuple[int, str, bytes]] = {
    "429": (429, "application/json; charset=utf-8", b'{"Message":"API rate limit exceeded"}'),
    "500": (500, "application/json; charset=utf-8", b'{"Message":"An error has occurred."}'),
    "503": (
        503,
        "text/html; charset=utf-8",
        b"<html><body><h1>503 Service Unavailable</h1>"
        b"No server is available to handle this request.</body></html>",
    ),
}


def decide_fault(plan: FaultPlan, number: int) -> str | None:
    """The fault kind for the `number`-th (1-based) fault-eligible request, or None.

    `plan.by_request` wins ("ok" forces no fault); otherwise a fault happens with
    probability `plan.rate`, drawn from (plan.seed, number) only, so replays are identical.
    """
    forced = plan.by_request.get(number)
    if forced is not None:
        return None if forced == "ok" else forced
    if plan.rate <= 0 or not plan.kinds:
        return None
    rng = random.Random(f"tasman-sim:faults:{plan.seed}:{number}")  # noqa: S311 - not crypto
    if rng.random() < plan.rate:
        return plan.kinds[rng.randrange(len(plan.kinds))]
    return None
