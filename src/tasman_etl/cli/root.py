"""The root Typer app, its command groups, and what every command shares.

Here errors become exit codes (`handle_errors`): 0 success; 1 the command finished with
failures (data kept in bronze/quarantine) or failed at run time; 2 bad configuration or
usage (nothing written). Bad usage is one plain ``error: ...`` line (`PlainErrorsGroup`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import click
import structlog
import typer
from typer._click.exceptions import ClickException as ClickError
from typer._click.exceptions import UsageError

from tasman_etl import __version__
from tasman_etl.config import Settings
from tasman_etl.console import start_progress, stop_progress
from tasman_etl.errors import ConfigError, TasmanError
from tasman_etl.memory import limit_malloc_arenas, relax_gc
from tasman_etl.redact import scrub

__all__ = [
    "PlainErrorsGroup",
    "app",
    "db_app",
    "fail",
    "handle_errors",
    "main",
    "progress_display",
    "run_id_option",
    "runs_app",
    "setting_help",
]

P = ParamSpec("P")
R = TypeVar("R")


class PlainErrorsGroup(typer.core.TyperGroup):
    """One error style: bad usage prints one plain ``error: ...`` line and exits 2.

    Typer would print a boxed panel (or click's ``Usage:``/``Error:`` block); every other
    error of this CLI is a one-line ``error:`` (see `fail`).
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
        """Run the group; in standalone mode, print click's errors as one ``error:`` line."""

        def run() -> Any:
            return super(PlainErrorsGroup, self).main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )

        if not standalone_mode:
            return run()
        try:
            code = run()
        except ClickError as exc:
            stop_progress()
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
    cls=PlainErrorsGroup,
    help="Keep a PostgreSQL database in sync with USAJOBS job announcements.",
    no_args_is_help=True,
    # `tasman-etl --install-completion` (bash, zsh, fish, PowerShell); see the README.
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help (no boxes, no `<bool>` after flags) and plain errors (see PlainErrorsGroup).
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


def setting_help(help_text: str, env: str, field: str | None = None) -> str:
    """Help of an option that overrides a setting: names its variable and its default.

    Display only: the variable is read by `Settings` (environment, then `.env`), and the
    flag wins over both.
    """
    default = Settings.model_fields[field].default if field else None
    shown = "none" if default is None else default
    return f"{help_text}  [env var: {env}; default: {shown}]"


def fail(message: str, code: int) -> typer.Exit:
    """Print one scrubbed ``error:`` line on stderr; return the exit to raise with `code`."""
    stop_progress()  # the error line goes below the progress display, not through it
    # `scrub` masks every spelling of a secret (raw, repr/JSON-escaped, URL-encoded).
    typer.echo(f"error: {scrub(message)}", err=True)
    return typer.Exit(code)


def run_id_option(value: str | None) -> str | None:
    """An option naming a run: refused (exit 2, nothing written) unless a valid run id."""
    from tasman_etl.storage.bronze import check_run_id

    if value is not None:
        try:
            check_run_id(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


_cleanups: list[Callable[[], None]] = []
"""Run when the command ends, however it ends (see `handle_errors`)."""


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
            raise fail(str(exc), 2) from None
        except TasmanError as exc:
            log.error("command_failed", error=str(exc), error_type=type(exc).__name__)
            raise fail(str(exc), 1) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
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
            raise fail(detail, 1) from None
        finally:
            while _cleanups:
                _cleanups.pop()()

    return wrapper


def progress_display() -> Callable[[int, int, str], None] | None:
    """A live progress display on stderr when it is a terminal; log lines print above it.

    It is stopped when the command ends, however it ends.
    """
    update = start_progress("loading")
    if update is not None:
        _cleanups.append(stop_progress)
    return update


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
    relax_gc()
    app(prog_name="tasman-etl")
