"""Commands that read: `jobs` and `site` (gold), `runs` and `runs show` (the run ledger)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tasman_etl.cli.root import handle_errors
from tasman_etl.errors import ConfigError
from tasman_etl.render import JOB_FORMATS, echo_json, print_jobs, print_run, print_runs
from tasman_etl.wiring.core import configured_settings, database
from tasman_etl.wiring.gold import build_job_site, query_jobs

__all__ = ["jobs", "runs", "runs_show", "site"]


@handle_errors
def jobs(
    near: Annotated[
        str | None,
        typer.Option(
            metavar="PLACE",
            help="A place named as in loaded job locations, e.g. 'Chicago, Illinois'.",
            show_default="none",
        ),
    ] = None,
    lat: Annotated[
        float | None,
        typer.Option(
            min=-90.0,
            max=90.0,
            metavar="DEGREES",
            help="Latitude of the point (with --lon).",
            show_default="none",
        ),
    ] = None,
    lon: Annotated[
        float | None,
        typer.Option(
            min=-180.0,
            max=180.0,
            metavar="DEGREES",
            help="Longitude of the point (with --lat).",
            show_default="none",
        ),
    ] = None,
    radius: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            metavar="MILES",
            help="Miles around --near or --lat/--lon.",
            show_default="50 with a point",
        ),
    ] = None,
    keyword: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT",
            help='Full text on title and summary (web-search syntax: "phrase", or, -word).',
            show_default="none",
        ),
    ] = None,
    open_only: Annotated[
        bool, typer.Option("--open-only", help="Only open postings (not closed, not inactive).")
    ] = False,
    limit: Annotated[
        int,
        typer.Option(
            min=0, metavar="N", help="At most this many jobs (0 = all).", show_default=True
        ),
    ] = 50,
    fmt: Annotated[
        str, typer.Option("--format", metavar="[table|json|csv]", help="Output format.")
    ] = "table",
) -> None:
    """Query gold: jobs near a place or point (any of their locations), newest first.

    Without --near or --lat/--lon every job is listed (distance_miles empty).
    """
    if fmt not in JOB_FORMATS:
        raise ConfigError("--format must be table, json or csv")
    if near is not None and (lat is not None or lon is not None):
        raise ConfigError("use either --near or --lat/--lon, not both")
    if (lat is None) != (lon is None):
        raise ConfigError("give both --lat and --lon")
    if radius is not None and near is None and lat is None:
        raise ConfigError("--radius needs --near or --lat/--lon")
    from tasman_etl.gold import JOB_FIELDS

    settings = configured_settings()
    found = query_jobs(
        settings,
        near=near,
        lat=lat,
        lon=lon,
        radius=50.0 if radius is None else radius,
        keyword=keyword,
        open_only=open_only,
        limit=limit,
    )
    print_jobs(found.rows, fmt, JOB_FIELDS)
    if found.truncated:
        # tables are for people: the note goes with them; JSON/CSV stdout stays data only
        note = f"showing {len(found.rows)} of {found.total} jobs (--limit 0 shows all)"
        typer.echo(note, err=fmt != "table")


@handle_errors
def site(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Folder to write the site into (new, empty, or a site)."
        ),
    ],
    tiles: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Map tiles URL template ({z}/{x}/{y}); the page then fetches tiles from it.",
            show_default="none: states outline only, no network",
        ),
    ] = None,
    tiles_attribution: Annotated[
        str,
        typer.Option(
            metavar="TEXT",
            help="Attribution shown for --tiles (their licence's).",
            show_default="none",
        ),
    ] = "",
    screenshot: Annotated[
        Path | None,
        typer.Option(
            metavar="PNG",
            help="Also open the page in headless Chromium and save a screenshot here.",
            show_default="none",
        ),
    ] = None,
) -> None:
    """Write the job seeker's page from gold: a static site that opens from file://.

    Open jobs on a map and in a list, newest first, with filters; opened without any it
    shows the founding search (data engineering within 50 miles of Chicago). Prints a JSON
    summary (jobs, places, sizes, seconds).
    """
    settings = configured_settings()
    summary = build_job_site(
        settings,
        directory,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        screenshot=screenshot,
    )
    echo_json(summary)


@handle_errors
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="How many runs to list.")] = 20,
    fmt: Annotated[
        str, typer.Option("--format", metavar="[table|json]", help="Output format.")
    ] = "table",
) -> None:
    """List the run ledger, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in ("table", "json"):
        raise ConfigError("--format must be table or json")
    from tasman_etl.db.repository import list_runs

    settings = configured_settings()
    with database(settings) as conn:
        rows = list_runs(conn, limit=limit)
    if fmt == "json":
        echo_json(rows)
        return
    print_runs(rows)


@handle_errors
def runs_show(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run to show.")],
    fmt: Annotated[
        str, typer.Option("--format", metavar="[table|json]", help="Output format.")
    ] = "table",
) -> None:
    """Show one run: its summary and every page with its status."""
    from tasman_etl.db.repository import get_run, list_pages

    settings = configured_settings()
    with database(settings) as conn:
        run = get_run(conn, run_id)
        if run is None:
            raise ConfigError(f"no run {run_id!r} in the ledger")
        pages = list_pages(conn, run_id)
    if fmt == "json":
        echo_json({"run": run, "pages": pages})
        return
    print_run(run, pages)
