"""Commands that ingest into silver: `load` (saved files), `run` (the API), `replay` (bronze)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tasman_etl.cli.root import fail, handle_errors, progress_display, run_id_option, setting_help
from tasman_etl.console import stop_progress
from tasman_etl.errors import ConfigError
from tasman_etl.redact import scrub
from tasman_etl.render import print_search_plan, print_summary
from tasman_etl.signals import StopOnSignal, interrupt_on_sigterm
from tasman_etl.wiring.core import configured_settings
from tasman_etl.wiring.ingest import (
    load_saved_files,
    plan_search,
    replay_bronze,
    run_search,
    search_client_config,
)

__all__ = ["load", "replay", "run"]


@handle_errors
def load(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Files or folders of saved search responses (.json, .json.gz).",
            show_default=False,
        ),
    ],
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=run_id_option, metavar="RUN_ID", help="Use this run id.", show_default="new"
        ),
    ] = None,
    keyword: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT",
            help="The files answer a search with this keyword: record their jobs under that "
            "search (with --location/--radius). Envelopes name their search themselves.",
            show_default="none",
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(metavar="PLACE", help="LocationName of that search.", show_default="none"),
    ] = None,
    radius: Annotated[
        int | None,
        typer.Option(
            min=1, metavar="MILES", help="Radius of that search (miles).", show_default="none"
        ),
    ] = None,
) -> None:
    """Ingest saved search-response files (raw payloads or bronze envelopes) as one run."""
    from tasman_etl.http.usajobs import SearchQuery
    from tasman_etl.runner.load import collect_files

    settings = configured_settings()
    scope = None
    if keyword is not None or location is not None or radius is not None:
        if radius is not None and not location:
            raise ConfigError("--radius needs --location")
        scope = SearchQuery(keyword=keyword, location_name=location, radius_miles=radius)
    files = collect_files(paths)  # a usage error here writes nothing
    interrupt_on_sigterm()
    result = load_saved_files(
        settings, files, run_id=run_id, scope=scope, progress=progress_display
    )
    stop_progress()
    for error in result.summary.get("errors", []):
        typer.echo(f"error: {error}", err=True)
    print_summary(result.summary)
    if result.failed:
        raise typer.Exit(1)


@handle_errors
def run(
    keyword: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT", help=setting_help("Keyword filter ('' = none).", "KEYWORD", "keyword")
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            metavar="PLACE",
            help=setting_help(
                "LocationName, e.g. 'Chicago, Illinois' ('' = nationwide).",
                "LOCATION_NAME",
                "location_name",
            ),
        ),
    ] = None,
    radius: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="MILES",
            help=setting_help("Radius around --location.", "RADIUS_MILES", "radius_miles"),
        ),
    ] = None,
    max_pages: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help=setting_help(
                "Fetch at most this many pages (none = all).", "MAX_PAGES", "max_pages"
            ),
        ),
    ] = None,
    results_per_page: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=500,
            metavar="N",
            help=setting_help(
                "Page size (500 is the API maximum).", "RESULTS_PER_PAGE", "results_per_page"
            ),
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=run_id_option, metavar="RUN_ID", help="Use this run id.", show_default="new"
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            callback=run_id_option,
            metavar="RUN_ID",
            show_default="none",
            help="Continue a stopped or "
            "failed run: skip loaded pages, load pages "
            "already in bronze, fetch the rest.",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Run against the built-in simulated USAJOBS API (no credentials needed)."
        ),
    ] = False,
    demo_jobs: Annotated[
        int, typer.Option(min=1, metavar="N", help="Size of the simulated universe with --demo.")
    ] = 2000,
    api_base: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help=setting_help("USAJOBS API base URL.", "USAJOBS_API_BASE", "usajobs_api_base"),
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            metavar="N",
            help=setting_help(
                "Parallel page fetches (one shared rate limit).", "CONCURRENCY", "concurrency"
            ),
        ),
    ] = None,
    accept_shrink: Annotated[
        bool,
        typer.Option(
            "--accept-shrink",
            help="Trust a result that lost more of the search's jobs than SHRINK_GUARD_SHARE "
            "allows (the search really shrank); without it such a run exits 1 and marks "
            "nothing inactive.",
        ),
    ] = False,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Dry run: make the planning requests (page 1, split probes, code lists), print "
            "the partitions and pages a run would fetch, write nothing (no database, no bronze).",
        ),
    ] = False,
) -> None:
    """Fetch the search from the USAJOBS API into bronze and silver; print a JSON summary."""
    from tasman_etl.runner.run import RunAborted

    if run_id and resume:
        raise ConfigError("--run-id and --resume cannot be used together")
    if plan and resume:
        raise ConfigError("--plan plans a new run; it cannot be used with --resume")
    settings = configured_settings(
        keyword=keyword,
        location_name=location,
        radius_miles=radius,
        max_pages=max_pages,
        results_per_page=results_per_page,
        usajobs_api_base=api_base,
        concurrency=concurrency,
    )
    stopper = StopOnSignal()
    stopper.install()
    config, simulator = search_client_config(settings, demo=demo, demo_jobs=demo_jobs)
    if plan:
        try:
            print_search_plan(plan_search(settings, config, stopper.event))
        finally:
            if simulator is not None:
                simulator.stop()
        return
    try:
        result = run_search(
            settings,
            config,
            stop=stopper.event,
            run_id=run_id,
            resume=resume,
            accept_shrink=accept_shrink,
            progress=progress_display,
        )
    except RunAborted:  # stopped while fetching code lists, before the run started
        raise fail("stopped by a signal before the run started; nothing was fetched", 1) from None
    finally:
        if simulator is not None:
            simulator.stop()
    stop_progress()
    if result.summary.get("error"):
        typer.echo(f"error: {scrub(str(result.summary['error']))}", err=True)
    print_summary(result.summary)
    if result.failed:
        raise typer.Exit(1)


@handle_errors
def replay(
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=run_id_option,
            metavar="RUN_ID",
            help="Replay only this run's pages.",
            show_default="all",
        ),
    ] = None,
    on_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Replay only pages captured that day.",
            show_default="any day",
        ),
    ] = None,
) -> None:
    """Rebuild silver from bronze (a run, a date, or everything); no network."""
    day = None
    if on_date is not None:
        try:
            day = date.fromisoformat(on_date)
        except ValueError:
            raise ConfigError(f"--date must be YYYY-MM-DD, got {on_date!r}") from None
    settings = configured_settings()
    interrupt_on_sigterm()
    result = replay_bronze(settings, run_id=run_id, on_date=day, progress=progress_display)
    print_summary(result.summary)
    if result.failed:
        raise typer.Exit(1)
