"""The Historic JOA side of the synthetic universe: every posting, open or closed, as a record.

Two kinds of records, one list ordered by control number:

* `SimulatorConfig.historic_jobs` closed postings, each generated from (seed, index) alone:
  open dates spread evenly (with jitter) over the ten years before the universe's day,
  control numbers ``6xxxxxxxx`` increasing with the open date, statuses ``Job closed``,
  ``Candidate selected``, ``Cancelled``… Only a compact `HistSpec` (what the filters need)
  is kept per posting; the record itself is rendered on demand.
* every job of the search universe (`Universe`), with its control number, as an open
  posting (``Accepting applications``) whose title, organization, pay, places, grades and
  hiring paths are read from its search item, so a posting seen by both APIs agrees.

Record shape and quirks follow usajobs-api.md §5-6 (camelCase keys, ``"Y"``/``"N"`` flags,
dates ``YYYY-MM-DD``). With `SimulatorConfig.historic_quirks` some records (chosen from the
seed and the control number) spell list keys ``HiringPaths``/``hiringpaths``, send numbers
as strings, or carry the ``disableAppyOnline`` typo.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import date, timedelta
from itertools import accumulate
from typing import Any, NamedTuple

from tasman_etl.simulator import prose, texts
from tasman_etl.simulator.config import SimulatorConfig
from tasman_etl.simulator.data import Universe
from tasman_etl.simulator.geo import ALL_PLACES, PLACES, Place
from tasman_etl.simulator.vocab import (
    HIRING_PATHS,
    OFFERING_TYPES,
    ORGS,
    SCHEDULE_TYPES,
    SERIES,
    SERVICE_TYPES,
    TRAVEL_CODES,
    WAGE_SERIES,
    org_affinity,
)

__all__ = [
    "CLOSED_STATUSES",
    "HISTORY_DAYS",
    "OPEN_STATUS",
    "HistSpec",
    "HistoricUniverse",
]

HISTORY_DAYS = 3653
OPEN_STATUS = "Accepting applications"
CLOSED_STATUSES: tuple[str, ...] = ("Job closed", "Candidate selected", "Cancelled")
_STATUS_CUM = list(accumulate((0.55, 0.35, 0.10)))
_CLOSED_BASE = 600_000_000
_CACHE_SIZE = 64
_UNIVERSE = -1  # HistSpec.status of a search-universe (open) posting

_SERIES_RANGE = list(range(len(SERIES)))
_SERIES_CUM = list(accumulate(s.general or 0.05 for s in SERIES))
_ORG_RANGE = list(range(len(ORGS)))
_ORG_CUM = [list(accumulate(org_affinity(s.family, o) for o in ORGS)) for s in SERIES]
_PLACE_CUM = list(accumulate(p.weight for p in PLACES))
_PATH_LABEL = {code.lower(): label for code, label, _ in HIRING_PATHS}
_OPEN_PATHS = [label for _, label, disabled in HIRING_PATHS if not disabled]
_TRAVEL_LABEL = {code: label for code, label, _ in TRAVEL_CODES}
_SERVICE_LABEL = dict(SERVICE_TYPES)
_OFFERING_LABEL = dict(OFFERING_TYPES)
_SCHEDULE_LABEL = dict(SCHEDULE_TYPES)
_GRADES = (4, 5, 7, 9, 11, 12, 13, 14, 15)
_LABEL = {"PA": "Per Year", "PH": "Per Hour", "WC": "Without Compensation"}
_LIST_KEYS = ("hiringPaths", "jobCategories", "positionLocations")
_TEXT_FIELDS = (
    ("requirementsEducation", "Education", texts.EDUCATION),
    ("requirementsConditionsOfEmployment", "Requirements", texts.REQUIREMENTS),
    ("evaluations", "Evaluations", texts.EVALUATIONS),
    ("howToApply", "HowToApply", texts.HOW_TO_APPLY),
    ("whatToExpectNext", "WhatToExpectNext", texts.WHAT_TO_EXPECT),
    ("requiredDocuments", "RequiredDocuments", texts.REQUIRED_DOCUMENTS),
    ("otherInformation", "OtherInformation", texts.OTHER_INFORMATION),
)


class HistSpec(NamedTuple):
    """What the Historic JOA filters need about one posting (`key` < 0: universe job ~key)."""

    key: int
    control_number: str
    opened: int  # date ordinal of positionOpenDate
    closes: int  # date ordinal of positionCloseDate
    org: int  # index into vocab.ORGS
    series: tuple[int, ...]  # indices into vocab.SERIES
    status: int  # index into CLOSED_STATUSES, or -1 for an open (universe) posting


def _weighted(rng: random.Random, items: Sequence[int], cum: Sequence[float]) -> int:
    return items[bisect(cum, rng.random() * cum[-1])]


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _flag(value: Any) -> str:
    return "Y" if str(value).strip().lower() in ("true", "yes", "y", "1") else "N"


def _coded(entries: Any, labels: dict[str, str]) -> str | None:
    """The label of the first `{Code, Name}` entry (modern items leave Name empty)."""
    if not entries:
        return None
    first = entries[0]
    return str(first.get("Name") or labels.get(first.get("Code", ""), "")) or None


def _place(place: Place) -> dict[str, Any]:
    domestic = place.country == "United States"
    return {
        "positionLocationCity": place.city,
        "positionLocationState": place.region if domestic else None,
        "positionLocationCountry": place.country,
    }


class HistoricUniverse:
    """Every Historic JOA record of one `Universe`; thread-safe; deterministic per config."""

    def __init__(self, universe: Universe, config: SimulatorConfig) -> None:
        self.universe = universe
        self.config = config
        self._seed = config.seed
        self._lock = threading.Lock()
        self._cache: OrderedDict[Hashable, list[HistSpec]] = OrderedDict()
        today = universe.today.toordinal()
        self._closed = [self._closed_spec(i, today) for i in range(config.historic_jobs)]

    def _closed_spec(self, i: int, today: int) -> HistSpec:
        rng = random.Random(f"tasman-sim:{self._seed}:historic:{i}")  # noqa: S311 - not crypto
        n = self.config.historic_jobs
        span = HISTORY_DAYS - 200  # every closed posting closed before the universe's day
        opened = today - HISTORY_DAYS + (i * span + int(rng.random() * span)) // n
        closes = min(today - 1, opened + rng.choice((7, 10, 14, 14, 21, 30, 30, 45, 60, 90)))
        primary = _weighted(rng, _SERIES_RANGE, _SERIES_CUM)
        series = (primary,) if rng.random() < 0.85 else (primary, rng.choice(_SERIES_RANGE))
        org = _weighted(rng, _ORG_RANGE, _ORG_CUM[primary])
        status = bisect(_STATUS_CUM, rng.random() * _STATUS_CUM[-1])
        cn = str(_CLOSED_BASE + 3 * i + 1 + (i % 2))
        return HistSpec(i, cn, opened, closes, org, tuple(dict.fromkeys(series)), status)

    # ---- selection -------------------------------------------------------------------

    def specs(self) -> list[HistSpec]:
        """Every posting, ordered by control number (closed ones first: lower numbers)."""
        specs = self.universe.specs()
        live = sorted(specs, key=lambda s: int(s.control_number))
        return self._closed + [
            HistSpec(~s.idx, s.control_number, s.posted, s.closes, s.org, s.series, _UNIVERSE)
            for s in live
        ]

    def select(self, keep: Callable[[HistSpec], bool], *, key: Hashable = None) -> list[HistSpec]:
        """Postings for which `keep` is true, in result order (cached by `key` when given)."""
        if key is None:
            return [s for s in self.specs() if keep(s)]
        cache_key = (key, self.universe.version)
        with self._lock:
            found = self._cache.get(cache_key)
            if found is not None:
                self._cache.move_to_end(cache_key)
                return found
        result = [s for s in self.specs() if keep(s)]
        with self._lock:
            self._cache[cache_key] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    # ---- rendering -------------------------------------------------------------------

    def record(self, spec: HistSpec) -> dict[str, Any]:
        """The Historic JOA record of `spec` (a fresh dict, quirks applied)."""
        rec = self._open_record(spec) if spec.status == _UNIVERSE else self._closed_record(spec)
        return self._quirks(rec) if self.config.historic_quirks else rec

    def text_record(self, spec: HistSpec) -> dict[str, Any]:
        """The AnnouncementText record of `spec` (long texts; no quirks)."""
        org = ORGS[spec.org]
        out: dict[str, Any] = {
            "usajobsControlNumber": int(spec.control_number),
            "hiringAgencyCode": org.code,
            "hiringDepartmentCode": org.parent,
            "positionSeries": SERIES[spec.series[0]].code,
            "announcementNumber": self._announcement(spec),
            "positionOpenDate": _day(spec.opened),
            "positionCloseDate": _day(spec.closes),
        }
        if spec.status == _UNIVERSE:
            det = self.universe.item(~spec.key)["MatchedObjectDescriptor"]
            qual = det.get("QualificationSummary")
            d = det["UserArea"]["Details"]
            out["summary"] = d.get("JobSummary")
            out["duties"] = "\n".join(d.get("MajorDuties") or [])
            out["requirementsQualifications"] = qual
            for key, source, _ in _TEXT_FIELDS:
                out[key] = d.get(source)
            return out
        rng = random.Random(f"tasman-sim:{self._seed}:historic:{spec.key}:text")  # noqa: S311
        org_name, office = org.name, rng.choice(texts.OFFICES)
        title = self._closed_title(spec)
        out["summary"] = rng.choice(texts.SUMMARY_OPENERS).format(
            office=office, org=org_name, title=title
        )
        duties = texts.FAMILY_DUTIES.get(SERIES[spec.series[0]].family, texts.GENERIC_DUTIES)
        out["duties"] = "\n".join(rng.sample(duties, min(3, len(duties))))
        out["requirementsQualifications"] = (
            "You must have one year of specialized experience equivalent to the next lower "
            f"grade. {rng.choice(texts.QUALIFICATION_EXTRAS)}"
        )
        close = date.fromordinal(spec.closes).strftime("%m/%d/%Y")
        for key, source, pool in _TEXT_FIELDS:
            text = rng.choice(pool).format(close=close, org=org_name)
            if self.config.text == "real" and source in prose.LONG_FIELDS:
                text = prose.long_text(rng, source, text)
            out[key] = text
        return out

    def _announcement(self, spec: HistSpec) -> str:
        if spec.status == _UNIVERSE:
            return self.universe.spec(~spec.key).position_id
        org = ORGS[spec.org]
        yy = date.fromordinal(spec.opened).year % 100
        return f"{org.acronym or org.code}-{yy:02d}-{spec.key + 10000:06d}"

    def _closed_title(self, spec: HistSpec) -> str:
        rng = random.Random(f"tasman-sim:{self._seed}:historic:{spec.key}:title")  # noqa: S311
        series = SERIES[spec.series[0]]
        return rng.choice(series.titles or series.de_titles)

    def _common(self, spec: HistSpec) -> dict[str, Any]:
        org = ORGS[spec.org]
        return {
            "usajobsControlNumber": int(spec.control_number),
            "hiringAgencyCode": org.code,
            "hiringAgencyName": org.name,
            "hiringDepartmentCode": org.parent,
            "hiringDepartmentName": org.department,
            "agencyLevel": 2,
            "agencyLevelSort": f"{org.department}\\{org.name}",
            "announcementNumber": self._announcement(spec),
        }

    def _closed_record(self, spec: HistSpec) -> dict[str, Any]:
        rng = random.Random(f"tasman-sim:{self._seed}:historic:{spec.key}:record")  # noqa: S311
        s = SERIES[spec.series[0]]
        if s.code in WAGE_SERIES:
            plan, low = "WG", rng.randint(5, 12)
            high = low
            hourly = round(17.5 + 2.2 * (low - 5) + rng.uniform(-1.5, 1.5), 2)
            pay: tuple[float, float, str] = (hourly, round(hourly * 1.1, 2), "PH")
        else:
            plan, low = "GS", rng.choice(_GRADES)
            high = min(15, low + rng.choice((0, 0, 2, 4)))
            lo = round(20000 * 1.125 ** (low - 1) * rng.uniform(1.1, 1.4))
            pay = (float(lo), float(round(lo * 1.3 * 1.125 ** (high - low))), "PA")
        places = [PLACES[_weighted(rng, range(len(PLACES)), _PLACE_CUM)]]
        places += [PLACES[_weighted(rng, range(len(PLACES)), _PLACE_CUM)] for _ in range(2)][
            : rng.choice((0, 0, 0, 1, 2))
        ]
        closes = date.fromordinal(spec.closes)
        cancelled = CLOSED_STATUSES[spec.status] == "Cancelled"
        expire = closes - timedelta(days=rng.randint(1, 5)) if cancelled else None
        rec = self._common(spec)
        rec.update(
            {
                "hiringSubelementName": None,
                "positionTitle": self._closed_title(spec),
                "appointmentType": rng.choice(("Permanent", "Permanent", "Term", "Temporary")),
                "workSchedule": rng.choice(("Full-time", "Full-time", "Part-time")),
                "serviceType": rng.choice(("Competitive", "Competitive", "Excepted")),
                "payScale": plan,
                "salaryType": _LABEL[pay[2]],
                "minimumSalary": pay[0],
                "maximumSalary": pay[1],
                "supervisoryStatus": _flag(rng.random() < 0.1),
                "drugTestRequired": _flag(rng.random() < 0.3),
                "relocationExpensesReimbursed": _flag(rng.random() < 0.12),
                "whoMayApply": rng.choice(("United States Citizens", "Status Candidates")),
                "securityClearanceRequired": _flag(rng.random() < 0.2),
                "teleworkEligible": _flag(rng.random() < 0.4),
                "disableApplyOnline": "N",
                "travelRequirement": rng.choice(("Not required", "Occasional travel")),
                "minimumGrade": f"{low:02d}",
                "maximumGrade": f"{high:02d}",
                "promotionPotential": f"{high:02d}",
                "totalOpenings": rng.choice(("1", "1", "2", "3", "Many")),
                "announcementClosingTypeCode": "C",
                "announcementClosingTypeDescription": "Cut-off",
                "positionOpeningStatus": CLOSED_STATUSES[spec.status],
                "positionOpenDate": _day(spec.opened),
                "positionCloseDate": closes.isoformat(),
                "positionExpireDate": expire.isoformat() if expire else None,
                "vendor": "USA STAFFING",
                "hiringPaths": [
                    {"hiringPath": p} for p in rng.sample(_OPEN_PATHS, 1 + spec.key % 2)
                ],
                "jobCategories": [{"series": SERIES[i].code} for i in spec.series],
                "positionLocations": [_place(p) for p in places],
            }
        )
        return rec

    def _open_record(self, spec: HistSpec) -> dict[str, Any]:
        job = self.universe.spec(~spec.key)
        item = self.universe.item(job.idx)
        desc = item["MatchedObjectDescriptor"]
        d = desc["UserArea"]["Details"]
        pay = (desc.get("PositionRemuneration") or [{}])[0]
        code = pay.get("RateIntervalCode")
        label = pay.get("Description") or code
        who = d.get("WhoMayApply") or {}
        rec = self._common(spec)
        rec.update(
            {
                "hiringSubelementName": desc.get("SubAgency"),
                "positionTitle": desc["PositionTitle"],
                "appointmentType": _coded(desc.get("PositionOfferingType"), _OFFERING_LABEL),
                "workSchedule": _coded(desc.get("PositionSchedule"), _SCHEDULE_LABEL),
                "serviceType": _SERVICE_LABEL.get(d.get("ServiceType", "")),
                "payScale": job.plan,
                "salaryType": _LABEL.get(str(label), label),
                "minimumSalary": float(pay.get("MinimumRange") or 0),
                "maximumSalary": float(pay.get("MaximumRange") or 0),
                "supervisoryStatus": _flag("Supervisory" in desc["PositionTitle"]),
                "drugTestRequired": _flag(d.get("DrugTestRequired")),
                "relocationExpensesReimbursed": _flag(d.get("Relocation")),
                "whoMayApply": who.get("Name") or None,
                "securityClearanceRequired": _flag(d.get("SecurityClearance") != "Not Required"),
                "securityClearance": d.get("SecurityClearance"),
                "teleworkEligible": (
                    None if d.get("TeleworkEligible") is None else _flag(d["TeleworkEligible"])
                ),
                "disableApplyOnline": "N",
                "travelRequirement": _TRAVEL_LABEL.get(d.get("TravelCode", "")),
                "minimumGrade": d.get("LowGrade"),
                "maximumGrade": d.get("HighGrade"),
                "promotionPotential": d.get("PromotionPotential"),
                "totalOpenings": d.get("TotalOpenings"),
                "announcementClosingTypeCode": d.get("AnnouncementClosingType"),
                "announcementClosingTypeDescription": None,
                "positionOpeningStatus": OPEN_STATUS,
                "positionOpenDate": _day(job.posted),
                "positionCloseDate": _day(job.closes),
                "positionExpireDate": None,
                "vendor": "USA STAFFING",
                "hiringPaths": [
                    {"hiringPath": _PATH_LABEL.get(p.lower(), p)} for p in d.get("HiringPath", [])
                ],
                "jobCategories": [{"series": c["Code"]} for c in desc.get("JobCategory", [])],
                "positionLocations": [_place(ALL_PLACES[i]) for i in job.places],
            }
        )
        return rec

    def _quirks(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Spelling variants of the real API, on some records (from seed + control number)."""
        rng = random.Random(  # noqa: S311 - not crypto
            f"tasman-sim:{self._seed}:historic-quirks:{rec['usajobsControlNumber']}"
        )
        if rng.random() < 0.15:
            upper = rng.random() < 0.5
            for key in _LIST_KEYS:
                rec[key[0].upper() + key[1:] if upper else key.lower()] = rec.pop(key)
        if rng.random() < 0.10:
            for key in ("minimumSalary", "maximumSalary", "agencyLevel"):
                rec[key] = str(rec[key])
        if rng.random() < 0.05:
            rec["usajobsControlNumber"] = str(rec["usajobsControlNumber"])
        if rng.random() < 0.05:
            rec["disableAppyOnline"] = rec.pop("disableApplyOnline")
        return rec
