"""The `backfill` command's parts: the Historic JOA client, its shared rate limit, the demo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog

from tasman_etl.config import Settings
from tasman_etl.wiring.core import database
from tasman_etl.wiring.ingest import DEMO_KEY, Progress

if TYPE_CHECKING:
    from tasman_etl.runner.history import BackfillOptions, Outcome
    from tasman_etl.simulator import SimulatorServer

__all__ = ["run_backfill"]

log = structlog.get_logger(__name__)


def run_backfill(
    settings: Settings,
    opts: BackfillOptions,
    *,
    stop: threading.Event,
    demo: bool,
    demo_jobs: int,
    plan_out: str | None,
    progress: Progress | None,
) -> Outcome:
    """Plan, read or finish a Historic JOA backfill as ``opts`` say; its outcome.

    With ``demo`` the built-in simulator serves the API for the backfill's duration. Every
    process of this machine that reads the same API shares one rate limit.
    """
    from tasman_etl.http.historic import HistoricClient, HistoricQuery
    from tasman_etl.runner.fanout import SharedRateLimiter
    from tasman_etl.runner.history import execute_backfill, write_plan
    from tasman_etl.runner.run import interruptible_sleep
    from tasman_etl.storage.bronze import open_bronze_store

    base = settings.usajobs_api_base
    simulator: SimulatorServer | None = None
    if demo:
        from tasman_etl.simulator import SimulatorConfig, SimulatorServer

        simulator = SimulatorServer(
            SimulatorConfig(jobs=200, seed=42, auth_key=DEMO_KEY, historic_jobs=demo_jobs)
        )
        base = simulator.start()
        log.info("demo_simulator_started", api=base, historic_jobs=demo_jobs)
    per_s = max(settings.requests_per_second, 50.0) if demo else settings.requests_per_second
    forward = ["backfill", "--api-base", base, "--requests-per-second", str(per_s)]
    # One limit for every process of this machine that reads this API (--workers N).
    host = "".join(c if c.isalnum() else "_" for c in base.split("://", 1)[-1])[:80]
    limiter = SharedRateLimiter(settings.tasman_home / "run" / f"{host}.rate", per_s)
    try:
        store = open_bronze_store(settings)
        sleep = interruptible_sleep(stop)
        with (
            database(settings) as conn,
            HistoricClient(
                base,
                user_agent=settings.usajobs_user_agent,
                limiter=limiter,
                sleep=sleep,
                stop=stop,
            ) as client,
        ):

            def probe(start: date, end: date) -> tuple[int, int]:
                page = client.page(HistoricQuery(start, end, opts.agencies, opts.series))
                return int(page.total_count or 0), max(1, len(page.records) or 1000)

            def pages_of(w: Any, start_url: str | None, number: int, text: bool) -> Iterator[Any]:
                query = HistoricQuery(w.start, w.end, w.agencies, w.series)  # the run's filters
                return client.pages(query, text=text, start_url=start_url, start_number=number)

            return execute_backfill(
                conn,
                store,
                opts,
                probe=probe,
                pages_of=pages_of,
                stop=stop,
                worker_args=forward,
                progress=progress() if progress is not None else None,
                plan_out=(lambda listed: write_plan(listed, plan_out)) if plan_out else None,
            )
    finally:
        if simulator is not None:
            simulator.stop()
