"""How a command answers SIGTERM and SIGINT.

A short command turns SIGTERM into KeyboardInterrupt (`interrupt_on_sigterm`), so
``finally`` blocks and atexit (which stops the embedded PostgreSQL) run; ECS stops tasks with
SIGTERM. A run or a backfill stops in two steps (`StopOnSignal`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

import structlog

__all__ = ["StopOnSignal", "interrupt_on_sigterm"]

log = structlog.get_logger(__name__)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt in the main thread (a no-op in other threads)."""
    with contextlib.suppress(ValueError):  # not in the main thread (tests)
        signal.signal(signal.SIGTERM, _raise_interrupt)


class StopOnSignal:
    """First SIGTERM/SIGINT: stop. Requests in flight end within a quarter of a second
    (the client polls ``event`` between reads; those pages are fetched again on
    ``--resume``), the page being loaded commits, and the run ends ``aborted``.
    Second signal: stop at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, frame: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        log.warning("stop_requested", signal=signal.Signals(signum).name)

    def install(self) -> None:
        """Handle SIGTERM and SIGINT with this object (a no-op outside the main thread)."""
        with contextlib.suppress(ValueError):  # not in the main thread (tests)
            signal.signal(signal.SIGTERM, self)
            signal.signal(signal.SIGINT, self)
