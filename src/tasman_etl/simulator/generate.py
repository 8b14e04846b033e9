"""Drawing the job universe: every job's `JobSpec`, from one seeded random stream.

Generation is two-level so that 50,000 jobs start in seconds and stay small in memory: the
specs are drawn here for all jobs up front, and the full search item is built on demand
from a spec (`tasman_etl.simulator.render`). Series, organizations, grades, titles, places
and text fragments follow the weights of the real API (`vocab.py`, `geo.py`, `texts.py`).

`SimulatorConfig.text="real"` lengthens the free-text fields (`prose.py`) and
`locations="real"` draws real-size location lists, each from streams of their own, so
everything else about a job stays as with the defaults.

Only data-engineering postings contain the word "data" in their searchable text, so the
number of jobs matching the demo search (keyword "data engineering", Chicago, 50 mi) is
exactly the number of near-Chicago data-engineering jobs: `SimulatorConfig.match_fraction`
of the universe, or ~14% by default (40% data engineering, 35% of those near Chicago).
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Sequence
from datetime import date
from itertools import accumulate
from typing import Any, TypeVar

from tasman_etl.simulator import prose, texts
from tasman_etl.simulator.config import SimulatorConfig
from tasman_etl.simulator.geo import ALL_PLACES, CHICAGO, PLACES, haversine_miles
from tasman_etl.simulator.spec import (
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
from tasman_etl.simulator.vocab import ORGS, SERIES, WAGE_SERIES, org_affinity

__all__ = ["generate_specs"]


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


def generate_specs(config: SimulatorConfig, today: date, table: TextTable) -> list[JobSpec]:
    """Every job's spec for `config`, in generation order (`today`: the reference date)."""
    seed = config.seed
    n = config.jobs
    rng = random.Random(f"tasman-sim:{seed}:universe")  # noqa: S311 - not crypto
    n_de, n_near = role_counts(n, config.match_fraction)
    roles = [ROLE_GENERIC] * n
    chosen = rng.sample(range(n), n_de) if n_de else []
    for rank, idx in enumerate(chosen):
        roles[idx] = ROLE_DE_NEAR if rank < n_near else ROLE_DE_FAR
    drafts = [_draft(rng, role, today, table.intern) for role in roles]
    if config.locations == "real":
        for idx, draft in enumerate(drafts):
            place_rng = random.Random(f"tasman-sim:{seed}:places:{idx}")  # noqa: S311
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
        if config.text == "real":
            plan = prose.searchable_plan(seed, idx, current_format=spec.style != STYLE_ZULU)
            spec = spec._replace(pad_summary=plan.summary_mask, pad_other=plan.other_mask)
        specs.append(with_keywords(spec))
    return specs


def _draft(
    rng: random.Random, role: int, today_date: date, intern: Callable[[str], int]
) -> dict[str, Any]:
    de = role != ROLE_GENERIC
    r = rng.random()
    style = STYLE_MODERN if r < 0.75 else STYLE_DATE if r < 0.90 else STYLE_ZULU
    today = today_date.toordinal()
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
    plan, low, high = _grades(rng, primary, org)
    title_text = _title(rng, primary, org, de)
    places = _places(rng, role)

    o = ORGS[org]
    office_pool = texts.DE_OFFICES if de and rng.random() < 0.5 else texts.OFFICES
    extras = _sample(rng, texts.SUMMARY_EXTRAS, rng.choice((0, 1, 1, 2)))
    family = SERIES[primary].family
    family_duties = _DUTY_POOLS[family]
    if de:
        duties = rng.sample(texts.DE_DUTIES, 2) + _sample(rng, family_duties, rng.choice((1, 2)))
    else:
        duties = rng.sample(family_duties, min(len(family_duties), rng.choice((3, 4, 5))))
    keyreqs = _sample(rng, texts.KEY_REQUIREMENTS, rng.choice((0, 0, 1, 2, 3)))
    skill = (
        rng.choice(texts.DE_SKILLS)
        if de
        else texts.FAMILY_SKILLS.get(family, "performing the duties described in this announcement")
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
        "position_id": _position_id(rng, o.acronym or o.code, posted),
        "title": intern(title_text),
        "opener": intern(rng.choice(texts.SUMMARY_OPENERS)),
        "office": intern(rng.choice(office_pool)),
        "lead": intern(rng.choice(texts.DE_SUMMARIES)) if de else -1,
        "extras": tuple(intern(t) for t in extras),
        "duties": tuple(intern(t) for t in duties),
        "keyreqs": tuple(intern(t) for t in keyreqs),
        "qual": intern(_qualification(rng, plan, low, skill)),
    }


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
