"""Historic JOA records: a pydantic model of their variants, and rows for the silver tables.

Pure (no I/O), like `transform.py`, whose row layouts (the named rows of `tasman_etl.rows`)
it produces exactly, so a posting seen by the Search API and by the Historic JOA is one `job`
row keyed by the control number.

The model accepts what the API has been seen to send (usajobs-api.md §5): any key case
(``HiringPaths``/``hiringPaths``/``hiringpaths``: keys are matched case-insensitively at
every level, the first non-null value of colliding spellings wins), ``"Y"``/``"N"`` (and
Yes/No/true/false) flags, numbers as strings, the ``disableAppyOnline`` typo, dates as
``YYYY-MM-DD`` or date-times, null for anything optional. The control number
(``usajobsControlNumber``, int or str) and a title are required; pay must be ordered and
non-negative (the search item's hard rules). Unknown keys are kept (``extra="allow"``).

`transform_historic_page` quarantines and de-duplicates exactly as `transform.transform_page`
does (it is that function with the historic item transform), and fills `PageRows.historic`
with each record's opening status and the day it stopped being open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tasman_etl.historic_model import (
    HistoricCategory,
    HistoricHiringPath,
    HistoricLocation,
    HistoricRecord,
    fold_keys,
)
from tasman_etl.models import ANNUAL_FACTORS, parse_datetime
from tasman_etl.rows import (
    BTREE_TEXT_CHARS,
    TITLE_CHARS,
    CategoryRow,
    DetailsRow,
    GradeRow,
    HiringPathRow,
    ItemRows,
    JobRow,
    LocationRow,
    PageRows,
    cut,
)
from tasman_etl.transform import content_hash, transform_page

__all__ = [
    "CLOSED_STATUS_WORDS",
    "OPEN_STATUSES",
    "HistoricCategory",
    "HistoricHiringPath",
    "HistoricLocation",
    "HistoricRecord",
    "historic_control_number",
    "historic_inactive_since",
    "historic_items",
    "historic_status_closed",
    "historic_unknown_keys",
    "is_historic_payload",
    "mark_historic",
    "transform_historic_item",
    "transform_historic_page",
]

POSITION_URI = "https://www.usajobs.gov/job/{cn}"

#: Statuses of a posting still open for applications (lower case).
OPEN_STATUSES = frozenset({"accepting applications", "open", "job open", "active"})
#: Words that mark a status as closed: "Job closed", "Candidate selected", "Cancelled"...
CLOSED_STATUS_WORDS: tuple[str, ...] = ("clos", "select", "cancel", "fill", "review", "complet")

# Labels the Historic JOA sends where search items carry codes (public USAJOBS code lists:
# hiringpaths, servicetypes, travelpercentages); an unknown label is kept as sent.
_HIRING_PATH_CODES = {
    "individuals with disabilities": "disability",
    "federal employees": "fed",
    "federal employees - competitive service": "fed-competitive",
    "federal employees - excepted service": "fed-excepted",
    "internal to an agency - does not appear on usajobs": "fed-internal-nosearch",
    "internal to an agency - appears on usajobs": "fed-internal-search",
    "career transition (ctap, ictap, rpl)": "fed-transition",
    "recent graduates": "graduates",
    "land & base management": "land",
    "military spouses": "mspouse",
    "native americans": "native",
    "national guard & reserves": "nguard",
    "custom announcement": "nopublic",
    "family of overseas employees": "overseas",
    "peace corps & americorps vista": "peace",
    "the public": "public",
    "senior executives - other": "se-other",
    "senior executives": "ses",
    "special authorities": "special-authorities",
    "students": "student",
    "veterans": "vet",
}
_SERVICE_CODES = {"competitive": "01", "excepted": "02", "senior executive": "03"}
_TRAVEL_CODES = {
    "not required": "0",
    "occasional travel": "1",
    "25% or less": "2",
    "50% or greater": "3",
    "50% or less": "5",
    "75% or less": "7",
    "76% or greater": "8",
}


_KNOWN = frozenset(
    (info.alias or name)
    for name, info in HistoricRecord.model_fields.items()
    if not getattr(info.validation_alias, "choices", None)
) | {"disableapplyonline", "disableappyonline"}
_KNOWN_ENTRIES = {
    "hiringpaths": frozenset({"hiringpath"}),
    "jobcategories": frozenset({"series", "seriesname", "name", "occupationalseriesname"}),
    "positionlocations": frozenset(
        {"positionlocationcity", "positionlocationstate", "positionlocationcountry"}
    ),
}


def historic_unknown_keys(raw: Mapping[str, Any], counter: Counter[str]) -> None:
    """Count keys the model does not know (schema drift), by their lower-cased spelling."""
    folded = fold_keys(raw)
    for key in folded.keys() - _KNOWN:
        counter[str(key)] += 1
    for name, known in _KNOWN_ENTRIES.items():
        entries = folded.get(name)
        if isinstance(entries, list):
            seen: set[str] = set()
            for entry in entries:
                if isinstance(entry, Mapping):
                    seen.update(str(k).lower() for k in entry if str(k).lower() not in known)
            for key in seen:
                counter[f"{name}[].{key}"] += 1


def historic_control_number(raw: Any) -> str | None:
    """``usajobsControlNumber`` of a raw record (any key case), unvalidated, or None."""
    if not isinstance(raw, Mapping):
        return None
    value = fold_keys(raw).get("usajobscontrolnumber")
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)[:64]
    return None


def _status(raw: Mapping[str, Any]) -> str | None:
    value = fold_keys(raw).get("positionopeningstatus")
    return value.strip() if isinstance(value, str) and value.strip() else None


def historic_status_closed(raw: Mapping[str, Any]) -> bool:
    """True when the record's ``positionOpeningStatus`` says it no longer takes applications.

    Closed: "Job closed", "Candidate selected", "Cancelled", and other statuses with those
    words (filled, under review, completed); open or unknown statuses and no status: False.
    """
    status = _status(raw)
    if status is None or status.lower() in OPEN_STATUSES:
        return False
    lowered = status.lower()
    return any(word in lowered for word in CLOSED_STATUS_WORDS)


def _day(value: Any) -> date | None:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    return parsed.date() if parsed is not None else None


def historic_inactive_since(raw: Mapping[str, Any]) -> date | None:
    """The day a closed posting stopped being open: the earlier of its close and expire dates.

    None for open or unknown statuses, and for a closed record with neither date readable.
    """
    if not historic_status_closed(raw):
        return None
    folded = fold_keys(raw)
    days = [
        d
        for d in (_day(folded.get("positionclosedate")), _day(folded.get("positionexpiredate")))
        if d is not None
    ]
    return min(days) if days else None


def _annual(amount: Decimal | None, interval: str | None) -> Decimal | None:
    factor = ANNUAL_FACTORS.get(interval) if interval is not None else None
    return None if amount is None or factor is None else amount * factor


def _code(value: str | None, table: Mapping[str, str]) -> str | None:
    if value is None or not value.strip():
        return None
    return table.get(value.strip().lower(), value.strip())


def _details(rec: HistoricRecord, cn: str) -> DetailsRow:
    """The `job_details` row of a record: what the Historic JOA has (long texts come later,
    from AnnouncementText: `tasman_etl.historic_text`), labels mapped to the search's codes."""
    clearance = rec.security_clearance or (
        "Not Required" if rec.security_clearance_required is False else None
    )
    return DetailsRow(
        control_number=cn,
        qualification_summary=None,
        who_may_apply_name=rec.who_may_apply,
        who_may_apply_code=None,
        low_grade=rec.minimum_grade,
        high_grade=rec.maximum_grade,
        promotion_potential=rec.promotion_potential,
        sub_agency_name=rec.hiring_subelement_name,
        organization_codes=None,
        schedule_code=None,
        schedule_name=rec.work_schedule,
        offering_type_code=None,
        offering_type_name=rec.appointment_type,
        total_openings=rec.total_openings,
        travel_code=_code(rec.travel_requirement, _TRAVEL_CODES),
        service_type=_code(rec.service_type, _SERVICE_CODES),
        announcement_closing_type=(
            rec.announcement_closing_type_code or rec.announcement_closing_type_description
        ),
        commute_distance=None,
        security_clearance=clearance,
        position_sensitivity=rec.position_sensitivity,
        relocation=rec.relocation_expenses_reimbursed,
        drug_test_required=rec.drug_test_required,
        within_area=None,
        telework_eligible=rec.telework_eligible,
        remote_indicator=rec.remote_indicator,
        benefits_display_default_text=None,
        financial_disclosure=rec.financial_disclosure,
        bargaining_unit_status=None,
        bargaining_unit_status_additional_text=None,
        mco_tags=[],
        major_duties=[],
        key_requirements=[],
        adjudication_type=[],
        agency_marketing_statement=None,
        education=None,
        requirements=None,
        evaluations=None,
        how_to_apply=None,
        what_to_expect_next=None,
        required_documents=None,
        benefits=None,
        benefits_url=None,
        other_information=None,
        apply_online_url=None,
        detail_status_url=None,
        preview_questionnaire_url=None,
        agency_contact_email=None,
        agency_contact_phone=None,
        agency_contact_website=None,
        appointment_explanation_text=None,
    )


def transform_historic_item(
    raw: Mapping[str, Any], raw_text: str, digest: str | None = None
) -> ItemRows:
    """Rows for one Historic JOA record, in `transform.transform_item`'s layouts.

    Raises ValidationError when the record breaks a hard rule (no control number or title,
    pay out of order or negative).
    """
    rec = HistoricRecord.model_validate(raw)
    cn = rec.control_number
    interval = rec.pay_interval
    names = [loc.name for loc in rec.locations]
    display = None if not names else names[0] if len(names) == 1 else "Multiple Locations"
    job = JobRow(
        control_number=cn,
        position_id=cut(rec.announcement_number, BTREE_TEXT_CHARS),
        position_title=cut(rec.position_title, TITLE_CHARS),
        position_uri=POSITION_URI.format(cn=cn),
        apply_uris=[],
        position_location_display=display,
        organization_name=rec.hiring_agency_name,
        department_name=rec.hiring_department_name,
        sub_agency=rec.hiring_subelement_name,
        job_summary=None,
        pay_min=rec.minimum_salary,
        pay_max=rec.maximum_salary,
        pay_interval_code=interval,
        pay_interval_description=rec.salary_type,
        pay_annual_min=_annual(rec.minimum_salary, interval),
        pay_annual_max=_annual(rec.maximum_salary, interval),
        publication_start_date=rec.position_open_date,
        application_close_date=rec.position_close_date,
        position_start_date=None,
        position_end_date=None,
        telework_eligible=rec.telework_eligible,
        remote_indicator=rec.remote_indicator,
        location_count=len(rec.locations),
        content_hash=digest or content_hash(raw),
        raw_json=raw_text,
    )
    locations = [
        LocationRow(cn, idx, cut(name, BTREE_TEXT_CHARS), loc.country, loc.state, name, None, None)
        for idx, (loc, name) in enumerate(zip(rec.locations, names, strict=True))
    ]
    by_code: dict[str, CategoryRow] = {}
    for c in rec.job_categories:
        if c.series and c.series.strip():
            code = c.series.strip()[:BTREE_TEXT_CHARS]
            by_code[code] = CategoryRow(cn, code, c.name)
    scale = (rec.pay_scale or "").strip()[:BTREE_TEXT_CHARS]
    grades = [GradeRow(cn, scale)] if scale else []
    paths = (_code(p.hiring_path, _HIRING_PATH_CODES) for p in rec.hiring_paths)
    hiring = [
        HiringPathRow(cn, code)
        for code in dict.fromkeys(p.lower()[:BTREE_TEXT_CHARS] for p in paths if p)
    ]
    details = _details(rec, cn)
    return ItemRows(cn, job, locations, list(by_code.values()), grades, hiring, details)


def _closed_on(raw: Any) -> datetime | None:
    day = historic_inactive_since(raw) if isinstance(raw, Mapping) else None
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def is_historic_payload(payload: Any) -> bool:
    """Whether a response body is a Historic JOA page (``data`` + ``paging``), not a search."""
    return (
        isinstance(payload, Mapping)
        and "SearchResult" not in payload
        and ("data" in payload or "paging" in payload)
    )


def historic_items(payload: Any) -> list[Any]:
    """The records of a Historic JOA page; ValueError when it has no ``data`` list."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if data is None and isinstance(payload, Mapping) and "paging" in payload:
        return []
    if not isinstance(data, list):
        raise ValueError("not a Historic JOA page: no 'data' list")
    return data


def mark_historic(rows: PageRows, items: list[Any]) -> PageRows:
    """Set ``kind="historic"`` and each kept record's (opening status, closed on)."""
    rows.kind = "historic"
    for cn, index in rows.item_index.items():
        raw = items[index]
        status = _status(raw) if isinstance(raw, Mapping) else None
        rows.historic[cn] = (status, _closed_on(raw))
    return rows


def transform_historic_page(
    items: Iterable[Any], *, stored: Mapping[str, str] | None = None
) -> PageRows:
    """`transform.transform_page` for Historic JOA records (same quarantine and de-dup).

    Sets ``kind="historic"`` and, for every valid control number on the page (unchanged
    ones included), ``historic[cn] = (positionOpeningStatus, closed on)`` where "closed on"
    is `historic_inactive_since` at midnight UTC (None while the posting is open).
    """
    listed = list(items)
    rows = transform_page(
        listed,
        stored=stored,
        item_rows=transform_historic_item,
        control_number=historic_control_number,
        drift=historic_unknown_keys,
    )
    return mark_historic(rows, listed)
