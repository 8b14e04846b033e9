"""The one exception tree of tasman-etl, grouped by what the caller should do.

Our exception hierarchy::

    TasmanError
    ├── ConfigError                bad configuration or usage: fix it and retry (exit 2)
    │   └── AuthError              the API refused the credentials (401/403)
    ├── FetchError                 talking to the USAJOBS API failed
    │   ├── RetriableFetchError    429, 5xx, timeouts, dropped connections, truncated bodies
    │   └── FatalFetchError        any other 4xx, or retries exhausted
    ├── SkippableRecordError       one item cannot be used: quarantine it, load the rest
    ├── InputFileError             a file given to `load` cannot be read or parsed
    ├── DataQualityError           a page failed a page-level expectation: hold it
    ├── StorageError               the bronze store failed
    │   └── BronzeIntegrityError   checksum mismatch or a write-once conflict
    └── DatabaseError              PostgreSQL failed (connection, migration, query)
        └── MigrationError         a migration is missing, changed after apply, or failed

Lower-level errors (httpx, psycopg, botocore) are mapped to these where they enter
(`http/`, `db/`, `storage/`) with ``raise ... from exc``. Only ``cli/`` turns them into
exit codes.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BronzeIntegrityError",
    "ConfigError",
    "DataQualityError",
    "DatabaseError",
    "FatalFetchError",
    "FetchError",
    "InputFileError",
    "MigrationError",
    "RetriableFetchError",
    "SkippableRecordError",
    "StorageError",
    "TasmanError",
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


class SkippableRecordError(TasmanError):
    """One item cannot be loaded; it is quarantined with this reason."""


class InputFileError(TasmanError):
    """A file handed to `load` cannot be read or is not a search response."""


class DataQualityError(TasmanError):
    """A page failed a page-level data-quality expectation and is held."""


class StorageError(TasmanError):
    """The bronze store could not read or write an object."""


class BronzeIntegrityError(StorageError):
    """A bronze object failed its checksum, or a write-once key got other content."""


class DatabaseError(TasmanError):
    """PostgreSQL failed: cannot connect, or a statement failed."""


class MigrationError(DatabaseError):
    """A migration is missing, was edited after it was applied, or failed."""
