"""Pure transformation: one search-response page in, rows for every silver table out.

No I/O here. `transform_page` validates each item with the pydantic models, routes
items that cannot be used to quarantine rows (with a reason and the raw JSON), drops
in-page duplicates (the last occurrence of a control number wins) and returns the named
rows of `tasman_etl.rows` (`JobRow`, `LocationRow`...), in the column order of the
`*_COLUMNS` constants, ready for COPY.

Indexed copies are bounded (`tasman_etl.rows`: `BTREE_TEXT_CHARS`, `TITLE_CHARS`,
`SUMMARY_CHARS`, `REASON_CHARS`); `raw_json` always keeps the item exactly as received.
The row layouts and their containers (`tasman_etl.rows`), the drift report
(`tasman_etl.drift`) and the storable JSON text of an item (`tasman_etl.storable`) live in
their own modules; this one re-exports their names, as it always has.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tasman_etl import jsontext
from tasman_etl.drift import unknown_keys
from tasman_etl.models import ANNUAL_FACTORS, CodeName, SearchItem
from tasman_etl.rows import (
    BTREE_TEXT_CHARS,
    CATEGORY_COLUMNS,
    CONTROL_NUMBER_CHARS,
    DETAILS_COLUMNS,
    GRADE_COLUMNS,
    HIRING_PATH_COLUMNS,
    JOB_COLUMNS,
    LOCATION_COLUMNS,
    REASON_CHARS,
    SUMMARY_CHARS,
    TITLE_CHARS,
    CategoryRow,
    DetailsRow,
    GradeRow,
    HiringPathRow,
    ItemRows,
    JobRow,
    LocationRow,
    PageRows,
    QuarantineRow,
    cut,
)
from tasman_etl.storable import dump_json, storable_text

__all__ = [
    "BTREE_TEXT_CHARS",
    "CATEGORY_COLUMNS",
    "CONTROL_NUMBER_CHARS",
    "DETAILS_COLUMNS",
    "GRADE_COLUMNS",
    "HIRING_PATH_COLUMNS",
    "JOB_COLUMNS",
    "LOCATION_COLUMNS",
    "REASON_CHARS",
    "SUMMARY_CHARS",
    "TITLE_CHARS",
    "CategoryRow",
    "DetailsRow",
    "GradeRow",
    "HiringPathRow",
    "ItemRows",
    "ItemTransform",
    "JobRow",
    "LocationRow",
    "PageRows",
    "PreparedItem",
    "QuarantineRow",
    "content_hash",
    "cut",
    "dump_json",
    "prepare_items",
    "search_items",
    "storable_text",
    "transform_item",
    "transform_page",
    "transform_prepared",
    "unknown_keys",
]

# Search-context fields: they change with the query, not with the announcement.
_CONTEXT_ITEM_KEYS = frozenset({"RelevanceRank"})
_CONTEXT_DESCRIPTOR_KEYS = frozenset({"PositionFormattedDescription"})


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
    # sorted keys, ASCII only, compact: the text of json.dumps (jsontext, ADR 0029)
    return hashlib.sha256(jsontext.canonical_ascii(trimmed)).hexdigest()


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


def _describe(exc: ValidationError) -> str:
    """The first errors as `where: what` (a long message cut; `QuarantineRow` bounds all)."""
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p)[:40] for p in err["loc"]) or "item"
        msg = err["msg"]
        parts.append(f"{loc}: {msg if len(msg) <= 150 else msg[:147] + '...'}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def transform_item(raw: Mapping[str, Any], raw_text: str, digest: str | None = None) -> ItemRows:
    """Rows for one item. Raises ValidationError when the item breaks a hard rule."""
    item = SearchItem.model_validate(raw)
    cn = item.control_number
    d = item.descriptor
    det = d.details
    pay = d.pay
    interval = pay.interval if pay else None
    # Rows are built as tuple.__new__(Row, values): the named tuple without the cost of its
    # generated __new__ (a Python call of up to 50 arguments, on the hot path of a load).
    # Values are in field order; tests/unit/core/test_rows.py checks every field's type.
    job = tuple.__new__(
        JobRow,
        (
            cn,
            cut(d.position_id, BTREE_TEXT_CHARS),
            cut(d.position_title, TITLE_CHARS),
            d.position_uri,
            d.apply_uris,
            d.position_location_display,
            d.organization_name,
            d.department_name,
            d.sub_agency,
            cut(det.job_summary, SUMMARY_CHARS),
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
            digest or content_hash(raw),
            raw_text,
        ),
    )
    locations = [
        tuple.__new__(
            LocationRow,
            (
                cn,
                idx,
                cut(loc.location_name, BTREE_TEXT_CHARS),
                loc.country,
                loc.subdivision,
                loc.city_name,
                loc.latitude,
                loc.longitude,
            ),
        )
        for idx, loc in enumerate(d.locations)
    ]
    # Codes are keys (primary keys with the job): cut, then de-duplicated.
    by_code: dict[str, CategoryRow] = {}
    for c in d.job_categories:
        if c.code:
            code = c.code[:BTREE_TEXT_CHARS]
            by_code[code] = tuple.__new__(CategoryRow, (cn, code, c.name))
    categories = list(by_code.values())
    grades = [
        tuple.__new__(GradeRow, (cn, code))
        for code in dict.fromkeys(g.code[:BTREE_TEXT_CHARS] for g in d.job_grades if g.code)
    ]
    hiring = [
        tuple.__new__(HiringPathRow, (cn, code))
        for code in dict.fromkeys(
            p.strip().lower()[:BTREE_TEXT_CHARS] for p in det.hiring_path if p.strip()
        )
    ]
    schedule_code, schedule_name = _first(d.schedules)
    offering_code, offering_name = _first(d.offering_types)
    who = det.who_may_apply
    details = tuple.__new__(
        DetailsRow,
        (
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
        ),
    )
    return ItemRows(cn, job, locations, categories, grades, hiring, details)


ItemTransform = Callable[[Mapping[str, Any], str, str | None], ItemRows]
"""One item to its rows: ``(raw item, its JSON text, content hash or None) -> ItemRows``;
raises ValidationError (or ValueError/TypeError) for an item to quarantine."""


def _raw_control_number(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("MatchedObjectId")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:64]
    return None


@dataclass(frozen=True)
class PreparedItem:
    """An item after the cheap first pass: its control number, content hash, or why not."""

    index: int
    raw: Any
    control_number: str | None
    digest: str | None
    problem: str | None = None


def prepare_items(
    items: Iterable[Any],
    unknown: Counter[str] | None = None,
    *,
    control_number: Callable[[Any], str | None] = _raw_control_number,
    drift: Callable[[Mapping[str, Any], Counter[str]], None] = unknown_keys,
) -> list[PreparedItem]:
    """First pass over a page: control numbers and content hashes (and drift), no validation.

    The hashes let the loader ask the database which items it already holds unchanged, so
    only new and changed items pay for full validation and loading. `control_number` reads
    an item's control number without validating it and `drift` counts its unknown keys
    (defaults: the search item's; the Historic JOA passes its own).
    """
    out = []
    for index, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            out.append(PreparedItem(index, raw, None, None, "item is not a JSON object"))
            continue
        cn = control_number(raw)
        try:
            digest = content_hash(raw)
            if unknown is not None:
                drift(raw, unknown)
        except (RecursionError, ValueError, TypeError) as exc:
            out.append(
                PreparedItem(index, raw, cn, None, f"cannot be hashed: {type(exc).__name__}")
            )
            continue
        out.append(PreparedItem(index, raw, cn, digest))
    return out


def transform_prepared(
    prepared: Iterable[PreparedItem],
    *,
    stored: Mapping[str, str] | None = None,
    item_rows: ItemTransform = transform_item,
) -> PageRows:
    """Validate and normalise prepared items; see the module docstring.

    `stored` maps control numbers to the content hash the database holds: an item whose
    hash matches is listed in `PageRows.unchanged` without being validated again, and an
    item whose control number is absent is listed in `PageRows.new`. `item_rows` turns one
    item into rows (default `transform_item`, the search item's).
    """
    known = stored or {}
    out = PageRows()
    valid: dict[str, ItemRows | None] = {}  # None = unchanged, rows not needed
    for item in prepared:
        out.items += 1
        index, raw, cn = item.index, item.raw, item.control_number
        if item.problem is not None:
            text, unstorable = storable_text(raw)
            reason = item.problem if unstorable is None else f"{item.problem}; {unstorable}"
            out.quarantine.append(
                QuarantineRow(index, cn, reason, text, storable=unstorable is None)
            )
            continue
        if cn is not None and item.digest is not None and known.get(cn) == item.digest:
            rows: ItemRows | None = None
        else:
            rows_or_problem = _rows_or_quarantine(index, raw, cn, item.digest, item_rows)
            if isinstance(rows_or_problem, QuarantineRow):
                out.quarantine.append(rows_or_problem)
                continue
            rows = rows_or_problem
            cn = rows.control_number
        assert cn is not None
        if cn in valid:
            out.duplicates += 1
            del valid[cn]  # last occurrence wins, keeps its position
        valid[cn] = rows
        out.item_index[cn] = index
    for cn, rows in valid.items():
        out.control_numbers.append(cn)
        if rows is None:
            out.unchanged.append(cn)
            continue
        if cn not in known:
            out.new.add(cn)
        out.jobs.append(rows.job)
        out.locations.extend(rows.locations)
        out.categories.extend(rows.categories)
        out.grades.extend(rows.grades)
        out.hiring_paths.extend(rows.hiring_paths)
        out.details.append(rows.details)
    return out


def _rows_or_quarantine(
    index: int,
    raw: Mapping[str, Any],
    cn: str | None,
    digest: str | None,
    item_rows: ItemTransform = transform_item,
) -> ItemRows | QuarantineRow:
    raw_text, unstorable = storable_text(raw)
    if unstorable is not None:
        return QuarantineRow(index, cn, unstorable, raw_text, storable=False)
    try:
        return item_rows(raw, raw_text, digest)
    except ValidationError as exc:
        return QuarantineRow(index, cn, _describe(exc), raw_text)
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        return QuarantineRow(index, cn, f"{type(exc).__name__}: {exc}", raw_text)


def transform_page(
    items: Iterable[Any],
    *,
    stored: Mapping[str, str] | None = None,
    item_rows: ItemTransform = transform_item,
    control_number: Callable[[Any], str | None] = _raw_control_number,
    drift: Callable[[Mapping[str, Any], Counter[str]], None] = unknown_keys,
) -> PageRows:
    """Both passes at once: `prepare_items` then `transform_prepared` (same hooks)."""
    unknown: Counter[str] = Counter()
    prepared = prepare_items(items, unknown, control_number=control_number, drift=drift)
    rows = transform_prepared(prepared, stored=stored, item_rows=item_rows)
    rows.unknown_keys = unknown
    return rows
