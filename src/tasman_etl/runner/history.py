"""The `backfill` command's modes, composed from windows, the page engine and the ledger.

- plan (``--plan``): probe the windows, record the run and its windows (and, with
  ``--texts``, a texts chain per window: kept in the ledger, so every later mode does texts
  too without the flag), print the plan;
- one unit (``--window ID`` or ``--claim``): read one window, or take windows until none
  is left, under an existing run;
- finish (``--finish``): close the run with its summary;
- the whole backfill (default, or ``--resume RUN``): plan (or reopen), read the windows in
  this process or in ``--workers N`` processes, finish.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from tasman_etl.db import repository as repo
from tasman_etl.errors import ConfigError, StorageError
from tasman_etl.runner.backfill import (
    COMMAND,
    PagesOf,
    WindowResult,
    backfill_params,
    claim_windows,
    part_statuses,
    record_backfill,
    reopen_windows,
    windows_of,
)
from tasman_etl.runner.fanout import page_progress, start_workers, wait_workers
from tasman_etl.runner.lifecycle import Run
from tasman_etl.runner.pages import new_run_id
from tasman_etl.runner.windows import (
    PART_PREFIX,
    TEXT_PART_PREFIX,
    WINDOW_MAX_ROWS,
    WindowPlan,
    month_ranges,
    parse_window_id,
    plan_windows,
)
from tasman_etl.storage.bronze import BronzeStore

__all__ = ["BackfillOptions", "Outcome", "execute_backfill", "finish_backfill", "write_plan"]

Probe = Callable[[date, date], tuple[int, int]]


@dataclass(frozen=True)
class BackfillOptions:
    """What `backfill` was asked to do (validated by `check`)."""

    start: date | None = None
    end: date | None = None
    agencies: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    run_id: str | None = None
    resume: str | None = None
    plan: bool = False
    window: str | None = None
    claim: bool = False
    finish: bool = False
    workers: int = 1
    concurrency: int = 4
    max_rows: int = WINDOW_MAX_ROWS
    texts: bool = False
    """Also read each window's AnnouncementText pages (chosen when the run is planned)."""

    def check(self) -> None:
        """ConfigError (exit 2) for options that do not go together."""
        unit = self.window is not None or self.claim or self.finish
        if self.texts and (unit or self.resume):
            raise ConfigError(
                "--texts is chosen when a backfill is planned; --window, --claim, --finish "
                "and --resume follow the run's choice (kept in the ledger)"
            )
        if (self.agencies or self.series) and (unit or self.resume):
            raise ConfigError(
                "--agency and --series are chosen when a backfill is planned; --window, "
                "--claim, --finish and --resume read them from the run (kept in the ledger)"
            )
        if sum([self.plan, self.window is not None, self.claim, self.finish]) > 1:
            raise ConfigError("use only one of --plan, --window, --claim, --finish")
        if unit and not self.run_id:
            raise ConfigError("--window, --claim and --finish need --run-id (from --plan)")
        if self.resume and (unit or self.plan or self.run_id):
            raise ConfigError("--resume RUN_ID continues a whole backfill; it takes no other mode")
        if not unit and not self.resume and (self.start is None or self.end is None):
            raise ConfigError("--from and --to are required (or --resume RUN_ID)")
        if self.start and self.end and self.end < self.start:
            raise ConfigError(f"--to {self.end} is before --from {self.start}")
        if self.workers < 1:
            raise ConfigError("--workers must be at least 1")
        if self.window is not None:
            parse_window_id(self.window)  # YYYY-MM or YYYY-MM-DD_YYYY-MM-DD


@dataclass
class Outcome:
    """What the command prints (`output`, one JSON document) and its exit code."""

    output: dict[str, Any]
    code: int


def write_plan(windows: list[dict[str, Any]], target: str, s3_client: Any = None) -> None:
    """Write the windows (a JSON array) to a file path or ``s3://bucket/key``."""
    body = json.dumps(windows, separators=(",", ":")).encode()
    if target.startswith("s3://"):
        bucket, _, key = target[5:].partition("/")
        if not bucket or not key:
            raise ConfigError(f"--plan-out {target!r}: expected s3://bucket/key")
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        try:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except Exception as exc:
            raise StorageError(f"cannot write the plan to {target}: {exc}") from exc
        return
    try:
        Path(target).write_bytes(body)
    except OSError as exc:
        raise StorageError(f"cannot write the plan to {target}: {exc}") from exc


def _run_date(conn: psycopg.Connection[Any], run_id: str) -> date:
    found = repo.get_run(conn, run_id)
    if found is None:
        raise ConfigError(f"no run {run_id!r} in the ledger (plan it with --plan first)")
    if found.get("command") != COMMAND:
        raise ConfigError(f"run {run_id!r} is a {found.get('command')!r} run, not a backfill")
    started = found["started_at"]
    return started.date() if hasattr(started, "date") else date.today()


def _plan(
    conn: psycopg.Connection[Any], opts: BackfillOptions, probe: Probe, stop: threading.Event
) -> tuple[str, list[WindowPlan]]:
    assert opts.start is not None
    assert opts.end is not None
    run_id = opts.run_id or new_run_id()
    windows = plan_windows(
        month_ranges(opts.start, opts.end),
        probe,
        max_rows=opts.max_rows,
        concurrency=opts.concurrency,
        stop=stop,
    )
    if stop.is_set():
        raise KeyboardInterrupt
    # The filters travel with each window, so every process that reads it applies them.
    windows = [replace(w, agencies=opts.agencies, series=opts.series) for w in windows]
    params = backfill_params(opts.start, opts.end, opts.agencies, opts.series, opts.texts)
    with Run(conn, run_id, command=COMMAND, params=params, stop=stop) as run:
        record_backfill(run, windows, texts=opts.texts)
    return run_id, windows


def _unit_code(results: list[WindowResult]) -> int:
    return 0 if all(r.status == "complete" for r in results) else 1


def execute_backfill(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    opts: BackfillOptions,
    *,
    probe: Probe,
    pages_of: PagesOf,
    stop: threading.Event,
    worker_args: list[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    plan_out: Callable[[list[dict[str, Any]]], None] | None = None,
) -> Outcome:
    """Do what `opts` asks; see the module docstring."""
    opts.check()
    if opts.plan:
        run_id, windows = _plan(conn, opts, probe, stop)
        listed = [w.to_json() for w in windows]
        if plan_out is not None:
            plan_out(listed)
        return Outcome({"run_id": run_id, "texts": opts.texts, "windows": listed}, 0)

    if opts.window is not None or opts.claim or opts.finish:
        assert opts.run_id is not None
        run_id = opts.run_id
        run_date = _run_date(conn, run_id)
        known = {w.id for w, _ in windows_of(conn, run_id)}
        if opts.window is not None and opts.window not in known:
            raise ConfigError(f"run {run_id} has no window {opts.window!r}")
        if opts.window is not None:  # a retry of a window that failed or fell short
            reopen_windows(conn, run_id, window=opts.window)
        with Run(conn, run_id, command=COMMAND, stop=stop) as run:
            if opts.finish:
                summary = finish_backfill(run)
                return Outcome(summary, 0 if summary["status"] == "succeeded" else 1)
            results = claim_windows(run, store, pages_of, run_date=run_date, only=opts.window)
        if opts.window is not None and not results:
            status = dict((w.id, s) for w, s in windows_of(conn, run_id)).get(opts.window)
            if status == "complete":
                return Outcome({"run_id": run_id, "window": opts.window, "status": status}, 0)
            # Another process holds it: not a usage error, try again later (exit 1).
            busy = f"window {opts.window} of {run_id} is being read by another process"
            return Outcome(
                {"run_id": run_id, "window": opts.window, "status": "busy", "error": busy}, 1
            )
        listed = [r.to_json() for r in results]
        out = listed[0] if opts.window is not None and listed else {"windows": listed}
        return Outcome({"run_id": run_id, **out}, _unit_code(results))

    if opts.resume:
        run_id = opts.resume
        run_date = _run_date(conn, run_id)
        reopen_windows(conn, run_id)
        windows = [w for w, _ in windows_of(conn, run_id)]
        if not windows:
            raise ConfigError(f"run {run_id} has no windows to resume")
    else:
        run_id, windows = _plan(conn, opts, probe, stop)
        run_date = _run_date(conn, run_id)
    with Run(conn, run_id, command=COMMAND, stop=stop) as run:
        helpers = min(opts.workers, len(windows)) - 1 if worker_args is not None else 0
        procs = (
            start_workers([*worker_args, "--claim", "--run-id", run_id], helpers)
            if (worker_args is not None and helpers > 0)
            else []
        )
        poll = page_progress(conn, run_id)
        if progress is not None:  # this process's pages and the workers', from the ledger
            run.progress = lambda _done, _total, label: progress(*poll(), label)
        try:
            claim_windows(run, store, pages_of, run_date=run_date)
        except BaseException:
            stop.set()  # the workers are told to stop, not waited for to the end
            raise
        finally:
            wait_workers(procs, stop=stop, poll=poll, progress=progress)
        summary = finish_backfill(run)
    return Outcome(summary, 0 if summary["status"] == "succeeded" else 1)


def finish_backfill(run: Run) -> dict[str, Any]:
    """Close the backfill in the ledger: its summary, complete only if every window is.

    `under_collection` lists each chain not complete (a texts chain with ``"texts": true``).
    """
    windows = windows_of(run.conn, run.run_id)
    statuses = part_statuses(run.conn, run.run_id)
    parts = repo.update_partition_counts(run.conn, run.run_id)
    by_part = {p["part"]: p for p in parts}
    states: dict[str, int] = {}
    short: list[dict[str, Any]] = []
    for window, status in windows:
        states[status] = states.get(status, 0) + 1
        for part in (window.part, window.text_part):
            if part not in statuses or statuses[part] == "complete":
                continue
            got = by_part.get(part, {})
            entry = {
                "window": window.id,
                "status": statuses[part],
                "expected": int(got.get("api_total") or 0),
                # records: distinct control numbers (+ quarantined); texts: items
                "rows": int(got.get("fetched" if part == window.text_part else "unique_rows") or 0),
            }
            short.append({**entry, "texts": True} if part == window.text_part else entry)
    complete = bool(windows) and states.get("complete", 0) == len(windows)
    totals_ok = complete and not run.notes.errors
    extra: dict[str, Any] = {}
    text_parts = [p for p in parts if str(p["part"]).startswith(TEXT_PART_PREFIX)]
    if text_parts:
        extra["expected_texts"] = sum(int(p.get("api_total") or 0) for p in text_parts)
        extra["texts"] = sum(int(p.get("fetched") or 0) for p in text_parts)
    summary = run.summary(
        "succeeded" if totals_ok else "failed",
        windows=len(windows),
        window_status=dict(sorted(states.items())),
        expected_rows=sum(
            int(p.get("api_total") or 0) for p in parts if str(p["part"]).startswith(PART_PREFIX)
        ),
        **extra,
    )
    if short:
        summary["under_collection"] = short[:50]
    return run.close(summary, complete=complete)
