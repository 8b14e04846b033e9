"""Small read-only queries the commands run, apart from the repository's bulk writes."""

from __future__ import annotations

from typing import Any

__all__ = ["ping", "rate_interval_codes"]


def rate_interval_codes(conn: Any) -> list[str]:
    """Rate interval codes of the stored codelist (empty: the gate's built-in set)."""
    rows = conn.execute(
        "SELECT code FROM codelist WHERE list_name = 'remunerationrateintervalcodes' "
        "AND NOT is_disabled"
    ).fetchall()
    return [r[0] for r in rows]


def ping(conn: Any) -> None:
    """One round trip to the server: raises when the database does not answer."""
    conn.execute("SELECT 1")
