"""The synthetic job universe: compact per-job specs, lazily materialized search items.

Generation is two-level so that 50,000 jobs start in seconds and stay small in memory:

* `JobSpec`: what every filter needs (series, organization, places, posting date, the ids
  of the text fragments that `Keyword` searches), generated for all jobs up front from one
  seeded random stream.
* The full search item (3-15 KB of JSON in the real shapes and quirks, usajobs-api.md §4)
  is built on demand from the spec and a per-job random stream, then cached as bytes.

`SimulatorConfig.text="real"` lengthens the free-text fields (`prose.py`) and
`locations="real"` draws real-size location lists, each from streams of their own, so
everything else about a job stays as with the defaults.

Each job has a *role*: an ordinary posting, a data-engineering posting far from Chicago, or
a data-engineering posting with a location within 45 miles of Chicago. Only
data-engineering postings contain the word "data" in their searchable text, so the number
of jobs matching the demo search (keyword "data engineering", Chicago, 50 mi) is exactly
the number of near-Chicago data-engineering jobs: `SimulatorConfig.match_fraction` of the
universe, or ~14% by default (40% data engineering, 35% of those near Chicago).
"""

from __future__ import annotations

import json
import random
import re
import threading
from bisect import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import accumulate
from typing import Any, NamedTuple, TypeVar, overload

from tasman_etl.simulator import prose, texts
from tasman_etl.simulator.config import SimulatorConfig
from tasman_etl.simulator.geo import ALL_PLACES, CHICAGO, PLACES, Place, haversine_miles
from tasman_etl.simulator.query import Query, normalize_title, parse_query, tokenize
from tasman_etl.simulator.vocab import (
    HIRING_PATHS,
    OFFERING_TYPES,
    ORGS,
    SCHEDULE_TYPES,
    SERIES,
    WAGE_SERIES,
    org_affinity,
)

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

ROLE_GENERIC, ROLE_DE_FAR, ROLE_DE_NEAR = 0, 1, 2
# Date/shape styles of the real API: 2024-25 ("…T00:00:00.0000"), 2021 ("2021-04-05"),
# 2016 ("…T00:00:00Z"); older styles also lack the newer keys (telework, MCOTags, …).
STYLE_MODERN, STYLE_DATE, STYLE_ZULU = 0, 1, 2

DEFAULT_DE_SHARE = 0.40
DEFAULT_NEAR_SHARE = 0.35
NEAR_CHICAGO_MILES = 45.0

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

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_QUERY_CACHE_SIZE = 256
_USAJOBS = "https://www.usajobs.gov:443"

# 2025 General Schedule base pay, step 1, by grade (step 10 is ~29.7% higher).
_GS_STEP1 = {
    1: 22360, 2: 25142, 3: 27434, 4: 30795, 5: 34454, 6: 38407, 7: 42679, 8: 47265,
    9: 52205, 10: 57489, 11: 63163, 12: 75706, 13: 90025, 14: 106382, 15: 125133,
}  # fmt: skip
_GS_STEP10_RATIO = 1.297
_PAY_CAP = 195200


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


class _TextTable:
    """Interned text fragments with their word sets (templates: placeholders ignored)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.tokens: list[frozenset[str]] = []
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def intern(self, text: str) -> int:
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


def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _pool(indices: Sequence[int]) -> tuple[list[int], list[float]]:
    return list(indices), _cum([PLACES[i].weight for i in indices])


_DIST_CHICAGO = [haversine_miles(CHICAGO.lat, CHICAGO.lon, p.lat, p.lon) for p in PLACES]
_NEAR = _pool(
    [i for i, p in enumerate(PLACES) if p.domestic and _DIST_CHICAGO[i] <= NEAR_CHICAGO_MILES]
)
_DOMESTIC = _pool([i for i, p in enumerate(PLACES) if p.domestic])
_FAR_DOMESTIC = _pool(
    [i for i, p in enumerate(PLACES) if p.domestic and _DIST_CHICAGO[i] > NEAR_CHICAGO_MILES]
)
_FOREIGN = _pool([i for i, p in enumerate(PLACES) if not p.domestic])
# Nationwide postings (locations="real") draw uniformly from every place, synthetic ones
# included; data-engineering postings far from Chicago keep away from it.
_ALL_INDICES = list(range(len(ALL_PLACES)))
_ALL_FAR = [
    i
    for i, p in enumerate(ALL_PLACES)
    if haversine_miles(CHICAGO.lat, CHICAGO.lon, p.lat, p.lon) > NEAR_CHICAGO_MILES
]
_NATIONWIDE_FROM = 100
_FEW_COUNTS = list(range(2, 10))
_FEW_CUM = _cum([1 / k for k in _FEW_COUNTS])

_SERIES_GENERAL = _cum([s.general for s in SERIES])
_SERIES_DE = _cum([s.de for s in SERIES])
_ORG_BY_SERIES = [_cum([org_affinity(s.family, o) for o in ORGS]) for s in SERIES]
_SERIES_INDEX = {s.code: i for i, s in enumerate(SERIES)}
_ORG_TOKENS = [frozenset(tokenize(f"{o.name} {o.department}")) for o in ORGS]
_SERIES_TOKENS = [frozenset(tokenize(s.name)) for s in SERIES]

_MCO_TAGS: tuple[list[str], ...] = (["07"], ["NatSec"], [], ["02", "07"], ["01", "NatSec"], ["05"])
_GRADES = (4, 5, 7, 9, 11, 12, 13, 14, 15)
_GRADE_CUM = _cum((2, 6, 10, 14, 16, 14, 15, 10, 6))


_T = TypeVar("_T")
_SAME_FAMILY = {
    s.family: [i for i, t in enumerate(SERIES) if t.family == s.family and t.general > 0]
    for s in SERIES
}
_DUTY_POOLS = {
    s.family: texts.FAMILY_DUTIES.get(s.family, ()) + texts.GENERIC_DUTIES for s in SERIES
}
_SERIES_RANGE = list(range(len(SERIES)))
_ORG_RANGE = list(range(len(ORGS)))


def _weighted(rng: random.Random, items: Sequence[_T], cum: Sequence[float]) -> _T:
    return items[bisect(cum, rng.random() * cum[-1])]


def _pick(rng: random.Random, pool: tuple[list[int], list[float]]) -> int:
    return _weighted(rng, pool[0], pool[1])


def _sample(rng: random.Random, items: Sequence[_T], k: int) -> list[_T]:
    if k <= 0:
        return []
    if k == 1:
        return [rng.choice(items)]
    return rng.sample(items, k)


class Universe:
    """All synthetic jobs of one `SimulatorConfig`; thread-safe; deterministic per config."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.now: datetime = config.reference_now()
        self.today: date = self.now.date()
        self._seed = config.seed
        self._texts = _TextTable()
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
        self._specs: list[JobSpec] = self._generate()
        self._by_cn = {spec.control_number: spec.idx for spec in self._specs}
        # Result order: newest posting first, then the higher (newer) control number.
        self._order = sorted(
            range(len(self._specs)),
            key=lambda i: (-self._specs[i].posted, -int(self._specs[i].control_number)),
        )

    # ---- generation ------------------------------------------------------------------

    def _generate(self) -> list[JobSpec]:
        n = self.config.jobs
        rng = random.Random(f"tasman-sim:{self._seed}:universe")  # noqa: S311 - not crypto
        n_de, n_near = role_counts(n, self.config.match_fraction)
        roles = [ROLE_GENERIC] * n
        chosen = rng.sample(range(n), n_de) if n_de else []
        for rank, idx in enumerate(chosen):
            roles[idx] = ROLE_DE_NEAR if rank < n_near else ROLE_DE_FAR
        drafts = [self._draft(rng, role) for role in roles]
        if self._real_locations:
            for idx, draft in enumerate(drafts):
                place_rng = random.Random(f"tasman-sim:{self._seed}:places:{idx}")  # noqa: S311
                draft["places"] = _real_places(place_rng, draft["role"], draft["places"][0])

        # Control numbers: distinct 9-digit strings, increasing with the posting date.
        span = max(1_700_000, 4 * n)
        numbers = sorted(rng.sample(range(7_000_000, 7_000_000 + span), n))
        by_posting = sorted(range(n), key=lambda i: (drafts[i]["posted"], i))
        control = [""] * n
        for number, idx in zip(numbers, by_posting, strict=True):
            control[idx] = str(number * 100)

        # A few announcements are posted twice under one PositionID (two control numbers).
        shared: set[int] = set()
        for idx in range(1, n):
            if idx - 1 not in shared and rng.random() < 0.03:
                drafts[idx]["position_id"] = drafts[idx - 1]["position_id"]
                shared.update((idx - 1, idx))

        specs = []
        for idx, draft in enumerate(drafts):
            spec = JobSpec(idx=idx, control_number=control[idx], **draft)
            if self._real_text:
                plan = prose.searchable_plan(
                    self._seed, idx, current_format=spec.style != STYLE_ZULU
                )
                spec = spec._replace(pad_summary=plan.summary_mask, pad_other=plan.other_mask)
            specs.append(self._with_keywords(spec))
        return specs

    def _draft(self, rng: random.Random, role: int) -> dict[str, Any]:
        de = role != ROLE_GENERIC
        r = rng.random()
        style = STYLE_MODERN if r < 0.75 else STYLE_DATE if r < 0.90 else STYLE_ZULU
        today = self.today.toordinal()
        r = rng.random()
        if r < 0.85:
            age = int(rng.random() * 46)
        else:
            age = 46 + int(rng.random() * 75) if r < 0.97 else 121 + int(rng.random() * 245)
        posted = today - age
        closes = posted + rng.choice((7, 10, 14, 14, 14, 21, 30, 30, 45, 60, 90, 180))
        if closes < today:
            closes = today + rng.randint(0, 21)

        series_cum = _SERIES_DE if de else _SERIES_GENERAL
        primary = _weighted(rng, _SERIES_RANGE, series_cum)
        series = [primary]
        if rng.random() < 0.2:
            for _ in range(8):
                if not de and rng.random() < 0.6:
                    cand = rng.choice(_SAME_FAMILY[SERIES[primary].family])
                else:
                    cand = _weighted(rng, _SERIES_RANGE, series_cum)
                if cand != primary:
                    series.append(cand)
                    break
        org = _weighted(rng, _ORG_RANGE, _ORG_BY_SERIES[primary])
        plan, low, high = self._grades(rng, primary, org)
        title_text = self._title(rng, primary, org, de)
        places = self._places(rng, role)

        o = ORGS[org]
        office_pool = texts.DE_OFFICES if de and rng.random() < 0.5 else texts.OFFICES
        intern = self._texts.intern
        extras = _sample(rng, texts.SUMMARY_EXTRAS, rng.choice((0, 1, 1, 2)))
        family = SERIES[primary].family
        family_duties = _DUTY_POOLS[family]
        if de:
            duties = rng.sample(texts.DE_DUTIES, 2) + _sample(
                rng, family_duties, rng.choice((1, 2))
            )
        else:
            duties = rng.sample(family_duties, min(len(family_duties), rng.choice((3, 4, 5))))
        keyreqs = _sample(rng, texts.KEY_REQUIREMENTS, rng.choice((0, 0, 1, 2, 3)))
        skill = (
            rng.choice(texts.DE_SKILLS)
            if de
            else texts.FAMILY_SKILLS.get(
                family, "performing the duties described in this announcement"
            )
        )
        return {
            "role": role,
            "style": style,
            "posted": posted,
            "closes": closes,
            "series": tuple(series),
            "org": org,
            "places": places,
            "plan": plan,
            "low": low,
            "high": high,
            "position_id": self._position_id(rng, o.acronym or o.code, posted),
            "title": intern(title_text),
            "opener": intern(rng.choice(texts.SUMMARY_OPENERS)),
            "office": intern(rng.choice(office_pool)),
            "lead": intern(rng.choice(texts.DE_SUMMARIES)) if de else -1,
            "extras": tuple(intern(t) for t in extras),
            "duties": tuple(intern(t) for t in duties),
            "keyreqs": tuple(intern(t) for t in keyreqs),
            "qual": intern(_qualification(rng, plan, low, skill)),
        }

    @staticmethod
    def _grades(rng: random.Random, series: int, org: int) -> tuple[str, int, int]:
        code, org_code = SERIES[series].code, ORGS[org].code
        if code in WAGE_SERIES:
            low = rng.randint(5, 12)
            return "WG", low, low
        if org_code == "VATA" and code == "0602":
            return "VM", 15, 15
        if org_code == "CM57" and SERIES[series].family in ("0800", "1300", "1500"):
            low = rng.randint(2, 4)
            return "ZP", low, low + 1
        r = rng.random()
        if r < 0.01:
            return "ES", 0, 0
        if r < 0.03:
            return "AD", 0, 0
        if org_code == "TD03":
            plan = "FV" if r < 0.7 else "FG"
        elif org_code == "VATA" and code == "0610":
            plan = "VN"
        else:
            plan = "GG" if r < 0.06 else "GS"
        low = _weighted(rng, _GRADES, _GRADE_CUM)
        step = rng.choice((0, 0, 2, 4)) if low < 11 else rng.choice((0, 0, 1, 2))
        return plan, low, min(15, low + step)

    @staticmethod
    def _title(rng: random.Random, series: int, org: int, de: bool) -> str:
        s = SERIES[series]
        title = rng.choice(s.de_titles if de and s.de_titles else s.titles)
        r = rng.random()
        if r < 0.06 and not title.startswith("Supervisory"):
            title = f"Supervisory {title}"
        elif r < 0.10:
            title = f"{title} (Direct Hire)"
        if ORGS[org].code == "TD03" and rng.random() < 0.3:
            title = f"Public Notice for {title}"
        if rng.random() < 0.05:
            title = title.upper()
        return title

    @staticmethod
    def _places(rng: random.Random, role: int) -> tuple[int, ...]:
        r = rng.random()
        if r < 0.78:
            count = 1
        elif r < 0.93:
            count = rng.randint(2, 5)
        elif r < 0.985:
            count = rng.randint(6, 15)
        else:
            count = rng.randint(20, 60)  # nationwide postings; duplicates happen, as in the API
        domestic = _FAR_DOMESTIC if role == ROLE_DE_FAR else _DOMESTIC
        if role == ROLE_DE_NEAR:
            first = _pick(rng, _NEAR)
        else:
            first = _pick(rng, _FOREIGN if rng.random() < 0.04 else domestic)
        rest = [_pick(rng, _FOREIGN if rng.random() < 0.05 else domestic) for _ in range(count - 1)]
        return (first, *rest)

    @staticmethod
    def _position_id(rng: random.Random, prefix: str, posted: int) -> str:
        yy = f"{date.fromordinal(posted).year % 100:02d}"
        r = rng.random()
        if r < 0.4:
            tag = rng.choice(("DE", "MP", "DH", "MDW", "PUB"))
            return f"{prefix}-{yy}-{rng.randint(10000, 99999999)}-{tag}"
        if r < 0.7:
            letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2))
            return f"{prefix}{yy}X{rng.randint(1000000, 9999999)}{letters}"
        return f"{prefix}-{yy}-{rng.randint(100, 9999):04d}"

    def _with_keywords(self, spec: JobSpec) -> JobSpec:
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
            self._specs[idx] = self._with_keywords(spec)
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
            built = self._render(spec, overrides)
            with self._lock:
                if self._specs[idx] is spec and self._item_cache_size > 0:
                    self._item_cache[idx] = built
                    if len(self._item_cache) > self._item_cache_size:
                        self._item_cache.popitem(last=False)
            cached = built
        head, tail = cached
        return head + (b"true" if radial else b"false") + tail

    def _render(self, spec: JobSpec, overrides: Mapping[str, Any]) -> tuple[bytes, bytes]:
        descriptor, details, rank = _build(self, spec, overrides)
        desc_json = _dumps(descriptor)
        head = (
            f'{{"MatchedObjectId":"{spec.control_number}","MatchedObjectDescriptor":'
            f'{desc_json[:-1]},"UserArea":{{"Details":{_dumps(details)},"IsRadialSearch":'
        )
        tail = f'}}}},"RelevanceRank":{_dumps(rank)}}}'
        return head.encode(), tail.encode()


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


def _real_location_count(rng: random.Random) -> int:
    """Locations of one posting, with the heavy tail of real ones (mean about 28)."""
    r = rng.random()
    if r < 0.75:
        return 1
    if r < 0.90:
        return _weighted(rng, _FEW_COUNTS, _FEW_CUM)  # 2-9, fewer of the larger counts
    if r < 0.97:
        return int(10 * 10 ** rng.random())  # 10-99, log-uniform
    if rng.random() < 1 / 3:
        return int(_NATIONWIDE_FROM * 12 ** rng.random())  # 100-1,199, log-uniform
    return rng.randint(800, 1200)  # postings listing (nearly) every duty station


def _real_places(rng: random.Random, role: int, first: int) -> tuple[int, ...]:
    """`first` plus distinct other places, as many as `_real_location_count` says."""
    count = _real_location_count(rng)
    if count >= _NATIONWIDE_FROM:
        pool = _ALL_FAR if role == ROLE_DE_FAR else _ALL_INDICES
        return (first, *rng.sample([i for i in pool if i != first], count - 1))
    domestic = _FAR_DOMESTIC if role == ROLE_DE_FAR else _DOMESTIC
    chosen = {first: None}  # an ordered set
    attempts = 0
    while len(chosen) < count and attempts < 50 * count:
        chosen[_pick(rng, _FOREIGN if rng.random() < 0.05 else domestic)] = None
        attempts += 1
    if len(chosen) < count:  # the weighted draws kept repeating: top up, unweighted
        rest = [i for i in domestic[0] if i not in chosen]
        chosen.update(dict.fromkeys(rng.sample(rest, count - len(chosen))))
    return tuple(chosen)


def _within(place: Place, centers: Sequence[Place], radius: float) -> bool:
    return any(haversine_miles(c.lat, c.lon, place.lat, place.lon) <= radius for c in centers)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip()[:10])
    raise ValueError(f"not a date: {value!r}")


def _qualification(rng: random.Random, plan: str, low: int, skill: str) -> str:
    extra = rng.choice(texts.QUALIFICATION_EXTRAS)
    if plan == "WG":
        return (
            "To qualify you must show the ability to perform the duties of the position "
            f"without more than normal supervision, including {skill}. {extra}"
        )
    if low == 0:
        return (
            "Applicants must demonstrate executive core qualifications and extensive "
            f"experience in {skill}. {extra}"
        )
    prev = low - 1 if low >= 12 or plan == "ZP" else max(1, low - 2)
    return (
        f"To qualify at the {plan}-{low:02d} level you must have one year of specialized "
        f"experience equivalent to at least the {plan}-{prev:02d} level. Specialized "
        f"experience for this position includes {skill}. {extra}"
    )


# ---- item rendering ------------------------------------------------------------------


def _fmt_date(day: date, style: int, *, closing: bool = False) -> str:
    if style == STYLE_DATE:
        return day.isoformat()
    if style == STYLE_ZULU:
        return f"{day.isoformat()}T00:00:00Z"
    return f"{day.isoformat()}T23:59:59.9970" if closing else f"{day.isoformat()}T00:00:00.0000"


def _locality(place_idx: int) -> float:
    return 1.16 + ((place_idx * 7919) % 31) / 100


def _pay(
    rng: random.Random, plan: str, low: int, high: int, place_idx: int
) -> tuple[float, float, str]:
    """(minimum, maximum, PA|PH|WC) with minimum <= maximum."""
    if rng.random() < 0.003:
        return 0.0, 0.0, "WC"
    loc = _locality(place_idx)
    if plan == "WG":
        hourly = (17.5 + 2.2 * (low - 5) + rng.uniform(-1.5, 1.5)) * (loc - 0.1)
        return round(hourly, 2), round(hourly * rng.uniform(1.06, 1.12), 2), "PH"
    if plan == "VM":
        lo = rng.randint(150, 260) * 1000
        return float(lo), float(lo + rng.randint(40, 140) * 1000), "PA"
    if plan in ("ES", "AD"):
        lo = rng.randint(60, 150) * 1000 if plan == "AD" else 150160
        return float(lo), float(min(225700, lo + rng.randint(20, 75) * 1000)), "PA"
    if plan == "ZP":
        lo = 45000 + 25000 * (low - 1)
        return float(lo), float(min(_PAY_CAP, lo + 40000 + rng.randint(0, 20000))), "PA"
    lo_base = _GS_STEP1.get(low, _GS_STEP1[9])
    hi_base = _GS_STEP1.get(high, lo_base) * _GS_STEP10_RATIO
    if plan in ("FG", "FV"):
        hi_base *= 1.12
    minimum = round(lo_base * loc)
    maximum = max(minimum, min(_PAY_CAP, round(hi_base * loc)))
    return float(minimum), float(maximum), "PA"


def _money(amount: float, code: str, style: int, dotted: bool) -> str:
    if code == "PH":
        return f"{amount:.2f}"
    if style == STYLE_DATE or (style == STYLE_MODERN and dotted):
        return f"{amount:.1f}"
    return str(int(amount))


def _remuneration(
    rng: random.Random, spec: JobSpec, overrides: Mapping[str, Any]
) -> dict[str, str]:
    minimum, maximum, code = _pay(rng, spec.plan, spec.low, spec.high, spec.places[0])
    dotted = rng.random() < 0.25
    labels = {"PA": "Per Year", "PH": "Per Hour", "WC": "Without Compensation"}
    entry = {
        "MinimumRange": _money(minimum, code, spec.style, dotted),
        "MaximumRange": _money(maximum, code, spec.style, dotted),
    }
    if "pay_min" in overrides:
        entry["MinimumRange"] = str(overrides["pay_min"])
    if "pay_max" in overrides:
        entry["MaximumRange"] = str(overrides["pay_max"])
    if spec.style == STYLE_MODERN:
        entry["RateIntervalCode"] = code
        entry["Description"] = labels[code]
    else:
        entry["RateIntervalCode"] = labels[code]
    return entry


def _location(place: Place) -> dict[str, Any]:
    loc: dict[str, Any] = {"LocationName": place.name, "CountryCode": place.country}
    if place.domestic:
        loc["CountrySubDivisionCode"] = place.region
    loc["CityName"] = place.name
    loc["Longitude"] = place.lon
    loc["Latitude"] = place.lat
    return loc


def _coded(
    rng: random.Random, table: Sequence[tuple[str, str]], weights: Sequence[float], named: bool
) -> dict[str, str]:
    code, value = rng.choices(table, weights=weights)[0]
    return {"Name": value if named else "", "Code": code}


def _extended(text: str, extra: str | None) -> str:
    return f"{text} {extra}" if extra else text


def _grade(value: int) -> str:
    return "00" if value == 0 else str(value)


def _summary(u: Universe, spec: JobSpec, title: str, org_name: str) -> str:
    if spec.summary_override >= 0:
        return u.text(spec.summary_override)
    opener = u.text(spec.opener).format(office=u.text(spec.office), org=org_name, title=title)
    parts = [opener]
    if spec.lead >= 0:
        lead = u.text(spec.lead).format(org=org_name)
        parts = [lead, opener] if spec.idx % 2 == 0 else [opener, lead]
    parts += [u.text(t) for t in spec.extras]
    return " ".join(parts)


def _build(
    u: Universe, spec: JobSpec, overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], int | float]:
    """The MatchedObjectDescriptor (without UserArea), its Details, and RelevanceRank."""
    rng = random.Random(f"tasman-sim:{u.config.seed}:item:{spec.idx}")  # noqa: S311
    org = ORGS[spec.org]
    style = spec.style
    modern, zulu = style == STYLE_MODERN, style == STYLE_ZULU
    title = u.text(spec.title)
    uri = f"{_USAJOBS}/job/{spec.control_number}"
    places = [ALL_PLACES[i] for i in spec.places]
    real = u.config.text == "real"
    plan = prose.searchable_plan(u.config.seed, spec.idx, current_format=not zulu) if real else None
    posted, closes = date.fromordinal(spec.posted), date.fromordinal(spec.closes)

    desc: dict[str, Any] = {
        "PositionID": spec.position_id,
        "PositionTitle": title,
        "PositionURI": uri,
        "ApplyURI": [uri if modern else f"{uri}?PostingChannelID=RESTAPI"],
        "PositionLocationDisplay": places[0].name if len(places) == 1 else "Multiple Locations",
        "PositionLocation": [_location(p) for p in places],
        "OrganizationName": org.name,
        "DepartmentName": org.department,
    }
    sub_agency = None
    if modern and rng.random() < 0.65:
        sub_agency = f"{org.short} {rng.choice(texts.SUB_AGENCY_SUFFIXES)}"
        desc["SubAgency"] = sub_agency
    desc["JobCategory"] = [{"Name": SERIES[i].name, "Code": SERIES[i].code} for i in spec.series]
    desc["JobGrade"] = [{"Code": spec.plan}]
    desc["PositionSchedule"] = [_coded(rng, SCHEDULE_TYPES, (85, 6, 2, 4, 0.5, 2.5), not modern)]
    desc["PositionOfferingType"] = [
        _coded(
            rng, OFFERING_TYPES, (70, 8, 6, 1, 1, 3, 1, 0.5, 2, 5, 1, 1, 0.5, 0.5, 0.5), not modern
        )
    ]
    desc["QualificationSummary"] = _extended(u.text(spec.qual), plan and plan.qualification_text())
    desc["PositionRemuneration"] = [_remuneration(rng, spec, overrides)]
    desc["PositionStartDate"] = _fmt_date(posted, style)
    desc["PositionEndDate"] = _fmt_date(closes, style, closing=True)
    desc["PublicationStartDate"] = _fmt_date(posted, style)
    desc["ApplicationCloseDate"] = _fmt_date(closes, style, closing=True)
    desc["PositionFormattedDescription"] = [
        {"Label": "Dynamic Teaser", "LabelDescription": "Hit highlighting for keyword searches."}
    ]

    summary = _summary(u, spec, title, org.name)
    if spec.summary_override < 0:  # an updated summary is served verbatim
        summary = _extended(summary, plan and plan.summary_text())
    d: dict[str, Any] = {"JobSummary": summary}
    if zulu:
        name, code = rng.choice(
            (
                ("United States Citizens", "15514"),
                ("Status Candidates", "15513"),
                ("Public", "15669"),
            )
        )
        d["WhoMayApply"] = {"Name": name, "Code": code}
    else:
        d["WhoMayApply"] = {"Name": "", "Code": ""}
    d["LowGrade"] = _grade(spec.low)
    d["HighGrade"] = _grade(spec.high)
    if modern:
        d["PromotionPotential"] = rng.choice(
            (
                _grade(spec.high),
                _grade(spec.high),
                _grade(spec.high),
                "NA",
                "None",
                _grade(min(15, spec.high + 2)),
            )
        )
        if sub_agency is not None:
            d["SubAgencyName"] = sub_agency
    d["OrganizationCodes"] = org.organization_codes
    d["Relocation"] = "True" if rng.random() < 0.12 else "False"
    open_paths = [code.lower() for code, _, disabled in HIRING_PATHS if not disabled]
    d["HiringPath"] = (
        ["public"] if rng.random() < 0.5 else rng.sample(open_paths, rng.randint(1, 5))
    )
    if modern:
        d["MCOTags"] = rng.choice(_MCO_TAGS)
    if rng.random() < 0.96:
        d["TotalOpenings"] = rng.choice(
            ("1", "1", "2", "3", "5", "10", "Many", "FEW", "few", "Few", "None")
        )
    d["AgencyMarketingStatement"] = rng.choice(texts.MARKETING).format(org=org.name)
    d["TravelCode"] = rng.choice(("0", "0", "1", "1", "2", "5", "7", "8"))
    d["ApplyOnlineUrl"] = "https://apply.usastaffing.gov/Application/Apply"
    d["DetailStatusUrl"] = "https://apply.usastaffing.gov/Application/ApplicationStatus"
    d["MajorDuties"] = [u.text(t) for t in spec.duties] + (plan.duty_entries() if plan else [])
    d["Education"] = rng.choice(texts.EDUCATION)
    d["Requirements"] = rng.choice(texts.REQUIREMENTS)
    d["Evaluations"] = rng.choice(texts.EVALUATIONS)
    d["HowToApply"] = rng.choice(texts.HOW_TO_APPLY).format(close=closes.strftime("%m/%d/%Y"))
    d["WhatToExpectNext"] = rng.choice(texts.WHAT_TO_EXPECT)
    d["RequiredDocuments"] = rng.choice(texts.REQUIRED_DOCUMENTS)
    d["Benefits"] = rng.choice(texts.BENEFITS)
    if modern:
        d["BenefitsUrl"] = "https://www.usajobs.gov/Help/working-in-government/benefits/"
        d["BenefitsDisplayDefaultText"] = rng.random() < 0.9
    d["OtherInformation"] = rng.choice(texts.OTHER_INFORMATION)
    d["KeyRequirements"] = [u.text(t) for t in spec.keyreqs]
    if not zulu:
        d["WithinArea"] = "True" if rng.random() < 0.05 else "False"
        d["CommuteDistance"] = rng.choice(("0", "0", "0", "25", "50"))
    d["ServiceType"] = rng.choice(("01", "01", "01", "02", "02")) if spec.plan != "ES" else "03"
    if not zulu:
        d["AnnouncementClosingType"] = "01" if rng.random() < 0.9 else "02"
        slug = (org.acronym or org.code).lower()
        if rng.random() < 0.7:
            d["AgencyContactEmail"] = f"{slug}-jobs@example.gov"
        if rng.random() < 0.5:
            d["AgencyContactPhone"] = f"1 (555) 01{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}"
        if rng.random() < 0.2:
            d["AgencyContactWebsite"] = f"https://careers.example.gov/{slug}"
        if modern and rng.random() < 0.45:
            d["PreviewQuestionnaireurl"] = (
                f"https://apply.usastaffing.gov/ViewQuestionnaire/{rng.randint(10000000, 99999999)}"
            )
    d["SecurityClearance"] = rng.choice(
        ("Not Required", "Not Required", "Not Required", "Secret", "Top Secret", "Other",
         "Q Access Authorization", "Public Trust - Background Investigation")
    )  # fmt: skip
    d["DrugTestRequired"] = "True" if rng.random() < 0.3 else "False"
    if modern and rng.random() < 0.35:
        d["PositionSensitivitiy"] = rng.choice(
            ("Non-sensitive (NS)/Low Risk", "Noncritical-Sensitive (NCS)/Moderate Risk",
             "Critical-Sensitive (CS)/High Risk", "Moderate Risk (MR)", "High Risk (HR)")
        )  # fmt: skip
    if not zulu:
        d["AdjudicationType"] = rng.choice(
            (
                [],
                [],
                ["Suitability/Fitness"],
                ["National security"],
                ["Suitability/Fitness", "National security"],
            )
        )
    if modern:
        d["TeleworkEligible"] = rng.random() < 0.45
        d["RemoteIndicator"] = rng.random() < 0.08
        if rng.random() < 0.45:
            d["FinancialDisclosure"] = rng.random() < 0.3
        if rng.random() < 0.5:
            d["BargainingUnitStatus"] = rng.random() < 0.4

    if real and not zulu:  # 2016 responses had none of the long Details texts
        text_rng = random.Random(f"tasman-sim:{u.config.seed}:longtext:{spec.idx}")  # noqa: S311
        for name in prose.LONG_FIELDS:
            d[name] = prose.long_text(text_rng, name, d[name])

    if "total_openings" in overrides:
        d["TotalOpenings"] = str(overrides["total_openings"])
    if "telework_eligible" in overrides:
        d["TeleworkEligible"] = bool(overrides["telework_eligible"])
    rank: int | float = 0.0 if zulu else 0
    return desc, d, rank


def iter_items(universe: Universe) -> Iterator[tuple[JobSpec, dict[str, Any]]]:
    """Every live job with its item, in result order (handy for brute-force checks)."""
    for idx in universe.live_order():
        yield universe.spec(idx), universe.item(idx)


def demo_params() -> dict[str, str]:
    """The default demo search: keyword "data engineering" within 50 miles of Chicago."""
    return {"Keyword": "data engineering", "LocationName": "Chicago, Illinois", "Radius": "50"}
