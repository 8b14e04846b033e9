"""A window's token chain as a page source: fetched one page after another, resumable.

The Historic JOA API pages by continuation token: page k+1's address is in page k's
`paging.next`, so a window's pages cannot be fetched in parallel. A thread follows the chain
a couple of pages ahead of the engine (`chain_packages`), and a resumed window goes on from
the `next` of its last page loaded in a row, read back from bronze (`resume_point`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
import structlog

from tasman_etl.errors import TasmanError
from tasman_etl.runner.pages import Package, PageSource, make_record, page_key
from tasman_etl.runner.windows import TEXT_PART_PREFIX
from tasman_etl.storage.bronze import BronzeKey, BronzeStore, read_envelope
from tasman_etl.transform import dump_json

__all__ = ["ENDPOINT", "TEXT_ENDPOINT", "Chain", "chain_packages", "resume_point"]

log = structlog.get_logger(__name__)

ENDPOINT = "/api/historicjoa"
TEXT_ENDPOINT = "/api/historicjoa/announcementtext"
_PREFETCH = 2
"""Pages fetched ahead of the engine (a token chain is read one page after another)."""


@dataclass
class Chain:
    """What the token chain of a window did (filled by its fetch thread)."""

    total: int | None = None
    pages: int = 0
    error: BaseException | None = None
    repeated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def resume_point(
    conn: psycopg.Connection[Any], store: BronzeStore, run_id: str, part: str
) -> tuple[str | None, int]:
    """Where a window's token chain goes on: the `next` of its last loaded page in a row.

    Pages 1..k loaded: read page k back from bronze and follow its `next` from page k+1.
    Anything unreadable: start again from page 1 (loading is idempotent).
    """
    rows = conn.execute(
        "SELECT page, status, bronze_key FROM ingest_page WHERE run_id = %s AND part = %s "
        "ORDER BY page",
        (run_id, part),
    ).fetchall()
    last: tuple[int, str] | None = None
    for number, status, bronze_key in rows:
        if number != (last[0] + 1 if last else 1) or status != "loaded" or not bronze_key:
            break
        last = (number, bronze_key)
    if last is None:
        return None, 1
    try:
        payload = read_envelope(store.get(BronzeKey.parse(last[1]))).payload
        paging = payload.get("paging") if isinstance(payload, Mapping) else None
        nxt = paging.get("next") if isinstance(paging, Mapping) else None
    except (TasmanError, ValueError, OSError) as exc:
        log.warning("backfill_resume_from_start", part=part, error=str(exc)[:300])
        return None, 1
    if not isinstance(nxt, str) or not nxt.strip():
        return "", last[0] + 1  # the chain had ended: nothing more to fetch
    return nxt, last[0] + 1


def chain_packages(
    pages: Iterator[Any], chain: Chain, run_id: str, part: str, stop: threading.Event
) -> Iterator[Package]:
    """The pages of a token chain, fetched one after another on a thread, as packages.

    `part` says which chain: a window's records (``historic.…``) or its AnnouncementText
    records (``historic-text.…``); the ledger source and the bronze notes say so too.
    """
    texts = part.startswith(TEXT_PART_PREFIX)
    endpoint = TEXT_ENDPOINT if texts else ENDPOINT
    what = "Historic JOA AnnouncementText" if texts else "Historic JOA"
    window = part.split(".", 1)[-1]
    box: queue.Queue[Any] = queue.Queue(maxsize=_PREFETCH)
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
        except BaseException as exc:  # the engine's thread reports it
            chain.error = exc
        finally:
            put(end)

    thread = threading.Thread(target=fetch, name=f"chain-{part}", daemon=True)
    thread.start()
    while not stop.is_set():
        try:
            page = box.get(timeout=0.2)
        except queue.Empty:
            continue
        if page is end:
            break
        chain.pages += 1
        if chain.total is None or page.number == 1:
            chain.total = page.total_count
        chain.repeated = chain.repeated or bool(getattr(page, "repeated_token", False))
        key = page_key(page.number, part)
        query = urlsplit(page.url)
        body = page.body
        notes = f"{what} page {page.number} of window {window}"
        if page.no_content:  # the text `204 No Content`: bronze holds JSON objects only
            body = dump_json(page.payload).encode()
            notes += f"; the API answered with the text {page.body[:40]!r} (no rows)"
        src = PageSource(
            page=page.number,
            part=part,
            endpoint=query.path or endpoint,
            params=dict(parse_qsl(query.query, keep_blank_values=True)),
            sent_at=page.sent_at,
            received_at=page.received_at,
            status=page.status,
            headers=dict(page.headers),
            payload_bytes=body,
            payload=page.payload,
            source=endpoint,
            notes=notes,
        )
        record = make_record(run_id, key, page.number, part=part, source=endpoint)
        pkg = Package(record=record, seen_at=page.received_at, src=src)
        pkg.phases["fetch"] = max(0.0, (page.received_at - page.sent_at).total_seconds())
        yield pkg
