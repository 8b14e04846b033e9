"""One Search response as received: `Page`, with the request that produced it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasman_etl import jsontext

__all__ = ["Page", "count_all_in"]

_COUNT_ALL_KEY = b'"SearchResultCountAll":'


def count_all_in(body: bytes) -> int | None:
    """``SearchResultCountAll`` read from a body's bytes without parsing it, or None.

    The first ``"SearchResultCountAll":`` outside a string (inside one its quotes would be
    escaped). Only for a body known to hold one such key: the runner uses it on repeats of
    pages where it read the same number from the parsed payload (`runner/pages.py`).
    """
    at = body.find(_COUNT_ALL_KEY)
    if at < 0:
        return None
    digits = body[at + len(_COUNT_ALL_KEY) : at + len(_COUNT_ALL_KEY) + 24].lstrip()
    end = 0
    while end < len(digits) and digits[end : end + 1].isdigit():
        end += 1
    return int(digits[:end]) if end else None


@dataclass(frozen=True)
class Page:
    """One Search response as received, with the request that produced it.

    ``params`` are the query parameters (never headers: the key is not here); ``headers``
    are allow-listed response headers; ``body`` the raw bytes; ``payload`` the parsed JSON.
    The client leaves ``decoded`` None for a body it was told it can trust unparsed (a
    repeat of a page loaded before): ``payload`` parses it on first use.
    """

    part: str | None
    page: int
    endpoint: str
    params: dict[str, str]
    sent_at: datetime
    received_at: datetime
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)
    decoded: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    body_sha256: str | None = field(default=None, repr=False, compare=False)
    """The body's SHA-256 hex when the client computed it (to ask whether it is trusted)."""

    @property
    def payload(self) -> dict[str, Any]:
        """The parsed JSON body (parsed here on first use if the client did not)."""
        if self.decoded is None:
            object.__setattr__(self, "decoded", jsontext.loads(self.body))
        assert self.decoded is not None
        return self.decoded

    @property
    def search_result(self) -> dict[str, Any]:
        """The ``SearchResult`` object of the payload."""
        result: dict[str, Any] = self.payload["SearchResult"]
        return result

    @property
    def count_all(self) -> int:
        """``SearchResultCountAll``: rows matching the query (saturates at the cap)."""
        return int(self.search_result.get("SearchResultCountAll") or 0)

    @property
    def count(self) -> int:
        """``SearchResultCount``: rows on this page, as the API states it."""
        return int(self.search_result.get("SearchResultCount") or 0)

    @property
    def items(self) -> list[dict[str, Any]]:
        """``SearchResultItems`` (empty list when absent)."""
        items: list[dict[str, Any]] = self.search_result.get("SearchResultItems") or []
        return items

    @property
    def control_numbers(self) -> list[str]:
        """``MatchedObjectId`` of every item, as strings, in page order."""
        return [str(item.get("MatchedObjectId")) for item in self.items if isinstance(item, dict)]

    def with_part(self, part: str | None) -> Page:
        """A copy of this page labelled with partition key ``part``."""
        return dataclasses.replace(self, part=part)
