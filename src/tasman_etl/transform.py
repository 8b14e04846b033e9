"""Pure transformation: one search-response page in, rows for every silver table out.

No I/O here. `transform_page` validates each item with the pydantic models, routes
items that cannot be used to quarantine rows (with a reason and the raw JSON), drops
in-page duplicates (the last occurrence of a control number wins) and returns row
tuples in the column order of the `*_COLUMNS` constants, ready for COPY.

Indexed copies are bounded, so that no single value can exceed what PostgreSQL's indexes
accept (a btree entry holds at most 2,704 bytes; a tsvector at most 1 MB): text that lands
in a btree-indexed column (position id, location name, category, grade and hiring-path
codes) is cut to `BTREE_TEXT_CHARS` characters, the title and summary (the full-text
input) to `TITLE_CHARS` and `SUMMARY_CHARS`, and a quarantine reason to `REASON_CHARS`.
Real values are far shorter; `raw_json` always keeps the item exactly as received.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from tasman_etl import jsontext
from tasman_etl.models import (
    ANNUAL_FACTORS,
    CodeName,
    Descriptor,
    Details,
    FormattedDescription,
    Location,
    Remuneration,
    SearchItem,
    UserArea,
    WhoMayApply,
)

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
    "ItemRows",
    "ItemTransform",
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

#: Longest copy of a text under a btree index (job.position_id, lower(location_name), the
#: codes of job_category, job_grade, job_hiring_path and codelist). A btree entry holds at
#: most 2,704 bytes; 512 characters are at most 2,048 bytes of UTF-8, and at most that
#: after lower() (which grows a 2-byte character to 3 bytes at worst).
BTREE_TEXT_CHARS = 512
#: Longest copies of the title and summary, the input of job.search_tsv (and of the
#: title's trigram index). A tsvector holds at most 1 MB of lexemes and positions: about
#: 5 bytes per input character at worst, so 102,000 characters stay under half of it.
TITLE_CHARS = 2_000
SUMMARY_CHARS = 100_000
#: Longest quarantine reason (it is part of the btree index quarantine_item_idx).
REASON_CHARS = 500
#: Longest control number kept on a quarantine row (real ones have 9 digits).
CONTROL_NUMBER_CHARS = 64

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


def cut(text: str | None, limit: int) -> str | None:
    """`text` cut to at most `limit` characters (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit]


def _cut_reason(reason: str) -> str:
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 3] + "..."


@dataclass(frozen=True)
class QuarantineRow:
    """An item that could not be loaded: why, where, and exactly what arrived.

    The reason and control number are bounded here (`REASON_CHARS`,
    `CONTROL_NUMBER_CHARS`): the reason is part of an index, and both come from the input.
    """

    item_index: int
    control_number: str | None
    reason: str
    raw_text: str
    """The item as JSON text; `storable` says whether PostgreSQL jsonb can hold it."""
    storable: bool = True

    def __post_init__(self) -> None:
        if len(self.reason) > REASON_CHARS:
            object.__setattr__(self, "reason", _cut_reason(self.reason))
        cn = self.control_number
        if cn is not None and len(cn) > CONTROL_NUMBER_CHARS:
            object.__setattr__(self, "control_number", cn[:CONTROL_NUMBER_CHARS])


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
    """Every valid control number on the page (after de-duplication), in page order."""
    unchanged: list[str] = field(default_factory=list)
    """Control numbers the database already holds with the same content (not re-validated)."""
    new: set[str] = field(default_factory=set)
    """Control numbers of `jobs` rows the database does not hold yet."""
    item_index: dict[str, int] = field(default_factory=dict)
    """Control number -> index on the page of the item kept (to quarantine it later)."""
    kind: str = "search"
    """Which API the items came from: ``search`` or ``historic`` (Historic JOA records)."""
    historic: dict[str, tuple[str | None, datetime | None]] = field(default_factory=dict)
    """For historic records: control number -> (opening status, closed on)."""
    texts: list[tuple[str, str, str]] = field(default_factory=list)
    """For AnnouncementText records (``kind="historic-text"``): (control number, the record
    as JSON text, its content hash), in page order; `jobs` and `control_numbers` stay empty."""


def dump_json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (the form stored in jsonb columns)."""
    return jsontext.compact(value)


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


def _aliases(model: type[BaseModel]) -> frozenset[str]:
    """Every input key a model accepts (aliases and alias choices)."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(info.alias or name)
        choices = getattr(info.validation_alias, "choices", None)
        if choices:
            keys.update(c for c in choices if isinstance(c, str))
    return frozenset(keys)


# Known keys per position, for the drift report (keys the models do not know).
_ITEM_KEYS = _aliases(SearchItem)
_DESCRIPTOR_KEYS = _aliases(Descriptor)
_USER_AREA_KEYS = _aliases(UserArea)
_DETAILS_KEYS = _aliases(Details)
_WHO_KEYS = _aliases(WhoMayApply)
_LIST_KEYS = {
    "PositionLocation": _aliases(Location),
    "JobCategory": _aliases(CodeName),
    "JobGrade": _aliases(CodeName),
    "PositionSchedule": _aliases(CodeName),
    "PositionOfferingType": _aliases(CodeName),
    "PositionRemuneration": _aliases(Remuneration),
    "PositionFormattedDescription": _aliases(FormattedDescription),
}


def _key_text(key: str) -> str:
    """A key as printable, storable text (NULs and lone surrogates escaped)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def _extra(obj: Any, known: frozenset[str], path: str, counter: Counter[str]) -> None:
    if isinstance(obj, Mapping):
        for key in obj.keys() - known:
            counter[f"{path}.{_key_text(key)}"] += 1


def unknown_keys(raw: Mapping[str, Any], counter: Counter[str]) -> None:
    """Count keys of a raw item that the models do not know (schema drift).

    Works on the raw dict with set differences, so it is cheap enough to run on every
    item; a key inside a list counts once per item, however many entries carry it.
    """
    for key in raw.keys() - _ITEM_KEYS:
        counter[_key_text(key)] += 1
    descriptor = raw.get("MatchedObjectDescriptor")
    if not isinstance(descriptor, Mapping):
        return
    base = "MatchedObjectDescriptor"
    _extra(descriptor, _DESCRIPTOR_KEYS, base, counter)
    for name, known in _LIST_KEYS.items():
        entries = descriptor.get(name)
        if isinstance(entries, list):
            seen: set[str] = set()
            for entry in entries:
                if isinstance(entry, Mapping):
                    seen.update(entry.keys() - known)
            for key in seen:
                counter[f"{base}.{name}[].{_key_text(key)}"] += 1
    user_area = descriptor.get("UserArea")
    if isinstance(user_area, Mapping):
        _extra(user_area, _USER_AREA_KEYS, f"{base}.UserArea", counter)
        details = user_area.get("Details")
        if isinstance(details, Mapping):
            _extra(details, _DETAILS_KEYS, f"{base}.UserArea.Details", counter)
            _extra(
                details.get("WhoMayApply"),
                _WHO_KEYS,
                f"{base}.UserArea.Details.WhoMayApply",
                counter,
            )


def _has_nul(value: Any) -> bool:
    """Any NUL in any string or key (iterative: deep values cannot exhaust the stack)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return True
        elif isinstance(current, Mapping):
            for key, child in current.items():
                if "\x00" in key:
                    return True
                stack.append(child)
        elif isinstance(current, list):
            stack.extend(current)
    return False


def _describe(exc: ValidationError) -> str:
    """The first errors as `where: what` (a long message cut; `QuarantineRow` bounds all)."""
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p)[:40] for p in err["loc"]) or "item"
        msg = err["msg"]
        parts.append(f"{loc}: {msg if len(msg) <= 150 else msg[:147] + '...'}")
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


def transform_item(raw: Mapping[str, Any], raw_text: str, digest: str | None = None) -> ItemRows:
    """Rows for one item. Raises ValidationError when the item breaks a hard rule."""
    item = SearchItem.model_validate(raw)
    cn = item.control_number
    d = item.descriptor
    det = d.details
    pay = d.pay
    interval = pay.interval if pay else None
    job = (
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
    )
    locations = [
        (
            cn,
            idx,
            cut(loc.location_name, BTREE_TEXT_CHARS),
            loc.country,
            loc.subdivision,
            loc.city_name,
            loc.latitude,
            loc.longitude,
        )
        for idx, loc in enumerate(d.locations)
    ]
    # Codes are keys (primary keys with the job): cut, then de-duplicated.
    by_code: dict[str, tuple[Any, ...]] = {}
    for c in d.job_categories:
        if c.code:
            by_code[c.code[:BTREE_TEXT_CHARS]] = (cn, c.code[:BTREE_TEXT_CHARS], c.name)
    categories = list(by_code.values())
    grades = [
        (cn, code)
        for code in dict.fromkeys(g.code[:BTREE_TEXT_CHARS] for g in d.job_grades if g.code)
    ]
    hiring = [
        (cn, code)
        for code in dict.fromkeys(
            p.strip().lower()[:BTREE_TEXT_CHARS] for p in det.hiring_path if p.strip()
        )
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


def _shallow(raw: Any) -> str:
    """A bounded description of a value too deep to serialise."""
    return (
        repr(raw)[:10_000]
        if not isinstance(raw, dict | list)
        else f"<{type(raw).__name__} nested too deeply>"
    )


def _finite_json(raw: Any) -> str | None:
    """The item as strict JSON text, or None when it holds NaN/Infinity (jsonb refuses them)."""
    try:
        return jsontext.compact_strict(raw)
    except ValueError:
        return None


def storable_text(raw: Any) -> tuple[str, str | None]:
    """The item as JSON text, and why jsonb could not hold it (None when it can).

    jsonb refuses NaN/Infinity, NUL characters and lone surrogates; a value nested past
    Python's recursion limit cannot be serialised at all (a bounded description is kept).
    """
    try:
        strict = _finite_json(raw)
    except (RecursionError, TypeError):
        return _shallow(raw), "nested too deeply to store"
    if strict is None:
        return dump_json(raw), "holds NaN or Infinity, which JSON and jsonb cannot store"
    try:
        strict.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(
            raw, ensure_ascii=True
        ), "text contains a lone surrogate (not valid UTF-8)"
    # json escapes NUL as \u0000, so the text is a cheap pre-filter for the exact walk
    if "\\u0000" in strict and _has_nul(raw):
        return strict, "text contains a NUL character (PostgreSQL cannot store it)"
    return strict, None


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
