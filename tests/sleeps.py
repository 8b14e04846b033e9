"""An injected sleep for code that backs off: it records every wait and never waits."""

from __future__ import annotations


class Sleeps:
    """An injected sleep: records every wait, never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
