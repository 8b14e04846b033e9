"""Great Expectations in a worker process, so its cost stays out of the loading process.

Importing GX (with pandas, numpy and scipy) takes 3-5 s of CPU and ~150 MB, and each
validation spends 0.15-0.25 s planning metrics in Python. In the loading process that
time is taken from the threads that fetch, parse and load, because they all share one
interpreter lock. `ProcessSuiteRunner` runs the same `GxSuiteRunner` in one spawned
worker process instead: the frames go over a pipe (a few hundred KB per batch) and the
outcomes come back; the import and the metric planning run on another core.

The worker ignores SIGINT and SIGTERM (the parent decides when to stop and shuts it
down), exits by itself within 0.2 s when the parent dies (SIGKILL, OOM), writes nothing
to stdout, and logs JSON lines to stderr like the parent. If the worker dies, the batch
it was validating fails (the gate holds those pages) and the next batch starts a new one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import structlog

from tasman_etl.dq.gx.runner import (
    ExpectationOutcome,
    Frame,
    GxSuiteRunner,
    gx_import,
    import_seconds,
)
from tasman_etl.dq.gx.suite import ExpectationSpec

__all__ = ["GateWorkerError", "ProcessSuiteRunner", "discard_prestarted", "prestart"]

log = structlog.get_logger(__name__)

_RUNNER: GxSuiteRunner | None = None  # in the worker process
_PARENT_POLL_S = 0.2


class GateWorkerError(RuntimeError):
    """The Great Expectations worker process died or could not start."""


def _worker_init(log_level: str, log_format: str) -> None:
    """In the worker: ignore stop signals, keep stdout clean, log like the parent, and
    exit when the parent is gone (a killed parent cannot shut the worker down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout = sys.stderr  # stdout carries the parent's command output only
    from tasman_etl.logging_setup import configure_logging

    configure_logging(log_level, log_format)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_runner(specs: Sequence[ExpectationSpec]) -> GxSuiteRunner:
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = GxSuiteRunner(specs)
    return _RUNNER


def _worker_import() -> float | None:
    """In the worker: import GX (the slow part), before the suites are known."""
    gx_import()
    return import_seconds()


def _new_pool(log_level: str, log_format: str) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(log_level, log_format),
    )


_prestarted: ProcessPoolExecutor | None = None
_prestart_lock = threading.Lock()


def prestart(*, log_level: str = "INFO", log_format: str = "json") -> None:
    """Start a worker and its GX import now; the next `ProcessSuiteRunner` adopts it.

    Commands call this first thing, before they connect anywhere, so the import overlaps
    with start-up; they call `discard_prestarted` when they end.
    """
    global _prestarted
    with _prestart_lock:
        if _prestarted is None:
            _prestarted = _new_pool(log_level, log_format)
            _prestarted.submit(_worker_import)


def _adopt_prestarted() -> ProcessPoolExecutor | None:
    global _prestarted
    with _prestart_lock:
        pool, _prestarted = _prestarted, None
    return pool


def discard_prestarted() -> None:
    """Stop a worker `prestart` started that no runner adopted (a command that failed early).

    Without this the interpreter would wait for its GX import (seconds) before exiting.
    """
    pool = _adopt_prestarted()
    if pool is not None:
        _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: its worker holds no state worth waiting for (an import in progress)."""
    # The executor has no public way to stop a running task; its processes are kept here
    # (and forgotten by shutdown, so take them first).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
            process.join(timeout=5)
    # The executor sees its worker gone, closes its queues (their semaphores are released)
    # and its manager thread ends: this returns at once.
    pool.shutdown(wait=True, cancel_futures=True)


def _worker_ready(specs: Sequence[ExpectationSpec]) -> tuple[int, float | None]:
    """In the worker: import GX and build the suites; the worker's pid, the import's seconds."""
    _worker_runner(specs)
    return os.getpid(), import_seconds()


def _worker_validate(
    specs: Sequence[ExpectationSpec], frames: Mapping[str, Frame], context: Mapping[str, Any]
) -> list[ExpectationOutcome]:
    """In the worker: validate a batch; outcomes carry plain Python values only."""
    with structlog.contextvars.bound_contextvars(**context):
        outcomes = _worker_runner(specs).validate(frames)
    return [replace(o, observed_value=_plain(o.observed_value)) for o in outcomes]


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (the parent does not import numpy to unpickle)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__.startswith("numpy") else value


class ProcessSuiteRunner:
    """`GxSuiteRunner.validate` in a worker process (see the module docstring)."""

    def __init__(
        self, specs: Sequence[ExpectationSpec], *, log_level: str = "INFO", log_format: str = "json"
    ) -> None:
        self._specs = tuple(specs)
        self._log = (log_level, log_format)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[tuple[int, float | None]] | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = _adopt_prestarted() or _new_pool(*self._log)
                self._ready = self._pool.submit(_worker_ready, self._specs)
            return self._pool

    def start(self) -> None:
        """Start the worker and its GX import now, without waiting for them."""
        self._executor()

    def validate(self, frames: Mapping[str, Frame]) -> list[ExpectationOutcome]:
        """Validate a batch's frames in the worker (see `GxSuiteRunner.validate`)."""
        pool = self._executor()
        context = structlog.contextvars.get_contextvars()
        try:
            return pool.submit(_worker_validate, self._specs, frames, context).result()
        except BrokenProcessPool as exc:
            self._discard(pool)
            raise GateWorkerError(
                "the Great Expectations worker process died; the next batch starts a new one"
            ) from exc

    def worker_pid(self) -> int:
        """The worker's process id (starts it, and waits until GX is imported there)."""
        self._executor()
        assert self._ready is not None
        return self._ready.result()[0]

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker (waits for a validation or an import in progress)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
