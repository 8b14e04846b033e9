"""`GET /api/search` responses: the page window, the 10,000-row cap and the exact JSON shape.

The real API returns at most 10,000 rows per query: `SearchResultCountAll` saturates at
10,000 and rows past the 10,000th cannot be paged to (those pages come back empty).
`NumberOfPages` is a string computed as ceil(SearchResultCountAll / 25) whatever the page
size, as recorded in a 2016 response (742 rows, 500 per page, "30" pages): clients must
not trust it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from tasman_etl.simulator.data import Universe
from tasman_etl.simulator.query import Query

__all__ = ["NUMBER_OF_PAGES_BASIS", "RESULT_CAP", "PageWindow", "page_window", "search_payload"]

RESULT_CAP = 10_000
NUMBER_OF_PAGES_BASIS = 25


@dataclass(frozen=True, slots=True)
class PageWindow:
    """Which rows of a result one page returns, and the counts the API reports."""

    count_all: int  # SearchResultCountAll (saturates at RESULT_CAP)
    start: int  # first row (0-based) on the page
    stop: int  # one past the last row
    number_of_pages: int  # UserArea.NumberOfPages (as an int)

    @property
    def count(self) -> int:
        """SearchResultCount: rows on this page."""
        return self.stop - self.start


def page_window(total: int, page: int, results_per_page: int) -> PageWindow:
    """Rows of page `page` (1-based) when `total` jobs match, applying the 10,000 cap."""
    if page < 1 or results_per_page < 1:
        raise ValueError("page and results_per_page start at 1")
    count_all = min(total, RESULT_CAP)
    start = min((page - 1) * results_per_page, count_all)
    stop = min(start + results_per_page, count_all)
    return PageWindow(count_all, start, stop, math.ceil(count_all / NUMBER_OF_PAGES_BASIS))


def search_payload(universe: Universe, query: Query) -> bytes:
    """The JSON body of a search response (compact, UTF-8, deterministic)."""
    matches = universe.select(query)
    window = page_window(len(matches), query.page, query.results_per_page)
    items = b",".join(
        universe.item_bytes(idx, radial=query.radial) for idx in matches[window.start : window.stop]
    )
    user_area: dict[str, object] = {
        "NumberOfPages": str(window.number_of_pages),
        "IsRadialSearch": query.radial,
    }
    if query.radial:
        user_area["ResolvedLocation"] = [place.name for place in query.places]
    head = (
        '{"LanguageCode":"EN","SearchParameters":{},"SearchResult":{'
        f'"SearchResultCount":{window.count},"SearchResultCountAll":{window.count_all},'
        '"SearchResultItems":['
    )
    tail = '],"UserArea":' + json.dumps(user_area, separators=(",", ":")) + "}}"
    return head.encode() + items + tail.encode()
