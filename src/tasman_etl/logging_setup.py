"""structlog configuration: JSON lines to stderr (stdout is for command output), secrets scrubbed.

Every event carries `timestamp` (ISO, UTC), `level` (lower-case) and `event`, plus the
context bound with `structlog.contextvars.bind_contextvars` (the run id). CloudWatch
metric filters match on `$.level` and `$.event`, so keep those names.

On a terminal (``LOG_FORMAT=auto`` and stderr a TTY, or ``LOG_FORMAT=console``) the lines are
rendered for a person instead: a short local time, the level, the event and its fields, without
the run id (the summary names it). Every line is written through `tasman_etl.console`, so it
lands above a live progress display instead of through it. On a TTY at INFO, the detail events
in `TTY_DETAIL_EVENTS` (server start/stop, each migration, each codelist, each bronze write,
the run summary that the summary table repeats) are left out, so a run shows about one line
per page; ``LOG_LEVEL=DEBUG`` shows them. JSON logs always carry every event.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from tasman_etl.console import LineLoggerFactory, LineStream
from tasman_etl.redact import ScrubFilter, scrub_obj

__all__ = ["TTY_DETAIL_EVENTS", "configure_logging"]

TTY_DETAIL_EVENTS = frozenset(
    {
        "embedded_postgres_ready",
        "embedded_postgres_stopped",
        "embedded_postgres_pruned_owners",
        "embedded_postgres_retry",
        "embedded_postgres_stale_lock_removed",
        "migration_applied",
        "migrations_applied",
        "codelist.fetched",
        "codelists_refreshed",
        "simulator.started",
        "simulator.stopped",
        "bronze.put",
        "place_resolved",
        "usajobs.plan",
        "usajobs.plan.split",
        "inactive_check_skipped",
        "run_summary",
    }
)
"""INFO events a person at a terminal does not need (shown with LOG_LEVEL=DEBUG)."""


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Scrub secrets (every spelling) and URL passwords from every value (last line of defence).

    Runs after ``dict_tracebacks``, so exception messages and frames are scrubbed too.
    """
    return {key: scrub_obj(value) for key, value in event_dict.items()}


def _drop_tty_details(
    _: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if method_name == "info" and event_dict.get("event") in TTY_DETAIL_EVENTS:
        raise structlog.DropEvent
    return event_dict


def _drop_run_id(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict.pop("run_id", None)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog (and stdlib logging) once per process; safe to call again."""
    out = stream if stream is not None else sys.stderr
    tty = out.isatty()
    use_console = fmt == "console" or (fmt == "auto" and tty)
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    if use_console and tty:
        if numeric > logging.DEBUG:
            processors.append(_drop_tty_details)
        processors += [
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            _drop_run_id,
        ]
    else:
        processors.append(structlog.processors.TimeStamper(fmt="iso", utc=True))
    processors += [structlog.processors.dict_tracebacks, _redact]
    processors.append(
        structlog.dev.ConsoleRenderer(colors=tty, pad_event_to=24)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=LineLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Third-party libraries log through stdlib logging: keep them quiet and on stderr.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=LineStream(out), force=True)
    for handler in logging.getLogger().handlers:  # their messages and tracebacks, scrubbed
        handler.addFilter(ScrubFilter())
    for noisy in (
        "botocore",
        "boto3",
        "urllib3",
        "httpx",
        "httpcore",
        "great_expectations",
        "werkzeug",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
