"""One lifecycle for `run`, `load` and `replay`: a `Run` context around the page engine.

`Run` owns, for one command: the ledger row (started, or reopened, on entry; finished
by `close`), the search scope's lock when there is one, the main connection and its
reconnect, the side connection the workers share, the heartbeat, the progress display,
and the loading of each prepared page (`finish`). The summary is derived from the ledger
(`repository.run_totals`, over every invocation of a resumed run), so every command
reports the same counts the same way.

A page's load runs on a loader thread with its own connection (`runner/loaders.py`,
ADR 0030), the rest of `finish` on the owner thread. Pages with a job in common are never
loaded at once, and outcomes (counts, duplicates, `on_page`) are settled in page order.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import psycopg
import structlog

from tasman_etl import __version__
from tasman_etl.db import repository as repo
from tasman_etl.db import run_lock
from tasman_etl.db.errors import database_errors
from tasman_etl.db.queries import ping
from tasman_etl.errors import DatabaseError
from tasman_etl.runner.connections import (
    RECONNECT_S,
    SideConn,
    connection_lost,
    reconnect,
    reconnector,
)
from tasman_etl.runner.engine import Done, Window, execute
from tasman_etl.runner.loaders import Loaded, Loaders, LoadQueue
from tasman_etl.runner.package import Notes, Package, prepare_failure
from tasman_etl.runner.pages import Stages
from tasman_etl.runner.results import RunAborted, RunLockedError, RunResult

__all__ = ["Run", "RunAborted", "RunLockedError", "RunResult"]

log = structlog.get_logger(__name__)
DqResults = Mapping[str, Any] | None
_ping = database_errors("the database does not answer")(ping)

HEARTBEAT_S = 30.0
"""How often a working run refreshes `ingest_run.heartbeat_at`."""
WINDOW = Window(tasks=8, bytes=28 * 2**20)
"""Pages from intake to the end of their load: 8 waiting, ~28 MB of raw JSON (bench/README.md)."""


class Run:
    """A command's run in the ledger, from start to summary; see the module docstring."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        run_id: str,
        *,
        command: str,
        params: Mapping[str, Any] | None = None,
        scope: str | None = None,
        lock: bool = False,
        max_age_s: float = 6 * 3600,
        stop: threading.Event | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        side: psycopg.Connection[Any] | None = None,
    ) -> None:
        self.conn = conn
        self.run_id = run_id
        self.command = command
        self.params = dict(params or {})
        self.scope = scope
        self.lock = lock
        self.max_age_s = max_age_s
        self.stop = stop or threading.Event()
        self.progress = progress
        self.notes = Notes()
        self.started = time.monotonic()
        self.done = 0
        self.total = 0
        self.locked = False
        self._given_side = side
        self._side: psycopg.Connection[Any] | None = None
        self._shared: SideConn | None = None
        self._stages: Stages | None = None
        self._reconnect = reconnector(conn)
        self._last_beat = time.monotonic()
        self._gone = False
        self._queue = LoadQueue(lambda: Loaders(self._reconnect, stop=self.stop), self._settle_load)
        self.on_page: Callable[[Package, str], None] | None = None
        """Called on the owner thread after each page: ``(package, loaded|held|failed)``."""

    # -- entering and leaving -----------------------------------------------------------

    def __enter__(self) -> Run:
        if self.lock and self.scope:
            got = run_lock.take_scope_lock(
                self.conn, self.scope, run_id=self.run_id, max_age_s=self.max_age_s
            )
            if not got.acquired:
                raise RunLockedError(got.message)
            self.locked = True
        structlog.contextvars.bind_contextvars(run_id=self.run_id)
        try:
            # An upsert: a resumed run's row is reopened (status running, no error).
            repo.start_run(
                self.conn,
                self.run_id,
                command=self.command,
                params=self.params,
                scope_hash=self.scope,
                code_version=__version__,
            )
            if self.locked:
                run_lock.record_lock_holder(self.conn, self.run_id)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.close()
        if self.locked and self.scope:
            with contextlib.suppress(DatabaseError, psycopg.Error):
                repo.unlock_scope(self.conn, self.scope)
        if self._shared is not None and self._shared.conn is not self._given_side:
            with contextlib.suppress(psycopg.Error):
                self._shared.conn.close()
        self._side, self._shared = None, None
        structlog.contextvars.unbind_contextvars("run_id")

    def side(self) -> SideConn:
        """The workers' shared connection (the one given, or a second one like `conn`)."""
        if self._shared is None:
            self._side = self._given_side or self._reconnect()
            self._shared = SideConn(self._side, self._reconnect, stop=self.stop)
        return self._shared

    # -- while pages move ---------------------------------------------------------------

    def beat(self) -> None:
        """Every `HEARTBEAT_S`, tell the ledger this run is alive (see `run_lock`)."""
        now = time.monotonic()
        if not self.locked or now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        try:  # a lost session is reconnected here, and the scope lock taken again
            self.with_db(lambda: run_lock.heartbeat(self.conn, self.run_id))
        except DatabaseError as exc:
            log.warning("heartbeat_failed", error=str(exc)[:300])

    def tick(self, label: str) -> None:
        """One more page done (loaded, held, failed or skipped), for the progress display."""
        self.beat()
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done), label)

    def pump(
        self,
        source: Iterable[Package],
        prepare: Callable[[Package], Package],
        *,
        workers: int = 2,
    ) -> int:
        """Run `source` through the engine: `prepare` on `workers` threads, `finish` here
        (returns once every page handed to the loaders is settled)."""
        try:
            finished = execute(
                source,
                prepare,
                self.finish,
                workers=workers,
                window=Window(tasks=max(WINDOW.tasks, 2 * workers), bytes=WINDOW.bytes),
                size=lambda pkg: pkg.nbytes,
                stop=self.stop,
                idle=self.beat,
                held=lambda: self._queue.nbytes,
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self._queue.settle()
            raise
        self._queue.settle()
        return finished

    def stages(
        self, store: Any, run_date: Any, gate: Any, *, note_captures: bool, known: bool = False
    ) -> Stages:
        """The worker side for this run (see `tasman_etl.runner.pages.Stages`); with
        ``known``, a captured page that repeats a known one is not parsed (ADR 0029)."""
        side = self.side()
        self._stages = Stages(
            store,
            self.run_id,
            run_date,
            side,
            gate=gate,
            note_captures=note_captures,
            loads=lambda: self.notes.loads,
            known=side.known_page if known else None,
        )
        return self._stages

    def with_db(self, load: Callable[[], Any]) -> Any:
        """Run `load` on the main connection; if its session died, reconnect (the scope lock
        too) and run it once more: every caller's statements are idempotent."""
        try:
            return load()
        except DatabaseError as exc:
            if not connection_lost(self.conn, exc.__cause__):
                raise
            self._reconnected()
            return load()

    def _reconnected(self) -> None:
        old = self.conn
        if self.locked and self.scope:  # a live old session would hold the lock a while
            with contextlib.suppress(DatabaseError, psycopg.Error):
                repo.unlock_scope(old, self.scope)
        fresh = reconnect(old, self._reconnect, self.stop, within_s=RECONNECT_S)
        log.warning("database_reconnected", run_id=self.run_id)
        self.conn = fresh
        if self.locked and self.scope:
            if not repo.try_lock_scope(fresh, self.scope):
                raise RunLockedError(
                    "another run of the same search started while the database "
                    "connection was lost; stopping this one"
                )
            run_lock.record_lock_holder(fresh, self.run_id)

    # -- one page, on the owner thread --------------------------------------------------

    def finish(self, done: Done[Package, Package]) -> None:
        """Load a prepared page, or record why it cannot be; never lets one page end the run.

        An `AuthError` (the key is refused: every page would fail) and a database that is
        gone even after a reconnect do end it; a stop request drops the page silently.
        """
        pkg = done.package or done.task
        for phase, seconds in pkg.phases.items():
            self.notes.phases[phase] = self.notes.phases.get(phase, 0.0) + seconds
        if pkg.unverified:
            self.notes.unverified.append(pkg.unverified)
        if pkg.apply is not None and done.error is None:  # not a page: no ledger row
            self._queue.settle()
            apply = pkg.apply
            self.with_db(lambda: apply(self.conn))
            self.tick(pkg.record.source or "")
            return
        status = "failed"
        try:
            if done.error is not None or pkg.rejected is not None:
                self._queue.settle()  # outcomes are settled in page order
            if done.error is not None:
                # The traceback would keep the worker's frames (a page's body) alive.
                pkg.error = done.error.with_traceback(None)
                status, reason = prepare_failure(pkg, pkg.error)
                if reason is not None:
                    self.fail(pkg.record, reason)
            elif pkg.rejected is not None:
                self.fail(pkg.record, pkg.rejected)
                log.warning("page_rejected", page_key=pkg.record.page_key, error=pkg.rejected)
            else:
                status = self._load(pkg)
        except DatabaseError as exc:
            if self._gone or self.conn.closed or self.conn.broken:
                raise  # the database is gone even after a reconnect: the run cannot go on
            # The database refused this page as a whole (no single item explains it): the
            # page fails, with bronze kept for `--resume`/`replay`; the run goes on.
            self.fail(pkg.record, str(exc))
            status = "failed"
        if status not in ("stopped", "loading"):
            self._page_done(pkg, status)

    def _page_done(self, pkg: Package, status: str) -> None:  # in page order
        if self.on_page is not None:
            self.on_page(pkg, status)
        self.tick(pkg.record.page_key)

    def _load(self, pkg: Package) -> str:
        rows = pkg.rows
        assert rows is not None
        jobs = frozenset(rows.control_numbers).union(text[0] for text in rows.texts)
        self._queue.settle(jobs)  # earlier pages with these jobs (or their texts) load first
        stale = any(self.notes.written.get(cn, 0) > pkg.looked_up for cn in rows.unchanged)
        if stale and self._stages is not None:
            # Looked up before an earlier page of this run wrote some of these jobs: what
            # the lookup called unchanged may have changed since. Prepare again, here.
            log.info("page_reprepared", page_key=pkg.record.page_key)
            conn = self.conn
            lookup = lambda cns, kind: repo.stored_hashes(conn, cns, kind=kind)  # noqa: E731
            pkg = self._stages.reprepare(pkg, lookup)
            rows = pkg.rows
            assert rows is not None
        outcome = pkg.outcome
        results = outcome.results if outcome is not None else None
        if outcome is not None and outcome.hold:
            self._queue.settle()
            self.fail(
                pkg.record,
                "held by data quality: failed " + ", ".join(outcome.failed_expectations),
                status="held",
                dq={"results": results},
            )
            return "held"
        if outcome is not None:
            rows = outcome.rows
        known_dq = pkg.known.dq if pkg.known is not None else None
        extra = {
            "attempts": pkg.attempts,
            "dq": {"results": results} if results is not None else known_dq,
            "items_digest": pkg.items_digest,
        }
        pkg.rows = rows  # what `_settle_load` reports
        self._queue.put(
            pkg,
            jobs,
            lambda conn: repo.load_page_rows(
                conn, rows, record=pkg.record, seen_at=pkg.seen_at, extra_ledger=extra
            ),
            pkg.nbytes,
        )
        return "loading"

    def _settle_load(self, pkg: Package, loaded: Loaded[repo.LoadCounts]) -> None:
        """A page's load is over (on the owner thread, in page order): count it or fail it."""
        self.notes.phases["load"] += loaded.seconds
        if loaded.reconnected:  # the server restarted? then the main session (lock) is gone too
            self.with_db(lambda: _ping(self.conn))
        rows, counts = pkg.rows, loaded.result
        assert rows is not None
        if loaded.error is not None or counts is None:
            if loaded.gone:
                self._gone = True  # the database is gone even after a reconnect
                raise loaded.error or DatabaseError("a page load gave nothing")
            # Refused as a whole (no single item explains it): failed, bronze kept.
            self.fail(pkg.record, str(loaded.error))
        else:
            self.notes.loaded(pkg.record.page_key, rows, counts)
        self._page_done(pkg, "loaded" if loaded.error is None else "failed")

    def fail(
        self, record: repo.PageRecord, error: str, *, status: str = "failed", dq: DqResults = None
    ) -> None:
        """Record a page that could not be loaded (kept in bronze when it got there)."""
        self.notes.errors.append(error)
        self.with_db(lambda: repo.record_page(self.conn, record, status=status, error=error, dq=dq))
        log.error("page_failed", page_key=record.page_key, error=error, status=status)

    # -- the end ------------------------------------------------------------------------

    def summary(self, status: str, **extra: Any) -> dict[str, Any]:
        """The summary every command prints: the ledger's counts, then this run's notes."""
        self._queue.settle()
        out: dict[str, Any] = {"run_id": self.run_id, "status": status}
        out.update(repo.run_totals(self.conn, self.run_id))
        out["phase_times"] = self.notes.phase_times()
        if self.notes.unknown_keys:
            out["unknown_keys"] = dict(sorted(self.notes.unknown_keys.items()))
        if self.notes.unverified:
            out["unverified_pages"] = len(self.notes.unverified)
            out["unverified"] = self.notes.unverified[:20]
        if self.notes.errors:
            out["errors"] = self.notes.errors[:20]
        out.update(extra)
        out["duration_s"] = round(time.monotonic() - self.started, 3)
        return out

    def close(
        self,
        summary: dict[str, Any],
        *,
        complete: bool = False,
        error: str | None = None,
    ) -> dict[str, Any]:
        """Finish the ledger row with `summary` and log it (``run_summary``)."""
        repo.finish_run(
            self.conn,
            self.run_id,
            status=summary["status"],
            summary=summary,
            complete=complete,
            error=error,
        )
        # `command` lets the log metric of scheduled pulls (infra/terraform/monitoring.tf)
        # tell a `run` from a `load` or `replay`.
        shown = {k: v for k, v in summary.items() if k != "partitions"}
        log.info("run_summary", **{"command": self.command, **shown})
        return summary
