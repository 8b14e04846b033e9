"""`GET /api/codelist/{name}` bodies in the real shape, covering every code the items use.

Shape: ``{"CodeList":[{"ValidValue":[{Code, Value, …, LastModified, IsDisabled}],
"id":"…"}],"DateGenerated":"…Z"}``. `LastModified` (no zone) is derived from the code so
it is stable; `DateGenerated` from the simulator's reference day. Quirks kept: hiring path
codes in upper case, country subdivision codes with a trailing space, department rows of
`agencysubelements` without a `ParentCode`, disabled rows included.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tasman_etl.simulator.geo import STATE_ABBREVIATIONS
from tasman_etl.simulator.vocab import (
    COUNTRY_CODES,
    DEPARTMENTS,
    HIRING_PATHS,
    MISSION_CRITICAL_CODES,
    OFFERING_TYPES,
    ORGS,
    PAY_PLANS,
    RATE_INTERVALS,
    SCHEDULE_TYPES,
    SECURITY_CLEARANCES,
    SERIES,
    SERVICE_TYPES,
    TRAVEL_CODES,
)

__all__ = ["CODELIST_NAMES", "codelist_payload"]

_EPOCH = datetime(2010, 7, 13, 10, 13, 29)

Row = dict[str, Any]


def _modified(code: str) -> str:
    crc = zlib.crc32(code.encode())
    stamp = _EPOCH + timedelta(days=crc % 4000, seconds=crc % 86400, milliseconds=crc % 997)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _row(code: str, value: str, disabled: bool = False, **extra: str) -> Row:
    row: Row = {"Code": code, "Value": value}
    row.update({k: v for k, v in extra.items() if k in ("ParentCode", "Acronym")})
    row["LastModified"] = _modified(code)
    row["IsDisabled"] = "Yes" if disabled else "No"
    row.update({k: v for k, v in extra.items() if k not in ("ParentCode", "Acronym")})
    return row


def _occupational_series() -> list[Row]:
    rows = [_row(s.code, s.name, JobFamily=s.family) for s in SERIES]
    return sorted(rows, key=lambda r: str(r["Code"]))


def _agency_subelements() -> list[Row]:
    rows = [_row(code, name, Acronym=acr) for code, (name, acr) in DEPARTMENTS.items()]
    for parent, (name, acr) in DEPARTMENTS.items():
        if parent != "OT" and not any(o.code == f"{parent}00" for o in ORGS):
            rows.append(
                _row(f"{parent}00", f"{name} - Agency Wide", ParentCode=parent, Acronym=acr)
            )
    rows += [_row(o.code, o.name, ParentCode=o.parent, Acronym=o.acronym) for o in ORGS]
    return sorted(rows, key=lambda r: str(r["Code"]))


def _country_subdivisions() -> list[Row]:
    rows = [_row(f"{abbr} ", name, ParentCode="US") for abbr, name in STATE_ABBREVIATIONS.items()]
    return sorted(rows, key=lambda r: str(r["Value"]))


_BUILDERS: dict[str, tuple[str, Callable[[], list[Row]]]] = {
    "occupationalseries": ("OccupationalSeries", _occupational_series),
    "agencysubelements": ("AgencySubElement", _agency_subelements),
    "remunerationrateintervalcodes": (
        "RemunerationRateIntervalCode",
        lambda: [_row(c, v) for c, v in RATE_INTERVALS],
    ),
    "positionscheduletypes": (
        "PositionScheduleType",
        lambda: [_row(c, v) for c, v in SCHEDULE_TYPES],
    ),
    "positionofferingtypes": (
        "PositionOfferingType",
        lambda: [_row(c, v) for c, v in OFFERING_TYPES],
    ),
    "hiringpaths": ("HiringPath", lambda: [_row(c, v, d) for c, v, d in HIRING_PATHS]),
    "payplans": ("PayPlans", lambda: [_row(c, v) for c, v in sorted(PAY_PLANS.items())]),
    "servicetypes": ("ServiceType", lambda: [_row(c, v) for c, v in SERVICE_TYPES]),
    "travelpercentages": ("TravelPercentage", lambda: [_row(c, v, d) for c, v, d in TRAVEL_CODES]),
    "securityclearances": (
        "SecurityClearance",
        lambda: [_row(c, v, d) for c, v, d in SECURITY_CLEARANCES],
    ),
    "missioncriticalcodes": (
        "MissionCriticalCode",
        lambda: [_row(c, v, d) for c, v, d in MISSION_CRITICAL_CODES],
    ),
    "countries": (
        "CountryCode",
        lambda: sorted(
            (_row(c, v) for v, c in COUNTRY_CODES.items()), key=lambda r: str(r["Code"])
        ),
    ),
    "countrysubdivisions": ("CountrySubdivisionCode", _country_subdivisions),
}

CODELIST_NAMES: tuple[str, ...] = tuple(sorted(_BUILDERS))


def codelist_payload(name: str, now: datetime) -> bytes | None:
    """The JSON body of codelist `name` (case-insensitive), or None when unknown."""
    entry = _BUILDERS.get(name.strip().lower())
    if entry is None:
        return None
    list_id, build = entry
    generated = now.strftime("%Y-%m-%dT%H:%M:%S") + ".4242424Z"
    body = {"CodeList": [{"ValidValue": build(), "id": list_id}], "DateGenerated": generated}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
