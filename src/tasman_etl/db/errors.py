"""The one place psycopg errors become the project's `DatabaseError`.

Every public function of the repository modules (`db/load.py`, `db/silver.py`,
`db/ledger.py`, `db/plan.py`, `db/codelists.py`, `db/locks.py`) is wrapped in
`database_errors`: a `psycopg.Error` escaping it (connection lost or closed, a statement
refused, a transaction already aborted) is raised again as ``DatabaseError`` with one line of
message, secrets scrubbed, and the psycopg error kept as ``__cause__``. Callers that must
tell errors apart (reconnect when the session is gone, `runner/connections.py`) catch
`DatabaseError` and look at its ``__cause__``; retries that need the raw error (a deadlock,
a concurrent insert) run inside the wrapped function, below the mapping.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from inspect import signature
from typing import ParamSpec, TypeVar

import psycopg

from tasman_etl.errors import DatabaseError
from tasman_etl.redact import scrub

__all__ = ["database_errors", "one_line"]

P = ParamSpec("P")
R = TypeVar("R")

MAX_REASON = 1_000
"""Longest reason kept from a database error (a refused value may be quoted in it)."""


def one_line(exc: BaseException) -> str:
    """A database error as one scrubbed line: its type and message, whitespace folded."""
    text = " ".join(str(exc).split())
    reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    return scrub(reason)


def _describe(
    what: str, func: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> str:
    """`what` formatted with the call's arguments by name (``{run_id}``, ``{record.page_key}``)."""
    try:
        bound = signature(func).bind(*args, **kwargs)
        return what.format_map(bound.arguments)
    except (TypeError, KeyError, AttributeError, IndexError, ValueError):
        return what


def database_errors(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a function so a `psycopg.Error` it raises becomes ``DatabaseError`` (from it).

    ``what`` names the operation; it is formatted with the call's arguments by name, so
    ``"cannot record run {run_id}"`` says which run. The message is ``"<what>: <reason>"``,
    one line (`one_line`). A `DatabaseError` raised inside passes through unchanged.
    """

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except psycopg.Error as exc:
                doing = _describe(what, func, args, kwargs)
                raise DatabaseError(f"{doing}: {one_line(exc)}") from exc

        return wrapper

    return wrap
