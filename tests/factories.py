"""Builders of the test data the tiers share: search items, search pages, bronze envelopes
and ledger records.

Each builder returns a fresh value (no shared mutable state) and takes keyword overrides, so
a test states only what matters to it::

    search_item("900000001", PositionTitle="")            # descriptor keys override
    search_page(items)                                     # counts = len(items)
    search_page(items, count=OMIT, count_all=OMIT)         # a page without its counts

An item that is odd on purpose (and used by one test only) stays in that test.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final

from tasman_etl.db.ledger import PageRecord
from tasman_etl.storage.bronze import build_envelope

__all__ = [
    "CHICAGO",
    "DENVER",
    "LEN",
    "OMIT",
    "SENT",
    "bronze_page",
    "job_uri",
    "page_record",
    "search_item",
    "search_page",
]

CHICAGO: Final[Mapping[str, Any]] = {
    "LocationName": "Chicago, Illinois",
    "Latitude": 41.88,
    "Longitude": -87.63,
}
DENVER: Final[Mapping[str, Any]] = {
    "LocationName": "Denver, Colorado",
    "Latitude": 39.74,
    "Longitude": -104.99,
}
SENT: Final = datetime(2025, 9, 3, 13, 0, tzinfo=UTC)


class _Marker(Enum):
    LEN = "len"
    OMIT = "omit"


LEN: Final = _Marker.LEN
"""A page count equal to the number of items (the default)."""
OMIT: Final = _Marker.OMIT
"""Pass for a count (or a descriptor key) to leave that key out."""


def job_uri(control_number: str, *, port: bool = False) -> str:
    """The job's USAJOBS page; ``port=True`` writes ``:443`` as the real API does."""
    return f"https://www.usajobs.gov{':443' if port else ''}/job/{control_number}"


def search_item(
    control_number: str = "900000001", *, port: bool = False, **descriptor: Any
) -> dict[str, Any]:
    """A valid search item: a titled "Data Engineer" job in Chicago, nothing else.

    ``descriptor`` keys replace or add ``MatchedObjectDescriptor`` keys (a value of ``OMIT``
    removes the key); ``port`` spells the position URI with ``:443``.
    """
    body: dict[str, Any] = {
        "PositionTitle": "Data Engineer",
        "PositionURI": job_uri(control_number, port=port),
        "PositionLocation": [dict(CHICAGO)],
    }
    for key, value in descriptor.items():
        if value is OMIT:
            body.pop(key, None)
        else:
            body[key] = copy.deepcopy(value)
    return {"MatchedObjectId": control_number, "MatchedObjectDescriptor": body}


def search_page(
    items: Iterable[Any],
    *,
    count: object = LEN,
    count_all: object = LEN,
    user_area: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A search payload holding ``items``.

    ``SearchResultCount`` and ``SearchResultCountAll`` default to the number of items
    (``LEN``); pass any other value (``None`` is JSON null) to state it, or ``OMIT`` to leave
    the key out. ``user_area`` adds the result's
    ``UserArea``.
    """
    page_items = list(items)
    result: dict[str, Any] = {}
    if count is not OMIT:
        result["SearchResultCount"] = len(page_items) if count is LEN else count
    if count_all is not OMIT:
        result["SearchResultCountAll"] = len(page_items) if count_all is LEN else count_all
    result["SearchResultItems"] = page_items
    if user_area is not None:
        result["UserArea"] = dict(user_area)
    return {"SearchResult": result}


def bronze_page(
    payload: Mapping[str, Any],
    *,
    run_id: str = "r1",
    page: int = 1,
    delay_s: int = 0,
    sent_at: datetime = SENT,
) -> tuple[bytes, str]:
    """``(body, payload_sha256)`` of a search page's bronze envelope for ``payload``.

    ``delay_s`` moves the received time only, so it varies the body and not the payload.
    """
    payload_bytes = json.dumps(payload).encode()
    body = build_envelope(
        endpoint="/api/search",
        params={"Page": page},
        sent_at=sent_at,
        status=200,
        received_at=sent_at + timedelta(seconds=delay_s),
        headers={"Content-Type": "application/json"},
        payload_bytes=payload_bytes,
        run_id=run_id,
        page=page,
        part=None,
        code_version="test",
    )
    return body, hashlib.sha256(payload_bytes).hexdigest()


def page_record(
    run_id: str = "r1",
    page: int = 1,
    *,
    part: str = "",
    source: str | None = "test",
    sha256: str | None = None,
    scope_hash: str | None = None,
) -> PageRecord:
    """The ledger record of page ``page`` of ``run_id`` (``page=NNNN``, under ``part``)."""
    key = f"part={part}/page={page:04d}" if part else f"page={page:04d}"
    return PageRecord(run_id, key, part, page, source, None, sha256, scope_hash=scope_hash)
