"""`tasman-etl replay`: rebuild silver from bronze alone (no network), as a run of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import structlog

from tasman_etl.db.repository import (
    PageRecord,
    page_statuses,
    record_page,
    settle_source_page,
)
from tasman_etl.dq.outcome import PageGate
from tasman_etl.errors import ConfigError, DatabaseError
from tasman_etl.runner.lifecycle import Run, RunResult
from tasman_etl.runner.pages import (
    CaptureMismatchError,
    Package,
    make_record,
    new_run_id,
    page_key,
)
from tasman_etl.storage.bronze import BronzeKey, BronzeStore

__all__ = ["replay"]

log = structlog.get_logger(__name__)

REPLAY_WORKERS = 2
"""Threads reading and parsing bronze objects while the owner thread loads."""


def replay(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    *,
    run_id: str | None = None,
    on_date: date | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    gate: PageGate | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Load every bronze page of a run, a date, or everything, oldest first (checked by `gate`).

    A replayed page that loads also settles its source run's ledger row: a page held or
    failed there is marked loaded, with a note naming this replay.

    Each object is checked against the payload SHA-256 its source run recorded at capture
    (`tasman_etl.runner.pages.Stages`): a mismatch is a failed page of this replay (nothing
    of it loads; the other pages go on) and, when the source run has not loaded that page, a
    failed page there too, with the same reason. Objects the ledger holds no hash for load
    and are listed under `unverified` in the summary. Objects are read and parsed on worker
    threads while earlier pages load (the page engine).
    """
    keys = list(store.list(run_id=run_id, run_date=on_date))
    if not keys:
        scope = (f"run {run_id}" if run_id else "") + (f" date {on_date}" if on_date else "")
        raise ConfigError(
            f"no bronze pages found for {scope.strip() or 'the store'} in {store.describe()}"
        )
    now = datetime.now(UTC)
    rid = new_run_id(now)
    params = {
        "run_id": run_id,
        "date": on_date.isoformat() if on_date else None,
        "pages": len(keys),
    }
    prefix = store.prefix + "/" if store.prefix else ""
    with Run(conn, rid, command="replay", params=params, stop=stop, progress=progress) as run:
        run.total = len(keys)
        stages = run.stages(store, now.date(), gate, note_captures=False)
        log.info("replay_started", pages=len(keys), bronze=store.describe())

        def source() -> Iterator[Package]:
            for number, key in enumerate(keys, 1):
                ledger_key = key.path.removeprefix(prefix)
                record = make_record(rid, ledger_key, number, source=key.path, bronze_key=key.path)
                yield Package(record, now, bronze=key)

        def settle(pkg: Package, status: str) -> None:
            """Tell the source run's ledger; the page itself is already recorded here."""
            key, error = pkg.bronze, pkg.error
            assert key is not None
            try:
                if status == "loaded":
                    run.with_db(lambda: settle_source_page(run.conn, key, rid))
                elif isinstance(error, CaptureMismatchError):
                    run.with_db(lambda: _fail_source_page(run.conn, key, str(error)))
            except (DatabaseError, psycopg.Error) as exc:
                log.warning("source_page_not_settled", key=key.path, error=str(exc)[:300])

        run.on_page = settle
        run.pump(source(), stages.prepare, workers=REPLAY_WORKERS)
        summary = run.summary(
            "succeeded", source_run=run_id, source_date=on_date.isoformat() if on_date else None
        )
        failed = summary["failed_pages"] > 0 or summary["held_pages"] > 0
        summary["status"] = "failed" if failed else "succeeded"
        run.close(summary)
    return RunResult(rid, summary, failed)


def _fail_source_page(conn: psycopg.Connection[Any], key: BronzeKey, error: str) -> None:
    """Record a refused object in the run that captured it, unless that run loaded the page.

    A page the source run loaded keeps `loaded`: what it loaded came from the bytes it
    captured, before the object changed. This replay's own ledger row carries the refusal.
    """
    ledger_key = page_key(key.page, key.part)
    status = page_statuses(conn, key.run_id).get(ledger_key)
    if status is None or status in ("loaded", "skipped"):
        return
    record_page(
        conn,
        PageRecord(key.run_id, ledger_key, key.part or "", key.page, key.path, key.path, None),
        status="failed",
        error=error,
        attempts=0,
    )
