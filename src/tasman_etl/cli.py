"""The `tasman-etl` command line: thin wrappers over the runner and the database layer.

Only this module turns errors into exit codes: 0 success; 1 the command finished with
failures (data kept in bronze/quarantine) or failed at run time; 2 bad configuration
or usage (nothing written). Command output (tables, JSON, the run summary) goes to
stdout; logs go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import click
import structlog
import typer
from pydantic import SecretStr
from typer._click.exceptions import ClickException as ClickError
from typer._click.exceptions import UsageError

from tasman_etl import __version__
from tasman_etl.config import Settings, load_settings
from tasman_etl.console import render_summary, start_progress
from tasman_etl.console import stop_progress as _stop_progress
from tasman_etl.errors import ConfigError, TasmanError
from tasman_etl.logging_setup import configure_logging
from tasman_etl.memory import limit_malloc_arenas
from tasman_etl.redact import scrub, scrub_obj

__all__ = ["app", "main"]

P = ParamSpec("P")
R = TypeVar("R")


class _PlainErrors(typer.core.TyperGroup):
    """One error style: bad usage prints one plain ``error: ...`` line and exits 2.

    Typer would print a boxed panel (or click's ``Usage:``/``Error:`` block); every other
    error of this CLI is a one-line ``error:`` (see `_fail`).
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run() -> Any:
            return super(_PlainErrors, self).main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )

        if not standalone_mode:
            return run()
        try:
            code = run()
        except ClickError as exc:
            _stop_progress()
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None and isinstance(exc, UsageError):
                hint = f" (see '{ctx.command_path} --help')"
            message = scrub(exc.format_message()).rstrip(".")
            typer.echo(f"error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


_CONTEXT = {"show_default": True, "help_option_names": ["--help", "-h"]}

app = typer.Typer(
    name="tasman-etl",
    cls=_PlainErrors,
    help="Keep a PostgreSQL database in sync with USAJOBS job announcements.",
    no_args_is_help=True,
    # `tasman-etl --install-completion` (bash, zsh, fish, PowerShell); see the README.
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help (no boxes, no `<bool>` after flags) and plain errors (see _PlainErrors).
    rich_markup_mode=None,
    context_settings=_CONTEXT,
)
runs_app = typer.Typer(
    help="The run ledger, newest first; `runs show RUN_ID` for one run.",
    invoke_without_command=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
)
app.add_typer(runs_app, name="runs")
db_app = typer.Typer(
    help="The embedded PostgreSQL as a lasting server: start, stop, status, url, psql.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
)
app.add_typer(db_app, name="db")

log = structlog.get_logger(__name__)


def _setting(help_text: str, env: str, field: str | None = None) -> str:
    """Help of an option that overrides a setting: names its variable and its default.

    Display only: the variable is read by `Settings` (environment, then `.env`), and the
    flag wins over both.
    """
    default = Settings.model_fields[field].default if field else None
    shown = "none" if default is None else default
    return f"{help_text}  [env var: {env}; default: {shown}]"


def _fail(message: str, code: int) -> typer.Exit:
    _stop_progress()  # the error line goes below the progress display, not through it
    # `scrub` masks every spelling of a secret (raw, repr/JSON-escaped, URL-encoded).
    typer.echo(f"error: {scrub(message)}", err=True)
    return typer.Exit(code)


def _run_id_option(value: str | None) -> str | None:
    """An option naming a run: refused (exit 2, nothing written) unless a valid run id."""
    from tasman_etl.storage.bronze import check_run_id

    if value is not None:
        try:
            check_run_id(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Map the exception tree to exit codes, with one clear line on stderr.

    An unexpected exception is exit 1 too, printed as one scrubbed line (and logged with its
    scrubbed traceback once logging is set up) instead of Python's raw traceback, which
    could quote a secret (e.g. ``Illegal header value b'key\\r'``).
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            raise _fail(str(exc), 2) from None
        except TasmanError as exc:
            log.error("command_failed", error=str(exc), error_type=type(exc).__name__)
            raise _fail(str(exc), 1) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", 130) from None
        except (
            typer.Exit,
            typer.Abort,
            ClickError,
            click.exceptions.Exit,
            click.exceptions.Abort,
            click.ClickException,
        ):
            raise
        except Exception as exc:
            detail = f"unexpected {type(exc).__name__}: {exc}"
            if structlog.is_configured():  # else structlog's default would print it unscrubbed
                log.error("command_crashed", error=detail, exc_info=True)
            raise _fail(detail, 1) from None
        finally:
            while _cleanups:
                _cleanups.pop()()

    return wrapper


_cleanups: list[Callable[[], None]] = []
"""Run when the command ends, however it ends (see `handle_errors`)."""


def _settings(**overrides: Any) -> Settings:
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _on_sigterm(signum: int, frame: Any) -> None:
    # Turn SIGTERM into KeyboardInterrupt so `finally` blocks and atexit (which stops the
    # embedded PostgreSQL) run; ECS stops tasks with SIGTERM.
    raise KeyboardInterrupt


def _install_signal_handlers() -> None:
    with contextlib.suppress(ValueError):  # not in the main thread (tests)
        signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def _database(settings: Settings, *, migrate: bool = True) -> Iterator[Any]:
    """Open the database (embedded when DB_URL is unset), migrate, yield a connection."""
    with _connections(settings, 1, migrate=migrate) as conns:
        yield conns[0]


@contextlib.contextmanager
def _connections(settings: Settings, count: int, *, migrate: bool = True) -> Iterator[list[Any]]:
    """Like `_database`, with `count` connections (the first one migrates)."""
    from tasman_etl.db.engine import open_database
    from tasman_etl.db.migrate import apply_migrations

    with open_database(settings) as db, contextlib.ExitStack() as stack:
        # autocommit: every `conn.transaction()` below is a real transaction (one per page)
        conns = [stack.enter_context(db.connect(autocommit=True)) for _ in range(count)]
        if migrate:
            applied = apply_migrations(conns[0])
            if applied:
                log.info("migrations_applied", versions=[m.version for m in applied])
        yield conns


def _rate_codes(conn: Any) -> list[str]:
    """Rate interval codes of the stored codelist (empty: the gate's built-in set)."""
    rows = conn.execute(
        "SELECT code FROM codelist WHERE list_name = 'remunerationrateintervalcodes' "
        "AND NOT is_disabled"
    ).fetchall()
    return [r[0] for r in rows]


def _gate(settings: Settings, conn: Any, *, item_count: str) -> Any:
    """The data-quality gate: the suites evaluated natively, in this process (ADR 0026)."""
    from tasman_etl.dq import DqGate

    return DqGate(
        enforce=settings.dq_enforce,
        known_rate_codes=_rate_codes(conn),
        item_count=item_count,  # type: ignore[arg-type]
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def echo_json(value: Any, *, indent: int | None = None) -> None:
    """Print JSON on stdout (dates and decimals as strings)."""
    typer.echo(json.dumps(value, default=_json_default, indent=indent, ensure_ascii=False))


def _progress() -> Callable[[int, int, str], None] | None:
    """A live progress display on stderr when it is a terminal; log lines print above it."""
    update = start_progress("loading")
    if update is not None:
        _cleanups.append(_stop_progress)
    return update


def print_summary(summary: dict[str, Any]) -> None:
    """The run summary: a short table on a terminal, else ONE JSON line (the last on stdout).

    Scripts and tests read the last stdout line as JSON whenever stdout is not a TTY.
    Error texts in it may quote what a server sent: it is scrubbed of secrets first.
    """
    summary = scrub_obj(summary)
    _stop_progress()
    if sys.stdout.isatty():
        render_summary(summary)
    else:
        echo_json(summary)


@app.command()
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
            callback=_run_id_option, metavar="RUN_ID", help="Use this run id.", show_default="new"
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
    from tasman_etl.runner.load import collect_files, load_paths
    from tasman_etl.storage.bronze import open_bronze_store

    settings = _settings()
    scope = None
    if keyword is not None or location is not None or radius is not None:
        if radius is not None and not location:
            raise ConfigError("--radius needs --location")
        scope = SearchQuery(keyword=keyword, location_name=location, radius_miles=radius)
    files = collect_files(paths)  # a usage error here writes nothing
    _install_signal_handlers()
    store = open_bronze_store(settings)
    with _database(settings) as conn:
        # saved files may be trimmed by hand: the item-count check warns, never holds
        gate = _gate(settings, conn, item_count="warn")
        result = load_paths(
            conn, store, files, run_id=run_id, progress=_progress(), gate=gate, scope=scope
        )
    _stop_progress()
    for error in result.summary.get("errors", []):
        typer.echo(f"error: {error}", err=True)
    print_summary(result.summary)
    if result.failed:
        raise typer.Exit(1)


DEMO_KEY = "demo-key"
DEMO_USER_AGENT = "demo@tasman-etl.invalid"


class _StopOnSignal:
    """First SIGTERM/SIGINT: stop. Requests in flight end within a quarter of a second
    (the client polls ``event`` between reads; those pages are fetched again on
    ``--resume``), the page being loaded commits, and the run ends ``aborted``.
    Second signal: stop at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, frame: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        log.warning("stop_requested", signal=signal.Signals(signum).name)

    def install(self) -> None:
        with contextlib.suppress(ValueError):  # not in the main thread (tests)
            signal.signal(signal.SIGTERM, self)
            signal.signal(signal.SIGINT, self)


@app.command()
@handle_errors
def run(
    keyword: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT", help=_setting("Keyword filter ('' = none).", "KEYWORD", "keyword")
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            metavar="PLACE",
            help=_setting(
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
            help=_setting("Radius around --location.", "RADIUS_MILES", "radius_miles"),
        ),
    ] = None,
    max_pages: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help=_setting("Fetch at most this many pages (none = all).", "MAX_PAGES", "max_pages"),
        ),
    ] = None,
    results_per_page: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=500,
            metavar="N",
            help=_setting(
                "Page size (500 is the API maximum).", "RESULTS_PER_PAGE", "results_per_page"
            ),
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=_run_id_option, metavar="RUN_ID", help="Use this run id.", show_default="new"
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            callback=_run_id_option,
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
            help=_setting("USAJOBS API base URL.", "USAJOBS_API_BASE", "usajobs_api_base"),
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            metavar="N",
            help=_setting(
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
    from tasman_etl.http.codelists import CodelistClient
    from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
    from tasman_etl.runner.reference import PersistingCodelists, refresh_label_lists
    from tasman_etl.runner.run import RunAborted, RunOptions, execute_run, interruptible_sleep
    from tasman_etl.storage.bronze import open_bronze_store

    if run_id and resume:
        raise ConfigError("--run-id and --resume cannot be used together")
    if plan and resume:
        raise ConfigError("--plan plans a new run; it cannot be used with --resume")
    settings = _settings(
        keyword=keyword,
        location_name=location,
        radius_miles=radius,
        max_pages=max_pages,
        results_per_page=results_per_page,
        usajobs_api_base=api_base,
        concurrency=concurrency,
    )
    stopper = _StopOnSignal()
    stopper.install()
    config = ClientConfig.from_settings(settings)
    simulator: Any = None
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
    if plan:
        try:
            _print_plan(settings, config, stopper.event)
        finally:
            if simulator is not None:
                simulator.stop()
        return
    try:
        store = open_bronze_store(settings)
        sleep = interruptible_sleep(stopper.event)
        with (
            _connections(settings, 2) as (conn, lookup_conn),
            UsajobsClient(config, sleep=sleep, stop=stopper.event) as client,
            CodelistClient(
                config.api_base,
                timeout_s=settings.http_timeout_s,
                deadline_s=settings.http_deadline_s,
                max_body_bytes=settings.http_max_body_bytes,
                sleep=sleep,
                stop=stopper.event,
            ) as codelists,
        ):
            refresh_label_lists(conn, codelists, ttl_s=86_400)
            gate = _gate(settings, conn, item_count="hold")
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
            result = execute_run(
                conn,
                store,
                client,
                opts,
                stop=stopper.event,
                codelists=PersistingCodelists(codelists, conn),
                gate=gate,
                on_complete=_mark_inactive(
                    settings.inactive_after_runs,
                    1.0 if accept_shrink else settings.shrink_guard_share,
                ),
                progress=_progress(),
                lookup_conn=lookup_conn,
            )
    except RunAborted:  # stopped while fetching code lists, before the run started
        raise _fail("stopped by a signal before the run started; nothing was fetched", 1) from None
    finally:
        if simulator is not None:
            simulator.stop()
    _stop_progress()
    if result.summary.get("error"):
        typer.echo(f"error: {scrub(str(result.summary['error']))}", err=True)
    print_summary(result.summary)
    if result.failed:
        raise typer.Exit(1)


def _print_plan(settings: Settings, config: Any, stop: threading.Event) -> None:
    """`run --plan`: the planning requests only; the plan on stdout, its JSON last."""
    from tasman_etl.http.codelists import CodelistClient
    from tasman_etl.http.usajobs import SearchQuery, UsajobsClient
    from tasman_etl.runner.dry_run import plan_only
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
        described = plan_only(
            client,
            SearchQuery.from_settings(settings),
            codelists=codelists,
            results_per_page=settings.results_per_page,
            max_pages=settings.max_pages,
        )
    search = "; ".join(f"{k}={v}" for k, v in described["search"].items()) or "(no filter)"
    typer.echo(
        f"plan (dry run, nothing written): {search}, {described['results_per_page']} per page"
    )
    typer.echo(
        f"planning made {described['planning_requests']} request(s) to {described['endpoint']} "
        "(page 1 of the search and of every split probe; code lists when split)"
    )
    typer.echo(f"{'partition':<12} {'api_total':>9} {'pages':>6} {'over_cap':<8} pages to request")
    for part in described["partitions"]:
        pages = part["pages_to_request"]
        span = f"{pages[0]}-{pages[-1]}" if len(pages) > 1 else (str(pages[0]) if pages else "-")
        typer.echo(
            f"{part['part'] or '-':<12} {part['api_total']:>9} {part['pages']:>6} "
            f"{'yes' if part['over_cap'] else 'no':<8} {span}"
        )
    typer.echo(
        f"a run would request {described['requests_to_fetch']} more page(s) "
        f"({described['pages']} in all, page 1 of each partition reused from planning)"
    )
    echo_json(described)


def _mark_inactive(
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


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} must be YYYY-MM-DD, got {value!r}") from None


@app.command()
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
            callback=_run_id_option,
            metavar="RUN_ID",
            show_default="new",
            help="The backfill's run id.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            callback=_run_id_option,
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
            help=_setting("USAJOBS API base URL.", "USAJOBS_API_BASE", "usajobs_api_base"),
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--requests-per-second",
            min=0.01,
            max=1000,
            metavar="N",
            help=_setting(
                "Requests a second to the API, shared by every --workers process.",
                "REQUESTS_PER_SECOND",
                "requests_per_second",
            ),
        ),
    ] = None,
) -> None:
    """Collect closed announcements from the Historic JOA API (no key needed), by window."""
    from tasman_etl.http.historic import HistoricClient, HistoricQuery
    from tasman_etl.runner.fanout import SharedRateLimiter
    from tasman_etl.runner.history import BackfillOptions, execute_backfill, write_plan
    from tasman_etl.runner.run import interruptible_sleep
    from tasman_etl.storage.bronze import open_bronze_store

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
    settings = _settings(usajobs_api_base=api_base, requests_per_second=rate)
    stopper = _StopOnSignal()
    stopper.install()
    base = settings.usajobs_api_base
    simulator: Any = None
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
        sleep = interruptible_sleep(stopper.event)
        with (
            _database(settings) as conn,
            HistoricClient(
                base,
                user_agent=settings.usajobs_user_agent,
                limiter=limiter,
                sleep=sleep,
                stop=stopper.event,
            ) as client,
        ):

            def probe(start: date, end: date) -> tuple[int, int]:
                page = client.page(HistoricQuery(start, end, opts.agencies, opts.series))
                return int(page.total_count or 0), max(1, len(page.records) or 1000)

            def pages_of(w: Any, start_url: str | None, number: int, text: bool) -> Iterator[Any]:
                query = HistoricQuery(w.start, w.end, w.agencies, w.series)  # the run's filters
                return client.pages(query, text=text, start_url=start_url, start_number=number)

            outcome = execute_backfill(
                conn,
                store,
                opts,
                probe=probe,
                pages_of=pages_of,
                stop=stopper.event,
                worker_args=forward,
                progress=_progress() if not plan else None,
                plan_out=(lambda listed: write_plan(listed, plan_out)) if plan_out else None,
            )
    finally:
        if simulator is not None:
            simulator.stop()
    if plan and not as_json:
        _stop_progress()
        for item in outcome.output["windows"]:
            typer.echo(f"{item['id']:<24} {item['expected']:>8} rows {item['pages']:>5} pages")
        typer.echo(f"run {outcome.output['run_id']}: {len(outcome.output['windows'])} windows")
    elif plan or window or claim:
        _stop_progress()
        echo_json(outcome.output)
    else:
        print_summary(outcome.output)
    if outcome.code:
        raise typer.Exit(outcome.code)


@app.command()
@handle_errors
def replay(
    run_id: Annotated[
        str | None,
        typer.Option(
            callback=_run_id_option,
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
    from tasman_etl.runner.replay import replay as do_replay
    from tasman_etl.storage.bronze import open_bronze_store

    day = None
    if on_date is not None:
        try:
            day = date.fromisoformat(on_date)
        except ValueError:
            raise ConfigError(f"--date must be YYYY-MM-DD, got {on_date!r}") from None
    settings = _settings()
    _install_signal_handlers()
    store = open_bronze_store(settings)
    with _database(settings) as conn:
        # API pages had their item count checked when fetched; files saved by `load` may
        # be trimmed by hand: replay only warns on the count.
        gate = _gate(settings, conn, item_count="warn")
        result = do_replay(conn, store, run_id=run_id, on_date=day, progress=_progress(), gate=gate)
    print_summary(result.summary)
    if result.failed:
        raise typer.Exit(1)


@app.command()
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
    _settings()
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
    _install_signal_handlers()
    serve(config, port=port)


@app.command()
@handle_errors
def migrate(
    status: Annotated[
        bool, typer.Option("--status", help="List migrations and their state; apply nothing.")
    ] = False,
) -> None:
    """Apply pending database migrations (or list them with --status)."""
    from tasman_etl.db.migrate import apply_migrations, migration_status

    settings = _settings()
    with _database(settings, migrate=False) as conn:
        if status:
            for m in migration_status(conn):
                applied = m.applied_at.isoformat() if m.applied_at else "-"
                typer.echo(f"{m.version:03d}  {m.name:<32} {m.state:<8} {applied}")
            return
        applied_now = apply_migrations(conn)
    if applied_now:
        for done in applied_now:
            typer.echo(f"applied {done.version:03d} {done.name}")
    else:
        typer.echo("database is up to date")


def _fmt_ts(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


@runs_app.callback()
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

    settings = _settings()
    with _database(settings) as conn:
        rows = list_runs(conn, limit=limit)
    if fmt == "json":
        echo_json(rows)
        return
    if not rows:
        typer.echo("no runs yet")
        return
    header = (
        f"{'run_id':<26} {'command':<7} {'status':<9} {'started (UTC)':<19} "
        f"{'pages':>5} {'failed':>6} {'items':>7} {'ins':>6} {'upd':>6} {'quar':>5}"
    )
    typer.echo(header)
    for r in rows:
        s = r["summary"] or {}
        typer.echo(
            f"{r['run_id']:<26} {r['command']:<7} {r['status']:<9} {_fmt_ts(r['started_at']):<19} "
            f"{r['pages']:>5} {r['pages_failed']:>6} {s.get('items', '-'):>7} "
            f"{s.get('inserted', '-'):>6} {s.get('updated', '-'):>6} {s.get('quarantined', '-'):>5}"
        )


@runs_app.command("show")
@handle_errors
def runs_show(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run to show.")],
    fmt: Annotated[
        str, typer.Option("--format", metavar="[table|json]", help="Output format.")
    ] = "table",
) -> None:
    """Show one run: its summary and every page with its status."""
    from tasman_etl.db.repository import get_run, list_pages

    settings = _settings()
    with _database(settings) as conn:
        run = get_run(conn, run_id)
        if run is None:
            raise ConfigError(f"no run {run_id!r} in the ledger")
        pages = list_pages(conn, run_id)
    if fmt == "json":
        echo_json({"run": run, "pages": pages})
        return
    typer.echo(
        f"run {run['run_id']}  {run['command']}  {run['status']}  "
        f"started {_fmt_ts(run['started_at'])}  finished {_fmt_ts(run['finished_at'])}"
    )
    if run.get("error"):
        typer.echo(f"error: {run['error']}")
    typer.echo(
        f"{'page':<24} {'status':<8} {'items':>6} {'ins':>5} {'upd':>5} {'same':>5} "
        f"{'quar':>5}  error"
    )
    for p in pages:
        typer.echo(
            f"{p['page_key']:<24} {p['status']:<8} {_n(p['items']):>6} {_n(p['inserted']):>5} "
            f"{_n(p['updated']):>5} {_n(p['unchanged']):>5} {_n(p['quarantined']):>5}  "
            f"{(p['error'] or '')[:100]}"
        )
    if run.get("summary"):
        echo_json(run["summary"])


def _n(value: Any) -> str:
    return "-" if value is None else str(value)


@app.command()
@handle_errors
def doctor() -> None:
    """Check configuration, database reachability and bronze writability (exit 0 when healthy)."""
    from tasman_etl.storage.bronze import open_bronze_store

    problems: list[str] = []
    settings = _settings()
    typer.echo(f"config: ok (version {__version__})")
    try:
        from tasman_etl.db.engine import open_database

        with open_database(settings) as db:
            conn = db.connect()
            try:
                conn.execute("SELECT 1")
            finally:
                conn.close()
            typer.echo(f"database: ok ({db.display_url})")
    except TasmanError as exc:
        problems.append(f"database: {exc}")
    try:
        store = open_bronze_store(settings)
        _probe_bronze(store)
        typer.echo(f"bronze: ok ({store.describe()})")
    except TasmanError as exc:
        problems.append(f"bronze: {exc}")
    except OSError as exc:
        problems.append(f"bronze: not writable: {exc}")
    for problem in problems:
        typer.echo(f"error: {scrub(problem)}", err=True)
    if problems:
        raise typer.Exit(1)


def _probe_bronze(store: Any) -> None:
    """Listing proves read access; a local folder is also proved writable with a temp file."""
    import tempfile

    from tasman_etl.storage.bronze import LocalBronzeStore

    next(iter(store.list(run_id="doctor-probe")), None)
    if isinstance(store, LocalBronzeStore):
        store.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=store.root, prefix=".doctor-"):
            pass


_JOB_FORMATS = ("table", "json", "csv")


def _plain(value: Any) -> Any:
    """A job field for JSON/CSV: whole amounts as ints, other decimals as floats, ISO dates."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv_cell(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _pay(job: dict[str, Any]) -> str:
    low, high = _plain(job.get("pay_min")), _plain(job.get("pay_max"))
    if low is None and high is None:
        return "-"
    span = f"{low:,}" if high is None or high == low else f"{low or 0:,}-{high:,}"
    label = job.get("pay_interval") or job.get("pay_interval_code") or ""
    return f"{span} {label}".strip()


def _cut(text: str | None, width: int) -> str:
    """``text`` in at most ``width`` characters, cut with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _place(row: dict[str, Any]) -> str:
    """The nearest location to the point asked (else the first), and how many others."""
    locations = row.get("locations") or []
    shown = str(row.get("nearest_location") or (locations[0] if locations else "") or "-")
    others = len(locations) - 1
    return shown + (f" +{others}" if others > 0 else "")


def _print_jobs(rows: list[dict[str, Any]], fmt: str, fields: tuple[str, ...]) -> None:
    if fmt == "json":
        echo_json([{k: _plain(row.get(k)) for k in fields} for row in rows])
        return
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            writer.writerow([_csv_cell(row.get(k)) for k in fields])
        typer.echo(buffer.getvalue(), nl=False)
        return
    if not rows:
        typer.echo("no jobs found")
        return
    typer.echo(
        f"{'posted':<10} {'control_no':<10} {'title':<40} {'organization':<28} "
        f"{'location (nearest)':<32} {'miles':>6} {'open':<4} pay"
    )
    for row in rows:
        posted = row.get("publication_start_date")
        miles = row.get("distance_miles")
        typer.echo(
            f"{posted.date().isoformat() if isinstance(posted, datetime) else '-':<10} "
            f"{row['control_number']:<10} "
            f"{_cut(row.get('position_title'), 40):<40} "
            f"{_cut(row.get('organization_name'), 28):<28} {_cut(_place(row), 32):<32} "
            f"{'-' if miles is None else f'{miles:.1f}':>6} "
            f"{'yes' if row.get('is_open') else 'no':<4} {_pay(row)}"
        )


@app.command()
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
    if fmt not in _JOB_FORMATS:
        raise ConfigError("--format must be table, json or csv")
    if near is not None and (lat is not None or lon is not None):
        raise ConfigError("use either --near or --lat/--lon, not both")
    if (lat is None) != (lon is None):
        raise ConfigError("give both --lat and --lon")
    if radius is not None and near is None and lat is None:
        raise ConfigError("--radius needs --near or --lat/--lon")
    from tasman_etl.gold import JOB_FIELDS, find_jobs, prepare_schema, resolve_place

    settings = _settings()
    # Gold only: a tasman_reader login (no access to public) checks the schema, not migrates.
    with _database(settings, migrate=False) as conn:
        applied = prepare_schema(conn)
        if applied:
            log.info("migrations_applied", versions=[m.version for m in applied])
        if near is not None:
            lat, lon = resolve_place(conn, near)
            log.info("place_resolved", near=near, lat=lat, lon=lon)
        found = find_jobs(
            conn,
            lat=lat,
            lon=lon,
            radius=50.0 if radius is None else radius,
            keyword=keyword,
            open_only=open_only,
            limit=limit,
        )
    _print_jobs(found.rows, fmt, JOB_FIELDS)
    if found.truncated:
        # tables are for people: the note goes with them; JSON/CSV stdout stays data only
        note = f"showing {len(found.rows)} of {found.total} jobs (--limit 0 shows all)"
        typer.echo(note, err=fmt != "table")


@app.command()
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
    from tasman_etl.gold import prepare_schema
    from tasman_etl.site import build_site

    settings = _settings()
    with _database(settings, migrate=False) as conn:
        applied = prepare_schema(conn)
        if applied:
            log.info("migrations_applied", versions=[m.version for m in applied])
        result = build_site(conn, directory, tiles=tiles, tiles_attribution=tiles_attribution)
    summary = result.as_dict()
    if screenshot is not None:
        from tasman_etl.site.browser import Chromium

        with Chromium(offline=tiles is None) as browser:
            page = browser.open((directory / "index.html").resolve().as_uri())
            page.wait_for("window.TASMAN_TIMINGS && TASMAN_TIMINGS.firstRender")
            screenshot.write_bytes(page.screenshot())
        summary["screenshot"] = str(screenshot)
    echo_json(summary)


@app.command()
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
    from tasman_etl.dq import check_payload
    from tasman_etl.errors import InputFileError
    from tasman_etl.runner.load import read_input

    _settings()
    if not page_file.is_file():
        raise ConfigError(f"no such file: {page_file}")
    if docs is not None and docs.exists() and not docs.is_dir():
        raise ConfigError(f"--docs must be a folder, {docs} is a file")
    try:
        doc = read_input(page_file)
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    if doc.kind == "codelist":
        raise ConfigError(f"{page_file.name}: a codelist, not a search page")
    payload = doc.document if doc.kind == "search" else doc.document["response"]["payload"]
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
    try:
        report = check_payload(payload, docs_dir=docs, docs_run_name=_docs_run_name(doc, page_file))
    except ValueError as exc:
        raise ConfigError(f"{page_file.name}: {exc}") from None
    echo_json({"file": page_file.name, **report})
    if not report["success"]:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- db


@db_app.command("start")
@handle_errors
def db_start(
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            envvar="TASMAN_DB_PORT",
            metavar="PORT",
            show_default=True,
            help="TCP port on 127.0.0.1 (0 = the last start's port when free, else any free port).",
        ),
    ] = 0,
) -> None:
    """Start the embedded PostgreSQL to stay up (TCP 127.0.0.1 with a password), migrated.

    Every command reuses it and none stops it; `tasman-etl db stop` does.
    """
    from tasman_etl.db.local_server import server_state, start_server

    settings = _settings()
    before = server_state(settings) if settings.db_url is None else None
    state = start_server(settings, port=port)
    verb = "already running" if before is not None and before.lasting else "started"
    typer.echo(
        f"{verb}: embedded PostgreSQL (pid {state.pid}) on {state.host}:{state.port}, "
        f"data in {state.pgdata}; `tasman-etl db url` prints the connection string, "
        "`tasman-etl db stop` stops it"
    )


@db_app.command("stop")
@handle_errors
def db_stop() -> None:
    """Stop the embedded PostgreSQL (refused while a command is using it)."""
    from tasman_etl.db.local_server import stop_server

    settings = _settings()
    state = stop_server(settings)
    if state.running:
        typer.echo(f"stopped: embedded PostgreSQL (pid {state.pid}) in {state.pgdata}")
    else:
        typer.echo(f"not running: embedded PostgreSQL in {state.pgdata}")


@db_app.command("status")
@handle_errors
def db_status() -> None:
    """Say whether the embedded PostgreSQL runs, for whom, and where (exit 0 either way)."""
    from tasman_etl.db.local_server import server_state

    settings = _settings()
    if settings.db_url is not None:
        from tasman_etl.redact import mask_url

        typer.echo(
            f"DB_URL is set: {mask_url(settings.db_url.get_secret_value())} (not managed by "
            "tasman-etl; `db start`/`db stop` manage only the embedded server)"
        )
        return
    state = server_state(settings)
    if state.lasting:
        typer.echo(
            f"running: embedded PostgreSQL (pid {state.pid}) on {state.host}:{state.port}, "
            f"started by `tasman-etl db start`; data in {state.pgdata}"
        )
    elif state.running:
        typer.echo(
            f"running: embedded PostgreSQL (pid {state.pid}), unix socket only, for commands "
            f"(pids {', '.join(map(str, state.owners)) or 'none'}); it stops when they finish"
        )
    else:
        typer.echo(f"stopped: embedded PostgreSQL in {state.pgdata} (`tasman-etl db start`)")


@db_app.command("url")
@handle_errors
def db_url() -> None:
    """Print the connection URL for psql or a BI tool (it holds the password).

    The server `db start` started (TCP 127.0.0.1), or DB_URL when set.
    """
    from tasman_etl.db.local_server import server_url

    typer.echo(server_url(_settings()))


@db_app.command("psql")
@handle_errors
def db_psql(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="Arguments for psql, after --, e.g. -- -c 'select 1'."),
    ] = None,
) -> None:
    """Open psql (the one bundled with the embedded server) on the database, migrated.

    Starts the embedded server for the session when it is not running; uses DB_URL when set.
    """
    import os
    import subprocess

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from tasman_etl.db.engine import open_database
    from tasman_etl.db.local_server import bundled_psql
    from tasman_etl.db.migrate import apply_migrations

    settings = _settings()
    with open_database(settings) as db:
        with db.connect(autocommit=True) as conn:
            apply_migrations(conn)
        params = conninfo_to_dict(db.conninfo)
        password = params.pop("password", None)
        env = dict(os.environ)
        if password:  # not on the command line, where `ps` would show it
            env["PGPASSWORD"] = str(password)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to psql
        try:
            # the bundled psql, a conninfo without password, the user's own psql arguments
            code = subprocess.call(  # noqa: S603
                [str(bundled_psql()), make_conninfo("", **params), *(args or [])], env=env
            )
        finally:
            signal.signal(signal.SIGINT, previous)
    if code:
        raise typer.Exit(code)


def _docs_run_name(doc: Any, page_file: Path) -> str:
    """Data Docs name of a checked page: its run id and page key (a bronze envelope's own,
    else ``dq-<UTC time>`` and the file's name)."""
    from tasman_etl.runner.pages import page_key

    ingest = doc.document.get("ingest") if doc.kind == "envelope" else None
    ingest = ingest if isinstance(ingest, dict) else {}
    run = ingest.get("ingest_run_id") or ingest.get("run_id")
    if not isinstance(run, str) or not run:
        run = f"dq-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    if isinstance(ingest.get("page"), int):
        key = page_key(ingest["page"], ingest.get("part"))
    else:
        key = page_file.name.removesuffix(".gz").removesuffix(".json")
    return f"{run}.{key}".replace("/", ".")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Keep a PostgreSQL database in sync with USAJOBS job announcements."""


def main() -> None:
    """Console-script entry point (also `python -m tasman_etl`, which names itself the same)."""
    limit_malloc_arenas()
    app(prog_name="tasman-etl")
