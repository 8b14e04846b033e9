"""USAJOBS code lists in the `codelist` table, replaced or inserted set-based."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from tasman_etl.db.errors import database_errors
from tasman_etl.db.staging import copy_rows, create_staging, ident_list
from tasman_etl.transform import BTREE_TEXT_CHARS, cut

__all__ = ["upsert_codelist"]

Conn = psycopg.Connection[Any]


@database_errors("storing codelist {name} failed")
def upsert_codelist(
    conn: Conn,
    name: str,
    values: Iterable[Mapping[str, Any]],
    *,
    date_generated: datetime | None,
    fetched_at: datetime,
) -> int:
    """Replace-or-insert a codelist's values (set-based). Returns the number of values."""
    columns = (
        "list_name",
        "code",
        "value",
        "last_modified",
        "is_disabled",
        "extra",
        "date_generated",
        "fetched_at",
    )
    rows = [
        (
            name,
            _code(v["code"]),
            v.get("value"),
            v.get("last_modified"),
            bool(v.get("is_disabled")),
            Jsonb(dict(v.get("extra") or {})),
            date_generated,
            fetched_at,
        )
        for v in values
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS pg_temp.stg_codelist")
        create_staging(cur, "stg_codelist", "codelist", columns)
        copy_rows(cur, "stg_codelist", columns, _dedupe_codes(rows))
        cur.execute(
            sql.SQL(
                "INSERT INTO codelist ({c}) SELECT {c} FROM stg_codelist "
                "ON CONFLICT (list_name, code) DO UPDATE SET value = EXCLUDED.value, "
                "last_modified = EXCLUDED.last_modified, is_disabled = EXCLUDED.is_disabled, "
                "extra = EXCLUDED.extra, date_generated = EXCLUDED.date_generated, "
                "fetched_at = EXCLUDED.fetched_at"
            ).format(c=ident_list(columns))
        )
    return len(rows)


def _code(code: Any) -> Any:
    """A codelist code as stored: cut to `BTREE_TEXT_CHARS` (the primary key is a btree)."""
    return cut(code, BTREE_TEXT_CHARS) if isinstance(code, str) else code


def _dedupe_codes(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The last value of a code wins (the API repeats a few codes)."""
    yield from {row[1]: row for row in rows}.values()
