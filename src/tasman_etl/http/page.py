"""One Search response as received: `Page`, with the request that produced it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Page"]


@dataclass(frozen=True)
class Page:
    """One Search response as received, with the request that produced it.

    ``params`` are the query parameters (never headers: the key is not here); ``headers``
    are allow-listed response headers; ``body`` the raw bytes; ``payload`` the parsed JSON.
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
    payload: dict[str, Any] = field(repr=False)

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
