"""Settings with logging, database connections, and the data-quality gate."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import structlog

from tasman_etl.config import Settings, load_settings
from tasman_etl.logging_setup import configure_logging

if TYPE_CHECKING:
    from tasman_etl.dq import DqGate, ItemCountMode

__all__ = ["configured_settings", "connections", "database", "quality_gate"]

log = structlog.get_logger(__name__)


def configured_settings(**overrides: Any) -> Settings:
    """The settings (environment, `.env`, then `overrides`), with logging set up by them."""
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    return settings


@contextlib.contextmanager
def database(settings: Settings, *, migrate: bool = True) -> Iterator[Any]:
    """Open the database (embedded when DB_URL is unset), migrate, yield a connection."""
    with connections(settings, 1, migrate=migrate) as conns:
        yield conns[0]


@contextlib.contextmanager
def connections(settings: Settings, count: int, *, migrate: bool = True) -> Iterator[list[Any]]:
    """Like `database`, with `count` connections (the first one migrates)."""
    from tasman_etl.db.engine import open_database
    from tasman_etl.db.migrate import apply_migrations

    with open_database(settings) as db, contextlib.ExitStack() as stack:
        # autocommit: every `conn.transaction()` below is a real transaction (one per page)
        conns = [stack.enter_context(db.connect(autocommit=True)) for _ in range(count)]
        if migrate:
            applied = apply_migrations(conns[0])
            if applied:
                log.info("migrations_applied", versions=[m.version for m in applied])
        yield conns


def quality_gate(settings: Settings, conn: Any, *, item_count: ItemCountMode) -> DqGate:
    """The data-quality gate: the suites evaluated natively, in this process (ADR 0026)."""
    from tasman_etl.db.queries import rate_interval_codes
    from tasman_etl.dq import DqGate

    return DqGate(
        enforce=settings.dq_enforce,
        known_rate_codes=rate_interval_codes(conn),
        item_count=item_count,
    )
