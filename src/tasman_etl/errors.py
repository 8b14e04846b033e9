"""The one exception tree of tasman-etl, grouped by what the caller should do.

Our exception hierarchy::

    TasmanError
    ├── ConfigError                bad configuration or usage: fix it and retry (exit 2)
    │   └── AuthError              the API refused the credentials (401/403)
    ├── FetchError                 talking to the USAJOBS API failed
    │   ├── RetriableFetchError    429, 5xx, timeouts, dropped connections, truncated bodies
    │   └── FatalFetchError        any other 4xx, or retries exhausted
    ├── InputFileError             a file given to `load` cannot be read or parsed
    ├── StorageError               the bronze store failed
    │   └── BronzeIntegrityError   checksum mismatch or a write-once conflict
    ├── DatabaseError              PostgreSQL failed (connection, migration, query)
    │   └── MigrationError         a migration is missing, changed after apply, or failed
    └── RunLockedError             another run of the same search holds its run lock

    TasmanSignal                   control flow, not an error: ``except TasmanError`` misses it
    └── RunAborted                 a stop was requested (SIGTERM/SIGINT): drop the work in hand

A few subclasses live where they are raised: ``DeadlineExceeded`` (a `RetriableFetchError`)
and ``BodyTooLarge`` (a `FatalFetchError`) in `http/bounded.py`, ``CaptureMismatchError``
(a `BronzeIntegrityError`) in `runner/pages.py`, ``BrowserError`` in `site/browser.py`.

Lower-level errors (httpx, psycopg, botocore) are mapped to these where they enter
(`http/`, `db/`, `storage/`) with ``raise ... from exc``; psycopg's in one place,
`db/errors.py`, whose `DatabaseError` keeps the psycopg error as ``__cause__`` for callers
that must tell a lost session from a refused statement. Only ``cli/`` turns them into exit
codes.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BronzeIntegrityError",
    "ConfigError",
    "DatabaseError",
    "FatalFetchError",
    "FetchError",
    "InputFileError",
    "MigrationError",
    "RetriableFetchError",
    "RunAborted",
    "RunLockedError",
    "StorageError",
    "TasmanError",
    "TasmanSignal",
]


class TasmanError(Exception):
    """Root of every error tasman-etl raises on purpose."""


class ConfigError(TasmanError):
    """Configuration or usage is wrong; nothing was written. Exit code 2."""


class AuthError(ConfigError):
    """The API answered 401/403: the key or User-Agent is wrong."""


class FetchError(TasmanError):
    """A request to the USAJOBS API failed."""


class RetriableFetchError(FetchError):
    """A transient failure: retry with backoff (429, 5xx, timeout, bad body)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalFetchError(FetchError):
    """A failure that retrying will not fix (other 4xx, or the retry budget is spent)."""


class InputFileError(TasmanError):
    """A file handed to `load` cannot be read or is not a search response."""


class StorageError(TasmanError):
    """The bronze store could not read or write an object."""


class BronzeIntegrityError(StorageError):
    """A bronze object failed its checksum, or a write-once key got other content."""


class DatabaseError(TasmanError):
    """PostgreSQL failed: cannot connect, or a statement failed.

    Raised ``from`` the psycopg error when there is one (`db/errors.py`): ``__cause__``
    tells a lost session (reconnect) from a refused statement.
    """


class MigrationError(DatabaseError):
    """A migration is missing, was edited after it was applied, or failed."""


class RunLockedError(TasmanError):
    """Another run of the same search scope is in progress."""


class TasmanSignal(Exception):  # noqa: N818 - a signal, not an error
    """Root of control-flow signals: raised on purpose, but not errors.

    Not a `TasmanError`, so a handler of errors (``except TasmanError``) does not swallow
    one by mistake; the code that asked for the signal catches it by name.
    """


class RunAborted(TasmanSignal):
    """Raised inside worker threads when a stop was requested."""
