"""`tasman-etl replay`: rebuild silver from bronze alone (no network), as a run of its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import structlog

from tasman_etl import __version__
from tasman_etl.db.repository import (
    PageRecord,
    finish_run,
    page_statuses,
    record_page,
    settle_source_page,
    start_run,
)
from tasman_etl.errors import ConfigError, TasmanError
from tasman_etl.runner.pipeline import (
    CaptureMismatchError,
    PageGate,
    PageIngestor,
    new_run_id,
    page_key,
)
from tasman_etl.runner.run import RunResult
from tasman_etl.storage.bronze import BronzeKey, BronzeStore

__all__ = ["replay"]

log = structlog.get_logger(__name__)


def replay(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    *,
    run_id: str | None = None,
    on_date: date | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    gate: PageGate | None = None,
) -> RunResult:
    """Load every bronze page of a run, a date, or everything, oldest first (checked by `gate`).

    A replayed page that loads also settles its source run's ledger row: a page held or
    failed there is marked loaded, with a note naming this replay.

    Each object is checked against the payload SHA-256 its source run recorded at capture
    (`PageIngestor.verify_capture`): a mismatch is a failed page of this replay (nothing of
    it loads; the other pages go on) and, when the source run has not loaded that page, a
    failed page there too, with the same reason. Objects the ledger holds no hash for load
    and are listed under `unverified` in the summary.
    """
    keys = list(store.list(run_id=run_id, run_date=on_date))
    if not keys:
        scope = (f"run {run_id}" if run_id else "") + (f" date {on_date}" if on_date else "")
        raise ConfigError(
            f"no bronze pages found for {scope.strip() or 'the store'} in {store.describe()}"
        )
    now = datetime.now(UTC)
    rid = new_run_id(now)
    structlog.contextvars.bind_contextvars(run_id=rid)
    start_run(
        conn,
        rid,
        command="replay",
        params={
            "run_id": run_id,
            "date": on_date.isoformat() if on_date else None,
            "pages": len(keys),
        },
        scope_hash=None,
        code_version=__version__,
    )
    ingestor = PageIngestor(conn, store, rid, run_date=now.date(), gate=gate)
    prefix = store.prefix + "/" if store.prefix else ""
    log.info("replay_started", pages=len(keys), bronze=store.describe())
    for number, key in enumerate(keys, 1):
        ledger_key = key.path.removeprefix(prefix)
        try:
            before = ingestor.stats.pages
            ingestor.replay_key(key, ledger_page=number, ledger_key=ledger_key)
            if ingestor.stats.pages > before:
                settle_source_page(conn, key, rid)
        except ValueError as exc:
            log.warning("bronze_page_rejected", key=key.path, error=str(exc))
        except CaptureMismatchError as exc:
            ingestor.fail_page(
                PageRecord(rid, ledger_key, "", number, key.path, key.path, None), str(exc)
            )
            _fail_source_page(conn, key, str(exc))
        except TasmanError as exc:
            ingestor.fail_page(
                PageRecord(rid, ledger_key, "", number, key.path, key.path, None),
                f"{key.path}: {exc}",
            )
        if progress:
            progress(number, len(keys), ledger_key)
    stats = ingestor.stats
    failed = stats.failed_pages > 0 or stats.held_pages > 0
    status = "failed" if failed else "succeeded"
    summary = stats.summary(
        rid, status, source_run=run_id, source_date=on_date.isoformat() if on_date else None
    )
    finish_run(conn, rid, status=status, summary=summary)
    log.info("run_summary", **{"command": "replay", **summary})
    structlog.contextvars.unbind_contextvars("run_id")
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
