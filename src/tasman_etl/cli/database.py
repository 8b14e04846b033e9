"""Commands on the database: `migrate`, and `db start|stop|status|url|psql`."""

from __future__ import annotations

from typing import Annotated

import typer

from tasman_etl.cli.root import handle_errors
from tasman_etl.render import print_applied_migrations, print_migration_status
from tasman_etl.wiring.core import configured_settings, database
from tasman_etl.wiring.tools import open_psql

__all__ = ["db_psql", "db_start", "db_status", "db_stop", "db_url", "migrate"]


@handle_errors
def migrate(
    status: Annotated[
        bool, typer.Option("--status", help="List migrations and their state; apply nothing.")
    ] = False,
) -> None:
    """Apply pending database migrations (or list them with --status)."""
    from tasman_etl.db.migrate import apply_migrations, migration_status

    settings = configured_settings()
    with database(settings, migrate=False) as conn:
        if status:
            print_migration_status(migration_status(conn))
            return
        applied_now = apply_migrations(conn)
    print_applied_migrations(applied_now)


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

    settings = configured_settings()
    before = server_state(settings) if settings.db_url is None else None
    state = start_server(settings, port=port)
    verb = "already running" if before is not None and before.lasting else "started"
    typer.echo(
        f"{verb}: embedded PostgreSQL (pid {state.pid}) on {state.host}:{state.port}, "
        f"data in {state.pgdata}; `tasman-etl db url` prints the connection string, "
        "`tasman-etl db stop` stops it"
    )


@handle_errors
def db_stop() -> None:
    """Stop the embedded PostgreSQL (refused while a command is using it)."""
    from tasman_etl.db.local_server import stop_server

    settings = configured_settings()
    state = stop_server(settings)
    if state.running:
        typer.echo(f"stopped: embedded PostgreSQL (pid {state.pid}) in {state.pgdata}")
    else:
        typer.echo(f"not running: embedded PostgreSQL in {state.pgdata}")


@handle_errors
def db_status() -> None:
    """Say whether the embedded PostgreSQL runs, for whom, and where (exit 0 either way)."""
    from tasman_etl.db.local_server import server_state

    settings = configured_settings()
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


@handle_errors
def db_url() -> None:
    """Print the connection URL for psql or a BI tool (it holds the password).

    The server `db start` started (TCP 127.0.0.1), or DB_URL when set.
    """
    from tasman_etl.db.local_server import server_url

    typer.echo(server_url(configured_settings()))


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
    code = open_psql(configured_settings(), args or [])
    if code:
        raise typer.Exit(code)
