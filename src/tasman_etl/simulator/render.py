"""A job's full search item, rendered from its `JobSpec` in the real API's shapes and quirks.

The item (3-15 KB of JSON, usajobs-api.md §4) is built on demand from the spec and a
per-job random stream, so the same config gives byte-identical items; the job's style
(`STYLE_MODERN`, `STYLE_DATE`, `STYLE_ZULU`) picks the date format and the keys of its era.
`render_item` returns it as two byte strings around the ``IsRadialSearch`` value, which
`tasman_etl.simulator.data.Universe` caches.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from tasman_etl.simulator import prose, texts
from tasman_etl.simulator.config import SimulatorConfig
from tasman_etl.simulator.geo import ALL_PLACES, Place
from tasman_etl.simulator.spec import STYLE_DATE, STYLE_MODERN, STYLE_ZULU, JobSpec
from tasman_etl.simulator.vocab import HIRING_PATHS, OFFERING_TYPES, ORGS, SCHEDULE_TYPES, SERIES

__all__ = ["render_item"]

_USAJOBS = "https://www.usajobs.gov:443"

# 2025 General Schedule base pay, step 1, by grade (step 10 is ~29.7% higher).
_GS_STEP1 = {
    1: 22360, 2: 25142, 3: 27434, 4: 30795, 5: 34454, 6: 38407, 7: 42679, 8: 47265,
    9: 52205, 10: 57489, 11: 63163, 12: 75706, 13: 90025, 14: 106382, 15: 125133,
}  # fmt: skip
_GS_STEP10_RATIO = 1.297
_PAY_CAP = 195200

_MCO_TAGS: tuple[list[str], ...] = (["07"], ["NatSec"], [], ["02", "07"], ["01", "NatSec"], ["05"])


def render_item(
    spec: JobSpec,
    overrides: Mapping[str, Any],
    *,
    config: SimulatorConfig,
    text: Callable[[int], str],
) -> tuple[bytes, bytes]:
    """Job `spec` as the JSON of one `SearchResultItems` element, split where the
    ``IsRadialSearch`` value goes (``head + b"true" + tail``).

    `overrides` are the changed fields `Universe.update` keeps; `text` looks up an
    interned text fragment.
    """
    descriptor, details, rank = _build(spec, overrides, config, text)
    desc_json = _dumps(descriptor)
    head = (
        f'{{"MatchedObjectId":"{spec.control_number}","MatchedObjectDescriptor":'
        f'{desc_json[:-1]},"UserArea":{{"Details":{_dumps(details)},"IsRadialSearch":'
    )
    tail = f'}}}},"RelevanceRank":{_dumps(rank)}}}'
    return head.encode(), tail.encode()


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


def _summary(text: Callable[[int], str], spec: JobSpec, title: str, org_name: str) -> str:
    if spec.summary_override >= 0:
        return text(spec.summary_override)
    opener = text(spec.opener).format(office=text(spec.office), org=org_name, title=title)
    parts = [opener]
    if spec.lead >= 0:
        lead = text(spec.lead).format(org=org_name)
        parts = [lead, opener] if spec.idx % 2 == 0 else [opener, lead]
    parts += [text(t) for t in spec.extras]
    return " ".join(parts)


def _build(
    spec: JobSpec,
    overrides: Mapping[str, Any],
    config: SimulatorConfig,
    text: Callable[[int], str],
) -> tuple[dict[str, Any], dict[str, Any], int | float]:
    """The MatchedObjectDescriptor (without UserArea), its Details, and RelevanceRank."""
    rng = random.Random(f"tasman-sim:{config.seed}:item:{spec.idx}")  # noqa: S311
    org = ORGS[spec.org]
    style = spec.style
    modern, zulu = style == STYLE_MODERN, style == STYLE_ZULU
    title = text(spec.title)
    uri = f"{_USAJOBS}/job/{spec.control_number}"
    places = [ALL_PLACES[i] for i in spec.places]
    real = config.text == "real"
    plan = prose.searchable_plan(config.seed, spec.idx, current_format=not zulu) if real else None
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
    desc["QualificationSummary"] = _extended(text(spec.qual), plan and plan.qualification_text())
    desc["PositionRemuneration"] = [_remuneration(rng, spec, overrides)]
    desc["PositionStartDate"] = _fmt_date(posted, style)
    desc["PositionEndDate"] = _fmt_date(closes, style, closing=True)
    desc["PublicationStartDate"] = _fmt_date(posted, style)
    desc["ApplicationCloseDate"] = _fmt_date(closes, style, closing=True)
    desc["PositionFormattedDescription"] = [
        {"Label": "Dynamic Teaser", "LabelDescription": "Hit highlighting for keyword searches."}
    ]

    summary = _summary(text, spec, title, org.name)
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
    d["MajorDuties"] = [text(t) for t in spec.duties] + (plan.duty_entries() if plan else [])
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
    d["KeyRequirements"] = [text(t) for t in spec.keyreqs]
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
        text_rng = random.Random(f"tasman-sim:{config.seed}:longtext:{spec.idx}")  # noqa: S311
        for name in prose.LONG_FIELDS:
            d[name] = prose.long_text(text_rng, name, d[name])

    if "total_openings" in overrides:
        d["TotalOpenings"] = str(overrides["total_openings"])
    if "telework_eligible" in overrides:
        d["TeleworkEligible"] = bool(overrides["telework_eligible"])
    rank: int | float = 0.0 if zulu else 0
    return desc, d, rank


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
