"""What a person sees on a terminal: the live progress display, log lines above it, the summary.

On a terminal (stderr a TTY) the progress display is a rich `Progress` that owns the bottom
line of the screen. Log lines (structlog and stdlib logging, see `logging_setup`) are printed
through the same rich console while it is live, so each lands whole above the display instead
of being overwritten by it; with no display they are written straight to the stream. The run
summary is a short table when stdout is a TTY and one JSON line otherwise (scripts read the
last stdout line).

Nothing here is used when stderr is not a terminal: logs are then JSON lines and there is no
progress display at all.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any, TextIO

__all__ = [
    "LineLogger",
    "LineLoggerFactory",
    "LineStream",
    "emit_line",
    "render_summary",
    "start_progress",
    "stop_progress",
    "summary_rows",
]

_lock = threading.RLock()
_progress: Any = None  # the live rich Progress, if any


def emit_line(line: str, stream: TextIO) -> None:
    """Write one log line: above the live progress display when there is one."""
    with _lock:
        progress = _progress
        if progress is not None:
            from rich.text import Text

            # soft_wrap: one logical line (the terminal wraps it), never cut by rich
            progress.console.print(Text.from_ansi(line), soft_wrap=True, highlight=False)
            return
        stream.write(line + "\n")
        stream.flush()


class LineLogger:
    """A structlog logger writing each rendered event as one line via `emit_line`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        emit_line(message, self._stream)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class LineLoggerFactory:
    """`structlog.configure(logger_factory=...)`: every logger writes through `emit_line`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, *args: Any) -> LineLogger:
        return LineLogger(self._stream)


class LineStream:
    """A text stream for stdlib logging handlers: whole lines go through `emit_line`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        with _lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                emit_line(line, self._stream)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def start_progress(label: str = "starting") -> Callable[[int, int, str], None] | None:
    """A live progress display on stderr when it is a terminal (None otherwise).

    Returns ``update(done, total, label)``; the display is transient and goes away when
    ``done`` reaches ``total`` or `stop_progress` is called (before the summary prints).
    """
    global _progress
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    stop_progress()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        # Log lines are routed explicitly (emit_line); swapping sys.stdout/sys.stderr
        # would send stdout (the summary) to the terminal's stderr.
        redirect_stdout=False,
        redirect_stderr=False,
    )
    task = progress.add_task(label, total=None)
    with _lock:
        progress.start()
        _progress = progress

    def update(done: int, total: int, label: str) -> None:
        with _lock:
            if _progress is not progress:
                return
            progress.update(task, completed=done, total=total, description=label[:40])
        if total and done >= total:
            stop_progress()

    return update


def stop_progress() -> None:
    """Remove the live progress display (no-op when none is shown)."""
    global _progress
    with _lock:
        progress, _progress = _progress, None
        if progress is not None:
            progress.stop()


# ------------------------------------------------------------------ the run summary

_COUNTS = ("items", "inserted", "updated", "unchanged", "quarantined", "duplicates")
_PAGES = ("failed_pages", "held_pages", "pending_pages")
# Timed on the owner (loading) thread: at most duration_s.
SEQUENTIAL_PHASES = ("load_s",)
# Summed over the worker threads, which fetch, capture, parse and gate the next pages while
# the owner loads: they overlap the load and each other, so all phases can exceed duration_s.
OVERLAPPING_PHASES = ("fetch_s", "bronze_s", "parse_s", "dq_s")
_SHOWN = {
    "run_id",
    "status",
    "complete",
    "pages",
    "unique_jobs",
    "requests",
    "retries",
    "duration_s",
    "phase_times",
    "partitions",
    *_COUNTS,
    *_PAGES,
}


def _seconds(value: Any) -> str:
    return f"{value:.2f} s" if isinstance(value, int | float) else str(value)


def _compact(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The summary as (label, value) rows: the figures a person looks at first, then the rest."""
    rows: list[tuple[str, str]] = []
    status = str(summary.get("status", "-"))
    if "complete" in summary:
        status += " (complete)" if summary["complete"] else " (not complete)"
    rows.append(("run", f"{summary.get('run_id', '-')}  {status}"))
    if "pages" in summary:
        extra = [f"{summary[k]} {k.split('_')[0]}" for k in _PAGES if summary.get(k)]
        rows.append(("pages", ", ".join([f"{summary['pages']} loaded", *extra])))
    counts = [f"{summary[k]} {k}" for k in _COUNTS if k in summary]
    if counts:
        rows.append(("jobs", ", ".join(counts)))
    if "unique_jobs" in summary:
        rows.append(("unique jobs", str(summary["unique_jobs"])))
    if "requests" in summary:
        rows.append(("requests", f"{summary['requests']} ({summary.get('retries', 0)} retries)"))
    if isinstance(summary.get("partitions"), list) and len(summary["partitions"]) > 1:
        rows.append(("partitions", str(len(summary["partitions"]))))
    if "duration_s" in summary:
        rows.append(("duration", _seconds(summary["duration_s"])))
    phases = summary.get("phase_times")
    if isinstance(phases, Mapping) and phases:
        sequential = [
            f"{_PHASE_LABELS.get(k, k)} {_seconds(phases[k])}"
            for k in SEQUENTIAL_PHASES
            if k in phases
        ]
        overlapping = [f"{k[:-2]} {_seconds(phases[k])}" for k in OVERLAPPING_PHASES if k in phases]
        others = [f"{k} {_seconds(v)}" for k, v in phases.items() if k not in _PHASE_KEYS]
        if sequential or others:
            rows.append(("phases", ", ".join([*sequential, *others])))
        if overlapping:
            rows.append(("overlapping", ", ".join(overlapping) + " (worker threads)"))
    for key, value in summary.items():
        if key in _SHOWN or value in (None, [], {}, 0, False):
            continue
        rows.append((key.replace("_", " "), _compact(value)))
    return rows


_PHASE_KEYS = {*SEQUENTIAL_PHASES, *OVERLAPPING_PHASES}
_PHASE_LABELS = {"load_s": "load"}


def render_summary(summary: Mapping[str, Any], file: TextIO | None = None) -> None:
    """Print the summary as a short two-column table (for a terminal)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    stop_progress()
    table = Table(box=box.SIMPLE, show_header=False, pad_edge=False, title=None)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for label, value in summary_rows(summary):
        table.add_row(label, value)
    console = Console(file=file or sys.stdout, highlight=False)
    console.print(table)
    if summary.get("run_id"):
        console.print(
            f"full summary: tasman-etl runs show {summary['run_id']} --format json",
            style="dim",
            markup=False,
        )
