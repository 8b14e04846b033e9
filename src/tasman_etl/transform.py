"""Pure transformation: one search-response page in, rows for every silver table out.

No I/O here. `transform_page` validates each item with the pydantic models, routes
items that cannot be used to quarantine rows (with a reason and the raw JSON), drops
in-page duplicates (the last occurrence of a control number wins) and returns row
tuples in the column order of the `*_COLUMNS` constants, ready for COPY.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from tasman_etl.models import ANNUAL_FACTORS, CodeName, SearchItem

__all__ = [
    "CATEGORY_COLUMNS",
    "DETAILS_COLUMNS",
    "GRADE_COLUMNS",
    "HIRING_PATH_COLUMNS",
    "JOB_COLUMNS",
    "LOCATION_COLUMNS",
    "PageRows",
    "QuarantineRow",
    "content_hash",
    "dump_json",
    "search_items",
    "transform_item",
    "transform_page",
]

# Search-context fields: they change with the query, not with the announcement.
_CONTEXT_ITEM_KEYS = frozenset({"RelevanceRank"})
_CONTEXT_DESCRIPTOR_KEYS = frozenset({"PositionFormattedDescription"})

JOB_COLUMNS: tuple[str, ...] = (
    "control_number",
    "position_id",
    "position_title",
    "position_uri",
    "apply_uris",
    "position_location_display",
    "organization_name",
    "department_name",
    "sub_agency",
    "job_summary",
    "pay_min",
    "pay_max",
    "pay_interval_code",
    "pay_interval_description",
    "pay_annual_min",
    "pay_annual_max",
    "publication_start_date",
    "application_close_date",
    "position_start_date",
    "position_end_date",
    "telework_eligible",
    "remote_indicator",
    "location_count",
    "content_hash",
    "raw_json",
)
LOCATION_COLUMNS: tuple[str, ...] = (
    "control_number",
    "loc_idx",
    "location_name",
    "country",
    "subdivision",
    "city_name",
    "latitude",
    "longitude",
)
CATEGORY_COLUMNS: tuple[str, ...] = ("control_number", "code", "name")
GRADE_COLUMNS: tuple[str, ...] = ("control_number", "code")
HIRING_PATH_COLUMNS: tuple[str, ...] = ("control_number", "code")
DETAILS_COLUMNS: tuple[str, ...] = (
    "control_number",
    "qualification_summary",
    "who_may_apply_name",
    "who_may_apply_code",
    "low_grade",
    "high_grade",
    "promotion_potential",
    "sub_agency_name",
    "organization_codes",
    "schedule_code",
    "schedule_name",
    "offering_type_code",
    "offering_type_name",
    "total_openings",
    "travel_code",
    "service_type",
    "announcement_closing_type",
    "commute_distance",
    "security_clearance",
    "position_sensitivity",
    "relocation",
    "drug_test_required",
    "within_area",
    "telework_eligible",
    "remote_indicator",
    "benefits_display_default_text",
    "financial_disclosure",
    "bargaining_unit_status",
    "bargaining_unit_status_additional_text",
    "mco_tags",
    "major_duties",
    "key_requirements",
    "adjudication_type",
    "agency_marketing_statement",
    "education",
    "requirements",
    "evaluations",
    "how_to_apply",
    "what_to_expect_next",
    "required_documents",
    "benefits",
    "benefits_url",
    "other_information",
    "apply_online_url",
    "detail_status_url",
    "preview_questionnaire_url",
    "agency_contact_email",
    "agency_contact_phone",
    "agency_contact_website",
    "appointment_explanation_text",
)


@dataclass(frozen=True)
class QuarantineRow:
    """An item that could not be loaded: why, where, and exactly what arrived."""

    item_index: int
    control_number: str | None
    reason: str
    raw_text: str
    """The item as JSON text; `storable` says whether PostgreSQL jsonb can hold it."""
    storable: bool = True


@dataclass
class PageRows:
    """Rows for every silver table from one page, plus what was set aside."""

    jobs: list[tuple[Any, ...]] = field(default_factory=list)
    locations: list[tuple[Any, ...]] = field(default_factory=list)
    categories: list[tuple[Any, ...]] = field(default_factory=list)
    grades: list[tuple[Any, ...]] = field(default_factory=list)
    hiring_paths: list[tuple[Any, ...]] = field(default_factory=list)
    details: list[tuple[Any, ...]] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    items: int = 0
    duplicates: int = 0
    unknown_keys: Counter[str] = field(default_factory=Counter)
    control_numbers: list[str] = field(default_factory=list)


def dump_json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (the form stored in jsonb columns)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def content_hash(item: Mapping[str, Any]) -> str:
    """SHA-256 of the announcement's content, ignoring search-context fields.

    `RelevanceRank` and the keyword hit highlights in `PositionFormattedDescription`
    depend on the query, so the same job found by two searches hashes the same.
    """
    trimmed = {k: v for k, v in item.items() if k not in _CONTEXT_ITEM_KEYS}
    descriptor = trimmed.get("MatchedObjectDescriptor")
    if isinstance(descriptor, Mapping):
        trimmed["MatchedObjectDescriptor"] = {
            k: v for k, v in descriptor.items() if k not in _CONTEXT_DESCRIPTOR_KEYS
        }
    canonical = json.dumps(trimmed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def search_items(payload: Any) -> list[Any]:
    """The `SearchResult.SearchResultItems` list of a search payload.

    Raises ValueError when the payload is not a search response (page-level problem).
    """
    if not isinstance(payload, Mapping):
        raise ValueError("payload is not a JSON object")
    result = payload.get("SearchResult")
    if not isinstance(result, Mapping):
        raise ValueError("payload has no SearchResult object")
    items = result.get("SearchResultItems", [])
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError("SearchResult.SearchResultItems is not a list")
    return items


def _annual(amount: Decimal | None, interval: str | None) -> Decimal | None:
    if amount is None or interval is None:
        return None
    factor = ANNUAL_FACTORS.get(interval)
    return None if factor is None else amount * factor


def _first(entries: list[CodeName]) -> tuple[str | None, str | None]:
    if not entries:
        return None, None
    return entries[0].code, entries[0].name or None


def _unknown_keys(model: BaseModel, path: str, counter: Counter[str]) -> None:
    """Count keys the models do not know (schema drift), recursively."""
    if model.model_extra:
        for key in model.model_extra:
            counter[f"{path}.{key}" if path else key] += 1
    for name in type(model).model_fields:
        value = getattr(model, name)
        alias = type(model).model_fields[name].alias or name
        child_path = f"{path}.{alias}" if path else alias
        if isinstance(value, BaseModel):
            _unknown_keys(value, child_path, counter)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            seen: Counter[str] = Counter()
            for element in value:
                _unknown_keys(element, child_path + "[]", seen)
            # a key counts once per item, however many list entries carry it
            counter.update(dict.fromkeys(seen, 1))


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any("\x00" in k or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "item"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


@dataclass(frozen=True)
class ItemRows:
    """The rows of one valid item."""

    control_number: str
    job: tuple[Any, ...]
    locations: list[tuple[Any, ...]]
    categories: list[tuple[Any, ...]]
    grades: list[tuple[Any, ...]]
    hiring_paths: list[tuple[Any, ...]]
    details: tuple[Any, ...]


def transform_item(raw: Mapping[str, Any], raw_text: str, unknown: Counter[str]) -> ItemRows:
    """Rows for one item. Raises ValidationError when the item breaks a hard rule."""
    item = SearchItem.model_validate(raw)
    _unknown_keys(item, "", unknown)
    cn = item.control_number
    d = item.descriptor
    det = d.details
    pay = d.pay
    interval = pay.interval if pay else None
    job = (
        cn,
        d.position_id,
        d.position_title,
        d.position_uri,
        d.apply_uris,
        d.position_location_display,
        d.organization_name,
        d.department_name,
        d.sub_agency,
        det.job_summary,
        pay.minimum if pay else None,
        pay.maximum if pay else None,
        interval,
        (pay.description or pay.rate_interval_code) if pay else None,
        _annual(pay.minimum, interval) if pay else None,
        _annual(pay.maximum, interval) if pay else None,
        d.publication_start_date,
        d.application_close_date,
        d.position_start_date,
        d.position_end_date,
        det.telework_eligible,
        det.remote_indicator,
        len(d.locations),
        content_hash(raw),
        raw_text,
    )
    locations = [
        (
            cn,
            idx,
            loc.location_name,
            loc.country,
            loc.subdivision,
            loc.city_name,
            loc.latitude,
            loc.longitude,
        )
        for idx, loc in enumerate(d.locations)
    ]
    categories = list({c.code: (cn, c.code, c.name) for c in d.job_categories if c.code}.values())
    grades = [(cn, code) for code in dict.fromkeys(g.code for g in d.job_grades if g.code)]
    hiring = [
        (cn, code)
        for code in dict.fromkeys(p.strip().lower() for p in det.hiring_path if p.strip())
    ]
    schedule_code, schedule_name = _first(d.schedules)
    offering_code, offering_name = _first(d.offering_types)
    who = det.who_may_apply
    details = (
        cn,
        d.qualification_summary,
        (who.name or None) if who else None,
        (who.code or None) if who else None,
        det.low_grade,
        det.high_grade,
        det.promotion_potential,
        det.sub_agency_name,
        det.organization_codes,
        schedule_code,
        schedule_name,
        offering_code,
        offering_name,
        det.total_openings,
        det.travel_code,
        det.service_type,
        det.announcement_closing_type,
        det.commute_distance,
        det.security_clearance,
        det.position_sensitivity,
        det.relocation,
        det.drug_test_required,
        det.within_area,
        det.telework_eligible,
        det.remote_indicator,
        det.benefits_display_default_text,
        det.financial_disclosure,
        det.bargaining_unit_status,
        det.bargaining_unit_status_additional_text,
        det.mco_tags,
        det.major_duties,
        det.key_requirements,
        det.adjudication_type,
        det.agency_marketing_statement,
        det.education,
        det.requirements,
        det.evaluations,
        det.how_to_apply,
        det.what_to_expect_next,
        det.required_documents,
        det.benefits,
        det.benefits_url,
        det.other_information,
        det.apply_online_url,
        det.detail_status_url,
        det.preview_questionnaire_url,
        det.agency_contact_email,
        det.agency_contact_phone,
        det.agency_contact_website,
        det.appointment_explanation_text,
    )
    return ItemRows(cn, job, locations, categories, grades, hiring, details)


def _raw_control_number(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("MatchedObjectId")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:64]
    return None


def transform_page(items: Iterable[Any]) -> PageRows:
    """Validate and normalise a page's items; see the module docstring."""
    out = PageRows()
    valid: dict[str, ItemRows] = {}
    for index, raw in enumerate(items):
        out.items += 1
        try:
            raw_text = dump_json(raw)
        except (TypeError, ValueError) as exc:  # pragma: no cover - json.loads output always dumps
            out.quarantine.append(
                QuarantineRow(index, None, f"not serialisable: {exc}", repr(raw), storable=False)
            )
            continue
        cn = _raw_control_number(raw)
        if not isinstance(raw, Mapping):
            out.quarantine.append(QuarantineRow(index, None, "item is not a JSON object", raw_text))
            continue
        try:
            raw_text.encode("utf-8")
        except UnicodeEncodeError:
            out.quarantine.append(
                QuarantineRow(
                    index,
                    cn,
                    "text contains a lone surrogate (not valid UTF-8)",
                    json.dumps(raw, ensure_ascii=True),
                    storable=False,
                )
            )
            continue
        if _has_nul(raw):
            out.quarantine.append(
                QuarantineRow(
                    index,
                    cn,
                    "text contains a NUL character (PostgreSQL cannot store it)",
                    raw_text,
                    storable=False,
                )
            )
            continue
        try:
            rows = transform_item(raw, raw_text, out.unknown_keys)
        except ValidationError as exc:
            out.quarantine.append(QuarantineRow(index, cn, _describe(exc), raw_text))
            continue
        except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
            out.quarantine.append(
                QuarantineRow(index, cn, f"{type(exc).__name__}: {exc}", raw_text)
            )
            continue
        if rows.control_number in valid:
            out.duplicates += 1
            del valid[rows.control_number]  # last occurrence wins, keeps its position
        valid[rows.control_number] = rows
    for rows in valid.values():
        out.control_numbers.append(rows.control_number)
        out.jobs.append(rows.job)
        out.locations.extend(rows.locations)
        out.categories.extend(rows.categories)
        out.grades.extend(rows.grades)
        out.hiring_paths.extend(rows.hiring_paths)
        out.details.append(rows.details)
    return out
