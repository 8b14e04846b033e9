"""The run lock of a search scope: take it, or take it over from a dead or stale holder.

The lock is the session-level advisory lock of ``locks.try_lock_scope``: it ends with
its session, so a run killed outright frees it at once. It does not end when the process
hangs (a fetch that never finishes) or when the process is gone but its session lingers (a
host lost without closing its TCP connection keeps the session until keepalives time out).
For those, a run records in its ledger row who holds the lock (migration 007:
``lock_backend_pid``, ``lock_host``, ``lock_host_id``, ``lock_os_pid``, ``locked_at``, and
``heartbeat_at``, refreshed every 30 s while the run works), and
``take_scope_lock`` looks the holder up when the lock is taken:

- the holder's session is found in ``pg_locks`` and matched to its ``running`` run by
  ``lock_backend_pid`` (a session with no such run is judged by its session age only);
- it is **taken over** when its recorded process is gone (same host identity and the pid
  is not alive, or a zombie) or it has shown no sign of life for longer than ``max_age_s``
  (``RUN_MAX_AGE_S``): its session is ended (``pg_terminate_backend``, allowed on sessions
  of one's own role), its run marked ``aborted`` with the reason, an event logged, and
  the lock taken;
- otherwise the run is **refused** with a message saying how old the holder is and when it
  may be taken over.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors

from tasman_etl.db.locks import scope_lock_key, try_lock_scope
from tasman_etl.errors import DatabaseError

__all__ = [
    "Holder",
    "LockResult",
    "find_holder",
    "heartbeat",
    "pid_alive",
    "process_identity",
    "record_lock_holder",
    "take_scope_lock",
    "takeover_reason",
]

log = structlog.get_logger(__name__)

Conn = psycopg.Connection[Any]

SETTLE_S = 5.0
"""How long a take-over waits for the ended session to let the lock go."""


@dataclass(frozen=True)
class Holder:
    """Who holds a scope lock: its session, and its run and process when recorded."""

    backend_pid: int
    run_id: str | None = None
    host: str | None = None
    host_id: str | None = None
    os_pid: int | None = None
    age_s: float | None = None
    """Seconds since the run's last sign of life (heartbeat, else since it took the lock;
    without a run, since the session began)."""


@dataclass(frozen=True)
class LockResult:
    """The outcome of `take_scope_lock`."""

    acquired: bool
    holder: Holder | None = None
    taken_over: str | None = None
    """Why the previous holder was taken over (None when the lock was free)."""
    message: str = ""
    """Why the lock was refused (empty when acquired)."""


@cache
def process_identity() -> tuple[str, str, int]:
    """``(host name, host identity, OS pid)`` of this process.

    The identity adds the boot id and the pid namespace to the host name: two processes
    with equal identities see the same pids, so one can check whether the other lives.
    """
    host = socket.gethostname()
    parts = [host]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return host, "|".join(parts), os.getpid()


def pid_alive(pid: int) -> bool:
    """False when no process ``pid`` exists here (or it is a zombie); True otherwise."""
    if pid <= 0:
        return True  # not a pid we can judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2 :].startswith(("Z", "X")):
            return False  # dead, waiting to be reaped
    return True


def _commit(conn: Conn) -> None:
    if not conn.autocommit:
        conn.commit()


def record_lock_holder(conn: Conn, run_id: str) -> None:
    """Write this session and process into ``run_id``'s ledger row as the lock holder."""
    host, host_id, os_pid = process_identity()
    try:
        conn.execute(
            "UPDATE ingest_run SET lock_backend_pid = pg_backend_pid(), lock_host = %s, "
            "lock_host_id = %s, lock_os_pid = %s, locked_at = now(), heartbeat_at = now() "
            "WHERE run_id = %s",
            (host, host_id, os_pid, run_id),
        )
        _commit(conn)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot record the lock holder of run {run_id}: {exc}") from exc


def heartbeat(conn: Conn, run_id: str) -> None:
    """Say the run holding the lock is alive (its age for `take_scope_lock` starts again)."""
    try:
        conn.execute("UPDATE ingest_run SET heartbeat_at = now() WHERE run_id = %s", (run_id,))
        _commit(conn)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot record a heartbeat of run {run_id}: {exc}") from exc


def _key_parts(scope_hash: str) -> tuple[int, int]:
    """``pg_locks`` (classid, objid) of a bigint advisory-lock key."""
    key = scope_lock_key(scope_hash) & 0xFFFF_FFFF_FFFF_FFFF
    return key >> 32, key & 0xFFFF_FFFF


def find_holder(conn: Conn, scope_hash: str) -> Holder | None:
    """The session holding ``scope_hash``'s lock and its run, or None when it is free."""
    classid, objid = _key_parts(scope_hash)
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
        (classid, objid),
    ).fetchone()
    if row is None or row[0] is None:
        _commit(conn)
        return None
    pid = int(row[0])
    run = conn.execute(
        "SELECT run_id, lock_host, lock_host_id, lock_os_pid, "
        "extract(epoch FROM now() - coalesce(heartbeat_at, locked_at, started_at))::float8 "
        "FROM ingest_run WHERE scope_hash = %s AND status = 'running' "
        "AND lock_backend_pid = %s ORDER BY locked_at DESC NULLS LAST LIMIT 1",
        (scope_hash, pid),
    ).fetchone()
    if run is not None:
        _commit(conn)
        return Holder(pid, run[0], run[1], run[2], run[3], run[4])
    session = conn.execute(
        "SELECT extract(epoch FROM now() - backend_start)::float8 FROM pg_stat_activity "
        "WHERE pid = %s",
        (pid,),
    ).fetchone()
    _commit(conn)
    return Holder(pid, age_s=session[0] if session is not None else None)


def takeover_reason(holder: Holder, *, max_age_s: float) -> str | None:
    """Why ``holder`` may be taken over, or None when it must be left alone."""
    _, host_id, _ = process_identity()
    if holder.os_pid is not None and holder.host_id == host_id and not pid_alive(holder.os_pid):
        return f"its process (pid {holder.os_pid} on {holder.host}) is gone"
    if holder.age_s is not None and holder.age_s > max_age_s:
        return (
            f"it has shown no sign of life for {_duration(holder.age_s)}, longer than "
            f"RUN_MAX_AGE_S ({max_age_s:g} s)"
        )
    return None


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _describe(holder: Holder) -> str:
    what = f"run {holder.run_id}" if holder.run_id else "a session with no run recorded"
    where = (
        f", pid {holder.os_pid} on {holder.host}"
        if holder.os_pid is not None and holder.host
        else ""
    )
    age = f", last sign of life {_duration(holder.age_s)} ago" if holder.age_s is not None else ""
    return f"{what}{where}{age}; database session {holder.backend_pid}"


def _refusal(holder: Holder | None, max_age_s: float, problem: str | None = None) -> str:
    head = "another run of the same search is in progress"
    if holder is None:
        return head + "; wait for it to finish, or resume it later with --resume"
    if holder.age_s is not None:
        left = max(0.0, max_age_s - holder.age_s)
        when = f"it may be taken over when its process is gone, or in {_duration(left)} "
    else:
        when = "it may be taken over when its process is gone, or once older than "
    when += f"(RUN_MAX_AGE_S = {max_age_s:g} s)"
    text = f"{head} ({_describe(holder)}); {when}"
    if problem:
        text += f"; {problem}"
    return text + "; wait for it to finish, or resume it later with --resume"


def _terminate(conn: Conn, backend_pid: int, settle_s: float) -> None:
    """End session ``backend_pid``, waiting up to ``settle_s`` (PostgreSQL 14+) for it."""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_terminate_backend(%s, %s)", (backend_pid, int(settle_s * 1000)))
    except pg_errors.UndefinedFunction:  # before PostgreSQL 14: no timeout argument
        with conn.transaction():
            conn.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
    _commit(conn)


def _mark_taken_over(conn: Conn, holder: Holder, run_id: str, reason: str) -> None:
    if holder.run_id is None:
        return
    conn.execute(
        "UPDATE ingest_run SET status = 'aborted', finished_at = now(), error = %s "
        "WHERE run_id = %s AND status = 'running'",
        (
            f"taken over by run {run_id}: {reason}; resume with --resume {holder.run_id}",
            holder.run_id,
        ),
    )
    _commit(conn)


def take_scope_lock(
    conn: Conn,
    scope_hash: str,
    *,
    run_id: str,
    max_age_s: float,
    settle_s: float = SETTLE_S,
) -> LockResult:
    """Take ``scope_hash``'s run lock for ``run_id``, taking it over from a dead or stale
    holder (see the module docstring). Never waits for a live holder."""
    holder: Holder | None = None
    try:
        for _ in range(3):
            if try_lock_scope(conn, scope_hash):
                return LockResult(True)
            holder = find_holder(conn, scope_hash)
            if holder is not None:
                break
        if holder is None:  # it came and went three times: leave it be
            return LockResult(False, message=_refusal(None, max_age_s))
        reason = takeover_reason(holder, max_age_s=max_age_s)
        if reason is None:
            return LockResult(False, holder, message=_refusal(holder, max_age_s))
        try:
            _terminate(conn, holder.backend_pid, settle_s)
        except pg_errors.InsufficientPrivilege:
            problem = (
                f"it could be taken over ({reason}) but this login may not end database "
                f"session {holder.backend_pid}: run the same login, or have a DBA run "
                f"SELECT pg_terminate_backend({holder.backend_pid})"
            )
            return LockResult(False, holder, message=_refusal(holder, max_age_s, problem))
        deadline = time.monotonic() + settle_s
        while not try_lock_scope(conn, scope_hash):
            if time.monotonic() > deadline:
                problem = f"its database session {holder.backend_pid} did not end in time"
                return LockResult(False, holder, message=_refusal(holder, max_age_s, problem))
            time.sleep(0.1)
        _mark_taken_over(conn, holder, run_id, reason)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot take the run lock of the search: {exc}") from exc
    log.warning(
        "run_lock_taken_over",
        previous_run=holder.run_id,
        previous_backend_pid=holder.backend_pid,
        previous_host=holder.host,
        previous_os_pid=holder.os_pid,
        held_s=round(holder.age_s, 1) if holder.age_s is not None else None,
        reason=reason,
    )
    return LockResult(True, holder, taken_over=reason)
