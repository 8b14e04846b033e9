"""Tool commands: `dq` (check one page), `simulator` (serve the fake API), `doctor`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tasman_etl import __version__
from tasman_etl.cli.root import handle_errors
from tasman_etl.errors import ConfigError, TasmanError
from tasman_etl.redact import scrub
from tasman_etl.render import echo_json
from tasman_etl.signals import interrupt_on_sigterm
from tasman_etl.wiring.core import configured_settings
from tasman_etl.wiring.tools import check_page_file, database_check, probe_bronze

__all__ = ["doctor", "dq", "simulator"]


@handle_errors
def dq(
    page_file: Annotated[
        Path,
        typer.Argument(
            metavar="PAGE_FILE",
            help="A saved search page: raw payload or bronze envelope (.json, .json.gz).",
        ),
    ],
    docs: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Also write a Data Docs site (index.html) into DIR.",
            show_default="none",
        ),
    ] = None,
) -> None:
    """Run the data-quality suite on one saved page; JSON results on stdout.

    Exit 0 when every expectation passed, 1 when any failed.

    Rate interval codes are checked against the built-in list (no database needed).
    """
    configured_settings()
    if not page_file.is_file():
        raise ConfigError(f"no such file: {page_file}")
    if docs is not None and docs.exists() and not docs.is_dir():
        raise ConfigError(f"--docs must be a folder, {docs} is a file")
    report = check_page_file(page_file, docs)
    echo_json({"file": page_file.name, **report})
    if not report["success"]:
        raise typer.Exit(1)


@handle_errors
def simulator(
    port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1 (0 = any free port)."
        ),
    ] = 8765,
    jobs: Annotated[
        int, typer.Option(min=0, metavar="N", help="Size of the synthetic universe.")
    ] = 2000,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Random seed (same seed, same data).")
    ] = 42,
    auth_key: Annotated[
        str | None,
        typer.Option(
            metavar="KEY",
            help="Require this Authorization-Key.",
            show_default="any non-empty key",
        ),
    ] = None,
    fault_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            metavar="SHARE",
            help="Share of search requests answered with a fault.",
        ),
    ] = 0.0,
    fault_kinds: Annotated[
        str,
        typer.Option(metavar="KINDS", help="Comma-separated: 429,500,503,slow,truncate,drop."),
    ] = "429,503",
    retry_after: Annotated[
        str, typer.Option(metavar="SECONDS", help="Retry-After sent with 429/503.")
    ] = "1",
    slow_seconds: Annotated[
        float, typer.Option(min=0.0, metavar="SECONDS", help="Delay of a 'slow' fault.")
    ] = 2.0,
    text: Annotated[
        str,
        typer.Option(
            metavar="[compact|real]",
            help="Long text fields: compact (~6 KB items) or real (~16 KB).",
        ),
    ] = "compact",
    locations: Annotated[
        str,
        typer.Option(
            metavar="[typical|real]",
            help="Locations per job: typical (1-60) or real (up to 1,200).",
        ),
    ] = "typical",
    historic_jobs: Annotated[
        int,
        typer.Option(
            min=0, metavar="N", help="Closed postings in the Historic JOA API (on top of --jobs)."
        ),
    ] = 0,
    historic_page_size: Annotated[
        int,
        typer.Option(min=1, max=1000, metavar="N", help="Historic JOA rows per page."),
    ] = 1000,
    historic_shortfall: Annotated[
        str,
        typer.Option(
            metavar="MONTHS",
            help="Comma-separated YYYY-MM: Historic JOA queries starting in these months "
            "silently return fewer rows than totalCount.",
            show_default="none",
        ),
    ] = "",
) -> None:
    """Serve the simulated USAJOBS API (search, codelists, Historic JOA) on 127.0.0.1."""
    from tasman_etl.simulator import FaultPlan, SimulatorConfig, serve

    kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip())
    configured_settings()
    try:
        faults = FaultPlan(
            rate=fault_rate, kinds=kinds, retry_after=retry_after, slow_seconds=slow_seconds
        )
        config = SimulatorConfig.model_validate(
            {
                "jobs": jobs,
                "seed": seed,
                "auth_key": auth_key,
                "faults": faults,
                "text": text,  # compact|real, checked here
                "locations": locations,  # typical|real
                "historic_jobs": historic_jobs,
                "historic_page_size": historic_page_size,
                "historic_shortfall_months": tuple(
                    m.strip() for m in historic_shortfall.split(",") if m.strip()
                ),
            }
        )
    except ValueError as exc:
        raise ConfigError(f"bad simulator option: {exc}") from None
    interrupt_on_sigterm()
    serve(config, port=port)


@handle_errors
def doctor() -> None:
    """Check configuration, database reachability and bronze writability (exit 0 when healthy)."""
    problems: list[str] = []
    settings = configured_settings()
    typer.echo(f"config: ok (version {__version__})")
    try:
        with database_check(settings) as display_url:
            typer.echo(f"database: ok ({display_url})")
    except TasmanError as exc:
        problems.append(f"database: {exc}")
    try:
        described = probe_bronze(settings)
        typer.echo(f"bronze: ok ({described})")
    except TasmanError as exc:
        problems.append(f"bronze: {exc}")
    except OSError as exc:
        problems.append(f"bronze: not writable: {exc}")
    for problem in problems:
        typer.echo(f"error: {scrub(problem)}", err=True)
    if problems:
        raise typer.Exit(1)
