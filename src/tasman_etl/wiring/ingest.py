"""The commands that ingest into silver: `run` (the search API), `load` and `replay`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import SecretStr

from tasman_etl.config import Settings
from tasman_etl.errors import ConfigError
from tasman_etl.wiring.core import connections, database, quality_gate

if TYPE_CHECKING:
    from tasman_etl.http.codelists import CodelistClient
    from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
    from tasman_etl.runner.load import LoadResult
    from tasman_etl.runner.results import RunResult
    from tasman_etl.simulator import SimulatorServer

__all__ = [
    "DEMO_KEY",
    "DEMO_USER_AGENT",
    "Progress",
    "load_saved_files",
    "mark_inactive_hook",
    "plan_search",
    "replay_bronze",
    "run_search",
    "search_client_config",
]

log = structlog.get_logger(__name__)

DEMO_KEY = "demo-key"
DEMO_USER_AGENT = "demo@tasman-etl.invalid"

Progress = Callable[[], Callable[[int, int, str], None] | None]
"""Starts the progress display (or not) and returns its update function."""


def load_saved_files(
    settings: Settings,
    files: Sequence[Path],
    *,
    run_id: str | None,
    scope: SearchQuery | None,
    progress: Progress,
) -> LoadResult:
    """Load saved search responses as one run (bronze, gate, silver); the run's result."""
    from tasman_etl.runner.load import load_paths
    from tasman_etl.storage.bronze import open_bronze_store

    store = open_bronze_store(settings)
    with database(settings) as conn:
        # saved files may be trimmed by hand: the item-count check warns, never holds
        gate = quality_gate(settings, conn, item_count="warn")
        return load_paths(
            conn, store, files, run_id=run_id, progress=progress(), gate=gate, scope=scope
        )


def replay_bronze(
    settings: Settings, *, run_id: str | None, on_date: date | None, progress: Progress
) -> RunResult:
    """Rebuild silver from bronze (a run, a day, or everything); the replay's result."""
    from tasman_etl.runner.replay import replay
    from tasman_etl.storage.bronze import open_bronze_store

    store = open_bronze_store(settings)
    with database(settings) as conn:
        # API pages had their item count checked when fetched; files saved by `load` may
        # be trimmed by hand: replay only warns on the count.
        gate = quality_gate(settings, conn, item_count="warn")
        return replay(conn, store, run_id=run_id, on_date=on_date, progress=progress(), gate=gate)


def search_client_config(
    settings: Settings, *, demo: bool, demo_jobs: int
) -> tuple[ClientConfig, SimulatorServer | None]:
    """The search client's configuration, and the demo simulator (started) with ``demo``.

    Without ``demo`` the simulator is None and the credentials must be set (else
    `ConfigError`). The caller stops the simulator.
    """
    from tasman_etl.http.usajobs import ClientConfig

    config = ClientConfig.from_settings(settings)
    simulator: SimulatorServer | None = None
    if demo:
        from tasman_etl.simulator import SimulatorConfig, SimulatorServer

        simulator = SimulatorServer(SimulatorConfig(jobs=demo_jobs, seed=42, auth_key=DEMO_KEY))
        base = simulator.start()
        log.info("demo_simulator_started", api=base, jobs=demo_jobs)
        config = config.model_copy(
            update={
                "api_base": base,
                "auth_key": SecretStr(DEMO_KEY),
                "user_agent": DEMO_USER_AGENT,
                "requests_per_second": max(settings.requests_per_second, 50.0),
            }
        )
    elif not settings.usajobs_auth_key or not settings.usajobs_user_agent:
        raise ConfigError(
            "USAJOBS_AUTH_KEY and USAJOBS_USER_AGENT (the e-mail registered for "
            "the key) must be set; or try --demo"
        )
    return config, simulator


@contextlib.contextmanager
def _search_clients(
    settings: Settings, config: ClientConfig, stop: threading.Event
) -> Iterator[tuple[UsajobsClient, CodelistClient]]:
    """The search client and the code-list client, both stopping on ``stop``."""
    from tasman_etl.http.codelists import CodelistClient
    from tasman_etl.http.usajobs import UsajobsClient
    from tasman_etl.runner.run import interruptible_sleep

    sleep = interruptible_sleep(stop)
    with (
        UsajobsClient(config, sleep=sleep, stop=stop) as client,
        CodelistClient(
            config.api_base,
            timeout_s=settings.http_timeout_s,
            deadline_s=settings.http_deadline_s,
            max_body_bytes=settings.http_max_body_bytes,
            sleep=sleep,
            stop=stop,
        ) as codelists,
    ):
        yield client, codelists


def plan_search(settings: Settings, config: ClientConfig, stop: threading.Event) -> dict[str, Any]:
    """`run --plan`: the planning requests only; the plan a run would follow."""
    from tasman_etl.http.usajobs import SearchQuery
    from tasman_etl.runner.dry_run import plan_only

    with _search_clients(settings, config, stop) as (client, codelists):
        return plan_only(
            client,
            SearchQuery.from_settings(settings),
            codelists=codelists,
            results_per_page=settings.results_per_page,
            max_pages=settings.max_pages,
        )


def run_search(
    settings: Settings,
    config: ClientConfig,
    *,
    stop: threading.Event,
    run_id: str | None,
    resume: str | None,
    accept_shrink: bool,
    progress: Progress,
) -> RunResult:
    """Fetch the search into bronze and silver as one run; the run's result.

    Raises `RunAborted` when stopped before the run started (nothing fetched).
    """
    from tasman_etl.http.usajobs import SearchQuery
    from tasman_etl.runner.reference import PersistingCodelists, refresh_label_lists
    from tasman_etl.runner.run import RunOptions, execute_run
    from tasman_etl.storage.bronze import open_bronze_store

    store = open_bronze_store(settings)
    with (
        connections(settings, 2) as (conn, lookup_conn),
        _search_clients(settings, config, stop) as (client, codelists),
    ):
        refresh_label_lists(conn, codelists, ttl_s=86_400)
        gate = quality_gate(settings, conn, item_count="hold")
        opts = RunOptions(
            query=SearchQuery.from_settings(settings),
            results_per_page=settings.results_per_page,
            max_pages=settings.max_pages,
            concurrency=settings.concurrency,
            run_id=run_id,
            resume=resume,
            shrink_guard=settings.shrink_guard_share,
            accept_shrink=accept_shrink,
            run_max_age_s=settings.run_max_age_s,
        )
        return execute_run(
            conn,
            store,
            client,
            opts,
            stop=stop,
            codelists=PersistingCodelists(codelists, conn),
            gate=gate,
            on_complete=mark_inactive_hook(
                settings.inactive_after_runs,
                1.0 if accept_shrink else settings.shrink_guard_share,
            ),
            progress=progress(),
            lookup_conn=lookup_conn,
        )


def mark_inactive_hook(
    after_runs: int, max_share: float = 1.0
) -> Callable[[Any, str, str], dict[str, Any]]:
    """The `on_complete` hook of `run`: inactive marking for the run's scope, guarded."""
    from tasman_etl.db.repository import get_run
    from tasman_etl.runner.inactive import mark_inactive

    def hook(conn: Any, run_id: str, status: str) -> dict[str, Any]:
        row = get_run(conn, run_id)
        scope = row["scope_hash"] if row else None
        if not scope:
            return {}
        return dict(mark_inactive(conn, run_id, scope, after_runs, max_share=max_share))

    return hook
