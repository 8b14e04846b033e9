"""Known pages: a search page served again byte for byte, whose jobs have not changed.

A page that loaded cleanly (no quarantined, duplicate or unknown-key item, no failed
expectation) is recorded with an *items digest*: the SHA-256 of its items' ``control
number:content hash`` pairs in control-number order. A later page with the same payload
SHA-256 carries the same items; when the database still holds exactly those content hashes
for those control numbers, every item on it is unchanged and the page need not be parsed
(migration 012, ADR 0029).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from tasman_etl.db.errors import database_errors

__all__ = ["KnownPage", "items_digest", "known_page", "known_payload"]


@dataclass(frozen=True)
class KnownPage:
    """A loaded page with the same payload, whose jobs the database still holds as loaded."""

    run_id: str
    page_key: str
    control_numbers: list[str]
    """The page's control numbers, in page order (as its ledger row records them)."""
    items: int
    items_digest: str
    dq: Any
    """The data-quality results recorded for that page (the same bytes give the same)."""


def items_digest(pairs: Iterable[tuple[str, str]], salt: str = "") -> str:
    """SHA-256 hex of ``salt`` and ``control number:content hash`` pairs, sorted, by commas.

    The salt names what else decided how the page loaded (the code version, the gate's
    settings): a page loaded under others is not known (it is parsed and gated again).
    """
    text = ",".join(f"{cn}:{digest}" for cn, digest in sorted(pairs))
    return hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()


_CANDIDATE = """
    SELECT run_id, page_key, control_numbers, items, items_digest, dq
      FROM ingest_page
     WHERE sha256 = %s AND status = 'loaded' AND items_digest IS NOT NULL
     ORDER BY loaded_at DESC
     LIMIT 1
"""

_ANY = """
    SELECT EXISTS (SELECT 1 FROM ingest_page
                    WHERE sha256 = %s AND status = 'loaded' AND items_digest IS NOT NULL)
"""

_HELD = """
    SELECT control_number, content_hash FROM job
     WHERE control_number = ANY(%s) AND source = 'search'
"""


@database_errors("cannot look up a known payload")
def known_payload(conn: psycopg.Connection[Any], payload_sha256: str) -> bool:
    """Whether a cleanly loaded page had this payload (its jobs may have changed since)."""
    with conn.cursor() as cur:
        cur.execute(_ANY, (payload_sha256,))
        row = cur.fetchone()
    return bool(row and row[0])


@database_errors("cannot look up a known page")
def known_page(
    conn: psycopg.Connection[Any], payload_sha256: str, salt: str = ""
) -> KnownPage | None:
    """The latest cleanly loaded page with this payload, if its jobs are unchanged since.

    None when no such page was recorded, or when any of its jobs is missing or holds other
    content now (it changed since, or a history record wrote it): then the page is parsed.
    """
    with conn.cursor() as cur:
        cur.execute(_CANDIDATE, (payload_sha256,))
        row = cur.fetchone()
        if row is None:
            return None
        run_id, page_key, control_numbers, items, digest, dq = row
        cns = list(control_numbers or [])
        cur.execute(_HELD, (cns,))
        held = cur.fetchall()
    if len(held) != len(set(cns)) or items_digest(held, salt) != digest:
        return None
    return KnownPage(run_id, page_key, cns, int(items or 0), digest, dq)
