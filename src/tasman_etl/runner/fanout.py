"""Windows fanned out over local processes, under one rate limit shared through a file.

`backfill --workers N` starts N - 1 worker processes (`backfill --claim --run-id RUN`: the
same unit an orchestrator runs) and is the N-th itself; each has its own database
connection and takes windows from the ledger until none is left. The parent shows progress
from the ledger and stops its workers when it is stopped (a worker also stops, with
SIGTERM, when its parent dies).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
import structlog

__all__ = ["SharedRateLimiter", "page_progress", "start_workers", "wait_workers"]

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


class SharedRateLimiter:
    """Spaces requests at least ``1 / rate_per_s`` apart across every process using `path`.

    The next free slot (a `time.time()` float) lives in the file; each acquire takes an
    exclusive `flock`, reads it, moves it on and releases it, then sleeps until its slot.
    """

    def __init__(
        self,
        path: Path,
        rate_per_s: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.interval_s = 1.0 / rate_per_s
        self._sleep = sleep
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def acquire(self) -> float:
        """Wait for the next free slot; returns the seconds waited."""
        with self.path.open("r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                raw = fh.read(8)
                following = struct.unpack("<d", raw)[0] if len(raw) == 8 else 0.0
                now = self._clock()
                slot = max(now, following)
                fh.seek(0)
                fh.write(struct.pack("<d", slot + self.interval_s))
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # A worker whose parent was killed gets SIGTERM (it then stops like on any SIGTERM).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def start_workers(
    args: Sequence[str], workers: int, *, env: dict[str, str] | None = None
) -> list[subprocess.Popen[bytes]]:
    """Start `workers` copies of ``python -m tasman_etl <args>`` (stdout discarded)."""
    command = [sys.executable, "-m", "tasman_etl", *args]
    merged = {**os.environ, **(env or {})}
    procs = [
        subprocess.Popen(  # noqa: S603 - our own module, arguments from our own options
            command,
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=merged,
            preexec_fn=_die_with_parent,
        )
        for _ in range(workers)
    ]
    log.info("backfill_workers_started", workers=workers, pids=[p.pid for p in procs])
    return procs


def wait_workers(
    procs: list[subprocess.Popen[bytes]],
    *,
    stop: threading.Event,
    poll: Callable[[], tuple[int, int]] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[int]:
    """Wait for the workers; return their exit codes.

    `poll` returns ``(done, total)`` pages from the ledger, shown through `progress` once a
    second. On `stop`, the workers get SIGTERM (they finish the page in hand and stop).
    """
    signalled = False
    while any(p.poll() is None for p in procs):
        if stop.is_set() and not signalled:
            signalled = True
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
        if poll is not None and progress is not None:
            try:
                done, total = poll()
            except psycopg.Error:
                pass
            else:
                progress(done, max(done, total), "windows")
        if signalled:
            time.sleep(0.2)
        else:
            stop.wait(1.0)
    codes = [p.returncode for p in procs]
    log.info("backfill_workers_ended", exit_codes=codes)
    return codes


def page_progress(conn: psycopg.Connection[Any], run_id: str) -> Callable[[], tuple[int, int]]:
    """``(pages done, pages planned)`` of a run, read from the ledger."""

    def poll() -> tuple[int, int]:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status <> 'pending'), count(*) "
            "FROM ingest_page WHERE run_id = %s",
            (run_id,),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    return poll
