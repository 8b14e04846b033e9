"""Code lists for a run: fetched through the TTL-cached client and persisted to `codelist`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog

from tasman_etl.db.repository import upsert_codelist
from tasman_etl.errors import TasmanError
from tasman_etl.http.codelists import Codelist, CodelistClient

__all__ = ["LABEL_LISTS", "PersistingCodelists", "refresh_label_lists", "store_codelist"]

log = structlog.get_logger(__name__)

# Lists that give labels to silver codes (schedule, offering type, rate interval,
# hiring paths, series, pay plan).
LABEL_LISTS = (
    "positionscheduletypes",
    "positionofferingtypes",
    "remunerationrateintervalcodes",
    "hiringpaths",
    "occupationalseries",
    "payplans",
)


def store_codelist(conn: psycopg.Connection[Any], codelist: Codelist) -> int:
    """Persist one fetched code list; returns its number of values."""
    return upsert_codelist(
        conn,
        codelist.name,
        (
            {
                "code": v.code,
                "value": v.value,
                "last_modified": v.last_modified,
                "is_disabled": v.is_disabled,
                "extra": v.extra,
            }
            for v in codelist.values
        ),
        date_generated=codelist.date_generated,
        fetched_at=codelist.fetched_at,
    )


class PersistingCodelists:
    """The planner's code source: fetch (cached) and store each list the first time it is used."""

    def __init__(self, client: CodelistClient, conn: psycopg.Connection[Any]) -> None:
        self.client = client
        self.conn = conn
        self._stored: set[str] = set()

    def codes(self, name: str) -> list[str]:
        """Distinct codes of list `name` (disabled included), persisted once per run."""
        codelist = self.client.get(name)
        if codelist.name not in self._stored:
            store_codelist(self.conn, codelist)
            self._stored.add(codelist.name)
        return codelist.codes()


def refresh_label_lists(
    conn: psycopg.Connection[Any],
    client: CodelistClient,
    names: tuple[str, ...] = LABEL_LISTS,
    *,
    ttl_s: float,
) -> dict[str, int]:
    """Refetch label lists older than `ttl_s` in the database; failures only warn."""
    rows = conn.execute(
        "SELECT list_name, max(fetched_at) FROM codelist WHERE list_name = ANY(%s) "
        "GROUP BY list_name",
        (list(names),),
    ).fetchall()
    fresh_after = datetime.now(UTC) - timedelta(seconds=ttl_s)
    fresh = {name for name, fetched in rows if fetched is not None and fetched > fresh_after}
    refreshed: dict[str, int] = {}
    for name in names:
        if name in fresh:
            continue
        try:
            refreshed[name] = store_codelist(conn, client.get(name))
        except TasmanError as exc:
            log.warning("codelist_refresh_failed", codelist=name, error=str(exc))
    if refreshed:
        log.info("codelists_refreshed", lists=refreshed)
    return refreshed
