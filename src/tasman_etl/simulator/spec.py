"""What the simulator knows of every job up front: the compact `JobSpec`, and its texts.

A `JobSpec` holds what every search filter needs (series, organization, places, posting
date, the ids of the text fragments that `Keyword` searches); its texts live once, interned,
in a `TextTable` with their word sets. Specs are drawn by `tasman_etl.simulator.generate`,
kept (and changed) by `tasman_etl.simulator.data.Universe`, and turned into full search items
by `tasman_etl.simulator.render`.

Each job has a *role*: an ordinary posting, a data-engineering posting far from Chicago, or
a data-engineering posting with a location within 45 miles of Chicago (`role_counts`).
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple

from tasman_etl.simulator.query import tokenize

__all__ = [
    "DEFAULT_DE_SHARE",
    "DEFAULT_NEAR_SHARE",
    "NEAR_CHICAGO_MILES",
    "ROLE_DE_FAR",
    "ROLE_DE_NEAR",
    "ROLE_GENERIC",
    "STYLE_DATE",
    "STYLE_MODERN",
    "STYLE_ZULU",
    "JobSpec",
    "TextTable",
    "role_counts",
    "with_keywords",
]

ROLE_GENERIC, ROLE_DE_FAR, ROLE_DE_NEAR = 0, 1, 2
# Date/shape styles of the real API: 2024-25 ("…T00:00:00.0000"), 2021 ("2021-04-05"),
# 2016 ("…T00:00:00Z"); older styles also lack the newer keys (telework, MCOTags, …).
STYLE_MODERN, STYLE_DATE, STYLE_ZULU = 0, 1, 2

DEFAULT_DE_SHARE = 0.40
DEFAULT_NEAR_SHARE = 0.35
NEAR_CHICAGO_MILES = 45.0

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def role_counts(n: int, match_fraction: float | None) -> tuple[int, int]:
    """(data-engineering jobs, of which near Chicago) for a universe of `n` jobs."""
    if match_fraction is None:
        n_de = round(n * DEFAULT_DE_SHARE)
        return n_de, round(n_de * DEFAULT_NEAR_SHARE)
    n_near = round(n * match_fraction)
    return max(n_near, round(n * DEFAULT_DE_SHARE)), n_near


class JobSpec(NamedTuple):
    """Everything the filters need about one job, plus the recipe of its searchable text."""

    idx: int
    control_number: str
    role: int
    style: int
    posted: int  # date ordinal of PublicationStartDate
    closes: int  # date ordinal of ApplicationCloseDate
    series: tuple[int, ...]  # indices into vocab.SERIES
    org: int  # index into vocab.ORGS
    places: tuple[int, ...]  # indices into geo.ALL_PLACES (typical lists: PLACES, may repeat)
    plan: str
    low: int
    high: int
    position_id: str
    title: int  # text ids (Universe text table) from here on
    opener: int
    office: int
    lead: int  # data-engineering summary sentence, or -1
    extras: tuple[int, ...]
    duties: tuple[int, ...]
    keyreqs: tuple[int, ...]
    qual: int
    summary_override: int = -1
    kw: tuple[int, ...] = ()  # every text id the Keyword filter looks at
    pad_summary: int = 0  # text="real": prose phrases in the job summary's extra sentences
    pad_other: int = 0  # ... and in the qualification summary's and duties' (bit masks)
    kw_pad: int = 0  # the prose phrases the Keyword filter looks at

    @property
    def data_engineering(self) -> bool:
        """True for jobs generated as data-engineering postings."""
        return self.role != ROLE_GENERIC


class TextTable:
    """Interned text fragments with their word sets (templates: placeholders ignored)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.tokens: list[frozenset[str]] = []
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def intern(self, text: str) -> int:
        """The id of `text`, added to the table on first sight (thread-safe)."""
        found = self._ids.get(text)
        if found is not None:
            return found
        with self._lock:
            found = self._ids.get(text)
            if found is None:
                found = len(self.texts)
                self.tokens.append(frozenset(tokenize(_PLACEHOLDER.sub(" ", text))))
                self.texts.append(text)
                self._ids[text] = found
            return found


def with_keywords(spec: JobSpec) -> JobSpec:
    """`spec` with `kw` and `kw_pad`: what the Keyword filter looks at."""
    ids = [spec.title, spec.qual, *spec.duties, *spec.keyreqs]
    pad = spec.pad_other
    if spec.summary_override >= 0:
        ids.append(spec.summary_override)  # replaces the summary, extra sentences too
    else:
        ids += [spec.opener, spec.office, *spec.extras]
        if spec.lead >= 0:
            ids.append(spec.lead)
        pad |= spec.pad_summary
    return spec._replace(kw=tuple(ids), kw_pad=pad)
