"""Connections to PostgreSQL: the server in `DB_URL`, or an embedded one under `TASMAN_HOME`.

`open_database(settings)` returns a `Database` handle (a context manager). With `DB_URL`
set it only remembers the URL. Without it, it takes a handle on the embedded PostgreSQL
server in ``settings.pgdata_path`` (`tasman_etl.db.embedded`: started or reused on demand,
stopped when the last owner in any process closes its handle, or at interpreter exit).

TLS: a `DB_URL` naming a remote host (not a unix socket, not loopback) gets
``sslmode=require`` unless the URL (or ``PGSSLMODE``) chooses a mode; with
`DB_SSL_ROOT_CERT` set it gets ``sslmode=verify-full`` and ``sslrootcert`` whatever weaker
mode the URL names (see `tls_conninfo`). Every connection has a connect timeout and a
statement timeout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlencode, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from tasman_etl.config import Settings
from tasman_etl.db.embedded import SharedServer, acquire, ping, release
from tasman_etl.db.postmaster import running_postmaster_pid
from tasman_etl.errors import ConfigError, DatabaseError
from tasman_etl.redact import MASK, mask_url, scrub

__all__ = ["APPLICATION_NAME", "Database", "open_database", "tls_conninfo", "wait_until_ready"]

APPLICATION_NAME = "tasman-etl"

_RETRY_PAUSE_S = 0.25


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
        embedded: SharedServer | None = None,
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
        return running_postmaster_pid(self._embedded.pgdata)

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
            release(self._embedded, wait=wait)

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
    shared = acquire(settings.pgdata_path, start_timeout_s)
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
            ping(conninfo)
            return
        except psycopg.Error as exc:
            if clock() >= deadline:
                raise DatabaseError(
                    f"PostgreSQL at {mask_url(conninfo)} not ready after {timeout:g}s: "
                    f"{_safe_reason(exc, conninfo)}"
                ) from exc
        sleep(_RETRY_PAUSE_S)


# --- helpers --------------------------------------------------------------------------


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
