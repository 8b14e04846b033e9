"""`tasman-etl run`: plan -> fetch -> bronze -> validate -> load -> ledger -> summary.

The plan (partitions and their page counts) is recorded before any page is fetched,
so `--resume RUN_ID` knows every page of the run without asking the API again: loaded
pages are skipped, pages already in bronze are loaded from there, the rest are fetched.
Fetching runs on `concurrency` threads behind the client's one rate limiter; loading
happens on this thread, one transaction per page. A stop request (SIGTERM/SIGINT)
lets the page being loaded commit, then ends the run as `aborted`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import structlog

from tasman_etl.db import repository as repo
from tasman_etl.dq.outcome import PageGate
from tasman_etl.errors import AuthError, ConfigError, FetchError
from tasman_etl.http.usajobs import SearchQuery, UsajobsClient
from tasman_etl.runner.lifecycle import Run, RunAborted, RunLockedError, RunResult
from tasman_etl.runner.pages import new_run_id
from tasman_etl.runner.search import RunOptions, Search
from tasman_etl.runner.sweeps import Checks, Part, judge, split_sweep, sweep_key
from tasman_etl.storage.bronze import BronzeStore

__all__ = [
    "RunAborted",
    "RunLockedError",
    "RunOptions",
    "RunResult",
    "execute_run",
    "interruptible_sleep",
    "split_sweep",
    "sweep_key",
]

log = structlog.get_logger(__name__)


def interruptible_sleep(stop: threading.Event) -> Callable[[float], None]:
    """A sleep for backoff waits that ends the fetch at once when a stop is requested."""

    def sleep(seconds: float) -> None:
        if stop.wait(max(0.0, seconds)):
            raise RunAborted

    return sleep


def execute_run(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    client: UsajobsClient,
    opts: RunOptions,
    *,
    stop: threading.Event,
    codelists: Any = None,
    gate: PageGate | None = None,
    on_complete: Callable[[psycopg.Connection[Any], str, str], Mapping[str, Any]] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    lookup_conn: psycopg.Connection[Any] | None = None,
) -> RunResult:
    """Run (or resume) a search end to end; see the module docstring.

    `lookup_conn` is the second connection the worker threads share (which items the
    database holds unchanged, capture hashes); without it the run opens one like `conn`.
    """
    parts: list[Part] | None = None
    if opts.resume:
        run_id = opts.resume
        row = repo.get_run(conn, run_id)
        if row is None:
            raise ConfigError(f"cannot resume: no run {run_id!r} in the ledger")
        if row["command"] != "run":
            raise ConfigError(
                f"cannot resume run {run_id}: it is a {row['command']!r} run; "
                "use `tasman-etl replay --run-id` for those"
            )
        query = SearchQuery.model_validate(row["params"]["query"])
        opts = RunOptions(
            query=query,
            results_per_page=int(row["params"]["results_per_page"]),
            max_pages=row["params"].get("max_pages"),
            concurrency=opts.concurrency,
            resume=run_id,
            shrink_guard=opts.shrink_guard,
            accept_shrink=opts.accept_shrink,
            run_max_age_s=opts.run_max_age_s,
        )
        run_date: date = row["started_at"].astimezone(UTC).date()
        recorded = repo.load_plan(conn, run_id)
        if recorded:
            parts = [
                Part(
                    r.part or None,
                    SearchQuery.model_validate(r.params),
                    r.pages,
                    r.api_total,
                    r.over_cap,
                )
                for r in recorded
            ]
    else:
        run_id = opts.run_id or new_run_id()
        if repo.get_run(conn, run_id) is not None:
            raise ConfigError(f"run {run_id} already exists; use --resume {run_id} to continue it")
        run_date = datetime.now(UTC).date()
    scope = opts.query.scope_hash()
    params = {
        "query": opts.query.model_dump(mode="json"),
        "search_params": opts.query.to_params(),
        "results_per_page": opts.results_per_page,
        "max_pages": opts.max_pages,
        "api": client.endpoint,
    }
    with Run(
        conn,
        run_id,
        command="run",
        params=params,
        scope=scope,
        lock=True,
        max_age_s=opts.run_max_age_s,
        stop=stop,
        progress=progress,
        side=lookup_conn,
    ) as run:
        log.info(
            "run_started",
            resume=bool(opts.resume),
            search=opts.query.to_params(),
            bronze=store.describe(),
        )
        search = Search(run, store, client, opts, gate, run_date)
        status, error = "succeeded", None

        def close(hook: Any = None) -> dict[str, Any]:
            return judge(
                run,
                status,
                error,
                client_stats=client.stats,
                on_complete=hook,
                checks=Checks(
                    scope=scope,
                    shrink_guard=1.0 if opts.accept_shrink else opts.shrink_guard,
                    moved=search.moved,
                    resweeps=search.resweeps,
                ),
            )

        try:
            if parts is None:
                parts = search.plan(codelists)
            search.work(parts)
            if stop.is_set():
                status, error = "aborted", "stopped by a signal; resume with --resume " + run_id
        except AuthError as exc:
            status, error = "failed", str(exc)
            close()
            raise
        except RunAborted:
            status, error = "aborted", "stopped by a signal; resume with --resume " + run_id
        except KeyboardInterrupt:
            status, error = "aborted", "interrupted; resume with --resume " + run_id
            close()
            raise
        except FetchError as exc:  # planning could not fetch page 1
            status, error = "failed", str(exc)
        summary = close(on_complete)
    return RunResult(run_id, summary, summary["status"] != "succeeded")
