"""Search parameters of `GET /api/search`, parsed the way the simulator interprets them.

Parameter names are case-insensitive; multiple values are `;`-joined. What each one means
here (the simulator's definition of the real API's looser behaviour):

* ``Keyword``: every word (letters/digits, case-insensitive) must occur as a whole word in
  the title, qualification summary, job summary, major duties, key requirements,
  occupational series names, organization or department name.
* ``PositionTitle``: case-insensitive substring of the title (spaces collapsed).
* ``LocationName``: "City, State" / "City, ST" / "City, Country", `;`-joined; a job matches
  when any of its locations is within ``Radius`` miles (default 25) of any resolved place.
  If no name resolves, nothing matches.
* ``JobCategoryCode``: any listed series. ``Organization``: any listed sub-element code,
  or a department code such as ``TR``.
* ``DatePosted``: posted within N days of the reference day (0 = today).
* ``ResultsPerPage``: default 25; values above 500 are clamped to 500 (as the API does).
* ``Page``: 1-based. ``Fields``, ``SortField``, ``SortDirection`` and unknown names are
  accepted and ignored. Malformed numbers raise `QueryError` (HTTP 400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tasman_etl.simulator.geo import Place, resolve_location

__all__ = [
    "DEFAULT_RADIUS_MILES",
    "DEFAULT_RESULTS_PER_PAGE",
    "MAX_RESULTS_PER_PAGE",
    "Query",
    "QueryError",
    "normalize_title",
    "parse_query",
    "tokenize",
]

DEFAULT_RESULTS_PER_PAGE = 25
MAX_RESULTS_PER_PAGE = 500
DEFAULT_RADIUS_MILES = 25.0

_WORD = re.compile(r"[a-z0-9]+")
_SPACES = re.compile(r"\s+")


class QueryError(ValueError):
    """A search parameter has a value the simulator (and the API) rejects with HTTP 400."""


def tokenize(text: str) -> list[str]:
    """Lower-cased words (runs of ASCII letters and digits) of ``text``."""
    return _WORD.findall(text.lower())


def normalize_title(text: str) -> str:
    """Lower-case, single-spaced text for `PositionTitle` substring matching."""
    return _SPACES.sub(" ", text.strip().lower())


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: filters (AND-ed together) plus the page window."""

    keywords: tuple[str, ...] = ()
    title: str = ""
    location_names: tuple[str, ...] = ()
    places: tuple[Place, ...] = ()
    radius: float = DEFAULT_RADIUS_MILES
    series: frozenset[str] = frozenset()
    orgs: frozenset[str] = frozenset()
    date_posted: int | None = None
    page: int = 1
    results_per_page: int = DEFAULT_RESULTS_PER_PAGE

    @property
    def radial(self) -> bool:
        """True when a location was asked for (the API's `IsRadialSearch`)."""
        return bool(self.location_names)

    def filter_key(self) -> tuple[object, ...]:
        """Everything that decides *which* jobs match (not the page window)."""
        return (
            tuple(sorted(set(self.keywords))),
            self.title,
            tuple(sorted((p.lat, p.lon) for p in self.places)),
            self.radial,
            self.radius if self.radial else None,
            tuple(sorted(self.series)),
            tuple(sorted(self.orgs)),
            self.date_posted,
        )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _int(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise QueryError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise QueryError(f"{name} must be >= {minimum}, got {number}")
    return number


def parse_query(params: Mapping[str, str]) -> Query:
    """Parse search parameters (names case-insensitive, the last duplicate wins)."""
    p = {name.lower(): value for name, value in params.items()}
    keywords = tuple(tokenize(p.get("keyword", "")))
    title = normalize_title(p.get("positiontitle", ""))
    location_names = tuple(_split(p.get("locationname", "")))
    places = tuple(
        place for place in (resolve_location(name) for name in location_names) if place is not None
    )
    radius = DEFAULT_RADIUS_MILES
    raw_radius = p.get("radius", "").strip()
    if raw_radius:
        try:
            radius = float(raw_radius)
        except ValueError:
            raise QueryError(f"Radius must be a number, got {raw_radius!r}") from None
        if not 0 <= radius <= 25_000:
            raise QueryError(f"Radius must be between 0 and 25000, got {raw_radius}")
    series = frozenset(_split(p.get("jobcategorycode", "")))
    orgs = frozenset(code.upper() for code in _split(p.get("organization", "")))
    date_posted = None
    if p.get("dateposted", "").strip():
        date_posted = _int("DatePosted", p["dateposted"], 0)
    page = _int("Page", p["page"], 1) if p.get("page", "").strip() else 1
    rpp = DEFAULT_RESULTS_PER_PAGE
    if p.get("resultsperpage", "").strip():
        rpp = min(_int("ResultsPerPage", p["resultsperpage"], 1), MAX_RESULTS_PER_PAGE)
    return Query(
        keywords=keywords,
        title=title,
        location_names=location_names,
        places=places,
        radius=radius,
        series=series,
        orgs=orgs,
        date_posted=date_posted,
        page=page,
        results_per_page=rpp,
    )
