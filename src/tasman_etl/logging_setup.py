"""structlog configuration: JSON lines to stderr (stdout is for command output), secrets scrubbed.

Every event carries `timestamp` (ISO, UTC), `level` (lower-case) and `event`, plus the
context bound with `structlog.contextvars.bind_contextvars` (the run id). CloudWatch
metric filters match on `$.level` and `$.event`, so keep those names.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from tasman_etl.redact import ScrubFilter, scrub_obj

__all__ = ["configure_logging"]


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Scrub secrets (every spelling) and URL passwords from every value (last line of defence).

    Runs after ``dict_tracebacks``, so exception messages and frames are scrubbed too.
    """
    return {key: scrub_obj(value) for key, value in event_dict.items()}


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog (and stdlib logging) once per process; safe to call again."""
    out = stream if stream is not None else sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if use_console
        else structlog.processors.JSONRenderer()
    )
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Third-party libraries log through stdlib logging: keep them quiet and on stderr.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=out, force=True)
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
