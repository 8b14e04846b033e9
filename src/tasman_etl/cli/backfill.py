"""The `backfill` command: closed announcements from the Historic JOA API, by window."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from tasman_etl.cli.root import handle_errors, progress_display, run_id_option, setting_help
from tasman_etl.console import stop_progress
from tasman_etl.errors import ConfigError
from tasman_etl.render import echo_json, print_backfill_plan, print_summary
from tasman_etl.signals import StopOnSignal
from tasman_etl.wiring.backfill import run_backfill
from tasman_etl.wiring.core import configured_settings

__all__ = ["backfill"]


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} must be YYYY-MM-DD, got {value!r}") from None


@handle_errors
def backfill(
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="YYYY-MM-DD",
            show_default="none",
            help="First position open date.",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="YYYY-MM-DD", show_default="none", help="Last position open date."
        ),
    ] = None,
    agency: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CODE", show_default="all", help="Hiring agency code (repeat for several)."
        ),
    ] = None,
    series: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CODE", show_default="all", help="Occupational series (repeat for several)."
        ),
    ] = None,
    texts: Annotated[
        bool,
        typer.Option(
            "--texts",
            help="Also collect each window's AnnouncementText (long texts) pages; kept in "
            "the run, so --window, --claim and --resume do them too.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=32,
            metavar="N",
            help="Windows read at once, in N processes (one shared "
            "rate limit, one database connection each).",
        ),
    ] = 1,
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=run_id_option,
            metavar="RUN_ID",
            show_default="new",
            help="The backfill's run id.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            callback=run_id_option,
            metavar="RUN_ID",
            show_default="none",
            help="Continue a backfill: windows not complete are read again from where their "
            "token chain stopped.",
        ),
    ] = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Plan the windows and record the run; read nothing (see --json)."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --plan: print the plan as one JSON document.")
    ] = False,
    plan_out: Annotated[
        str | None,
        typer.Option(
            metavar="PATH|s3://BUCKET/KEY",
            show_default="none",
            help="With --plan: also write the windows (a JSON array) there.",
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            metavar="ID", show_default="none", help="Read one window of --run-id (a unit of work)."
        ),
    ] = None,
    claim: Annotated[
        bool,
        typer.Option(
            "--claim",
            help="Take windows of --run-id not yet done, one after another, until "
            "none is left (what each --workers process does).",
        ),
    ] = False,
    finish: Annotated[
        bool,
        typer.Option("--finish", help="Close --run-id in the ledger and print its summary."),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Backfill from the built-in simulated Historic JOA API."),
    ] = False,
    demo_jobs: Annotated[
        int,
        typer.Option(min=0, metavar="N", help="Closed postings the simulator holds with --demo."),
    ] = 5000,
    api_base: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help=setting_help("USAJOBS API base URL.", "USAJOBS_API_BASE", "usajobs_api_base"),
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--requests-per-second",
            min=0.01,
            max=1000,
            metavar="N",
            help=setting_help(
                "Requests a second to the API, shared by every --workers process.",
                "REQUESTS_PER_SECOND",
                "requests_per_second",
            ),
        ),
    ] = None,
) -> None:
    """Collect closed announcements from the Historic JOA API (no key needed), by window."""
    from tasman_etl.runner.history import BackfillOptions

    opts = BackfillOptions(
        start=_day(from_, "--from"),
        end=_day(to, "--to"),
        agencies=tuple(agency or ()),
        series=tuple(series or ()),
        run_id=run_id,
        resume=resume,
        plan=plan,
        window=window,
        claim=claim,
        finish=finish,
        workers=workers,
        concurrency=workers,  # planning probes go out --workers at a time too
        texts=texts,
    )
    opts.check()
    if (as_json or plan_out) and not plan:
        raise ConfigError("--json and --plan-out go with --plan")
    if demo and (window or claim or finish):
        raise ConfigError("--demo runs a whole backfill; use --api-base for one unit")
    settings = configured_settings(usajobs_api_base=api_base, requests_per_second=rate)
    stopper = StopOnSignal()
    stopper.install()
    outcome = run_backfill(
        settings,
        opts,
        stop=stopper.event,
        demo=demo,
        demo_jobs=demo_jobs,
        plan_out=plan_out,
        progress=None if plan else progress_display,
    )
    if plan and not as_json:
        stop_progress()
        print_backfill_plan(outcome.output)
    elif plan or window or claim:
        stop_progress()
        echo_json(outcome.output)
    else:
        print_summary(outcome.output)
    if outcome.code:
        raise typer.Exit(outcome.code)
