"""The synthetic job universe: compact per-job specs, lazily materialized search items.

Generation is two-level so that 50,000 jobs start in seconds and stay small in memory:

* `JobSpec` (`spec.py`): what every filter needs (series, organization, places, posting
  date, the ids of the text fragments that `Keyword` searches), generated for all jobs up
  front from one seeded random stream (`generate.py`).
* The full search item (3-15 KB of JSON in the real shapes and quirks, usajobs-api.md §4)
  is built on demand from the spec and a per-job random stream (`render.py`), then cached
  as bytes.

`Universe` holds them: it answers searches (`select`, `matching`), changes jobs as the live
API does (`withdraw`, `restore`, `update`) and serves items. The names of `spec.py` are
re-exported here.

Each job has a *role*: an ordinary posting, a data-engineering posting far from Chicago, or
a data-engineering posting with a location within 45 miles of Chicago. Only
data-engineering postings contain the word "data" in their searchable text, so the number
of jobs matching the demo search (keyword "data engineering", Chicago, 50 mi) is exactly
the number of near-Chicago data-engineering jobs: `SimulatorConfig.match_fraction` of the
universe, or ~14% by default (40% data engineering, 35% of those near Chicago).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, overload

from tasman_etl.simulator import prose
from tasman_etl.simulator.config import SimulatorConfig
from tasman_etl.simulator.generate import generate_specs
from tasman_etl.simulator.geo import ALL_PLACES, PLACES, Place, haversine_miles
from tasman_etl.simulator.query import Query, normalize_title, parse_query, tokenize
from tasman_etl.simulator.render import render_item
from tasman_etl.simulator.spec import (
    DEFAULT_DE_SHARE,
    DEFAULT_NEAR_SHARE,
    NEAR_CHICAGO_MILES,
    ROLE_DE_FAR,
    ROLE_DE_NEAR,
    ROLE_GENERIC,
    STYLE_DATE,
    STYLE_MODERN,
    STYLE_ZULU,
    JobSpec,
    TextTable,
    role_counts,
    with_keywords,
)
from tasman_etl.simulator.vocab import ORGS, SERIES

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
    "UPDATABLE_FIELDS",
    "ItemsView",
    "JobSpec",
    "Universe",
    "demo_params",
    "iter_items",
    "role_counts",
]


UPDATABLE_FIELDS = frozenset(
    {
        "pay_min",
        "pay_max",
        "position_title",
        "job_summary",
        "application_close_date",
        "total_openings",
        "telework_eligible",
    }
)

_QUERY_CACHE_SIZE = 256

_SERIES_INDEX = {s.code: i for i, s in enumerate(SERIES)}
_ORG_TOKENS = [frozenset(tokenize(f"{o.name} {o.department}")) for o in ORGS]
_SERIES_TOKENS = [frozenset(tokenize(s.name)) for s in SERIES]


class Universe:
    """All synthetic jobs of one `SimulatorConfig`; thread-safe; deterministic per config."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.now: datetime = config.reference_now()
        self.today: date = self.now.date()
        self._texts = TextTable()
        self._lock = threading.RLock()
        self._withdrawn: set[int] = set()
        self._overrides: dict[int, dict[str, Any]] = {}
        self._version = 0
        self._item_cache: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()
        self._item_cache_size = config.item_cache
        self._real_text = config.text == "real"
        self._real_locations = config.locations == "real"
        self._place_table = ALL_PLACES if self._real_locations else PLACES
        self._query_cache: OrderedDict[tuple[object, ...], list[int]] = OrderedDict()
        self._title_norm: dict[int, str] = {}
        self._specs: list[JobSpec] = generate_specs(config, self.today, self._texts)
        self._by_cn = {spec.control_number: spec.idx for spec in self._specs}
        # Result order: newest posting first, then the higher (newer) control number.
        self._order = sorted(
            range(len(self._specs)),
            key=lambda i: (-self._specs[i].posted, -int(self._specs[i].control_number)),
        )

    # ---- read access -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def version(self) -> int:
        """Incremented by every withdraw/update/restore (cache key)."""
        return self._version

    def specs(self) -> list[JobSpec]:
        """Every job's spec (including withdrawn ones), in generation order."""
        with self._lock:
            return list(self._specs)

    def live_order(self) -> list[int]:
        """Indices of the jobs the API can return, in result order."""
        with self._lock:
            return [i for i in self._order if i not in self._withdrawn]

    def index_of(self, control_number: str) -> int:
        """Index of a control number; KeyError when the universe has no such job."""
        try:
            return self._by_cn[control_number]
        except KeyError:
            raise KeyError(f"no job with control number {control_number!r}") from None

    def is_withdrawn(self, idx: int) -> bool:
        """True when `withdraw` hid the job."""
        with self._lock:
            return idx in self._withdrawn

    def spec(self, idx: int) -> JobSpec:
        """The current spec of job `idx`."""
        with self._lock:
            return self._specs[idx]

    def text(self, text_id: int) -> str:
        """An interned text fragment."""
        return self._texts.texts[text_id]

    # ---- search ----------------------------------------------------------------------

    def select(self, query: Query) -> list[int]:
        """Indices of live jobs matching `query`, in result order, uncapped."""
        with self._lock:
            key = (*query.filter_key(), self._version)
            cached = self._query_cache.get(key)
            if cached is not None:
                self._query_cache.move_to_end(key)
                return list(cached)
            specs, order, withdrawn = self._specs, self._order, set(self._withdrawn)
        predicates = self._predicates(query)
        if predicates is None:
            result: list[int] = []
        else:
            result = [
                i for i in order if i not in withdrawn and all(p(specs[i]) for p in predicates)
            ]
        with self._lock:
            if self._version == key[-1]:
                self._query_cache[key] = result
                if len(self._query_cache) > _QUERY_CACHE_SIZE:
                    self._query_cache.popitem(last=False)
        return list(result)

    def matching(self, params: Mapping[str, str]) -> list[str]:
        """Control numbers matching search `params` (paging ignored), uncapped."""
        return [self._specs[i].control_number for i in self.select(parse_query(params))]

    def _predicates(self, q: Query) -> list[Callable[[JobSpec], bool]] | None:
        preds: list[Callable[[JobSpec], bool]] = []
        if q.series:
            wanted = {_SERIES_INDEX[c] for c in q.series if c in _SERIES_INDEX}
            preds.append(lambda s: not wanted.isdisjoint(s.series))
        if q.orgs:
            orgs = {i for i, o in enumerate(ORGS) if o.code in q.orgs or o.parent in q.orgs}
            preds.append(lambda s: s.org in orgs)
        if q.date_posted is not None:
            earliest = self.today.toordinal() - q.date_posted
            preds.append(lambda s: s.posted >= earliest)
        if q.radial:
            if not q.places:
                return None  # no LocationName resolved: nothing matches
            table = self._place_table
            near = {i for i, p in enumerate(table) if _within(p, q.places, q.radius)}
            preds.append(lambda s: not near.isdisjoint(s.places))
        if q.title:
            title = q.title
            preds.append(lambda s: title in self._normalized_title(s.title))
        for word in dict.fromkeys(q.keywords):
            preds.append(self._word_predicate(word))
        return preds

    def _word_predicate(self, word: str) -> Callable[[JobSpec], bool]:
        tokens = self._texts.tokens
        hit_texts = {i for i in range(len(tokens)) if word in tokens[i]}
        hit_orgs = {i for i, t in enumerate(_ORG_TOKENS) if word in t}
        hit_series = {i for i, t in enumerate(_SERIES_TOKENS) if word in t}
        hit_prose = prose.phrase_mask(word) if self._real_text else 0

        def match(spec: JobSpec) -> bool:
            return (
                spec.org in hit_orgs
                or not hit_texts.isdisjoint(spec.kw)
                or not hit_series.isdisjoint(spec.series)
                or bool(spec.kw_pad & hit_prose)
            )

        return match

    def _normalized_title(self, text_id: int) -> str:
        found = self._title_norm.get(text_id)
        if found is None:
            found = normalize_title(self._texts.texts[text_id])
            self._title_norm[text_id] = found
        return found

    # ---- changes ---------------------------------------------------------------------

    def withdraw(self, control_number: str) -> None:
        """Hide a job from every later search (idempotent)."""
        idx = self.index_of(control_number)
        with self._lock:
            self._withdrawn.add(idx)
            self._changed(idx)

    def restore(self, control_number: str) -> None:
        """Undo `withdraw` (the job is returned again)."""
        idx = self.index_of(control_number)
        with self._lock:
            self._withdrawn.discard(idx)
            self._changed(idx)

    def update(self, control_number: str, **changes: Any) -> None:
        """Change a job's content; later responses (and its content hash) reflect it.

        Fields (values are applied verbatim; keeping pay_min <= pay_max is up to the caller):
        ``pay_min``, ``pay_max`` (str/int/float), ``position_title``, ``job_summary`` (str),
        ``application_close_date`` (date, datetime or ISO "YYYY-MM-DD"), ``total_openings``
        (str), ``telework_eligible`` (bool).
        """
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(
                f"cannot update {sorted(unknown)}; allowed: {sorted(UPDATABLE_FIELDS)}"
            )
        idx = self.index_of(control_number)
        with self._lock:
            spec = self._specs[idx]
            if "position_title" in changes:
                spec = spec._replace(title=self._texts.intern(str(changes["position_title"])))
            if "job_summary" in changes:
                summary = self._texts.intern(str(changes["job_summary"]))
                spec = spec._replace(summary_override=summary)
            if "application_close_date" in changes:
                closes = _to_date(changes["application_close_date"]).toordinal()
                spec = spec._replace(closes=closes)
            self._specs[idx] = with_keywords(spec)
            rest = {
                k: v
                for k, v in changes.items()
                if k not in ("position_title", "job_summary", "application_close_date")
            }
            self._overrides.setdefault(idx, {}).update(rest)
            self._changed(idx)

    def _changed(self, idx: int) -> None:
        self._version += 1
        self._query_cache.clear()
        self._item_cache.pop(idx, None)

    # ---- items -----------------------------------------------------------------------

    def item(self, idx: int, *, radial: bool = False) -> dict[str, Any]:
        """A fresh copy of job `idx` as a search item (dict)."""
        parsed: dict[str, Any] = json.loads(self.item_bytes(idx, radial=radial))
        return parsed

    def item_bytes(self, idx: int, *, radial: bool) -> bytes:
        """Job `idx` as the JSON bytes of one `SearchResultItems` element."""
        with self._lock:
            cached = self._item_cache.get(idx)
            if cached is not None:
                self._item_cache.move_to_end(idx)
            else:
                spec, overrides = self._specs[idx], dict(self._overrides.get(idx, {}))
        if cached is None:
            built = render_item(spec, overrides, config=self.config, text=self.text)
            with self._lock:
                if self._specs[idx] is spec and self._item_cache_size > 0:
                    self._item_cache[idx] = built
                    if len(self._item_cache) > self._item_cache_size:
                        self._item_cache.popitem(last=False)
            cached = built
        head, tail = cached
        return head + (b"true" if radial else b"false") + tail


class ItemsView(Sequence[dict[str, Any]]):
    """Read-only, lazily materialized view of the live items in result order."""

    def __init__(self, universe: Universe) -> None:
        self._universe = universe
        self._order = universe.live_order()

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._universe.item(i) for i in self._order[index]]
        return self._universe.item(self._order[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for idx in self._order:
            yield self._universe.item(idx)


def _within(place: Place, centers: Sequence[Place], radius: float) -> bool:
    return any(haversine_miles(c.lat, c.lon, place.lat, place.lon) <= radius for c in centers)


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip()[:10])
    raise ValueError(f"not a date: {value!r}")


def iter_items(universe: Universe) -> Iterator[tuple[JobSpec, dict[str, Any]]]:
    """Every live job with its item, in result order (handy for brute-force checks)."""
    for idx in universe.live_order():
        yield universe.spec(idx), universe.item(idx)


def demo_params() -> dict[str, str]:
    """The default demo search: keyword "data engineering" within 50 miles of Chicago."""
    return {"Keyword": "data engineering", "LocationName": "Chicago, Illinois", "Radius": "50"}
